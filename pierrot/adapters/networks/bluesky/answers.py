"""Reading Bluesky's answers: a field, an XRPC error, and a failed call described for the adapter to raise."""

from __future__ import annotations

from typing import Any

import requests

from pierrot.adapters.networks.base import json_of


class _Failure(Exception):
    """A failed call, described; the public methods turn it into the exception their callers expect.

    ``answered``: the server answered, so a retry cannot help (credentials, limits) unless ``status`` is 5xx."""

    def __init__(
        self, message: str, *, answered: bool, status: int | None = None, reset_time: int | None = None
    ) -> None:
        super().__init__(message)
        self.answered = answered
        self.status = status
        self.reset_time = reset_time

    @property
    def transient(self) -> bool:
        return not self.answered or (self.status or 0) >= 500


def _field(response: requests.Response, name: str) -> Any:
    answer = json_of(response)
    return answer.get(name) if isinstance(answer, dict) else None


def _error_of(response: requests.Response) -> tuple[str, str]:
    """The XRPC error name and message of an error answer (``{"error": ..., "message": ...}``), or empty strings."""
    answer = json_of(response)
    if not isinstance(answer, dict):
        return "", ""
    error, message = answer.get("error"), answer.get("message")
    return (error if isinstance(error, str) else ""), (message if isinstance(message, str) else "")


def _too_big(nbytes: int, limit: int) -> str:
    return f"the image is {nbytes:,} bytes, over the {limit:,} bytes that every Bluesky server accepts; not uploaded"
