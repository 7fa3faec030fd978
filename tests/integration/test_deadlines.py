"""Every call pierrot makes ends within twice PIERROT_HTTP_TIMEOUT, however a server trickles or withholds its bytes.

Real sockets on 127.0.0.1: the timeout bounds each read, so only a deadline on the whole exchange (the request
sent, the status line, the headers and the body read) ends a server that sends a byte just often enough."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from urllib3.connection import HTTPConnection

from pierrot.adapters.flickr import FlickrPhotoSource
from pierrot.adapters.http import ApiSession, DeadlineAdapter
from pierrot.adapters.images.fetcher import HttpImageFetcher
from pierrot.adapters.networks.bluesky import BlueskyPublisher
from pierrot.adapters.networks.mastodon import MastodonPublisher
from pierrot.adapters.networks.x import XPublisher
from pierrot.domain import Photo, Size
from pierrot.errors import FlickrError, PostOutcomeUnknown, PublishError, SizeUnavailable
from pierrot.ports import FetchedImage
from tests.integration.faulty_http import FaultyServer, read_slowly, stall_after_head, trickle, trickle_head

TIMEOUT = 0.5
DEADLINE = r"the answer did not complete within 1 s"
LIMITS = rf"^could not reach Mastodon to read the instance's limits: {DEADLINE}$"
# Twice the timeout, and room for a loaded machine: without the deadline these calls take 8 s.
BOUND = 2 * TIMEOUT + 1.5


def took(started: float, what: str) -> float:
    elapsed = time.monotonic() - started
    print(f"{what}: {elapsed:.2f} s")
    return elapsed


def x(origin: str) -> XPublisher:
    credentials = {"api_key": "api-key", "api_secret": "api-secret", "access_token": "access-token",
                   "access_token_secret": "access-token-secret"}  # fmt: skip
    return XPublisher(**credentials, api_url=origin, timeout=TIMEOUT)


def bluesky(origin: str) -> BlueskyPublisher:
    return BlueskyPublisher(handle="pierrot.example", app_password="app-password", service=origin, timeout=TIMEOUT)


def image_on(origin: str) -> tuple[Photo, Size]:
    size = Size("k", f"{origin}/52345678901_0a1b2c3d4e_k.jpg", 2048, 1365)
    return Photo(id="52345678901", title="Harbour at dusk", sizes=(size,)), size


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A server context for https://127.0.0.1 and the certificate to trust, made for this run."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


@pytest.fixture
def trusted(tls: tuple[ssl.SSLContext, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server context, with its certificate trusted by every requests session of the test."""
    context, cert_path = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
    return context


# ---- headers trickled a byte at a time: every kind of call ----------------------------------------------------


def test_a_mastodon_instance_read_ends_at_the_deadline() -> None:
    with FaultyServer(trickle_head()) as server:
        started = time.monotonic()
        with pytest.raises(PublishError, match=LIMITS):
            MastodonPublisher(url=server.origin, access_token="token", timeout=TIMEOUT).prepare()

        assert took(started, "Mastodon prepare, trickled headers") <= BOUND


def test_a_bluesky_login_ends_at_the_deadline() -> None:
    with FaultyServer(trickle_head()) as server:
        started = time.monotonic()
        with pytest.raises(PublishError, match=rf"^could not reach Bluesky to log in: {DEADLINE}$"):
            bluesky(server.origin).prepare()

        assert took(started, "Bluesky login, trickled headers") <= BOUND


def test_an_x_post_ends_at_the_deadline_with_its_outcome_unknown() -> None:
    with FaultyServer(trickle_head()) as server:
        started = time.monotonic()
        # The request was sent whole: X may have posted it.
        with pytest.raises(PostOutcomeUnknown, match=rf"^lost contact with X while posting: {DEADLINE}$"):
            x(server.origin).create_post("text", ["1"])

        assert took(started, "X post, trickled headers") <= BOUND


def test_a_flickr_call_ends_at_the_deadline() -> None:
    with FaultyServer(trickle_head()) as server:
        flickr = FlickrPhotoSource("key", "secret", api_url=server.origin + "/services/rest/", timeout=TIMEOUT)
        started = time.monotonic()
        with pytest.raises(FlickrError, match=rf"^Flickr is not answering \({DEADLINE}\) after 1 try"):
            flickr.summary("12345678@N00")

        assert took(started, "Flickr call, trickled headers") <= BOUND


