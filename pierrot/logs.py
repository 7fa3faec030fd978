"""Logging to stderr that never shows a secret, whatever a library logs at debug level."""

from __future__ import annotations

import logging
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


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return REDACT(super().format(record))


def setup_logging(*, verbose: bool, quiet: bool) -> None:
    """Send log lines to stderr: warnings by default, everything with -v, errors only with -q."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pierrot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._pierrot = True  # type: ignore[attr-defined]
    handler.setFormatter(_RedactingFormatter("pierrot: %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    root.setLevel(level)
    logging.getLogger("pierrot").setLevel(level)
    for name in _CHATTY:
        # Without -v the libraries' own error lines (retried 5xx, say) are noise: our message says it.
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    for name in _SIGNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _AWS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.CRITICAL)
