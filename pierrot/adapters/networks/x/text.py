"""X's rules for a post's length: the weighted count X applies to its 280-character limit.

The rules themselves (weights by code point range, every URL as 23, an emoji sequence as one character)
come from the vendored copy of twitter-text-parser in ``pierrot._twitter_text``; this module is the typed
door to it and loads it lazily, since compiling its expressions takes a tenth of a second.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pierrot.ports import NetworkRules


def _lib() -> Any:
    from pierrot import _twitter_text

    return _twitter_text


def weighted_length(text: str) -> int:
    """The length X counts against its limit: NFC, URLs count 23, CJK and emoji count 2."""
    return int(_lib().parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where X sees URLs in ``text``, as (start, end) code point offsets."""
    return [(int(e["indices"][0]), int(e["indices"][1])) for e in _lib().extract_urls_with_indices(text)]


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """Where X sees emoji (each counted as one character, whatever its code points), as (start, end) offsets."""
    return [(int(e["indices"][0]), int(e["indices"][1])) for e in _lib().extract_emojis_with_indices(text)]


# X's rules as data, for composing and choosing the image without loading tweepy (dry runs need no X at all).
# The original is used only up to 2048 px: X shows nothing larger, and a bigger file only risks its 5 MB cap.
RULES = NetworkRules(
    name="x",
    display="X",
    text_limit=280,
    measure=weighted_length,
    unit="weighted characters",
    alt_limit=1000,
    max_image_bytes=5 * 1024 * 1024,
    max_image_edge=2048,
    refuses_repeated_text=True,
    max_images=4,
)
