"""Mastodon's and Pixelfed's rules for a post: how each counts a status, and the limits an instance declares."""

from __future__ import annotations

import functools
from typing import Any

import regex  # type: ignore[import-untyped,unused-ignore]

from pierrot.ports import NetworkRules

TEXT_LIMIT = 500
URL_CHARS = 23  # characters_reserved_per_url: every URL counts this many, whatever its length
ALT_LIMIT = 1500  # description_limit, reported since 4.4 and 1500 before it
IMAGE_BYTES = 16_777_216
MAX_IMAGES = 4  # configuration.statuses.max_media_attachments, when the instance does not say
IMAGE_PIXELS = 33_177_600  # image_matrix_limit: the largest image an instance accepts
# ...but what it keeps: media_attachment.rb's IMAGE_STYLES scale every original to 8,294,400 pixels (3840x2160).
# Anything larger is only bandwidth spent to be thrown away, so pierrot sends at most this.
KEPT_PIXELS = 8_294_400
PIXELFED_ALT_LIMIT = 1000  # pixelfed.max_altext_length, not reported by the instance
PIXELFED_IMAGE_BYTES = 15_000 * 1024  # pixelfed.max_photo_size, in KB

# ---- how Mastodon counts a status ---------------------------------------------------------------------------
# StatusLengthValidator: the text is stripped, every URL with a scheme counts characters_reserved_per_url, a
# mention @user@domain counts as @user, and the rest counts in grapheme clusters. The URL expression follows
# twitter-text as Mastodon patches it (config/initializers/twitter_regex.rb), except that any alphabetic TLD
# is accepted where twitter-text wants one from its list.

_GENERAL = r"[^\p{White_Space}<>()?]"
_BALANCED = rf"\((?:{_GENERAL}+|{_GENERAL}*\({_GENERAL}+\){_GENERAL}*)\)"
_ENDING = rf"(?:[^\p{{White_Space}}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_BALANCED})"
_PATH = rf"(?:{_GENERAL}*(?:{_BALANCED}{_GENERAL}*)*{_ENDING}|{_GENERAL}+/)"
_UCHARS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0010fffd"
_LABEL_CHAR = r"[^\p{White_Space}\p{Cc}!-/:-@\[-`{-~]"  # anything but spaces, controls and ASCII punctuation
_URL = regex.compile(
    rf"""
    (?<![A-Za-z0-9@＠$#＃])
    (?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://
    (?:{_LABEL_CHAR}(?:[_-]*{_LABEL_CHAR})*\.)+(?:xn--[a-z0-9-]+|\p{{L}}{{2,63}})(?![\p{{L}}\p{{N}}_@-])
    (?::[0-9]+)?
    (?:/{_PATH}*)?
    (?:\?[a-z0-9!?*'();:&=+$/%\#\[\]\-_.,~|@^{_UCHARS}]*[a-z0-9_&=\#/\-{_UCHARS}])?
    """,
    regex.VERBOSE | regex.IGNORECASE,
)
# Account::MENTION_RE; a mention followed by @, a Latin accent or :// is not one (twitter-text end_mention_match).
# Atomic, as Ruby scans: the longest mention is found first, then rejected, never shortened until it fits.
_MENTION = regex.compile(
    r"(?<![=/\w])@(?>([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)"
    r"(?![@＠\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]|://)",
    regex.IGNORECASE,
)
_GRAPHEME = regex.compile(r"\X")
_RUBY_SPACE = " \t\n\v\f\r\0"  # what Ruby's String#strip removes


def mastodon_length(text: str, url_chars: int = URL_CHARS) -> int:
    """The length Mastodon counts against max_characters: graphemes, a URL as ``url_chars``, @user@domain as @user."""
    text = text.strip(_RUBY_SPACE)
    entities = [(m.start(), m.end(), "x" * url_chars) for m in _URL.finditer(text)]
    entities += [(m.start(), m.end(), "@" + m.group(1)) for m in _MENTION.finditer(text)]
    entities.sort()
    parts: list[str] = []
    position = 0
    for start, end, replacement in entities:
        if start < position:  # overlaps one kept before it (a mention inside a URL): the first wins
            continue
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return sum(1 for _ in _GRAPHEME.finditer("".join(parts)))


