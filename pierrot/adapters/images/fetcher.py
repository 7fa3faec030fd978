"""The image adapter: downloads renditions of a photo from Flickr's CDN only, never following a redirect."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from urllib3.util import parse_url

from pierrot import __version__
from pierrot.adapters.http import DEADLINE_FACTOR, answer_deadline, mount_deadlines, read_chunks
from pierrot.adapters.http_failures import AnswerTooSlow
from pierrot.domain import Photo, Size
from pierrot.errors import ConfigError, ImageError, SizeUnavailable
from pierrot.ports import FetchedImage, ImageFetcher

log = logging.getLogger(__name__)

USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
FLICKR_HOST = re.compile(r"live\.staticflickr\.com|farm\d+\.staticflickr\.com")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Printable ASCII without space or backslash: anything else is where URL parsers disagree.
URL_CHARACTERS = re.compile(r"[!-\[\]-~]+")
HEAD = 12  # enough bytes to recognise every accepted format

# Leading magic bytes -> (MIME type, file extension); WEBP is checked apart (RIFF....WEBP).
FORMATS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


class _SizeFailed(Exception):
    """This size cannot be used; the message is the short reason."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status




@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int


class HttpImageFetcher(ImageFetcher):
    """Streams one size of a photo at a time from Flickr's CDN; which sizes, in what order, is publish's choice."""

    def __init__(
        self,
        *,
        extra_hosts: Sequence[str] = (),
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
        session: requests.Session | None = None,
    ) -> None:
        self._hosts: set[str] = set()
        self._origins: set[_Origin] = set()
        for entry in extra_hosts:
            self._allow(entry)
        self._timeout = timeout
        self._user_agent = user_agent
        self._session = session or mount_deadlines(requests.Session())
        self.calls = 0

    def _allow(self, entry: str) -> None:
        host, origin = _parse_allowed(entry)
        if host:
            self._hosts.add(host)
        if origin:
            self._origins.add(origin)

    def clean(self, image: FetchedImage, *, strip: bool) -> FetchedImage:
        from pierrot.adapters.images.cleaning import clean

        return clean(image, strip=strip)

    def fetch_size(self, photo: Photo, size: Size, directory: Path, max_bytes: int) -> FetchedImage:
        """Write this one size of ``photo`` into ``directory`` (SizeUnavailable with the reason if unusable)."""
        try:
            refusal = self.refusal(size.url)
            if refusal:
                raise _SizeFailed(refusal)
            return self._download(photo, size, directory, max_bytes)
        except _SizeFailed as failure:
            log.info("photo %s size %s not used: %s", photo.id, size.label, failure)
            raise SizeUnavailable(str(failure), status=failure.status) from None

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, or None if it is on the allow-list."""
        if not URL_CHARACTERS.fullmatch(url):
            return "URL has unexpected characters"
        try:
            parts = urlsplit(url)
            port = parts.port
            # Ask the parser requests uses too: a URL they read differently is not trusted.
            other = parse_url(url)
        except ValueError:
            return "malformed URL"
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return "URL carries user information"
        if (other.host or "").lower() != host or other.port != port or (other.scheme or "").lower() != scheme:
            return "ambiguous URL"
        if scheme not in DEFAULT_PORTS:
            return f"{scheme or 'no'} scheme not allowed"
        port = port if port is not None else DEFAULT_PORTS[scheme]
        if _Origin(scheme, host, port) in self._origins:
            return None
        if scheme == "https" and port == 443 and (FLICKR_HOST.fullmatch(host) or host in self._hosts):
            return None
        where = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
        return f"{scheme}://{where} not allowed"

    # ---- one size ------------------------------------------------------------------------------

    def _download(self, photo: Photo, size: Size, directory: Path, limit: int) -> FetchedImage:
        self.calls += 1
        # The whole download ends within this: the timeout alone bounds each read, not a trickle of bytes.
        budget = DEADLINE_FACTOR * self._timeout
        deadline = time.monotonic() + budget
        answered = False
        try:
            with answer_deadline(budget):
                response = self._session.get(
                    size.url,
                    stream=True,
                    timeout=self._timeout,
                    # Following a redirect would let the data choose the host.
                    allow_redirects=False,
                    headers={"User-Agent": self._user_agent, "Accept": "image/*", "Accept-Encoding": "identity"},
                )
                answered = True
                with response:
                    if 300 <= response.status_code < 400:
                        raise _SizeFailed(f"redirected (HTTP {response.status_code})")
                    if response.status_code != 200:
                        raise _SizeFailed(f"HTTP {response.status_code}", status=response.status_code)
                    if _declared_length(response) > limit:
                        raise _SizeFailed(_too_large(limit))
                    return self._save(photo, size, directory, read_chunks(response, deadline, budget), limit)
        except AnswerTooSlow as exc:
            raise _SizeFailed(str(exc)) from None
        except requests.Timeout:
            raise _SizeFailed(f"no answer within {self._timeout:g} s") from None
        except requests.RequestException as exc:
            what = "download interrupted" if answered else "could not connect"
            raise _SizeFailed(f"{what} ({type(exc).__name__})") from None
        except OSError as exc:  # after RequestException, which is an OSError too
            raise ImageError(
                f"cannot write the image of photo {photo.id} in {directory}: {exc.strerror or exc}"
            ) from None

    def _save(
        self, photo: Photo, size: Size, directory: Path, body: Generator[bytes, None, None], limit: int
    ) -> FetchedImage:
        with contextlib.closing(body) as chunks:
            return self._write(photo, size, directory, chunks, limit)

    def _write(self, photo: Photo, size: Size, directory: Path, chunks: Iterator[bytes], limit: int) -> FetchedImage:
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= HEAD:
                break
        kind = _recognise(head)
        if kind is None:
            raise _SizeFailed("not an image")
        mime_type, extension = kind
        path = directory / f"{_safe(photo.id)}_{size.label}.{extension}"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                nbytes = 0
                for chunk in itertools.chain([head], chunks):
                    nbytes += len(chunk)
                    if nbytes > limit:
                        raise _SizeFailed(_too_large(limit))
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return FetchedImage(path, size.label, size.width, size.height, nbytes, mime_type, source_url=size.url)



def _too_large(limit: int) -> str:
    return f"too large (>{_amount(limit)})"


def _recognise(head: bytes) -> tuple[str, str] | None:
    for magic, mime_type, extension in FORMATS:
        if head.startswith(magic):
            return mime_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def _declared_length(response: requests.Response) -> int:
    try:
        return int(response.headers.get("Content-Length", "0"))
    except ValueError:
        return 0  # counted while streaming instead


def _amount(nbytes: int) -> str:
    return f"{nbytes:,} bytes"


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", "_", text) or "photo"


LOOPBACK = frozenset({"127.0.0.1", "localhost"})


def _parse_allowed(entry: str) -> tuple[str | None, _Origin | None]:
    """A bare host, or an origin ``scheme://host[:port]``; ConfigError if it is neither."""
    text = entry.strip()
    problem = f"PIERROT_FLICKR_IMAGE_HOSTS: {entry!r} is not a host or an origin (scheme://host:port)"
    if "://" not in text:
        bare = re.fullmatch(r"([A-Za-z0-9.-]+)(?::(\d{1,5}))?", text)
        if bare is None:
            raise ConfigError(problem)
        host, port = bare.group(1).lower(), bare.group(2)
        if port is None:
            return host, None
        if not 0 < int(port) < 65536:
            raise ConfigError(problem)
        # host:port with no scheme: https, or plain http too on this machine's own loopback (a test fake).
        scheme = "http" if host in LOOPBACK else "https"
        return None, _Origin(scheme, host, int(port))
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(problem) from None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(problem)
    return None, _Origin(scheme, parts.hostname, port if port is not None else DEFAULT_PORTS[scheme])
