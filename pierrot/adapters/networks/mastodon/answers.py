"""Reading Mastodon's and Pixelfed's answers: a status's fields, media and text, and what a refusal's detail means."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any


def _field(doc: Any, name: str) -> str | None:
    value = doc.get(name) if isinstance(doc, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def _media_ids(status: dict[str, Any]) -> set[str]:
    media = status.get("media_attachments")
    return {str(m.get("id")) for m in media if isinstance(m, dict)} if isinstance(media, list) else set()


def _is_duplicate_key(status: int, detail: str) -> bool:
    """Pixelfed's answer to a repeated Idempotency-Key."""
    return status in (400, 409, 422) and "idempotency key" in detail.lower() and "duplicate" in detail.lower()


def _is_media_taken(detail: str) -> bool:
    # Mastodon says "Media 123 not found or already attached to another post" for both cases: with media this
    # run uploaded, it is attached.
    return "already attached" in detail.lower()



_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def _status_text(status: dict[str, Any]) -> str:
    """A status's text as posted, near enough to compare: Pixelfed's content_text, or Mastodon's HTML undone."""
    plain = status.get("content_text")
    if isinstance(plain, str):
        return _plain(plain)
    content = status.get("content")
    if not isinstance(content, str):
        return ""
    content = _PARAGRAPH.sub("\n\n", _BREAK.sub("\n", content))
    return _plain(html.unescape(_TAG.sub("", content)))


def _plain(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
