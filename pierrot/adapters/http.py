"""The HTTP session behind every API call: no redirects, one deadline per call, a cap on answers."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import ipaddress
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    DecodeError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from pierrot.errors import ConfigError, PostOutcomeUnknown, PostRefused

# Far above any real answer (a Flickr page of 500 photos with every extra is 1-2 MB, X answers a few KB), and
# small enough that a broken or hostile endpoint cannot make a run hold gigabytes: the answer is kept in memory.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# A call, request and answer included, must end within this many times the timeout setting. The timeout alone
# bounds each socket read, so a status line, headers or body trickled a byte at a time would never trip it.
DEADLINE_FACTOR = 2.0
CHUNK = 64 * 1024
SEND_GRACE = 1.0
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
PRINTABLE_HOST = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")


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


# ---- the deadline of one exchange -------------------------------------------------------------------------


class _Exchange:
    """One request and its answer: the socket it uses, cut when the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sock: Any = None
        self._expired = False
        self._over = False
        self._cut_done = False

    def watch(self, sock: Any) -> None:
        """Cut ``sock`` at the deadline (at once if it has passed: connecting took it all)."""
        with self._lock:
            self._sock = sock
            if self._expired and not self._over:
                self._cut()

    def expire(self) -> None:
        with self._lock:
            self._expired = True
            if self._sock is not None and not self._over:
                self._cut()

    def end(self) -> None:
        with self._lock:
            self._over = True

    def was_cut(self) -> bool:
        """Whether the deadline cut the connection (waiting for a cut in progress: the failure it causes can
        reach the caller before the cutting thread returns)."""
        with self._lock:
            return self._cut_done

    def _cut(self) -> None:
        # urllib3's SSLTransport (TLS through an HTTPS proxy) wraps the socket it runs on.
        sock = getattr(self._sock, "socket", self._sock)
        if not isinstance(sock, socket.socket):
            return
        with contextlib.suppress(OSError):
            # socket.socket's shutdown, not ssl.SSLSocket's, which would also drop the TLS state under the read
            # in progress in the other thread. A blocked send or recv then fails at once; the pool, finding the
            # connection dropped, never hands it out again.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
            self._cut_done = True


_exchange: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar("pierrot_exchange", default=None)


def _watch(sock: Any) -> None:
    exchange = _exchange.get()
    if exchange is not None and sock is not None:
        exchange.watch(sock)


def _allow_sending(sock: Any) -> None:
    """Let the request be sent until the deadline: the timeout bounds a whole send (sendall, a TLS write), so a
    body that takes longer than the timeout to upload would fail however much time the deadline gives it."""
    exchange = _exchange.get()
    if exchange is not None and sock is not None:
        # The timer cuts the socket at the deadline; the grace only matters if it could not.
        sock.settimeout(max(0.0, exchange.ends - time.monotonic()) + SEND_GRACE)


