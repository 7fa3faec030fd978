"""A misbehaving HTTP server on 127.0.0.1, for what `responses` cannot fake: time passing on a real socket."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType

Behaviour = Callable[[socket.socket, threading.Event], None]


class FaultyServer:
    """Answers every connection with ``behaviour`` (after reading the request), until the block ends.

    ``reads_request=False`` hands the connection over unread: a server that takes an upload slowly or not at all.
    ``tls`` serves https with that context; ``receive_buffer`` shrinks the kernel's buffer of each connection, so
    that what the server has not read stays with the client."""

    def __init__(self, behaviour: Behaviour, *, reads_request: bool = True, tls: ssl.SSLContext | None = None,
                 receive_buffer: int | None = None) -> None:  # fmt: skip
        self.behaviour = behaviour
        self.reads_request = reads_request
        self.tls = tls
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.socket()
        if receive_buffer is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before listen: inherited
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._listener.settimeout(0.05)
        self._threads: list[threading.Thread] = []

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> FaultyServer:
        accepting = threading.Thread(target=self._accept, daemon=True)
        accepting.start()
        self._threads.append(accepting)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            handler = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            handler.start()
            self._threads.append(handler)

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                return
        with conn:
            if self.reads_request:
                self._read_request(conn)
            with contextlib.suppress(OSError):  # the client gave up: what these tests want
                self.behaviour(conn, self._stop)

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        """Read the request up to the end of its headers, and what of its body comes at once."""
        received = b""
        conn.settimeout(0.5)
        try:
            while b"\r\n\r\n" not in received:
                data = conn.recv(65536)
                if not data:
                    return
                received += data
            conn.settimeout(0.02)
            while conn.recv(65536):
                pass
        except OSError:
            pass  # a timeout: the request is read (or is not HTTP at all)
        conn.settimeout(5)


def hang(conn: socket.socket, stop: threading.Event) -> None:
    """Never answer."""
    stop.wait(10)


def trickle(seconds: float = 4.0, interval: float = 0.05, *, content_type: str = "application/json",
            first: bytes = b"") -> Behaviour:  # fmt: skip
    """Answer 200 at once with ``first``, then a byte of the body every ``interval`` for ``seconds``, then hang up."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: 100000\r\n\r\n"
        conn.sendall(head.encode() + first)
        ends = time.monotonic() + seconds
        while time.monotonic() < ends and not stop.wait(interval):
            conn.sendall(b" ")

    return behaviour


def not_tls(conn: socket.socket, stop: threading.Event) -> None:
    """Answer in plain HTTP whatever was sent, as a server does when a client speaks TLS to its http port."""
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def trickle_head(seconds: float = 8.0, interval: float = 0.2) -> Behaviour:
    """Send the status line and headers a byte every ``interval``, never reaching their end; hang up after
    ``seconds``. Every read gets a byte well within any timeout, so only a deadline on the whole answer ends it."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 100_000
        ends = time.monotonic() + seconds
        for byte in head:
            if time.monotonic() >= ends or stop.wait(interval):
                return
            conn.sendall(bytes([byte]))

    return behaviour


def stall_after_head(conn: socket.socket, stop: threading.Event) -> None:
    """Answer 200 with a few bytes of the body, then send nothing more."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n\xff\xd8\xff\xe0")
    stop.wait(10)


def read_slowly(seconds: float = 8.0, interval: float = 0.1, amount: int = 4096) -> Behaviour:
    """Read the request ``amount`` bytes every ``interval`` (an upload that crawls), hang up after ``seconds``."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends and not stop.wait(interval):
            if not conn.recv(amount):
                return

    return behaviour
