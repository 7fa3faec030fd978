"""Logging to stderr that never shows a secret nor a terminal escape, whatever a library logs at debug level."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from urllib.parse import quote

# Libraries whose debug output is worth seeing with -v (after redaction).
_CHATTY = ("flickrapi", "tweepy", "urllib3", "requests")
# Libraries that log signing internals: never below WARNING.
_SIGNING = ("oauthlib", "requests_oauthlib")
# boto's debug lines are whole signed requests: never below INFO, and redacted all the same.
_AWS = ("botocore", "boto3", "s3transfer")


class Redactor:
    """Replaces every known secret (raw and URL-encoded) with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if len(secret) < 3:
                continue
            for form in {secret, quote(secret, safe=""), quote(secret, safe="~")}:
                if form not in self._secrets:
                    self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


REDACT = Redactor()

# Credentials recognisable by their shape, whether pierrot knows them or not: a JWT (session tokens often
# are), the value of an Authorization header, and OAuth 1.0a's parameters that carry a credential.
_CREDENTIAL_SHAPES = re.compile(
    r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
    r"|(\b(?:Bearer|Basic) )[A-Za-z0-9._~+/=-]{8,}"
    r'|(\boauth_(?:consumer_key|token|signature)=)(?:"[^"]{4,}"|[^",&\s]{4,})',
    re.IGNORECASE,
)
REASON_CHARS = 300


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without a secret: REDACT's, ``secrets`` (raw and URL-encoded), JWTs and Authorization values."""
    text = Redactor(secrets)(REDACT(text)) if secrets else REDACT(text)
    return _CREDENTIAL_SHAPES.sub(lambda m: (m.group(1) or m.group(2) or "") + "***", text)


def excerpt(text: str, secrets: Iterable[str] = (), limit: int = REASON_CHARS) -> str:
    """``text`` scrubbed, then cut to ``limit`` characters: in that order, so a cut never leaves part of a secret.

    Every server's error text, exception message or reason that pierrot shows, logs or keeps goes through here
    (issue 15: an answer quoting the token, cut at 300 characters before the token was replaced, showed its start).
    """
    text = scrub(text, secrets)
    return text if len(text) <= limit else text[: limit - 1] + "…"

# What a terminal acts on rather than shows: C0 and C1 controls (ESC among them), DEL, and the bidirectional
# controls that reorder what follows. Text from Flickr, X or a document must not clear a screen, set a window
# title or make a line read backwards.
_CONTROLS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[\n{_CONTROLS}]")
_UNPRINTABLE_KEEPING_LINES = re.compile(f"[{_CONTROLS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``); newlines kept if multiline."""
    pattern = _UNPRINTABLE_KEEPING_LINES if multiline else _UNPRINTABLE
    return pattern.sub(_visible, text)


def printable_json(text: str) -> str:
    """JSON text (from ``json.dumps``) with every control character as a ``\\uXXXX`` escape."""
    # json.dumps escapes C0 controls by itself, but with ensure_ascii=False lets DEL, C1 and bidi through raw.
    return _UNPRINTABLE_KEEPING_LINES.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return printable(REDACT(super().format(record)), multiline=True)


def setup_logging(*, verbose: bool) -> None:
    """Send log lines to stderr: warnings (with -q too, so cron sees them), everything with -v."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pierrot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._pierrot = True  # type: ignore[attr-defined]
    handler.setFormatter(_RedactingFormatter("pierrot: %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    level = logging.DEBUG if verbose else logging.WARNING
    root.setLevel(level)
    logging.getLogger("pierrot").setLevel(level)
    for name in _CHATTY:
        # Without -v the libraries' own error lines (retried 5xx, say) are noise: our message says it.
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    for name in _SIGNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _AWS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.CRITICAL)