def test_an_image_download_ends_at_the_deadline(tmp_path: Path) -> None:
    with FaultyServer(trickle_head()) as server:
        photo, size = image_on(server.origin)
        started = time.monotonic()
        with pytest.raises(SizeUnavailable, match=rf"^{DEADLINE}$"):
            HttpImageFetcher(extra_hosts=[server.origin], timeout=TIMEOUT).fetch_size(photo, size, tmp_path, 10**7)

        assert took(started, "image download, trickled headers") <= BOUND
    assert list(tmp_path.iterdir()) == []


def test_a_bluesky_login_over_tls_ends_at_the_deadline(trusted: ssl.SSLContext) -> None:
    with FaultyServer(trickle_head(), tls=trusted) as server:
        started = time.monotonic()
        with pytest.raises(PublishError, match=rf"^could not reach Bluesky to log in: {DEADLINE}$"):
            bluesky(server.origin).prepare()

        assert took(started, "Bluesky login over TLS, trickled headers") <= BOUND


# ---- the body trickled, an answer that stops, an upload taken slowly -------------------------------------------


@pytest.mark.parametrize("kind", ["http", "https"])
def test_a_trickled_answer_ends_at_the_deadline(kind: str, request: pytest.FixtureRequest) -> None:
    tls = request.getfixturevalue("trusted") if kind == "https" else None
    with FaultyServer(trickle(seconds=8, interval=0.2), tls=tls) as server:
        started = time.monotonic()
        with pytest.raises(PublishError, match=LIMITS):
            MastodonPublisher(url=server.origin, access_token="token", timeout=TIMEOUT).prepare()

        assert took(started, f"Mastodon prepare, trickled body ({kind})") <= BOUND


def test_an_image_whose_answer_stops_ends_within_the_timeout(tmp_path: Path) -> None:
    with FaultyServer(stall_after_head) as server:
        photo, size = image_on(server.origin)
        started = time.monotonic()
        with pytest.raises(SizeUnavailable, match=r"^no answer within 0\.5 s$"):
            HttpImageFetcher(extra_hosts=[server.origin], timeout=TIMEOUT).fetch_size(photo, size, tmp_path, 10**7)

        assert took(started, "image download, answer stopped") <= BOUND


@pytest.mark.parametrize("kind", ["http", "https"])
@pytest.mark.parametrize("reader", [read_slowly(), None], ids=["read-slowly", "never-read"])
def test_an_upload_the_server_takes_slowly_ends_at_the_deadline(
    kind: str, reader: Callable[..., None] | None, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    tls = request.getfixturevalue("trusted") if kind == "https" else None
    path = tmp_path / "large.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(8 * 1024 * 1024))
    image = FetchedImage(path, "k", 4000, 3000, path.stat().st_size, "image/jpeg")
    behaviour: Any = reader or (lambda conn, stop: stop.wait(10))
    with FaultyServer(behaviour, reads_request=False, tls=tls) as server:
        started = time.monotonic()
        with pytest.raises(PublishError, match=rf"^could not reach X to upload the image: {DEADLINE}$"):
            x(server.origin).upload_media(image)

        assert took(started, f"X upload of 8 MB, server {request.node.callspec.id}") <= BOUND


class _SmallSendBuffer(DeadlineAdapter):
    """A client socket that holds little of what the server has not read yet, as on a slow uplink."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        small = (socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        kwargs["socket_options"] = [*HTTPConnection.default_socket_options, small]
        super().init_poolmanager(*args, **kwargs)


def test_an_upload_may_take_longer_than_the_timeout_within_its_deadline(tmp_path: Path) -> None:
    """Mastodon allows an upload 256 KB/s beyond the usual deadline: sending it no longer stops at the timeout."""
    path = tmp_path / "large.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(400_000))
    image = FetchedImage(path, "k", 2000, 1500, path.stat().st_size, "image/jpeg")
    session = ApiSession(TIMEOUT, user_agent="pierrot-test")
    session.mount("http://", _SmallSendBuffer())

    def take_it_slowly_then_answer(conn: socket.socket, stop: threading.Event) -> None:
        received = b""
        while not received.endswith(b"--\r\n") and not stop.wait(0.05):
            received += conn.recv(64 * 1024)
        answer = json.dumps({"id": "109", "type": "image", "url": "https://files.example/1.jpg"}).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(answer), answer))  # fmt: skip

    with FaultyServer(take_it_slowly_then_answer, reads_request=False, receive_buffer=16 * 1024) as server:
        mastodon = MastodonPublisher(url=server.origin, access_token="token", timeout=TIMEOUT, session=session)
        started = time.monotonic()
        media_id = mastodon.upload_media(image, None)

        # Sending took longer than the timeout; the deadline, 2·T + 400 KB at 256 KB/s, is 2.5 s.
        assert TIMEOUT < took(started, "Mastodon upload of 400 KB, read slowly") <= 2.6
    assert media_id == "109"