def pixelfed_length(text: str) -> int:
    """The length Pixelfed counts against its caption limit: code points of the trimmed text (Laravel ``max``)."""
    return len(text.strip())


DEFAULT_RULES = NetworkRules(
    name="mastodon",
    display="Mastodon",
    text_limit=TEXT_LIMIT,
    measure=mastodon_length,
    unit="characters",
    alt_limit=ALT_LIMIT,
    max_image_bytes=IMAGE_BYTES,
    max_image_pixels=KEPT_PIXELS,
    settles_unknown=True,
    languages=True,
    warnings="spoiler",
    max_images=MAX_IMAGES,
)


def is_pixelfed(doc: Any) -> bool:
    """True when an instance document is Pixelfed's (its version says "compatible; Pixelfed ...")."""
    return isinstance(doc, dict) and "pixelfed" in str(doc.get("version", "")).lower()


def rules_from_instance(doc: Any) -> NetworkRules:
    """The rules an instance document (/api/v2/instance or /api/v1/instance) declares, defaults where it is silent."""
    doc = doc if isinstance(doc, dict) else {}
    configuration = _mapping(doc.get("configuration"))
    statuses = _mapping(configuration.get("statuses"))
    media = _mapping(configuration.get("media_attachments"))
    pixelfed = is_pixelfed(doc)
    text_limit = _count(statuses.get("max_characters")) or _count(doc.get("max_toot_chars")) or TEXT_LIMIT
    reserved = _count(statuses.get("characters_reserved_per_url"), zero=True)
    url_chars = URL_CHARS if reserved is None else reserved
    max_bytes = _count(media.get("image_size_limit")) or _count(doc.get("upload_limit"))
    alt_limit = _count(media.get("description_limit")) or _count(doc.get("description_limit"))
    max_images = _count(statuses.get("max_media_attachments")) or MAX_IMAGES
    if pixelfed:
        return NetworkRules(
            name=DEFAULT_RULES.name,
            display="Pixelfed",
            text_limit=text_limit,
            measure=pixelfed_length,
            unit="characters",
            alt_limit=alt_limit or PIXELFED_ALT_LIMIT,
            max_image_bytes=max_bytes or PIXELFED_IMAGE_BYTES,
            max_image_pixels=_count(media.get("image_matrix_limit")),
            settles_unknown=True,
            warnings="spoiler",  # Pixelfed's statuses take sensitive and spoiler_text; a language they ignore
            max_images=max_images,
        )
    measure = mastodon_length if url_chars == URL_CHARS else functools.partial(mastodon_length, url_chars=url_chars)
    return NetworkRules(
        name=DEFAULT_RULES.name,
        display=DEFAULT_RULES.display,
        text_limit=text_limit,
        measure=measure,
        unit="characters",
        alt_limit=alt_limit or ALT_LIMIT,
        max_image_bytes=max_bytes or IMAGE_BYTES,
        max_image_pixels=min(_count(media.get("image_matrix_limit")) or IMAGE_PIXELS, KEPT_PIXELS),
        settles_unknown=True,
        languages=True,
        warnings="spoiler",
        max_images=max_images,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any, *, zero: bool = False) -> int | None:
    """A positive whole number from a JSON value (or its digits as a string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and (value > 0 or (zero and value == 0)):
        return value
    return None


def cut_alt_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters (code points, as the servers count), never inside a grapheme."""
    if len(text) <= limit:
        return text
    kept = 0
    for grapheme in _GRAPHEME.finditer(text):
        if grapheme.end() > limit:
            break
        kept = grapheme.end()
    return text[:kept].rstrip()