@contextlib.contextmanager
def answer_deadline(seconds: float) -> Iterator[None]:
    """Requests made inside, through a session with DeadlineAdapter, end within ``seconds`` with AnswerTooSlow.

    The request sent, the status line, the headers and the body read: all of it. A timer cuts the connection when
    the time is up, so a failure that follows is reported as the deadline it is, not as a lost connection."""
    exchange = _Exchange(seconds)
    token = _exchange.set(exchange)
    timer = threading.Timer(max(0.0, seconds), exchange.expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except (requests.RequestException, urllib3.exceptions.HTTPError):
        if exchange.was_cut():
            raise AnswerTooSlow(seconds) from None
        raise
    finally:
        exchange.end()
        timer.cancel()
        _exchange.reset(token)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a connection kept alive from an earlier call; a new one is watched once connected
        super().request(*args, **kwargs)

    def send(self, data: Any) -> None:
        _allow_sending(self.sock)  # getresponse sets the read timeout back
        super().send(data)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)

    def send(self, data: Any) -> None:
        _allow_sending(self.sock)  # getresponse sets the read timeout back
        super().send(data)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections whose socket answer_deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has connection classes of its own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def mount_deadlines(session: requests.Session) -> requests.Session:
    """``session``, its http and https requests now cut by answer_deadline."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, DeadlineAdapter())
    return session


class ApiSession(requests.Session):
    """A session that never follows a redirect and reads each answer in full, within a deadline and a size cap.

    ``budget`` is the wall time the next request may take in all; a caller with its own deadline (retries)
    lowers it before each request."""

    def __init__(
        self,
        timeout: float,
        *,
        user_agent: str,
        max_bytes: int = MAX_ANSWER_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        mount_deadlines(self)
        self.headers["User-Agent"] = user_agent
        self.default_timeout = timeout
        self.budget = DEADLINE_FACTOR * timeout
        self.max_bytes = max_bytes
        self.clock = clock

    def rewrite(self, url: str) -> str:
        """The URL to call instead of ``url`` (a hook for libraries with a hard-coded host)."""
        return url

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str):
            url = self.rewrite(url)
        budget = self.budget
        deadline = self.clock() + budget
        timeout = kwargs.get("timeout")
        if timeout is None:
            timeout = self.default_timeout
        if isinstance(timeout, int | float):
            timeout = min(timeout, budget)
        kwargs["timeout"] = timeout
        kwargs["allow_redirects"] = False
        kwargs["stream"] = True  # read below, within the deadline and the cap
        with answer_deadline(budget):
            response = super().request(method, url, *args, **kwargs)
            try:
                if 300 <= response.status_code < 400:
                    target = redirect_target(str(url), response.headers.get("Location"))
                    raise RedirectRefused(response.status_code, target, response=response)
                _read_answer(response, deadline, budget, self.max_bytes, self.clock)
            except BaseException:
                response.close()
                raise
        return response


def _read_answer(
    response: requests.Response, deadline: float, budget: float, max_bytes: int, clock: Callable[[], float]
) -> None:
    """Read the whole answer into ``response.content``, or raise AnswerTooSlow or AnswerTooLarge."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise AnswerTooLarge(max_bytes, response=response)
    parts: list[bytes] = []
    size = 0
    for chunk in read_chunks(response, deadline, budget, clock):
        size += len(chunk)
        if size > max_bytes:
            raise AnswerTooLarge(max_bytes, response=response)
        parts.append(chunk)
    response._content = b"".join(parts)
    response._content_consumed = True  # type: ignore[attr-defined]  # iter_content then replays the content


def read_chunks(
    response: requests.Response, deadline: float, budget: float, clock: Callable[[], float] = time.monotonic
) -> Generator[bytes, None, None]:
    """The body of a streamed answer as it arrives, decoded; AnswerTooSlow once ``deadline`` has passed.

    ``budget`` is the time the deadline allowed, for the message. Errors are requests' own, as
    ``iter_content`` raises them."""
    raw = response.raw
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    sock = sock if isinstance(sock, socket.socket) else None
    per_read = sock.gettimeout() if sock is not None else None
    try:
        while True:
            left = deadline - clock()
            if left <= 0:
                raise AnswerTooSlow(budget, response=response)
            if sock is not None:
                # No single read may outlive the deadline either.
                sock.settimeout(left if per_read is None else min(per_read, left))
            try:
                # read1 returns what has arrived: a plain read of a chunk waits for all of it, however slowly.
                chunk = raw.read1(CHUNK, decode_content=True)
            except ReadTimeoutError as exc:
                if clock() >= deadline:
                    raise AnswerTooSlow(budget, response=response) from None
                raise requests.exceptions.ReadTimeout(exc, response=response) from None
            except ProtocolError as exc:
                raise requests.exceptions.ChunkedEncodingError(exc, response=response) from None
            except DecodeError as exc:
                raise requests.exceptions.ContentDecodingError(exc, response=response) from None
            except Urllib3SSLError as exc:
                raise requests.exceptions.SSLError(exc, response=response) from None
            if not chunk:
                return
            yield chunk
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(per_read)


def redirect_target(url: str, location: str | None) -> str:
    """Where a redirect points, as an origin only: its path and query are the server's, not worth showing."""
    try:
        parts = urlsplit(urljoin(url, location or ""))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an unreadable location"
    if not PRINTABLE_HOST.fullmatch(host):
        return "another host"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


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
