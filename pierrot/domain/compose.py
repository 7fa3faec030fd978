"""Composing a photo's post text and alt text from the user's templates. Plain Python, no I/O."""

from __future__ import annotations

import functools
import html
import re
import string
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence

from pierrot.domain import Photo
from pierrot.domain.cutting import (
    ELLIPSIS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    RAW_HTML_CHARS,
    _bounded_tags,
    _drop_tags,
    _shorten,
    alt_field_chars,
    bound,
    post_field_chars,
)
from pierrot.errors import ConfigError

TEMPLATE_SETTING = "PIERROT_PUBLISH_TEMPLATE"
ALT_TEMPLATE_SETTING = "PIERROT_PUBLISH_ALT_TEMPLATE"
PLACEHOLDERS = ("title", "description", "url", "date_taken", "year", "tags", "years_ago", "month", "hashtags",
                "camera", "lens", "exposure")
# Filled in by the run, not the photo's record: {years_ago}, {month}, and from the image's EXIF {camera}, {lens},
# {exposure}; {hashtags} is the run's chosen few of the photo's tags (see hashtags()).
_RUN_VALUES = ("years_ago", "month", "hashtags", "camera", "lens", "exposure")
# The longest hashtag the strictest network takes, in graphemes; a longer tag is left out.
MAX_HASHTAG_CHARS = 64

# Free text gives way in this order when the text is too long; the URL, dates and the template's own text never do.
_SHORTEN_ORDER = ("description", "tags", "hashtags", "title")
# Only for validate_template: the fixed placeholders weigh the same for every photo (a URL always counts 23).
_SAMPLE_FIXED = {
    "url": "https://www.flickr.com/photos/someone/1/", "date_taken": "2024-01-01", "year": "2024",
    "years_ago": "10 years ago today", "month": "September",
}
Measure = Callable[[str], int]
# Values that depend on the run, not the photo alone: {years_ago} and {month} (see pierrot.domain.selection).
Context = Mapping[str, str]
_FREE_TEXT = ("title", "description", "years_ago", "month", "camera", "lens", "exposure")

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Tags that end a line or a block of text become a space; every other tag just disappears.
_BREAKING_TAG = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|dl|dt|dd|blockquote|pre|h[1-6]|hr|tr|td|th|table)\b[^>]*>", re.IGNORECASE
)
_ANY_TAG = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>")
_MACHINE_TAG = re.compile(r"^[\w-]+:[\w-]+=")
# X refuses a post containing these (twitter-text's invalid characters); bidi embedding, override and isolate
# controls can make a text display as something else (U+202E reverses what follows): dropped too.
_INVALID_FOR_X = frozenset("\ufffe\ufeff\uffff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")
_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")
_OPENERS = "\"'"
_Segments = Sequence[tuple[str, str | None]]


@functools.lru_cache(maxsize=64)
def strip_html(text: str) -> str:
    """Plain text from Flickr's HTML: tags removed, entities decoded, all whitespace collapsed to single spaces."""
    cut = len(text) > RAW_HTML_CHARS
    text = _drop_comments(text[:RAW_HTML_CHARS])
    # No tag starts after the last ">": the expressions would scan from every "<" there to the end (quadratic).
    end = text.rfind(">") + 1
    text = _ANY_TAG.sub("", _BREAKING_TAG.sub(" ", text[:end])) + text[end:]
    text = " ".join(_drop_unusable(html.unescape(text)).split())
    return text + ELLIPSIS if cut else text


def _drop_comments(text: str) -> str:
    """HTML comments removed; in one pass, since a regex retries every unclosed "<!--" to the end (quadratic)."""
    parts: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1 and (end := text.find("-->", start + 4)) != -1:
        parts.append(text[position:start])
        position = end + 3
    parts.append(text[position:])
    return "".join(parts)


def fallback_title(photo: Photo) -> str:
    """A title for a photo that has none."""
    taken = photo.taken
    if taken is None:
        return "Untitled photo"
    return f"Photo taken {taken.day} {_MONTHS[taken.month - 1]} {taken.year}"


def validate_template(template: str, setting: str, *, measure: Measure, limit: int) -> None:
    """Raise ConfigError, naming ``setting``, if the template is malformed, unknown or leaves no room for text.

    ``measure`` and ``limit`` are the network's (its text's, or ``len`` and its alt text limit)."""
    segments = _parse(template, setting)
    sample = {name: "" for name in PLACEHOLDERS} | _SAMPLE_FIXED
    fixed = _tidy(_render(segments, sample))
    if measure(fixed) > limit:
        raise ConfigError(_too_long(setting, measure(fixed), limit))


def compose_post(
    photo: Photo,
    template: str = "{title}",
    link: bool = False,
    *,
    measure: Measure,
    limit: int,
    setting: str = TEMPLATE_SETTING,
    context: Context | None = None,
) -> str:
    """The post text: the template filled in from the photo, shortened to fit ``limit`` by the network's ``measure``."""
    return next(compose_post_variants(photo, template, link, measure=measure, limit=limit, setting=setting,
                                      context=context))


