"""Local fake servers for the end-to-end tests: Flickr's REST API and image hosts, X's API, and S3 (moto).

Each fake is a small WSGI app served by werkzeug on 127.0.0.1 in a daemon thread. It records every call,
so tests count calls rather than guess, and it takes faults to inject into the next matching calls.
``FakeServers`` starts them all, with the Bluesky and Mastodon fakes (``fake_bluesky.py``, ``fake_mastodon.py``),
and stops them; ``reset()`` on each fake forgets state between tests. ``UploadTap`` keeps the bytes of every
image a network fake received, so a test can look inside them.
The benchmarks reuse these classes: ``FlickrFake.populate(100_000)`` is cheap (items are built per page),
and ``FlickrFake.latency`` adds a delay to every API call.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import io
import itertools
import json
import math
import os
import re
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

if TYPE_CHECKING:
    # Imported when the servers start: those modules import this one.
    from tests.e2e.fake_bluesky import BlueskyFake
    from tests.e2e.fake_mastodon import MastodonFake
    from tests.e2e.fake_threads import ThreadsFake

HOST = "127.0.0.1"
MIB = 1024 * 1024
X_IMAGE_LIMIT = 5 * MIB

# A real 16x16 baseline JFIF JPEG (CPython's Lib/test/imghdrdata/python.jpg, PSF licence).
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwS"
    "ExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAAR"
    "CAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAV"
    "AQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLU"
    "lRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/Hv"
    "uRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ"
    "/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z"
)
JFIF_END = 20  # SOI (2 bytes) + APP0 marker (2) + APP0 length (16): the Exif segment goes after the JFIF header
TAG = re.compile(rb"pierrot-e2e photo=([0-9A-Za-z_-]+) size=([0-9a-z]+)")


def jpeg(nbytes: int = 0, tag: bytes = b"", size: tuple[int, int] | None = None, exif: bytes = b"") -> bytes:
    """A valid JPEG of at least ``nbytes`` (exactly, when larger than the base), ``tag`` at the end of its scan.

    The tag and the padding go inside the entropy-coded data, before EOI: pierrot keeps that byte for byte, where
    it drops comments and every other segment it does not know. With ``size`` its frame header claims those pixel
    dimensions (width, height), as a real rendition's would: pierrot reads an image's real size from there.
    ``exif`` is an APP1 segment (see ``gps_exif``) put after the JFIF header."""
    base = TINY_JPEG
    if size is not None:
        sof = base.index(b"\xff\xc0")
        width, height = size
        base = base[: sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + base[sof + 9 :]
    padding = b"\0" * max(0, nbytes - len(base) - len(exif) - len(tag))
    return base[:JFIF_END] + exif + base[JFIF_END:-2] + tag + padding + base[-2:]


# Where the camera was, as a GPS IFD stores it (rationals): 48° 51' 29.6471" N, 2° 17' 40.1234" E.
GPS_LATITUDE = (48, 1, 51, 1, 296471, 10000)
GPS_LONGITUDE = (2, 1, 17, 1, 401234, 10000)
GPS_COORDINATES = (struct.pack("<6I", *GPS_LATITUDE), struct.pack("<6I", *GPS_LONGITUDE))


def gps_exif() -> bytes:
    """An APP1 Exif segment as a phone writes one: IFD0 (Make, Orientation, GPS pointer) and a GPS IFD.

    Little-endian TIFF; the coordinates are ``GPS_COORDINATES``, whose bytes a test can look for."""
    ascii_, short, long_, rational, byte = 2, 3, 4, 5, 1
    gps_at = 8 + 2 + 3 * 12 + 4 + 16  # IFD0 and its one out-of-line value (the Make)
    gps_entries = [
        (0x0000, byte, 4, b"\x02\x03\x00\x00"),  # GPSVersionID
        (0x0001, ascii_, 2, b"N\x00\x00\x00"),
        (0x0002, rational, 3, None),
        (0x0003, ascii_, 2, b"E\x00\x00\x00"),
        (0x0004, rational, 3, None),
    ]
    values_at = gps_at + 2 + 12 * len(gps_entries) + 4
    ifd0 = struct.pack("<H", 3)
    ifd0 += struct.pack("<HHII", 0x010F, ascii_, 16, 8 + 2 + 3 * 12 + 4)  # Make, out of line
    ifd0 += struct.pack("<HHIHH", 0x0112, short, 1, 1, 0)  # Orientation: as stored
    ifd0 += struct.pack("<HHII", 0x8825, long_, 1, gps_at)  # the GPS IFD pointer
    ifd0 += struct.pack("<I", 0) + b"Pierrot Phone 7\x00"
    gps = struct.pack("<H", len(gps_entries))
    values = b""
    for tag, kind, count, inline in gps_entries:
        if inline is None:
            gps += struct.pack("<HHII", tag, kind, count, values_at + len(values))
            values += GPS_COORDINATES[0] if tag == 0x0002 else GPS_COORDINATES[1]
        else:
            gps += struct.pack("<HHI", tag, kind, count) + inline
    gps += struct.pack("<I", 0) + values
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps
    assert len(b"II*\x00") + 4 + len(ifd0) == gps_at
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def photo_tag(data: bytes) -> tuple[str, str] | None:
    """The (photo id, size label) that the image host wrote into a JPEG it served."""
    found = TAG.search(data[:4096])
    return (found.group(1).decode(), found.group(2).decode()) if found else None


def check_oauth(
    request: Request, consumer_key: str, consumer_secret: str, token: str | None = None, token_secret: str = ""
) -> str | None:
    """None if the request carries a valid OAuth 1.0a HMAC-SHA1 signature by these credentials, else why not."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("OAuth "):
        return "no OAuth Authorization header"
    try:
        oauth = dict(
            oauth_signature.collect_parameters(headers={"Authorization": header}, exclude_oauth_signature=False)
        )
    except ValueError:
        return "malformed OAuth header"
    if oauth.get("oauth_consumer_key") != consumer_key:
        return "wrong consumer key"
    if token is not None and oauth.get("oauth_token") != token:
        return "wrong token"
    given = oauth.get("oauth_signature")
    if not given or oauth.get("oauth_signature_method") != "HMAC-SHA1":
        return "no HMAC-SHA1 signature"
    form = request.mimetype == "application/x-www-form-urlencoded"
    params = oauth_signature.collect_parameters(
        uri_query=request.query_string.decode("latin-1"),
        body=list(request.form.items(multi=True)) if form else None,
        headers={"Authorization": header},
    )
    base = oauth_signature.signature_base_string(
        request.method,
        oauth_signature.base_string_uri(request.base_url),
        oauth_signature.normalize_parameters(params),
    )
    key = f"{oauth_signature.utils.escape(consumer_secret)}&{oauth_signature.utils.escape(token_secret)}"
    expected = base64.b64encode(hmac.digest(key.encode(), base.encode(), "sha1")).decode()
    return None if hmac.compare_digest(expected, given) else "bad signature"


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log(self, type: str, message: str, *args: Any) -> None:
        if type != "info":
            super().log(type, message, *args)


