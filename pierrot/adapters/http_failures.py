"""Which URLs a setting may name, and HTTP failures told in one line: what failed, whether it was sent."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
)

from pierrot.errors import ConfigError, PostOutcomeUnknown, PostRefused

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


class RedirectRefused(requests.RequestException):
    """The API answered with a redirect, which is never followed: it would carry credentials or data elsewhere."""

    def __init__(self, status: int, target: str, **kwargs: Any) -> None:
        super().__init__(f"HTTP {status} redirect to {target}", **kwargs)
        self.status = status
        self.target = target


class AnswerTooLarge(requests.RequestException):
    """The answer is larger than any real one."""

    def __init__(self, limit: int, **kwargs: Any) -> None:
        super().__init__(f"the answer is larger than {limit // (1024 * 1024)} MB", **kwargs)
        self.limit = limit


class AnswerTooSlow(requests.Timeout):
    """The answer did not arrive in full before the call's deadline."""

    def __init__(self, seconds: float, **kwargs: Any) -> None:
        super().__init__(f"the answer did not complete within {round(seconds, 1):g} s", **kwargs)
        self.seconds = seconds


# ---- settings and failures --------------------------------------------------------------------------------


def require_safe_url(url: str, setting: str) -> None:
    """ConfigError unless ``url`` is https, or plain http to this machine's loopback (a test fake)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ConfigError(f"{setting}={url!r} is not an http(s) URL") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and is_loopback(host):
        return
    if parts.scheme == "http":
        raise ConfigError(
            f"{setting}={url!r} would send credentials unencrypted: use https "
            "(plain http only to 127.0.0.1, ::1 or localhost)"
        )
    raise ConfigError(f"{setting}={url!r} is not an http(s) URL")


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe_failure(exc: requests.RequestException, host: str, timeout: float) -> str:
    """A short reason for a failed request, naming its cause, without urllib3's object reprs."""
    if isinstance(exc, AnswerTooSlow | AnswerTooLarge | RedirectRefused):
        return str(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection to {host} within {timeout:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS failure with {host}: {tls_problem(exc) or 'the secure connection could not be set up'}"
    if isinstance(exc, requests.exceptions.ProxyError):
        return f"the proxy failed to reach {host}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the connection to {host} broke in the middle of the answer"
    for cause in _causes(exc):
        if isinstance(cause, NameResolutionError | socket.gaierror):
            return f"could not resolve {host}"
        if isinstance(cause, NewConnectionError):
            error = next((c for c in _causes(cause) if isinstance(c, OSError) and c.strerror), None)
            return f"cannot connect to {host}: {error.strerror if error else 'connection failed'}"
    if isinstance(exc, requests.ConnectionError):
        return f"the connection to {host} was lost before it answered"
    return type(exc).__name__


def tls_problem(exc: BaseException) -> str | None:
    """What went wrong in the TLS handshake (an expired certificate...), or None if it was not TLS."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return str(cause.reason or cause.strerror or "handshake failed")
    return None


def is_certificate_problem(exc: BaseException) -> bool:
    """True when the server's certificate was refused: trying again cannot help."""
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests and urllib3 nest the real cause in args, ``reason`` and ``__cause__``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [
            *(a for a in current.args if isinstance(a, BaseException)),
            getattr(current, "reason", None) if isinstance(current, MaxRetryError) else None,
            getattr(current, "_reason", None),
            current.__cause__,
            current.__context__,
        ]
        todo.extend(c for c in linked if isinstance(c, BaseException))


def not_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server: no connection was ever made (so nothing posted)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        cause = exc.args[0]
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        return isinstance(cause, NewConnectionError)
    return False


def sent_credentials(response: requests.Response) -> list[str]:
    """The credentials the request behind ``response`` carried in its Authorization header, to scrub from the answer:
    the whole value, what follows its scheme (a bearer token) and OAuth 1.0a's consumer key and token."""
    request = getattr(response, "request", None)
    value: str | bytes | None = request.headers.get("Authorization") if request is not None else None
    if not value:
        return []
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    found = [text, text.partition(" ")[2]]
    found += [unquote(v) for v in re.findall(r'oauth_(?:consumer_key|token)="([^"]*)"', text)]
    return [credential for credential in found if len(credential) >= 4]


def resets(reset_time: int | None, *, now: float | None = None) -> str:
    """When a rate limit resets, for people: local time and minutes from ``now`` (this moment by default)."""
    if reset_time is None:
        return "try again later"
    when = dt.datetime.fromtimestamp(reset_time).astimezone().isoformat(timespec="seconds")
    minutes = max(0, math.ceil((reset_time - (time.time() if now is None else now)) / 60))
    wait = "now" if minutes == 0 else f"in {minutes} minute{'s' if minutes != 1 else ''}"
    return f"the limit resets at {when} ({wait})"


def post_failure(
    exc: requests.RequestException, display: str, *, reason: str, redirected: str
) -> PostRefused | PostOutcomeUnknown:
    """What a post request that got no usable answer means: PostRefused when it cannot have been acted on (never
    sent; a 307 or 308, which ask for the same request elsewhere), PostOutcomeUnknown when it may have been (a
    301, 302 or 303 can mean "done, see there"; a connection lost or a timeout after sending).

    ``reason`` and ``redirected`` are the caller's own words for the failure and the redirect, secrets scrubbed."""
    if isinstance(exc, RedirectRefused):
        if exc.status in (307, 308):
            return PostRefused(redirected, status=exc.status)
        return PostOutcomeUnknown(redirected)
    if not_sent(exc):
        return PostRefused(f"could not reach {display}: {reason}")
    return PostOutcomeUnknown(f"lost contact with {display} while posting: {reason}")
