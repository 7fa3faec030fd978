"""What a Bluesky post is: its length in graphemes, its record key (a TID), its time, its rich text and record."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from typing import Any

import regex  # type: ignore[import-untyped,unused-ignore]

from pierrot.ports import NetworkRules

POST_COLLECTION = "app.bsky.feed.post"

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """The length of ``text`` as Bluesky counts it: user-perceived characters (an emoji family is one)."""
    return len(_GRAPHEME.findall(text))


RULES = NetworkRules(
    name="bluesky",
    display="Bluesky",
    text_limit=300,
    measure=grapheme_count,
    unit="graphemes",
    alt_limit=2000,
    # Current PDSes take 2,000,000 bytes, but self-hosted ones not upgraded since April 2026 refuse over 1,000,000.
    max_image_bytes=1_000_000,
    max_text_bytes=3000,
    settles_unknown=True,
    languages=True,
    warnings="label",
    max_images=4,
)
# The self-labels Bluesky's app shows a sensitive post behind (com.atproto.label.defs' global values).
SELF_LABELS = ("sexual", "nudity", "porn", "graphic-media")


# ---- record keys -------------------------------------------------------------------------------------------

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_tid_lock = threading.Lock()
_last_micros = 0


def tid(micros: int, clock_id: int) -> str:
    """The TID for a time in microseconds since the epoch and a 10-bit clock id: 13 base32-sortable characters."""
    if not 0 <= micros < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError(f"a TID holds 53 bits of microseconds and a 10-bit clock id, not {micros}, {clock_id}")
    value = micros << 10 | clock_id  # 63 bits: the top bit of the 64 stays 0
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def parse_tid(text: str) -> tuple[int, int]:
    """The (microseconds, clock id) of a TID; ValueError if ``text`` is not one."""
    if not TID_PATTERN.fullmatch(text):
        raise ValueError(f"{text!r} is not a TID")
    value = 0
    for char in text:
        value = value << 5 | TID_ALPHABET.index(char)
    return value >> 10, value & 1023


def new_tid() -> str:
    """A fresh TID: now, later than every other this process made, with a random clock id."""
    global _last_micros
    with _tid_lock:
        micros = max(time.time_ns() // 1000, _last_micros + 1)
        _last_micros = micros
    return tid(micros, secrets.randbelow(1024))


def record_time(created_at: str = "") -> str:
    """``created_at`` (ISO 8601; naive means UTC) as a record's ``createdAt``: UTC, milliseconds, Z. Empty: now."""
    moment: dt.datetime | None = None
    if created_at:
        try:
            moment = dt.datetime.fromisoformat(created_at.strip())
        except ValueError:
            moment = None
    if moment is None:
        moment = dt.datetime.now(dt.UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---- rich text -------------------------------------------------------------------------------------------

# A link starts the text or follows a space or an opening bracket or quote, and runs to the next space.
_LINK = regex.compile(r"(?<![^\s(\[{<«\"'“‘])https?://[\w\-\[][^\s]*", regex.IGNORECASE)
_LINK_TAIL = ".,;:!?'\"’”»>"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Bluesky's own hashtag rule (packages/api/src/rich-text/util.ts): after the start or a space, not all digits.
_INVISIBLE = r"\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2"
_TAG = regex.compile(rf"(?<!\S)[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^\d\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)?")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
MAX_TAG_GRAPHEMES = 64


def facets(text: str) -> list[dict[str, Any]]:
    """The link and hashtag facets of ``text``, in text order, indexed in UTF-8 bytes."""
    spans: list[tuple[int, int, dict[str, Any]]] = []
    for found in _LINK.finditer(text):
        start, end = found.span()
        end = _trim_link(text, start, end)
        if end - start > len("https://"):
            spans.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": text[start:end]}))
    for found in _TAG.finditer(text):
        tag = found.group(1)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if not tag or grapheme_count(tag) > MAX_TAG_GRAPHEMES:
            continue
        start = found.start()
        end = start + 1 + len(tag)
        if any(start < link_end and link_start < end for link_start, link_end, _ in spans):
            continue
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    spans.sort(key=lambda span: span[0])
    return [
        {"index": {"byteStart": _utf8_offset(text, start), "byteEnd": _utf8_offset(text, end)}, "features": [feature]}
        for start, end, feature in spans
    ]


def _trim_link(text: str, start: int, end: int) -> int:
    """Where a link really ends: sentence punctuation and unmatched closing brackets are not part of it."""
    while end > start:
        last = text[end - 1]
        opener = _CLOSERS.get(last)
        if last in _LINK_TAIL or (opener and text.count(opener, start, end) < text.count(last, start, end)):
            end -= 1
            continue
        break
    return end


def _utf8_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def post_record(
    text: str, created_at: str, images: list[dict[str, Any]], *, language: str | None = None, label: str | None = None
) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` record: the same arguments always give the same record, field for field.

    ``language`` goes in ``langs``; ``label`` is a self-label (say "nudity") the app hides the post behind."""
    record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text, "createdAt": created_at}
    found = facets(text)
    if found:
        record["facets"] = found
    if language:
        record["langs"] = [language]
    if images:
        record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
    if label:
        record["labels"] = {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": label}]}
    return record


def embedded_image(media_id: str) -> dict[str, Any] | None:
    """The embedded image that a media id from upload_media stands for, its fields in a fixed order (None: not one)."""
    try:
        media = json.loads(media_id)
    except ValueError:
        media = None
    if not isinstance(media, dict) or not is_blob(media.get("blob")):
        return None
    image: dict[str, Any] = {"image": media["blob"], "alt": str(media.get("alt") or "")}
    ratio = media.get("aspectRatio")
    if isinstance(ratio, dict) and set(ratio) == {"width", "height"}:
        image["aspectRatio"] = {"width": ratio["width"], "height": ratio["height"]}
    return image


def is_blob(value: Any) -> bool:
    """True for a blob as uploadBlob answers it: a ``ref`` with a ``$link``."""
    return isinstance(value, dict) and isinstance(value.get("ref"), dict) and bool(value["ref"].get("$link"))


def compact_json(value: Any, *, sort_keys: bool = False) -> str:
    """JSON as sent and kept: no spaces, non-ASCII as is (a retried record must be byte-identical)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