class ServerThread:
    """One WSGI app on 127.0.0.1 and a free port, served from a daemon thread."""

    def __init__(
        self, app: Callable[..., Any], *, threaded: bool = True, handler: type[WSGIRequestHandler] = _QuietHandler
    ) -> None:
        self.server: BaseWSGIServer = make_server(HOST, 0, app, threaded=threaded, request_handler=handler)
        self.port = self.server.server_port
        self.url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=f"fake-{self.port}"
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


class _Faults:
    """Faults waiting for the next matching calls, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[Callable[[dict[str, Any]], bool], Any]] = []

    def add(self, fault: Any, match: Callable[[dict[str, Any]], bool], times: int) -> None:
        with self._lock:
            self._pending.extend((match, fault) for _ in range(times))

    def take(self, call: dict[str, Any]) -> Any | None:
        with self._lock:
            for index, (match, fault) in enumerate(self._pending):
                if match(call):
                    del self._pending[index]
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def _wait(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


# ==== Flickr ====================================================================================


@dataclass(slots=True)
class FakePhoto:
    """One item of the fake photostream; ``sizes`` None means the fake's default sizes."""

    id: str
    title: str
    uploaded: int
    description: str = ""
    tags: str = ""
    license: str = "4"
    media: str = "photo"
    sizes: dict[str, tuple[int, int]] | None = None
    taken: str | None = None


@dataclass(frozen=True)
class FlickrFault:
    """An answer to give instead of the real one: an HTTP status, or a ``stat: fail`` with a code."""

    status: int = 200
    code: int | None = None
    message: str = ""

    @classmethod
    def http(cls, status: int) -> FlickrFault:
        return cls(status=status)

    @classmethod
    def stat(cls, code: int, message: str = "Service currently unavailable") -> FlickrFault:
        return cls(code=code, message=message)


@dataclass
class FlickrCall:
    method: str
    params: dict[str, str]
    at: float
    fault: FlickrFault | None = None


DEFAULT_SIZES: dict[str, tuple[int, int]] = {
    "z": (640, 427),
    "c": (800, 534),
    "l": (1024, 683),
    "h": (1600, 1067),
    "k": (2048, 1365),
    "o": (6000, 4000),
}
VIDEO_SIZES: dict[str, tuple[int, int]] = {"z": (640, 360)}
UPLOAD_EPOCH = 1_600_000_000
FIRST_ID = 53_000_000_000


