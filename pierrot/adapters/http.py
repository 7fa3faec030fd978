"""The HTTP session behind every API call: no redirects, one deadline per call, a cap on answers."""

from __future__ import annotations

import contextlib
import contextvars
import re
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    DecodeError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from pierrot.adapters.http_failures import AnswerTooLarge, AnswerTooSlow, RedirectRefused

# Far above any real answer (a Flickr page of 500 photos with every extra is 1-2 MB, X answers a few KB), and
# small enough that a broken or hostile endpoint cannot make a run hold gigabytes: the answer is kept in memory.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# A call, request and answer included, must end within this many times the timeout setting. The timeout alone
# bounds each socket read, so a status line, headers or body trickled a byte at a time would never trip it.
DEADLINE_FACTOR = 2.0
CHUNK = 64 * 1024
SEND_GRACE = 1.0


PRINTABLE_HOST = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")


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
