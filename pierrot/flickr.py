"""The Flickr adapter: a photostream read through flickrapi, with our own paging and retries."""

from __future__ import annotations

import gc
import logging
import math
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

import flickrapi
import orjson
import requests
from flickrapi.exceptions import FlickrError as LibFlickrError

from pierrot import __version__
from pierrot.config import DEFAULT_FLICKR_API_URL, is_nsid
from pierrot.domain import MAX_POSTABLE_ORIGINAL_EDGE, SIZE_LABELS, Photo, Size
from pierrot.errors import FlickrError
from pierrot.ports import PhotoSource, ProgressCallback, StreamSummary

log = logging.getLogger(__name__)

PER_PAGE = 500
EXTRAS = ",".join(
    [
        "description",
        "license",
        "date_upload",
        "date_taken",
        "last_update",
        "original_format",
        "tags",
        "media",
        "path_alias",
        *(f"url_{label}" for label in SIZE_LABELS),
    ]
)
USER_AGENT = f"pierrot/{__version__}"

# Flickr error codes that say "try again later".
TRANSIENT_CODES = {105, 106, 201}
USER_NOT_FOUND_CODES = {1, 2}


class _Transient(Exception):
    """A failure worth another try."""


class FlickrPhotoSource(PhotoSource):
    """Reads one photostream with the API key alone (public photos only)."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        api_url: str = DEFAULT_FLICKR_API_URL,
        timeout: float = 30.0,
        concurrency: int = 6,
        attempts: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._key = str(api_key)
        self._secret = str(api_secret)
        self._api_url = api_url
        self._timeout = timeout
        self._concurrency = max(1, concurrency)
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls = 0
        self.retries = 0

    # ---- the port --------------------------------------------------------------------------

    def resolve_user(self, user: str) -> str:
        user = user.strip()
        if is_nsid(user):
            return user
        if user.startswith(("http://", "https://")):
            return self._lookup_url(user)
        try:
            reply = self._call("flickr.people.findByUsername", username=user)
            return str(reply["user"]["nsid"] if "nsid" in reply["user"] else reply["user"]["id"])
        except _UserNotFound:
            pass
        return self._lookup_url(f"https://www.flickr.com/photos/{user}/")

    def summary(self, nsid: str) -> StreamSummary:
        reply = self._call("flickr.people.getPhotos", **self._query(nsid), per_page=1, page=1, extras="date_upload")
        photos = _photos_block(reply)
        items = photos.get("photo") or []
        newest = items[0] if items else None
        return StreamSummary(
            total=_int(photos.get("total")),
            newest_id=str(newest["id"]) if newest else None,
            newest_upload=_int(newest.get("dateupload")) if newest and newest.get("dateupload") else None,
        )

    def list_photos(
        self,
        nsid: str,
        *,
        total: int,
        min_upload_date: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Photo]:
        query = self._query(nsid)
        if min_upload_date is not None:
            query["min_upload_date"] = str(min_upload_date)
        with _collector_paused():
            found = self._list(query, total, progress)
        if len(found) < total and min_upload_date is None:
            # Pages shift when a photo is deleted mid-listing: one more pass fills the gap.
            log.info("listing found %d items where Flickr said %d: listing once more", len(found), total)
            with _collector_paused():
                again = self._list(query, total, progress)
            found.update(again)
        # Two stable sorts on plain keys, newest upload first and the higher id first among equals:
        # a tuple key per photo would cost some megabytes at 100,000 photos.
        photos = list(found.values())
        del found
        photos.sort(key=lambda p: _int(p.id), reverse=True)
        photos.sort(key=attrgetter("date_uploaded"), reverse=True)
        return photos

    # ---- paging ----------------------------------------------------------------------------

    def _list(self, query: dict[str, str], total: int, progress: ProgressCallback | None) -> dict[str, Photo]:
        planned = max(1, math.ceil(total / PER_PAGE)) if total else 1
        found: dict[str, Photo] = {}
        done = 0

        def fetch(page: int) -> tuple[int, list[Photo]]:
            # Records are built here, in the worker, so each page's parsed JSON is freed as soon as it is read.
            block = _photos_block(self._call("flickr.people.getPhotos", **query, per_page=PER_PAGE, page=page,
                                             extras=EXTRAS))
            items = block.get("photo") or []
            return _int(block.get("pages")), [p for p in map(photo_from_item, items) if p is not None]

        def absorb(photos: list[Photo]) -> None:
            nonlocal done
            for photo in photos:
                found[photo.id] = photo
            done += 1
            if progress is not None:
                progress(done, planned)

        reported_pages = 0
        with ThreadPoolExecutor(max_workers=min(self._concurrency, planned)) as pool:
            for pages, photos in pool.map(fetch, range(1, planned + 1)):
                absorb(photos)
                reported_pages = max(reported_pages, pages)
            # The stream grew since the count: fetch the pages it now has beyond the plan.
            if reported_pages > planned:
                extra = range(planned + 1, min(reported_pages, 10_000) + 1)
                planned = reported_pages
                for _, photos in pool.map(fetch, extra):
                    absorb(photos)
        return found

    def _query(self, nsid: str) -> dict[str, str]:
        # The count and the listing must ask the same question, or their totals do not compare.
        return {"user_id": nsid}

    def _lookup_url(self, url: str) -> str:
        try:
            reply = self._call("flickr.urls.lookupUser", url=url)
        except _UserNotFound:
            raise FlickrError(
                f"Flickr has no user {url.rstrip('/').rsplit('/', 1)[-1]!r}: check PIERROT_FLICKR_USER "
                "(an NSID like 12345678@N00, a username, or the name in your photostream's URL)"
            ) from None
        return str(reply["user"]["id"])

    # ---- one call, with retries ------------------------------------------------------------

    def _api(self) -> Any:
        api = getattr(self._local, "api", None)
        if api is None:
            api = flickrapi.FlickrAPI(self._key, self._secret, format="parsed-json", store_token=False,
                                      timeout=self._timeout)
            api.REST_URL = self._api_url
            # flickrapi shares one class-level session between instances; give each thread its own.
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            api.flickr_oauth.session = session
            self._local.api = api
        return api

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        last: str = ""
        for attempt in range(self._attempts):
            if attempt:
                with self._lock:
                    self.retries += 1
                delay = min(8.0, self._backoff * (2 ** (attempt - 1))) * (0.5 + random.random())
                log.info("retrying %s in %.1fs after: %s", method, delay, last)
                self._sleep(delay)
            with self._lock:
                self.calls += 1
            try:
                return self._call_once(method, params)
            except _Transient as exc:
                last = str(exc)
        raise FlickrError(f"Flickr is not answering ({last}) after {self._attempts} tries: try again later")

    def _call_once(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            # format="json" hands back the raw answer: orjson parses a page of 500 several times faster.
            # The key also goes in the form as api_key, as Flickr's own docs show it: flickrapi puts it only in
            # the OAuth header, which Flickr accepts, but not every Flickr-compatible endpoint reads.
            reply = _parse(self._api().do_flickr_call(method, format="json", api_key=self._key, **params))
        except LibFlickrError as exc:
            raise _translate(exc, method) from None
        except requests.Timeout:
            raise _Transient(f"no answer within {self._timeout:g}s") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            # ChunkedEncodingError is a connection dropped in the middle of the answer.
            raise _Transient(f"cannot connect to {self._api_url}: {type(exc).__name__}") from None
        except ValueError:
            raise _Transient("the answer was not JSON") from None
        except requests.RequestException as exc:
            raise FlickrError(f"Flickr call {method} failed: {type(exc).__name__}") from None
        if not isinstance(reply, dict):
            raise _Transient("the answer was not a JSON object")
        return reply


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a listing builds its records.

    100,000 photos make millions of small objects, none in a cycle; each collection pass rescans them all,
    which doubled the CPU of a full listing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _UserNotFound(FlickrError):
    pass


def _translate(exc: LibFlickrError, method: str) -> Exception:
    code = exc.code
    text = str(exc)
    if code is None:
        # flickrapi reports a non-200 HTTP status only in the message.
        status = _int(text.rsplit(" ", 2)[-2]) if "Status code" in text else 0
        if status == 429 or status >= 500:
            return _Transient(f"HTTP {status}")
        return FlickrError(f"Flickr answered HTTP {status or '?'} to {method}: check PIERROT_FLICKR_API_URL")
    message = text.split(": ", 2)[-1]
    if code in TRANSIENT_CODES:
        return _Transient(f"error {code}: {message}")
    if code == 100:
        return FlickrError(f"Flickr rejected the API key (error 100: {message}): check PIERROT_FLICKR_API_KEY")
    if code in {96, 97}:
        return FlickrError(f"Flickr rejected the request signature (error {code}): check PIERROT_FLICKR_API_SECRET")
    if code in USER_NOT_FOUND_CODES and method != "flickr.people.getPhotos":
        return _UserNotFound(message)
    if code in USER_NOT_FOUND_CODES:
        return FlickrError(f"Flickr has no such user (error {code}: {message}): check PIERROT_FLICKR_USER")
    return FlickrError(f"Flickr refused {method} (error {code}: {message})")


def _parse(raw: bytes | str) -> Any:
    """The answer as flickrapi's parsed-json would give it, raising its FlickrError for ``stat: fail``."""
    reply = orjson.loads(raw)
    if isinstance(reply, dict) and reply.get("stat") == "fail":
        raise LibFlickrError(f"Error: {reply.get('code')}: {reply.get('message')}", code=_int(reply.get("code")))
    return reply