class FlickrFake:
    """flickr.people.getPhotos, findByUsername and urls.lookupUser as flickrapi calls them (POST form, JSON)."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        nsid: str = "12345678@N00",
        username: str = "Some One",
        path_alias: str = "someone",
        image_base: str = "",
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.nsid = nsid
        self.username = username
        self.path_alias = path_alias
        self.image_base = image_base
        self.check_signature = True
        self.latency = 0.0
        self.faults = _Faults()
        self.calls: list[FlickrCall] = []
        self.photos: list[FakePhoto] = []  # newest upload first; call changed() after editing it directly
        self._serial = itertools.count()
        self._lock = threading.Lock()
        self._index: list[int] = []  # minus the upload times, ascending, for min/max_upload_date
        self._stop = threading.Event()

    # ---- test controls -------------------------------------------------------------------------

    def reset(self) -> None:
        self._stop.set()
        self._stop = threading.Event()
        with self._lock:
            self.calls = []
            self.photos = []
            self._index = []
            self._serial = itertools.count()
        self.faults.clear()
        self.latency = 0.0
        self.check_signature = True

    def populate(self, count: int, *, videos: int = 0) -> list[FakePhoto]:
        """Replace the photostream with ``count`` photos (and ``videos`` videos among the oldest)."""
        self.photos = []
        self.changed()
        made = self.add(count)
        for photo in made[-videos:] if videos else []:
            photo.media = "video"
            photo.sizes = dict(VIDEO_SIZES)
        return made

    def add(self, count: int = 1, **fields: Any) -> list[FakePhoto]:
        """Upload ``count`` photos, newer than every other; returns them newest first."""
        newest = self.photos[0].uploaded if self.photos else UPLOAD_EPOCH
        made = []
        for offset in range(1, count + 1):
            serial = next(self._serial)
            made.append(
                FakePhoto(
                    **{
                        "id": str(FIRST_ID + serial * 7 + 3),
                        "title": f"Photo {serial:06d}",
                        "uploaded": newest + 60 * offset,
                        **fields,
                    }
                )
            )
        made.reverse()
        with self._lock:
            self.photos[:0] = made
        self.changed()
        return made

    def delete(self, *ids: str) -> None:
        gone = set(ids)
        with self._lock:
            self.photos = [p for p in self.photos if p.id not in gone]
        self.changed()

    def changed(self) -> None:
        """Re-sort and re-index after the photo list was edited."""
        with self._lock:
            self.photos.sort(key=lambda p: (p.uploaded, int(p.id)), reverse=True)
            self._index = [-p.uploaded for p in self.photos]

    def inject(
        self,
        fault: FlickrFault,
        *,
        method: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching calls with ``fault``."""

        def match(call: dict[str, Any]) -> bool:
            params = call["params"]
            return (
                (method is None or call["method"] == method)
                and (page is None or params.get("page") == str(page))
                and (per_page is None or params.get("per_page") == str(per_page))
            )

        self.faults.add(fault, match, times)

    def calls_of(self, method: str = "flickr.people.getPhotos") -> list[FlickrCall]:
        return [c for c in self.calls if c.method == method]

    def photo(self, photo_id: str) -> FakePhoto:
        return next(p for p in self.photos if p.id == photo_id)

    def url(self, photo: FakePhoto, label: str) -> str:
        return f"{self.image_base}/{photo.id}_{label}.jpg"

    # ---- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        return self._handle(request)(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/services/rest":
            return Response("not found", status=404)
        if request.method != "POST":
            return Response("flickrapi always POSTs", status=405)
        stop = self._stop
        params = {k: v for k, v in request.form.items()}
        method = params.get("method", "")
        call = FlickrCall(method, params, time.monotonic())
        with self._lock:
            self.calls.append(call)
        if self.latency:
            _wait(stop, self.latency)
        fault = self.faults.take({"method": method, "params": params})
        if fault is not None:
            call.fault = fault
            if fault.code is None:
                return Response(
                    f"<html><body>HTTP {fault.status}</body></html>", status=fault.status, mimetype="text/html"
                )
            return _json(_fail(fault.code, fault.message))
        key = _oauth_consumer_key(request)
        if key != self.api_key:
            return _json(_fail(100, "Invalid API Key (Key has invalid format)"))
        if self.check_signature and check_oauth(request, self.api_key, self.api_secret) is not None:
            return _json(_fail(96, "Invalid signature"))
        if params.get("format") != "json" or params.get("nojsoncallback") != "1":
            return _json(_fail(111, "Format not found"))
        handler = {
            "flickr.people.getPhotos": self._get_photos,
            "flickr.people.findByUsername": self._find_by_username,
            "flickr.urls.lookupUser": self._lookup_user,
        }.get(method)
        if handler is None:
            return _json(_fail(112, f'Method "{method}" not found'))
        return _json(handler(params))

    def _find_by_username(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("username", "").lower() != self.username.lower():
            return _fail(1, "User not found")
        return {"user": {"id": self.nsid, "nsid": self.nsid, "username": {"_content": self.username}}, "stat": "ok"}

    def _lookup_user(self, params: dict[str, str]) -> dict[str, Any]:
        found = re.search(r"flickr\.com/(?:photos|people)/([^/?#]+)", params.get("url", ""))
        if not found or found.group(1) not in (self.path_alias, self.nsid):
            return _fail(1, "User not found")
        return {"user": {"id": self.nsid, "username": {"_content": self.username}}, "stat": "ok"}

    def _get_photos(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("user_id") != self.nsid:
            return _fail(2, "Unknown user")
        per_page = max(1, min(500, _number(params.get("per_page"), 100)))
        page = max(1, min(10_000, _number(params.get("page"), 1)))
        extras = {e.strip() for e in params.get("extras", "").split(",") if e.strip()}
        with self._lock:
            # The list is newest first, so an upload-date window is one slice of it.
            start, end = 0, len(self.photos)
            if "max_upload_date" in params:
                start = bisect.bisect_left(self._index, -_number(params["max_upload_date"], 0))
            if "min_upload_date" in params:
                end = bisect.bisect_right(self._index, -_number(params["min_upload_date"], 0))
            total = max(0, end - start)
            pages = math.ceil(total / per_page)
            if pages and page > pages:
                page = pages  # Flickr answers a page past the last with the last page again
            first = start + (page - 1) * per_page
            chunk = self.photos[first : min(first + per_page, end)]
        return {
            "photos": {
                "page": page,
                "pages": pages,
                "perpage": per_page,
                "total": str(total),
                "photo": [self._item(p, extras) for p in chunk],
            },
            "stat": "ok",
        }

    def _item(self, photo: FakePhoto, extras: set[str]) -> dict[str, Any]:
        secret = hashlib.md5(photo.id.encode()).hexdigest()[:10]
        item: dict[str, Any] = {
            "id": photo.id,
            "owner": self.nsid,
            "secret": secret,
            "server": "65535",
            "farm": 66,
            "title": photo.title,
            "ispublic": 1,
            "isfriend": 0,
            "isfamily": 0,
        }
        taken = photo.taken or time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(photo.uploaded - 86_400))
        if "description" in extras:
            item["description"] = {"_content": photo.description}
        if "license" in extras:
            item["license"] = photo.license
        if "date_upload" in extras:
            item["dateupload"] = str(photo.uploaded)
        if "last_update" in extras:
            item["lastupdate"] = str(photo.uploaded + 3600)
        if "date_taken" in extras:
            item.update(datetaken=taken, datetakengranularity=0, datetakenunknown="0")
        if "original_format" in extras:
            item.update(originalsecret=secret[::-1], originalformat="jpg")
        if "tags" in extras:
            item["tags"] = photo.tags
        if "media" in extras:
            item.update(media=photo.media, media_status="ready")
        if "path_alias" in extras:
            item["pathalias"] = self.path_alias
        if "owner_name" in extras:
            item["ownername"] = self.username
        sizes = DEFAULT_SIZES if photo.sizes is None else photo.sizes
        for label, (width, height) in sizes.items():
            if f"url_{label}" in extras:
                item[f"url_{label}"] = self.url(photo, label)
                item[f"width_{label}"] = width
                item[f"height_{label}"] = height
        return item


def _fail(code: int, message: str) -> dict[str, Any]:
    return {"stat": "fail", "code": code, "message": message}


def _number(text: str | None, default: int) -> int:
    try:
        return int(str(text))
    except ValueError:
        return default


def _oauth_consumer_key(request: Request) -> str | None:
    found = re.search(r'oauth_consumer_key="([^"]*)"', request.headers.get("Authorization", ""))
    return unquote(found.group(1)) if found else None


# ==== Flickr's image hosts ======================================================================


@dataclass
class ImageRequest:
    photo_id: str
    label: str
    at: float
    status: int = 0
    user_agent: str = ""


DEFAULT_IMAGE_BYTES = {"k": 6 * MIB, "h": 3 * MIB, "l": 400_000, "c": 250_000, "z": 150_000, "o": 12 * MIB}


class ImageHost:
    """Serves ``/{id}_{label}.jpg`` as real JPEGs of a configured byte size per size label."""

    def __init__(self) -> None:
        self.requests: list[ImageRequest] = []
        self.sizes: dict[str, int] = dict(DEFAULT_IMAGE_BYTES)
        self.forbidden: set[str] = set()  # labels answered with 403, as for free accounts since May 2025
        self.gone: set[str] = set()  # photo ids deleted or made private: every size answers 404 (or 410)
        # (photo id, label) -> the pixel size its frame header states; FakeServers asks the Flickr fake
        self.dimensions: Callable[[str, str], tuple[int, int] | None] | None = None
        self.send_length = True
        self.delay = 0.0
        self.exif = b""  # an APP1 segment every served JPEG carries (``gps_exif()``: a phone's, with GPS)
        self.stalls = _Faults()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def reset(self) -> None:
        self._stop.set()
        self._stop = threading.Event()
        with self._lock:
            self.requests = []
        self.sizes = dict(DEFAULT_IMAGE_BYTES)
        self.forbidden = set()
        self.gone = set()
        self.send_length = True
        self.delay = 0.0
        self.exif = b""
        self.stalls.clear()

    def stall(self, seconds: float, *, times: int = 1, label: str | None = None) -> None:
        """The next matching downloads send their first 64 KiB, then nothing for ``seconds``."""
        self.stalls.add(seconds, lambda call: label is None or call["label"] == label, times)

    def requested(self, label: str | None = None) -> list[ImageRequest]:
        return [r for r in self.requests if label is None or r.label == label]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        return self._handle(request)(environ, start_response)

    def _handle(self, request: Request) -> Response:
        found = re.fullmatch(r"/([0-9A-Za-z_-]+)_([0-9a-z]+)\.jpg", request.path)
        if request.method != "GET" or not found:
            return Response("not found", status=404)
        stop = self._stop
        photo_id, label = found.groups()
        record = ImageRequest(photo_id, label, time.monotonic(), user_agent=request.headers.get("User-Agent", ""))
        with self._lock:
            self.requests.append(record)
        if self.delay:
            _wait(stop, self.delay)
        if photo_id in self.gone:
            record.status = 410 if label == "k" else 404  # Flickr's CDN answers both for a photo that went away
            return Response("<html><body>Not Found</body></html>", status=record.status, mimetype="text/html")
        if label in self.forbidden:
            record.status = 403
            return Response("<html><body>403 Forbidden</body></html>", status=403, mimetype="text/html")
        if label not in self.sizes:
            record.status = 404
            return Response("not found", status=404)
        dimensions = self.dimensions(photo_id, label) if self.dimensions else DEFAULT_SIZES.get(label)
        body = jpeg(self.sizes[label], f"pierrot-e2e photo={photo_id} size={label}".encode(), dimensions, self.exif)
        stall = self.stalls.take({"label": label})
        record.status = 200

        def chunks() -> Iterator[bytes]:
            step = 64 * 1024
            for offset in range(0, len(body), step):
                yield body[offset : offset + step]
                if stall and offset == 0:
                    _wait(stop, stall)

        headers = {"Content-Length": str(len(body))} if self.send_length else {}
        return Response(chunks(), status=200, mimetype="image/jpeg", headers=headers, direct_passthrough=True)


# ==== X =========================================================================================


@dataclass(frozen=True)
class XFault:
    """What the X fake does instead of (or around) its normal answer.

    kinds: ``rate_limited`` (429 with x-rate-limit-reset ``reset``), ``unavailable`` (503, nothing done),
    ``refused`` (400 Invalid Request, nothing done),
    ``accept_then_unavailable`` (the post is made, then 503: the answer is lost), ``accept_then_hang`` (the
    post is made, then nothing for ``seconds``), ``hang_then_drop`` (nothing for ``seconds``, then 503 without
    posting), ``delay`` (nothing for ``seconds``, then the normal answer).
    """

    kind: str
    seconds: float = 0.0
    reset: int | None = None


@dataclass
class XCall:
    method: str
    path: str
    at: float
    status: int = 0
    fault: XFault | None = None


@dataclass
class XUpload:
    media_id: str
    nbytes: int
    photo_id: str | None
    label: str | None
    media_category: str
    alt_text: str | None = None


@dataclass
class XPost:
    id: str
    text: str
    media_ids: list[str]
    photo_ids: list[str | None]
    accepted: bool


class XFake:
    """X API v2 as pierrot calls it: media upload and metadata, posts, users/me; OAuth 1.0a checked."""

    def __init__(self, api_key: str, api_secret: str, access_token: str, access_token_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.access_token = access_token
        self.access_token_secret = access_token_secret
        self.calls: list[XCall] = []
        self.uploads: dict[str, XUpload] = {}
        self.attempts: list[XPost] = []  # every authorised POST /2/tweets that reached the fake
        self.latency = 0.0
        self.faults = _Faults()
        self.upload_barrier: int | None = None  # hold uploads until this many arrived (or 10 s passed)
        self.user = {"id": "2244994945", "name": "Some One", "username": "someone_photos"}
        self._ids = itertools.count(1_880_028_106_020_515_840)
        self._lock = threading.Lock()
        self._barrier = threading.Condition(self._lock)
        self._waiting = 0
        self._stop = threading.Event()

    @property
    def posts(self) -> list[XPost]:
        """The posts X accepted (published), whatever it answered."""
        return [p for p in self.attempts if p.accepted]

    def reset(self) -> None:
        self._stop.set()
        self._stop = threading.Event()
        with self._lock:
            self.calls = []
            self.uploads = {}
            self.attempts = []
            self._waiting = 0
            self._barrier.notify_all()
        self.faults.clear()
        self.latency = 0.0
        self.upload_barrier = None

    def inject(self, fault: XFault, *, path: str = "/2/tweets", times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` authorised calls to ``path``."""
        self.faults.add(fault, lambda call: call["path"] == path, times)

    def calls_to(self, path: str) -> list[XCall]:
        return [c for c in self.calls if c.path == path]

    # ---- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        call = XCall(request.method, request.path, time.monotonic())
        with self._lock:
            self.calls.append(call)
        response = self._handle(request, call)
        call.status = response.status_code
        return response(environ, start_response)

    def _handle(self, request: Request, call: XCall) -> Response:
        stop = self._stop
        if self.latency:
            _wait(stop, self.latency)
        routes: dict[tuple[str, str], Callable[[Request, XFault | None, threading.Event], Response]] = {
            ("POST", "/2/media/upload"): self._upload,
            ("POST", "/2/media/metadata"): self._metadata,
            ("POST", "/2/tweets"): self._tweet,
            ("GET", "/2/users/me"): self._me,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return _json(
                {
                    "title": "Not Found Error",
                    "type": "about:blank",
                    "status": 404,
                    "detail": f"Sorry, that page does not exist: {request.path}",
                },
                404,
            )
        problem = check_oauth(request, self.api_key, self.api_secret, self.access_token, self.access_token_secret)
        if problem is not None:
            return _json({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401)
        fault = self.faults.take({"path": request.path})
        call.fault = fault
        if fault is not None:
            if fault.kind == "rate_limited":
                reset = fault.reset if fault.reset is not None else int(time.time()) + 900
                return _json(
                    {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
                    429,
                    {"x-rate-limit-limit": "17", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
                )
            if fault.kind == "unavailable":
                return _unavailable()
            if fault.kind == "refused":
                request.get_data()  # drain the body so the client reads the answer, not a reset
                errors = [{"message": "One or more parameters to your request was invalid."}]
                return _json({"errors": errors, "title": "Invalid Request", "status": 400}, 400)
            if fault.kind == "delay":
                _wait(stop, fault.seconds)
            if fault.kind == "hang_then_drop":
                _wait(stop, fault.seconds)
                return _unavailable()
        return route(request, fault, stop)

    def _upload(self, request: Request, fault: XFault | None, stop: threading.Event) -> Response:
        media = request.files.get("media")
        category = request.form.get("media_category", "")
        if media is None or category != "tweet_image":
            return _json(
                {
                    "errors": [{"message": "media and media_category=tweet_image are required"}],
                    "title": "Invalid Request",
                    "status": 400,
                },
                400,
            )
        data = media.read()
        if len(data) > X_IMAGE_LIMIT or not data.startswith(b"\xff\xd8\xff"):
            return _json(
                {
                    "errors": [{"message": "InvalidMedia: too large or not an image"}],
                    "title": "Invalid Request",
                    "status": 400,
                },
                400,
            )
        tag = photo_tag(data)
        media_id = str(next(self._ids))
        upload = XUpload(media_id, len(data), tag[0] if tag else None, tag[1] if tag else None, category)
        with self._lock:
            self.uploads[media_id] = upload
            if self.upload_barrier:
                self._waiting += 1
                self._barrier.notify_all()
                self._barrier.wait_for(lambda: stop.is_set() or self._waiting >= (self.upload_barrier or 0), timeout=10)
        return _json(
            {
                "data": {
                    "id": media_id,
                    "media_key": f"3_{media_id}",
                    "size": len(data),
                    "expires_after_secs": 86400,
                    "image": {"image_type": "image/jpeg", "w": 16, "h": 16},
                }
            }
        )

    def _metadata(self, request: Request, fault: XFault | None, stop: threading.Event) -> Response:
        body = request.get_json(silent=True) or {}
        media_id = str(body.get("id", ""))
        text = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        upload = self.uploads.get(media_id)
        if upload is None or not isinstance(text, str) or len(text) > 1000:
            return _json({"errors": [{"message": "unknown media id or bad alt text"}], "status": 400}, 400)
        upload.alt_text = text
        return _json({"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": text}}}})

    def _tweet(self, request: Request, fault: XFault | None, stop: threading.Event) -> Response:
        body = request.get_json(silent=True) or {}
        text = body.get("text") or ""
        media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids") or []]
        # X takes at most 4 images a post.
        if (not text and not media_ids) or any(m not in self.uploads for m in media_ids) or len(media_ids) > 4:
            return _json(
                {"errors": [{"message": "Your media IDs are invalid."}], "title": "Invalid Request", "status": 400}, 400
            )
        photo_ids = [self.uploads[m].photo_id for m in media_ids]
        post = XPost(str(next(self._ids)), text, media_ids, photo_ids, accepted=False)
        with self._lock:
            duplicate = any(p.accepted and p.text == text for p in self.attempts)
            self.attempts.append(post)
        if duplicate:
            return _json(
                {
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                },
                403,
            )
        post.accepted = True
        if fault is not None and fault.kind == "accept_then_unavailable":
            return _unavailable()
        if fault is not None and fault.kind == "accept_then_hang":
            _wait(stop, fault.seconds)
        return _json({"data": {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}}, 201)

    def _me(self, request: Request, fault: XFault | None, stop: threading.Event) -> Response:
        return _json({"data": self.user})


def _unavailable() -> Response:
    return _json(
        {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503}, 503
    )


# ==== S3 (moto) =================================================================================

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>E2E</RequestId></Error>"
)


class S3Fake:
    """moto's S3 behind a thin layer that records calls and can answer writes with 503 SlowDown."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.app = DomainDispatcherApplication(create_backend_app)
        self.calls: list[tuple[str, str]] = []
        self.faults = _Faults()

    def reset(self) -> None:
        self.calls = []
        self.faults.clear()

    def slow_down_puts(self, times: int = 1) -> None:
        """Answer the next ``times`` object writes with 503 SlowDown."""
        self.faults.add("slowdown", lambda call: call["method"] == "PUT" and call["key"], times)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        self.calls.append((method, path))
        key = "/" in path.strip("/")  # path-style: /bucket/key
        if self.faults.take({"method": method, "key": key}):
            get_input_stream(environ).read()  # drain the body so the client sees the answer, not a reset
            start_response(
                "503 Slow Down", [("Content-Type", "application/xml"), ("Content-Length", str(len(SLOW_DOWN)))]
            )
            return [SLOW_DOWN]
        answer: Iterable[bytes] = self.app(environ, start_response)
        return answer


def _moto_handler() -> type[WSGIRequestHandler]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class SingleConnectionHandler(MotoRequestHandler):
        # One request per connection, so that a single-threaded server never waits on an idle keep-alive.
        protocol_version = "HTTP/1.0"

        def log(self, type: str, message: str, *args: Any) -> None:
            if type != "info":
                super().log(type, message, *args)

    return SingleConnectionHandler


# ==== all together ==============================================================================


class UploadTap:
    """Wraps a fake's WSGI app: keeps the image bytes of every upload to ``path`` it passes on.

    ``field`` names the multipart part that holds the image (X ``media``, Mastodon ``file``); None means the
    whole body is the image (Bluesky's uploadBlob)."""

    def __init__(self, app: Callable[..., Any], path: str, field: str | None = None) -> None:
        self.app = app
        self.path = path
        self.field = field
        self.images: list[bytes] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.images = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == self.path:
            body = get_input_stream(environ).read()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("wsgi.input_terminated", None)
            image = body
            if self.field is not None:
                copy = {**environ, "wsgi.input": io.BytesIO(body)}
                part = Request(copy).files.get(self.field)
                image = part.read() if part is not None else b""
            with self._lock:
                self.images.append(image)
        answer: Iterable[bytes] = self.app(environ, start_response)
        return answer


@dataclass
class Secrets:
    """Distinctive credential values, so a test can search every output for them."""

    flickr_key: str = "e2eflickrkey0f1a2b3c4d5e6f708192a"
    flickr_secret: str = "e2eflkscrt9c8b7a"
    x_api_key: str = "E2eXapiKeyQw3Er5Ty7Ui9Op1"
    x_api_secret: str = "E2eXapiSecretZx2Cv4Bn6Mm8Kk0Jj1Hh3Gg5Ff7Dd9Ss2Aa4Pp"
    x_access_token: str = "1234567890-E2eAccessTokenLk8Jh6Gf4Ds2Aq9Wz7"
    x_access_token_secret: str = "E2eAccessSecretYt5Re3Wq1Po9Iu7Ly6Kt4Mr2Ne0Bv"
    aws_access_key_id: str = "e2e-fake-access-key-id"
    aws_secret_access_key: str = "e2e/AwsSecret+Key0a1b2c3d4e5f6g7h8i9j0kLmNoPq"
    bluesky_app_password: str = "e2eb-sky7-appp-ass9"
    # Never given to pierrot: the fake answers AuthFactorTokenRequired to it, as a real account with 2FA does.
    bluesky_account_password: str = "E2eBlueskyAccountPassword4Hq8Zr"
    mastodon_access_token: str = "E2eMastodonToken-Zm9vYmFyYmF6cXV4-Vw3Rt7Yp1"
    threads_access_token: str = "THQE2eThreadsToken-Qm9vYmFy-Lk3Jh5Gf7"

    def values(self) -> list[str]:
        """The secret values (an AWS access key id is an identifier, which AWS itself logs)."""
        return [str(v) for k, v in vars(self).items() if k != "aws_access_key_id"]


@dataclass
class FakeServers:
    """The fakes (Flickr, its images, X, S3, Bluesky, Mastodon, Threads), started on 127.0.0.1; ``stop()`` shuts
    them down."""

    secrets: Secrets = field(default_factory=Secrets)
    flickr: FlickrFake = field(init=False)
    images: ImageHost = field(init=False)
    x: XFake = field(init=False)
    s3: S3Fake = field(init=False)
    bluesky: BlueskyFake = field(init=False)
    mastodon: MastodonFake = field(init=False)
    threads_fake: ThreadsFake = field(init=False)  # ``threads`` names the server threads
    taps: dict[str, UploadTap] = field(init=False, default_factory=dict)  # by network: the images it received
    threads: list[ServerThread] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        from tests.e2e.fake_bluesky import BlueskyFake
        from tests.e2e.fake_mastodon import MastodonFake
        from tests.e2e.fake_threads import ThreadsFake

        s = self.secrets
        self.images = ImageHost()
        images = self._serve(self.images)
        self.flickr = FlickrFake(s.flickr_key, s.flickr_secret, image_base=images.url)
        self.images.dimensions = self._dimensions
        self.x = XFake(s.x_api_key, s.x_api_secret, s.x_access_token, s.x_access_token_secret)
        self.s3 = S3Fake()
        self.bluesky = BlueskyFake(app_password=s.bluesky_app_password, account_password=s.bluesky_account_password)
        self.mastodon = MastodonFake(s.mastodon_access_token)
        self.threads_fake = ThreadsFake(s.threads_access_token)
        self.taps = {
            "x": UploadTap(self.x, "/2/media/upload", "media"),
            "bluesky": UploadTap(self.bluesky, "/xrpc/com.atproto.repo.uploadBlob"),
            "mastodon": UploadTap(self.mastodon, "/api/v2/media", "file"),
        }
        self.flickr_url = self._serve(self.flickr).url + "/services/rest/"
        self.images_url = images.url
        self.x_url = self._serve(self.taps["x"]).url
        # Single-threaded: moto's threaded server lets concurrent conditional writes all succeed.
        self.s3_url = self._serve(self.s3, threaded=False, handler=_moto_handler()).url
        self.bluesky_url = self._serve(self.taps["bluesky"]).url
        self.mastodon_url = self._serve(self.taps["mastodon"]).url
        # Threaded, as all but S3: the fake fetches the image (from the image host or S3) while it answers pierrot.
        self.threads_url = self._serve(self.threads_fake).url

    def _dimensions(self, photo_id: str, label: str) -> tuple[int, int] | None:
        photo = next((p for p in self.flickr.photos if p.id == photo_id), None)
        sizes = (photo.sizes if photo is not None and photo.sizes is not None else None) or DEFAULT_SIZES
        return sizes.get(label) or DEFAULT_SIZES.get(label)

    def _serve(self, app: Callable[..., Any], **options: Any) -> ServerThread:
        thread = ServerThread(app, **options)
        self.threads.append(thread)
        return thread

    def uploaded(self, network: str) -> list[bytes]:
        """The bytes of every image uploaded to ``network`` (x, bluesky, mastodon), in order."""
        return list(self.taps[network].images)

    def reset(self) -> None:
        for fake in (self.flickr, self.images, self.x, self.s3, self.bluesky, self.mastodon, self.threads_fake,
                     *self.taps.values()):
            fake.reset()

    def stop(self) -> None:
        for fake in (self.flickr, self.images, self.x, self.bluesky, self.mastodon, self.threads_fake):
            fake._stop.set()
        for thread in self.threads:
            thread.stop()

    def environment(self) -> dict[str, str]:
        """The settings that point pierrot (and boto3) at these fakes, with the credentials they accept.

        Every network's credentials, but no PIERROT_PUBLISH_NETWORKS: a run posts to X alone unless the test
        says otherwise (``--network`` or that setting)."""
        s = self.secrets
        return {
            "PIERROT_FLICKR_API_URL": self.flickr_url,
            "PIERROT_FLICKR_IMAGE_HOSTS": self.images_url,
            "PIERROT_X_API_URL": self.x_url,
            "PIERROT_FLICKR_API_KEY": s.flickr_key,
            "PIERROT_FLICKR_API_SECRET": s.flickr_secret,
            "PIERROT_FLICKR_USER": self.flickr.nsid,
            "PIERROT_X_API_KEY": s.x_api_key,
            "PIERROT_X_API_SECRET": s.x_api_secret,
            "PIERROT_X_ACCESS_TOKEN": s.x_access_token,
            "PIERROT_X_ACCESS_TOKEN_SECRET": s.x_access_token_secret,
            "PIERROT_BLUESKY_HANDLE": self.bluesky.handle,
            "PIERROT_BLUESKY_APP_PASSWORD": s.bluesky_app_password,
            "PIERROT_BLUESKY_SERVICE": self.bluesky_url,
            "PIERROT_MASTODON_URL": self.mastodon_url,
            "PIERROT_MASTODON_ACCESS_TOKEN": s.mastodon_access_token,
            "PIERROT_THREADS_ACCESS_TOKEN": s.threads_access_token,
            "PIERROT_THREADS_API_URL": self.threads_url,
            "AWS_ENDPOINT_URL": self.s3_url,
            "AWS_ACCESS_KEY_ID": s.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": s.aws_secret_access_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def s3_client(self) -> Any:
        import boto3

        s = self.secrets
        return boto3.session.Session(
            aws_access_key_id=s.aws_access_key_id,
            aws_secret_access_key=s.aws_secret_access_key,
            region_name="us-east-1",
        ).client("s3", endpoint_url=self.s3_url)


def clean_environment(home: Path) -> dict[str, str]:
    """What cron gives a job, and no more: PATH, and HOME with its XDG folders (made here) in ``home``."""
    for sub in ("config", "data", "cache", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TMPDIR": str(home / "tmp"),
    }


def start_servers(secrets: Secrets | None = None) -> FakeServers:
    return FakeServers(secrets or Secrets())


def main() -> None:
    """Run the fakes by hand: prints the environment to point pierrot at them."""
    servers = start_servers()
    servers.flickr.populate(100)
    for name, value in servers.environment().items():
        print(f"export {name}={value!r}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        servers.stop()


if __name__ == "__main__":
    main()
