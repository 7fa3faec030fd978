"""Cutting a text short: the bounds on free text before composing, and where a text may be cut to fit."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import regex  # type: ignore[import-untyped,unused-ignore]

ELLIPSIS = "…"
# How far back from the cut a space may be and still be preferred, in code points.
_WORD_WINDOW = 20

# Bounds on the free text, in code points, applied before anything is measured or cut (issue 15): a network's
# measure is at best linear, a cut measures the text a dozen times, and a variant or a legacy text is one more
# cut. A post's field keeps POST_FIELD_FACTOR code points per unit of a short limit (280 or 300 units, where a
# 3,000-byte cap holds up to ten code points a grapheme, and an emoji sequence of up to 11 code points may count 2),
# and four per unit beyond DENSE_LIMIT: only a text of long URLs or longer clusters could need more.
# Alt text is counted in code points, so its field keeps the limit and a margin in which a URL crossing the cut
# is seen whole. Flickr's HTML keeps RAW_HTML_CHARS before its tags are stripped. A field cut by a bound ends in
# "…", as any cut does.
POST_FIELD_FACTOR = 10
DENSE_LIMIT = 300  # beyond a limit this long, four code points a unit: a text that long is a paragraph, not a run
ALT_FIELD_MARGIN = 512
MAX_FIELD_CHARS = 20_000  # an instance may declare a limit of 100,000 characters
RAW_HTML_CHARS = 100_000
MAX_TAGS = 100
MAX_TAG_CHARS = 500  # a longer Flickr tag is left out rather than cut
_GRAPHEME = regex.compile(r"\X")
_ZWJ = "\u200d"
# Stripped from the end of a shortened text before the ellipsis, so it never reads "pier,…" or "pier.…".
_TRAILING = " ,;:.-–—|·、。([{“‘«"


def bound(text: str, chars: int) -> str:
    """``text`` if it has at most ``chars`` code points, else its start cut at a grapheme boundary, with "…"."""
    if len(text) <= chars:
        return text
    cut = chars - len(ELLIPSIS)
    # The grapheme that straddles the cut goes whole (a cluster of marks longer than the bound goes entirely);
    # clusters are found from the start, since one may begin any number of code points before the cut.
    for match in _GRAPHEME.finditer(text, 0, cut + 1):
        if match.end() > cut:
            cut = match.start()
            break
    return _with_ellipsis(text[:cut]) or ELLIPSIS


def post_field_chars(limit: int) -> int:
    """How many code points of one free-text field of a post are kept before composing (see POST_FIELD_FACTOR)."""
    return min(max(4 * limit, POST_FIELD_FACTOR * min(limit, DENSE_LIMIT)), MAX_FIELD_CHARS)


def alt_field_chars(limit: int) -> int:
    """How many code points of one free-text field of an alt text are kept before composing."""
    return min(limit + ALT_FIELD_MARGIN, MAX_FIELD_CHARS)


def _bounded_tags(tags: list[str], chars: int) -> list[str]:
    """The first hashtags, at most MAX_TAGS of them and ``chars`` code points in all; a longer one is left out."""
    kept: list[str] = []
    total = 0
    for tag in tags[:MAX_TAGS]:
        total += len(tag) + 1
        if total > chars + 1:
            break
        kept.append(tag)
    return kept


def _shorten(value: str, fits: Callable[[str], bool]) -> str:
    """The longest start of ``value`` that fits with an ellipsis, cut between characters; empty if none does."""
    if not fits(""):
        return ""
    cuts = _cut_points(value)
    # Weights are not strictly monotonic ("x.c" weighs 3, "x.co" is a URL and weighs 23), so this finds a cut
    # that fits while the next one does not, and every returned text has been measured.
    lo, hi = 0, len(cuts) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(_with_ellipsis(value[: cuts[mid]])):
            lo = mid
        else:
            hi = mid
    best = cuts[lo]
    window = min(_WORD_WINDOW, best // 2)
    space = value.rfind(" ", best - window, best + 1)
    if 0 < space < best and fits(_with_ellipsis(value[:space])):
        best = space
    return _with_ellipsis(value[:best])


def _drop_tags(tags: Sequence[str], fits: Callable[[str], bool]) -> str:
    """As many hashtags as fit, from the first; a hashtag is never cut."""
    if not fits(""):
        return ""
    lo, hi = 0, len(tags)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(" ".join(tags[:mid])):
            lo = mid
        else:
            hi = mid
    return " ".join(tags[:lo])


def _with_ellipsis(prefix: str) -> str:
    prefix = prefix.rstrip(_TRAILING)
    return prefix + ELLIPSIS if prefix else ""


def _cut_points(text: str) -> list[int]:
    """Where ``text`` may be cut: never inside a URL, an emoji sequence or a character with its combining marks."""
    inside: set[int] = set()
    for start, end in _unbreakable(text):
        inside.update(range(start + 1, end))
    return [
        i
        for i in range(len(text) + 1)
        if i not in inside and not (0 < i < len(text) and (_joins_previous(text[i]) or _joins_next(text[i - 1])))
    ]


def _unbreakable(text: str) -> list[tuple[int, int]]:
    """The URLs and emoji sequences in ``text``, as (start, end) code point offsets: a cut inside one breaks it on
    every network. Found by the vendored twitter-text library (loaded lazily), not by any network's rules."""
    from pierrot import _twitter_text

    found = [*_twitter_text.extract_urls_with_indices(text), *_twitter_text.extract_emojis_with_indices(text)]
    return [(int(e["indices"][0]), int(e["indices"][1])) for e in found]


def _joins_next(char: str) -> bool:
    """A code point that binds the character after it: a zero-width joiner, or a virama making a conjunct."""
    return char == _ZWJ or unicodedata.combining(char) == 9


def _joins_previous(char: str) -> bool:
    """A code point that belongs to the character before it."""
    point = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char == _ZWJ
        or 0xFE00 <= point <= 0xFE0F  # variation selectors
        or 0xE0100 <= point <= 0xE01EF
        or 0x1F3FB <= point <= 0x1F3FF  # skin tones
        or 0xE0020 <= point <= 0xE007F  # tag sequences (subdivision flags)
        or 0xDC00 <= point <= 0xDFFF  # the low half of a surrogate pair that slipped through
        or 0x1160 <= point <= 0x11FF  # Hangul vowel and final jamo
    )