# How many distinct variants of one text pierrot tries before giving up on making it new.
MAX_VARIANTS = 50


def compose_post_variants(
    photo: Photo,
    template: str = "{title}",
    link: bool = False,
    *,
    measure: Measure,
    limit: int,
    setting: str = TEMPLATE_SETTING,
    context: Context | None = None,
) -> Iterator[str]:
    """The post text, then variants a reader finds natural: the date taken, then a counter.

    X refuses a text it has already seen from the account, and real photostreams repeat titles ("Sunset",
    a batch named after a trip, untitled photos). A variant adds, right after the title (or at the end of the
    text, before an appended link): " (12 May 2019)" from the date taken, then " (2)", " (3)"... Each fits the
    limit like the text itself, shortening the free text and never the addition."""
    segments = list(_parse(template, setting))
    appended = link and not _uses(segments, "url")
    if appended:
        segments.append(("\n", "url"))
    with_link = " with the link (PIERROT_PUBLISH_LINK)" if appended else ""
    base = _compose(photo, segments, measure, limit, setting, with_link, context)
    yield base
    segments = list(_or_title(segments, _values(photo, context) | {"tags": " ".join(_hashtags(photo.tags))}))
    taken = photo.taken
    additions = []
    if taken is not None:
        day = f"{taken.day} {_MONTHS[taken.month - 1]} {taken.year}"
        if day not in base:
            additions.append(f" ({day})")
    additions += [f" ({n})" for n in range(2, MAX_VARIANTS + 1)]
    for addition in additions:
        try:
            yield _compose(photo, _with_addition(segments, addition), measure, limit, setting, with_link, context)
        except ConfigError:
            return  # no room left for an addition: the caller has what there is


def _with_addition(segments: _Segments, addition: str) -> list[tuple[str, str | None]]:
    """The template with ``addition`` right after the title, or before a trailing link, or at the end."""
    result = list(segments)
    at = next((i + 1 for i, (_, name) in enumerate(result) if name == "title"), None)
    if at is None:
        at = len(result) - 1 if result and result[-1][1] == "url" else len(result)
    result.insert(at, (addition, None))
    return result


def compose_alt_text(
    photo: Photo,
    template: str = "{title}. {description}",
    *,
    limit: int,
    setting: str = ALT_TEMPLATE_SETTING,
    context: Context | None = None,
) -> str:
    """The image's alt text: the template filled in from the photo, at most ``limit`` characters."""
    segments = _parse(template, setting)
    return _compose(photo, segments, len, limit, setting, "", context, alt=True)


# --- templates ---------------------------------------------------------------------------------


def _parse(template: str, setting: str) -> list[tuple[str, str | None]]:
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(
            f"{setting} is not a valid template ({exc}); write {{{{ or }}}} for a literal brace"
        ) from None
    segments: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and name not in PLACEHOLDERS:
            raise ConfigError(f"{setting} has an unknown placeholder {{{name}}}; the placeholders are {known}")
        if name is not None and (spec or conversion):
            raise ConfigError(f"{setting}: the placeholder {{{name}}} takes no conversion or format spec")
        segments.append((literal, name))
    return segments


def _uses(segments: _Segments, name: str) -> bool:
    return any(field == name for _, field in segments)


def _too_long(setting: str, length: int, limit: int, extra: str = "") -> str:
    return (
        f"{setting} leaves no room for the photo's text: its fixed part{extra} is {length} characters "
        f"and the limit is {limit}; shorten the template"
    )


# --- filling in --------------------------------------------------------------------------------


def _compose(
    photo: Photo,
    segments: _Segments,
    measure: Callable[[str], int],
    limit: int,
    setting: str,
    extra: str = "",
    context: Context | None = None,
    *,
    alt: bool = False,
) -> str:
    chars = alt_field_chars(limit) if alt else post_field_chars(limit)
    values = _values(photo, context)
    for name in _FREE_TEXT:
        values[name] = bound(values[name], chars)
    lists = {"tags": _bounded_tags(_hashtags(photo.tags), chars),
             "hashtags": _bounded_tags(values["hashtags"].split(), chars)}
    values |= {name: " ".join(items) for name, items in lists.items()}
    segments = _or_title(segments, values)
    text = _fit(segments, values, lists, measure, limit)
    if text is None:
        fixed = _tidy(_render(segments, values | {name: "" for name in _SHORTEN_ORDER}))
        raise ConfigError(_too_long(setting, measure(fixed), limit, extra))
    return text


def _or_title(segments: _Segments, values: Mapping[str, str]) -> _Segments:
    """A template that renders to nothing but a link (say "{description}" and no description) gets the title."""
    if _tidy(_render(segments, {**values, "url": ""})):
        return segments
    return [("", "title")] + ([("\n", "url")] if _uses(segments, "url") else [])


