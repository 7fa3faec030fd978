"""What every call to Meta's Threads Graph API shares: versioned routes with a bearer token, the Graph API's
error codes read as the statuses they mean (it answers a bad token or a rate limit with HTTP 400 and a code),
its retry times, and the long-lived token: when it expires, and renewing it before it does."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from pierrot.adapters.networks.base import HttpPublisher, json_of, reset_time
from pierrot.errors import PublishError
from pierrot.logs import REDACT, scrub

log = logging.getLogger(__name__)

VERSION = "v1.0"
TOKEN_SETTING = "PIERROT_THREADS_ACCESS_TOKEN"
TOKEN_ATTR = "threads_access_token"
# Long-lived tokens last 60 days; refreshed when fewer than this are left (and the token is a day old).
REFRESH_BEFORE = 30 * 86400
REFRESH_AFTER_AGE = 86400
RATE_LIMIT_CODES = {4, 17, 32, 613}  # Graph API: app, user, page and custom rate limits
PUBLISH_LIMIT_SUBCODES = {2207042}  # Instagram's "maximum number of posts"; Meta's Threads code is not documented
TOKEN_CODES = {190}  # invalid or expired access token


@dataclass(frozen=True)
class TokenStatus:
    """What `check` says of the token: when it expires, and whether pierrot can renew it."""

    expires_at: int | None  # unix time; None when Meta did not say
    renewable: bool
    note: str  # one line for people


class GraphPublisher(HttpPublisher):
    """A publisher speaking the Threads Graph API with a long-lived user token it renews when due."""

    def __init__(self, *, access_token: str, keep_secret: Callable[[str, str], None] | None, **base: Any) -> None:
        super().__init__(secrets=[access_token], **base)
        self._token = access_token
        self._keep_secret = keep_secret
        self.notes: list[str] = []  # what this run did with the token, for the run's report

    def token_status(self) -> TokenStatus:
        """When the token expires and whether pierrot can renew it (for `check`)."""
        expires, _ = self._token_times()
        keeper = self._keep_secret is not None
        if expires is None:
            return TokenStatus(None, keeper, "Threads did not say when the token expires")
        when = dt.datetime.fromtimestamp(expires, dt.UTC).date().isoformat()
        days = math.floor((expires - self._clock()) / 86400)
        if not keeper:
            return TokenStatus(expires, False, f"token expires {when}, in {days} days; WARNING: pierrot cannot "
                               "renew it here (nowhere to keep a renewed token): renew it by hand before then")
        return TokenStatus(expires, True, f"token expires {when}, in {days} days; renewed automatically when "
                           f"fewer than {REFRESH_BEFORE // 86400} are left")

    def _token_times(self) -> tuple[int | None, int | None]:
        """When the token expires and was issued (debug_token); (None, None) when Meta does not say."""
        try:
            doc = json_of(self._call("read the token's expiry", "GET", "/debug_token",
                                   params={"input_token": self._token}))
        except PublishError as exc:  # the calls that need the token say whether it works; this one only informs
            log.debug("Threads debug_token failed: %s", exc)
            return None, None
        data = doc.get("data") if isinstance(doc, dict) else None
        data = data if isinstance(data, dict) else {}
        return whole(data.get("expires_at")), whole(data.get("issued_at"))

    def _renew_if_due(self) -> None:
        """Refresh the token when fewer than 30 days are left, and keep the new one where pierrot keeps secrets."""
        expires, issued = self._token_times()
        now = self._clock()
        if expires is None or expires - now >= REFRESH_BEFORE:
            return
        if issued is not None and now - issued < REFRESH_AFTER_AGE:
            return
        if self._keep_secret is None:
            log.warning("Threads: the token expires in %d days and pierrot has nowhere to keep a renewed one: "
                        "renew it by hand (docs/operations.md, Threads)", max(0, (expires - now) // 86400))
            return
        try:
            response = self._send("GET", "/refresh_access_token", versioned=False,
                                  params={"grant_type": "th_refresh_token", "access_token": self._token})
        except requests.RequestException as exc:
            log.warning("Threads: could not renew the token: %s", self._scrub(self._reason(exc)))
            return
        doc = json_of(response)
        new = field_of(doc, "access_token") if response.status_code == 200 else None
        if new is None:
            log.warning("Threads: could not renew the token: %s", self._scrub(self._refusal("renew the token",
                                                                                              response)))
            return
        REDACT.add([new])  # never shown in a log line from here on, whatever logs it
        try:
            self._keep_secret(TOKEN_ATTR, new)
        except Exception as exc:  # the old token still works: keep using it, and say why
            log.warning("Threads: renewed the token but could not keep it (%s); still using the old one",
                        scrub(str(exc), [new, self._token]))
            return
        self._secrets.append(new)  # the old token stays scrubbed too
        self._token = new
        self.notes.append("Threads: the access token was renewed for 60 days and kept")

    def _send(self, method: str, route: str, *, versioned: bool = True, **kwargs: Any) -> requests.Response:
        """A versioned call carries the token; the refresh call (not versioned) carries it in its query."""
        headers = {"Authorization": f"Bearer {self._token}"} if versioned else {}
        return super()._send(method, f"/{VERSION}{route}" if versioned else route, headers=headers, **kwargs)

    def _status(self, response: requests.Response) -> int:
        code, subcode = _graph_codes(response)
        if code in TOKEN_CODES:
            return 401
        if code in RATE_LIMIT_CODES or subcode in PUBLISH_LIMIT_SUBCODES:
            return 429
        return response.status_code

    def _server_says(self, response: requests.Response) -> str:
        error = _graph_error(response)
        code, subcode = _graph_codes(response)
        message = str(error.get("error_user_msg") or error.get("message") or "")
        return message + (f" (code {code}" + (f"/{subcode}" if subcode else "") + ")" if code is not None else "")

    def _reset_time(self, response: requests.Response) -> int | None:
        """Retry-After, or the usage header's minutes to regain access, as unix time."""
        usage = response.headers.get("X-Business-Use-Case-Usage") or response.headers.get("X-App-Usage") or ""
        minutes = re.search(r'"estimated_time_to_regain_access"\s*:\s*(\d+)', usage)
        if minutes and not response.headers.get("Retry-After"):
            return math.ceil(self._clock()) + 60 * int(minutes.group(1))
        return reset_time({"Retry-After": response.headers.get("Retry-After", "")}, self._clock())


def field_of(doc: Any, name: str) -> str | None:
    """A field of a JSON object as text (None when absent, empty or not a string or number)."""
    value = doc.get(name) if isinstance(doc, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def whole(value: Any) -> int | None:
    """A whole number given as a number or as digits (None otherwise)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _graph_error(response: requests.Response) -> dict[str, Any]:
    """The Graph API error object of an answer (empty if none)."""
    doc = json_of(response)
    error = doc.get("error") if isinstance(doc, dict) else None
    return error if isinstance(error, dict) else {}


def _graph_codes(response: requests.Response) -> tuple[int | None, int | None]:
    """The Graph API error's code and subcode."""
    error = _graph_error(response)
    return whole(error.get("code")), whole(error.get("error_subcode"))
