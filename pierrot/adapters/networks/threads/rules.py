"""Threads' rules for a post: how it counts a text, and its limits."""

from __future__ import annotations

import regex  # type: ignore[import-untyped,unused-ignore]

from pierrot.ports import NetworkRules

TEXT_LIMIT = 500
ALT_LIMIT = 1000
IMAGE_BYTES = 8_000_000  # "8 MB": the decimal reading, the safer one
IMAGE_TYPES = ("image/jpeg", "image/png")
# Threads scales anything wider than 1440 px down to 1440: a size beyond 2048 is bandwidth spent for nothing.
IMAGE_EDGE = 2048

# "Text posts are limited to 500 characters. Emojis are counted as the number of UTF-8 bytes." An emoji here is
# anything pictographic and the pieces that build emoji sequences (modifiers, flags, ZWJ, variation selector 16,
# keycap, tags): each counts its UTF-8 bytes, everything else one per code point.
_EMOJI_PART = regex.compile(
    r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200d\ufe0f\u20e3\U000e0020-\U000e007f]"
)


def threads_length(text: str) -> int:
    """The length Threads counts against 500: code points, an emoji as its UTF-8 bytes."""
    return len(text) + sum(len(m.group().encode()) - 1 for m in _EMOJI_PART.finditer(text))


def cut_alt_text(text: str, limit: int = ALT_LIMIT) -> str:
    """``text`` cut to at most ``limit`` code points, never inside a grapheme."""
    if len(text) <= limit:
        return text
    kept = 0
    for grapheme in regex.finditer(r"\X", text):
        if grapheme.end() > limit:
            break
        kept = grapheme.end()
    return text[:kept].rstrip()


RULES = NetworkRules(
    name="threads",
    display="Threads",
    text_limit=TEXT_LIMIT,
    measure=threads_length,
    unit="characters (an emoji counts its UTF-8 bytes)",
    alt_limit=ALT_LIMIT,
    max_image_bytes=IMAGE_BYTES,
    max_image_edge=IMAGE_EDGE,
    settles_unknown=True,
    # Several photos go as one carousel (Meta takes 2 to 20 items); 4 is pierrot's cap on every network.
    max_images=4,
    warnings="media",
)