def _values(photo: Photo, context: Context | None = None) -> dict[str, str]:
    taken = photo.taken
    return {
        **dict.fromkeys(_RUN_VALUES, ""),
        **(context or {}),
        "title": _nfc(strip_html(photo.title)) or fallback_title(photo),
        "description": _nfc(strip_html(photo.description)),
        "url": photo.page_url,
        "date_taken": taken.isoformat() if taken else "",
        "year": str(taken.year) if taken else "",
    }


def hashtags(tags: Sequence[str], most: int) -> str:
    """{hashtags}: the first ``most`` of the photo's tags that make hashtags ("#sunset #paris"), in Flickr's order.

    A character a hashtag cannot hold is removed ("new-york" is #newyork); a tag of digits alone, a machine tag
    and one longer than MAX_HASHTAG_CHARS are left out."""
    usable = [tag for tag in _hashtags(tags) if len(tag) - 1 <= MAX_HASHTAG_CHARS]
    return " ".join(usable[:most])


def _hashtags(tags: Sequence[str]) -> list[str]:
    """Flickr tags as X hashtags: machine tags and tags without a letter are left out, duplicates once."""
    seen: set[str] = set()
    hashtags: list[str] = []
    for tag in tags[: 4 * MAX_TAGS]:
        if _MACHINE_TAG.match(tag) or len(tag) > MAX_TAG_CHARS:
            continue
        word = "".join(c for c in _nfc(tag) if c == "_" or unicodedata.category(c)[0] in "LMN")
        if not any(unicodedata.category(c)[0] == "L" for c in word) or word.casefold() in seen:
            continue
        seen.add(word.casefold())
        hashtags.append("#" + word)
    return hashtags


def _render(segments: _Segments, values: Mapping[str, str]) -> str:
    """Fill in the template; an empty placeholder takes its separator along, so nothing dangles ("Title. ")."""
    items: list[tuple[str, bool]] = []  # (text, is it a placeholder's value)
    for literal, name in segments:
        if literal:
            items.append((literal, False))
        if name is not None:
            items.append((values[name], True))
    i = 0
    while i < len(items):
        text, is_value = items[i]
        if not is_value or text.strip():
            i += 1
            continue
        del items[i]
        # The separator before it joined it to what came before; the first value takes the one after it instead.
        if i > 0 and _is_separator(items[i - 1]):
            removed = items.pop(i - 1)[0]
            i -= 1
            if i < len(items) and _is_separator(items[i]) and _opens(removed) and _closes(items[i][0]):
                del items[i]  # the ")" of " (" and the closing quote go too
        elif i < len(items) and _is_separator(items[i]):
            del items[i]
    parts: list[str] = []
    for i, (text, is_value) in enumerate(items):
        if not is_value and i > 0 and items[i - 1][1] and items[i - 1][0].rstrip().endswith(_SENTENCE_END):
            text = text.removeprefix(".")  # "Is it?" + ". " reads "Is it? ", not "Is it?. "
        parts.append(text)
    return "".join(parts)


def _is_separator(item: tuple[str, bool]) -> bool:
    text, is_value = item
    return not is_value and all(c.isspace() or unicodedata.category(c) in _SEPARATOR_CATEGORIES for c in text)


# Punctuation, "|", and symbols such as the 📷 (and its emoji marks) that introduce a camera line: they go with
# an empty value.
_SEPARATOR_CATEGORIES = frozenset({"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "So", "Mn", "Cf"})


def _opens(text: str) -> bool:
    return any(c in _OPENERS or unicodedata.category(c) in ("Ps", "Pi") for c in text)


def _closes(text: str) -> bool:
    return any(c in _OPENERS or unicodedata.category(c) in ("Pe", "Pf") for c in text)


def _tidy(text: str) -> str:
    """NFC; within a line, whitespace runs become one space; at most one blank line in a row; stripped."""
    text = _drop_unusable(unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _drop_unusable(text: str) -> str:
    """Remove control characters, lone surrogates and the characters X refuses; keep newlines and tabs."""
    return "".join(
        c for c in text if c in "\n\t" or (unicodedata.category(c) not in ("Cc", "Cs") and c not in _INVALID_FOR_X)
    )


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --- shortening --------------------------------------------------------------------------------


def _fit(
    segments: _Segments, values: dict[str, str], lists: Mapping[str, list[str]], measure: Callable[[str], int],
    limit: int,
) -> str | None:
    """Shorten the free text, least important first, until the whole text fits; None if it cannot."""
    current = dict(values)

    def fits_with(name: str) -> Callable[[str], bool]:
        return lambda value: measure(_tidy(_render(segments, current | {name: value}))) <= limit

    text = _tidy(_render(segments, current))
    if measure(text) <= limit:
        return text
    for name in _SHORTEN_ORDER:
        if not _uses(segments, name):
            continue
        if name in lists:
            current[name] = _drop_tags(lists[name], fits_with(name))
        else:
            current[name] = _shorten(current[name], fits_with(name))
        text = _tidy(_render(segments, current))
        if measure(text) <= limit:
            return text
    return None