def _photos_block(reply: Mapping[str, Any]) -> dict[str, Any]:
    block = reply.get("photos")
    if not isinstance(block, dict):
        raise FlickrError('Flickr answered without a "photos" block: check PIERROT_FLICKR_API_URL')
    return block


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# Widths and heights repeat across a photostream: one int object each instead of one per photo.
_SHARED_INTS: dict[int, int] = {}


def _shared(number: int) -> int:
    return _SHARED_INTS.setdefault(number, number)


_SIZE_KEYS = tuple((label, f"url_{label}", f"width_{label}", f"height_{label}") for label in SIZE_LABELS)


def photo_from_item(item: Mapping[str, Any]) -> Photo | None:
    """A catalogue record from one ``people.getPhotos`` item (None for a non-public one)."""
    if str(item.get("ispublic", "1")) == "0":
        return None
    sizes: list[Size] = []
    for label, url_key, width_key, height_key in _SIZE_KEYS:
        url = item.get(url_key)
        if url:
            width, height = _shared(_int(item.get(width_key))), _shared(_int(item.get(height_key)))
            # An original larger than X takes is never posted: the catalogue keeps only what can be.
            if label == "o" and not 0 < max(width, height) <= MAX_POSTABLE_ORIGINAL_EDGE:
                continue
            sizes.append(Size(label, str(url), width, height))
    description = item.get("description")
    if isinstance(description, Mapping):
        description = description.get("_content", "")
    taken = item.get("datetaken")
    return Photo(
        id=str(item["id"]),
        title=str(item.get("title") or ""),
        description=str(description or ""),
        tags=tuple(_split_tags(item.get("tags"))),
        date_taken=str(taken) if taken else None,
        date_taken_unknown=str(item.get("datetakenunknown", "0")) == "1",
        date_uploaded=_int(item.get("dateupload")),
        last_update=_int(item.get("lastupdate")),
        license=str(item.get("license", "")),
        path_alias=sys.intern(str(item["pathalias"])) if item.get("pathalias") else None,
        owner=sys.intern(str(item.get("owner") or "")),
        media=sys.intern(str(item.get("media") or "photo")),
        original_format=sys.intern(str(item["originalformat"])) if item.get("originalformat") else None,
        sizes=tuple(sizes),
    )


def _split_tags(tags: Any) -> Iterable[str]:
    if isinstance(tags, str):
        return [sys.intern(t) for t in tags.split() if t]  # the same few tags recur on thousands of photos
    return []
