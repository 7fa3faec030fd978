"""What every HTTP publisher shares: one session with no redirects, secrets scrubbed before any text is cut, one
line per refusal, rate-limit resets, and the one mapping of a failed post to refused or unknown.

A network's module keeps what is its own: its routes, its answers' shapes, its advice, its duplicates."""

from __future__ import annotations

import email.utils
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from pierrot.adapters.http import MAX_ANSWER_BYTES, ApiSession, redirect_target
from pierrot.adapters.http_failures import (
    RedirectRefused,
    describe_failure,
    post_failure,
    require_safe_url,
    resets,
    sent_credentials,
)
from pierrot.domain import parse_iso
from pierrot.errors import PostOutcomeUnknown, PostRefused, PublishError
from pierrot.logs import excerpt, scrub
from pierrot.ports import Publisher

log = logging.getLogger(__name__)

# Where networks say when a rate limit resets, in the order they are read: X-RateLimit-Reset (ISO 8601 or unix
# time), x-rate-limit-reset (unix time), RateLimit-Reset (unix time, or seconds from now); any may send
# Retry-After instead.
RESET_HEADERS = ("X-RateLimit-Reset", "x-rate-limit-reset", "RateLimit-Reset")
# A reset below this is a number of seconds from now (the IETF draft's RateLimit-Reset), not a unix time.
EPOCH_FLOOR = 1_000_000_000
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


