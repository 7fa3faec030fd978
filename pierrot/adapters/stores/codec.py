"""How documents become bytes and back, the same in every store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pierrot.domain import LOG_DOCUMENT
from pierrot.errors import DocumentError
from pierrot.ports import Encoded


def encode(doc: Any) -> bytes:
    """The document as compact UTF-8 JSON."""
    if isinstance(doc, Encoded):
        return b"".join(doc.chunks())
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_chunks(doc: Any) -> Iterable[bytes]:
    """The document as compact UTF-8 JSON, in pieces, without building it whole when it is Encoded."""
    if isinstance(doc, Encoded):
        return doc.chunks()
    return [encode(doc)]


def decode(name: str, data: bytes, token: str | None = None) -> Any:
    """The parsed document; DocumentError, saying where and what to do, if it is not JSON."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON (line {exc.lineno} column {exc.colno})"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        problem = f"not valid JSON (not UTF-8 at line {line} column {column})"
    except RecursionError:
        problem = "not valid JSON (nested too deeply)"
    raise DocumentError(name, problem, advice(name), token=token)


def advice(name: str) -> str:
    """What to do about an unreadable document."""
    if name == LOG_DOCUMENT:
        # The publish log is the only record of what was posted: it cannot be rebuilt from Flickr.
        return "restore it from a backup or fix it by hand; pierrot will not overwrite it"
    return "run `pierrot sync --full` to rebuild it"
