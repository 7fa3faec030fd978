"""X's rules for a post's length: the weighted count X applies to its 280-character limit.

The rules themselves (weights by code point range, every URL as 23, an emoji sequence as one character)
come from the vendored copy of twitter-text-parser in ``pierrot._twitter_text``; this module is the typed
door to it and loads it lazily, since compiling its expressions takes a tenth of a second.
"""

from __future__ import annotations

import unicodedata
from typing import Any


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