class CredentialsRefused(PublishError):
    """401 or 403 to a call: the credentials are wrong or lack a permission (asking again cannot help)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def reset_time(headers: Mapping[str, str], now: float) -> int | None:
    """When a rate limit resets, as unix time, from whichever header the network sent (None if it sent none)."""
    for name in RESET_HEADERS:
        value = str(headers.get(name) or "").strip()
        if value.isdigit():
            seconds = int(value)
            return seconds if seconds >= EPOCH_FLOOR else math.ceil(now) + seconds
        moment = parse_iso(value) if value else None
        if moment is not None:
            return math.ceil(moment.timestamp())
    retry = str(headers.get("Retry-After") or "").strip()
    if retry.isdigit():
        return math.ceil(now) + int(retry)
    try:
        when = email.utils.parsedate_to_datetime(retry) if retry else None
    except (TypeError, ValueError):
        when = None
    return math.ceil(when.timestamp()) if when is not None and when.tzinfo is not None else None


class HttpPublisher(Publisher):
    """A publisher that speaks to its network over pierrot's ApiSession.

    Subclasses name the setting of their base URL (a redirect answer asks to check it), what the credentials are
    called and what to check when they are refused, and read their server's error text (``_server_says``)."""

    url_setting: str
    credentials: str = "credentials"  # what a 401 rejected, in the user's words: "credentials", "access token"
    credentials_help: str = ""  # what to check when the credentials are rejected
    forbidden_help: str = ""  # what to check on a 403; the credentials' help when empty

    def __init__(
        self,
        *,
        url: str,
        timeout: float,
        secrets: Iterable[str],
        user_agent: str,
        session: requests.Session | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_safe_url(url, self.url_setting)
        self._url = url.rstrip("/")
        self._host = urlsplit(self._url).hostname or self._url
        self._timeout = timeout
        self._session = session or ApiSession(timeout, user_agent=user_agent, max_bytes=max_bytes)
        self._secrets = [secret for secret in secrets if secret]
        self._clock = clock

    @property
    def display(self) -> str:
        return self.rules.display

    # ---- calls ----------------------------------------------------------------------------------------------

    def _send(self, method: str, route: str, **kwargs: Any) -> requests.Response:
        """One request to ``route`` under the base URL (or a full URL); RedirectRefused for any 3xx.

        Never redirected, whatever session was given: a redirect would carry credentials or the image elsewhere."""
        url = route if route.startswith(("https://", "http://")) else self._url + route
        kwargs.setdefault("timeout", self._timeout)
        response = self._session.request(method, url, allow_redirects=False, **kwargs)
        if 300 <= response.status_code < 400:
            response.close()
            raise RedirectRefused(
                response.status_code, redirect_target(url, response.headers.get("Location")), response=response
            )
        log.debug("%s %s %s: HTTP %s", self.display, method, urlsplit(url).path, response.status_code)
        return response

    def _call(
        self, action: str, method: str, route: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        """A request whose failure is a PublishError saying what to do (CredentialsRefused for 401 and 403)."""
        try:
            response = self._send(method, route, **kwargs)
        except requests.RequestException as exc:
            raise self._call_failed(action, exc) from exc
        if response.status_code in ok:
            return response
        message = self._refusal(action, response)
        if self._status(response) in (401, 403):
            raise CredentialsRefused(message, self._status(response))
        raise PublishError(message)

    def _call_failed(self, action: str, exc: requests.RequestException) -> PublishError:
        """A call before anything is public that got no answer: nothing to settle, say why."""
        if isinstance(exc, RedirectRefused):
            return PublishError(self._redirected(action, exc))
        return PublishError(self._scrub(f"could not reach {self.display} to {action}: {self._reason(exc)}"))

    # ---- the post: refused (nothing posted) or unknown (it may be) --------------------------------------------

    def _post_lost(self, exc: requests.RequestException) -> PublishError:
        """A post request without a usable answer: PostRefused if it cannot have been acted on (never sent; 307 or
        308), PostOutcomeUnknown if it may have been (lost after sending, a timeout; 301, 302 or 303)."""
        redirected = self._redirected("post", exc) if isinstance(exc, RedirectRefused) else ""
        return post_failure(exc, self.display, reason=self._scrub(self._reason(exc)), redirected=redirected)

    def _post_refused(self, response: requests.Response) -> PublishError:
        """A post answered with an error the network's own duplicates were not: a 4xx refused it before acting
        (PostRefused, with the reset of a 429); anything else may have been acted on (PostOutcomeUnknown)."""
        status = self._status(response)
        if 400 <= status < 500:
            reset = self._reset_time(response) if status == 429 else None
            return PostRefused(self._refusal("post", response), status=status, reset_time=reset)
        return PostOutcomeUnknown(
            self._scrub(
                f"{self.display} answered the post request with HTTP {response.status_code}{self._detail(response)}"
            )
        )

    # ---- texts ------------------------------------------------------------------------------------------------

    def _refusal(self, action: str, response: requests.Response) -> str:
        """One line for an error answer: what was refused, the status and the server's own words, what to do."""
        display, status, said = self.display, self._status(response), self._detail(response)
        http = response.status_code
        if status == 401:
            text = f"{display} rejected the {self.credentials} (HTTP {http}{said}): {self.credentials_help}"
        elif status == 403:
            help_ = self.forbidden_help or self.credentials_help
            text = f"{display} refused to {action} (HTTP 403 Forbidden{said}): {help_}"
        elif status == 404:
            text = f"{display} answered HTTP 404 Not Found{said} when asked to {action}: check {self.url_setting}"
        elif status == 413:
            text = f"{display} refused to {action}: too large for the server (HTTP 413{said})"
        elif status == 429:
            text = (
                f"{display} refused to {action}: rate limit reached (HTTP {http}{said}); "
                f"{self._resets(self._reset_time(response))}"
            )
        elif status >= 500:
            text = f"{display} failed to {action} (HTTP {status}{said}); try again later"
        else:
            text = f"{display} refused to {action} (HTTP {status}{said})"
        return self._scrub(text)

    def _status(self, response: requests.Response) -> int:
        """The HTTP status an error answer means: its own, unless the network says 401 or 429 in its body."""
        return response.status_code

    def _detail(self, response: requests.Response) -> str:
        """``: `` and the server's error text on one printable line, scrubbed then cut; empty if it said nothing."""
        text = " ".join(_UNPRINTABLE.sub(" ", self._server_says(response)).split())
        text = excerpt(text, [*self._secrets, *sent_credentials(response)])
        return f": {text}" if text else ""

    def _server_says(self, response: requests.Response) -> str:
        """The server's own error text in an error answer (the common JSON keys; a network reads its own shape)."""
        doc = json_of(response)
        if isinstance(doc, dict):
            for key in ("error", "message", "detail", "error_description", "title"):
                value = doc.get(key)
                if isinstance(value, str) and value.strip():
                    return value
        return ""

    def _redirected(self, action: str, exc: RedirectRefused) -> str:
        return self._scrub(
            f"{self.display} answered the request to {action} with a redirect (HTTP {exc.status} to {exc.target}); "
            f"pierrot never follows one on an API call: check {self.url_setting}"
        )

    def _reason(self, exc: requests.RequestException) -> str:
        return describe_failure(exc, self._host, self._timeout)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    # ---- rate limits ------------------------------------------------------------------------------------------

    def _reset_time(self, response: requests.Response) -> int | None:
        return reset_time(response.headers, self._clock())

    def _resets(self, reset: int | None) -> str:
        return resets(reset, now=self._clock())


def json_of(response: requests.Response) -> Any:
    """The answer's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None
