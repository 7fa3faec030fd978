"""The Flickr adapter: a photostream read through flickrapi, with our own paging and retries."""

from __future__ import annotations

import gc
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from operator import attrgetter
from typing import Any
from urllib.parse import urlsplit

import flickrapi
import requests
from flickrapi.exceptions import FlickrError as LibFlickrError

from pierrot import __version__
from pierrot.adapters.flickr_records import (
    _checked_nsid,
    _int,
    _items,
    _Page,
    _parse,
    _photos_block,
    photo_id,
)
from pierrot.adapters.http import DEADLINE_FACTOR, MAX_ANSWER_BYTES, ApiSession
from pierrot.adapters.http_failures import (
    AnswerTooLarge,
    AnswerTooSlow,
    RedirectRefused,
    describe_failure,
    is_certificate_problem,
    require_safe_url,
)
from pierrot.config import DEFAULT_FLICKR_API_URL, is_nsid
from pierrot.domain import SIZE_LABELS, Photo
from pierrot.errors import FlickrError
from pierrot.logs import excerpt
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
        "views",
        # Undocumented, but what Flickr's own web client asks for; absent, popular falls back to views.
        "count_faves",
        *(f"url_{label}" for label in SIZE_LABELS),
    ]
)
USER_AGENT = f"pierrot/{__version__}"

# Flickr error codes that say "try again later".
TRANSIENT_CODES = {105, 106, 201}
USER_NOT_FOUND_CODES = {1, 2}
# Flickr clamps `page` at 10,000: no listing ever needs more.
MAX_PAGES = 10_000
# Pages fetched beyond what an answer's `total` implies, for uploads landing mid-listing: one answer claiming
# 10,000 pages for 2 photos once drove 10,000 calls.
EXTRA_PAGE_MARGIN = 1


# At most this many distinct problems with a listing's records are logged; the rest are counted.
MAX_LOGGED_PROBLEMS = 20


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
        clock: Callable[[], float] = time.monotonic,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        require_safe_url(api_url, "PIERROT_FLICKR_API_URL")
        self._key = str(api_key)
        self._secret = str(api_secret)
        self._api_url = api_url
        self._host = urlsplit(api_url).hostname or api_url
        self._timeout = timeout
        # One call, its retries and their pauses included, ends within this: a hung Flickr once took
        # four tries of the full timeout each.
        self._give_up_after = DEADLINE_FACTOR * timeout
        self._concurrency = max(1, concurrency)
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._max_answer_bytes = max_answer_bytes
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls = 0
        self.retries = 0
        # Listed items left out of the last listing because their id is not a Flickr photo id.
        self.skipped = 0

    # ---- the port --------------------------------------------------------------------------

    def resolve_user(self, user: str) -> str:
        user = user.strip()
        if is_nsid(user):
            return user
        if user.startswith(("http://", "https://")):
            return self._lookup_url(user)
        try:
            reply = self._call("flickr.people.findByUsername", {"username": user})
            found = reply["user"]["nsid"] if "nsid" in reply["user"] else reply["user"]["id"]
            return _checked_nsid(found, "flickr.people.findByUsername")
        except _UserNotFound:
            pass
        return self._lookup_url(f"https://www.flickr.com/photos/{user}/")

    def summary(self, nsid: str) -> StreamSummary:
        reply = self._call("flickr.people.getPhotos", {**self._query(nsid), "per_page": 1, "page": 1,
                                                       "extras": "date_upload"})  # fmt: skip
        photos = _photos_block(reply)
        items = _items(photos)
        newest = items[0] if items and isinstance(items[0], Mapping) else None
        return StreamSummary(
            total=_int(photos.get("total")),
            newest_id=photo_id(newest.get("id")) if newest else None,
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
        listing = _Listing()
        with _collector_paused():
            self._list(query, total, progress, listing)
        # An item left out for a bad id was listed all the same: it does not mean the pages shifted.
        if len(listing.found) + len(listing.dropped) < total and min_upload_date is None:
            # Pages shift when a photo is deleted mid-listing: one more pass fills the gap.
            log.info("listing found %d items where Flickr said %d: listing once more", len(listing.found), total)
            with _collector_paused():
                self._list(query, total, progress, listing)
        listing.report()
        self.skipped = len(listing.dropped)
        # Two stable sorts on plain keys, newest upload first and the higher id first among equals:
        # a tuple key per photo would cost some megabytes at 100,000 photos.
        photos = list(listing.found.values())
        del listing
        photos.sort(key=lambda p: _int(p.id), reverse=True)
        photos.sort(key=attrgetter("date_uploaded"), reverse=True)
        return photos

    # ---- paging ----------------------------------------------------------------------------

    def _list(self, query: dict[str, str], total: int, progress: ProgressCallback | None, listing: _Listing) -> None:
        planned = max(1, math.ceil(total / PER_PAGE)) if total else 1
        done = 0
        # Set when a page has failed: the pages still running give up instead of retrying for nothing.
        failed = threading.Event()
        first_failure: list[BaseException] = []

        def fetch(page: int) -> _Page:
            # Records are built here, in the worker, so each page's parsed JSON is freed as soon as it is read.
            params = {**query, "per_page": PER_PAGE, "page": page, "extras": EXTRAS}
            try:
                return _Page.read(_photos_block(self._call("flickr.people.getPhotos", params, stop=failed)))
            except _Abandoned:
                raise
            except BaseException as exc:
                with self._lock:
                    first_failure.append(exc)
                    failed.set()
                raise

        def absorb(result: _Page) -> None:
            nonlocal done
            listing.absorb(result)
            done += 1
            if progress is not None:
                progress(done, planned)

        reported_pages = reported_total = 0
        try:
            with ThreadPoolExecutor(max_workers=min(self._concurrency, planned)) as pool:
                for result in pool.map(fetch, range(1, planned + 1)):
                    absorb(result)
                    reported_pages = max(reported_pages, result.pages)
                    reported_total = max(reported_total, result.total)
                # The stream grew since the count: fetch the pages it now has beyond the plan, as many as its
                # total says it has, whatever its page count claims.
                last = min(reported_pages, math.ceil(reported_total / PER_PAGE) + EXTRA_PAGE_MARGIN, MAX_PAGES)
                if last > planned:
                    if last < reported_pages:
                        log.warning("Flickr claims %d pages for %d items: reading %d", reported_pages,
                                    reported_total, last)  # fmt: skip
                    extra = range(planned + 1, last + 1)
                    planned = last
                    for result in pool.map(fetch, extra):
                        absorb(result)
        except _Abandoned:
            # The page that made the others give up says what went wrong.
            raise first_failure[0] from None

    def _query(self, nsid: str) -> dict[str, str]:
        # The count and the listing must ask the same question, or their totals do not compare.
        return {"user_id": nsid}

    def _lookup_url(self, url: str) -> str:
        try:
            reply = self._call("flickr.urls.lookupUser", {"url": url})
        except _UserNotFound:
            raise FlickrError(
                f"Flickr has no user {url.rstrip('/').rsplit('/', 1)[-1]!r}: check PIERROT_FLICKR_USER "
                "(an NSID like 12345678@N00, a username, or the name in your photostream's URL)"
            ) from None
        return _checked_nsid(reply["user"]["id"], "flickr.urls.lookupUser")

    # ---- one call, with retries ------------------------------------------------------------

    def _api(self) -> tuple[Any, ApiSession]:
        api = getattr(self._local, "api", None)
        if api is None:
            api = flickrapi.FlickrAPI(
                self._key, self._secret, format="parsed-json", store_token=False, timeout=self._timeout
            )
            api.REST_URL = self._api_url
            # flickrapi shares one class-level session between instances; give each thread its own, one that
            # never follows a redirect (it would take the API key to another origin) and bounds every answer.
            session = ApiSession(self._timeout, user_agent=USER_AGENT, max_bytes=self._max_answer_bytes,
                                 clock=self._clock)  # fmt: skip
            api.flickr_oauth.session = session
            self._local.api = api
            self._local.session = session
        return api, self._local.session

    def _call(self, method: str, params: Mapping[str, Any], *, stop: threading.Event | None = None) -> dict[str, Any]:
        started = self._clock()
        give_up_at = started + self._give_up_after
        last = ""
        tries = 0
        for attempt in range(self._attempts):
            if stop is not None and stop.is_set():
                break
            if attempt:
                delay = min(8.0, self._backoff * (2 ** (attempt - 1))) * (0.5 + random.random())
                if self._clock() + delay >= give_up_at:
                    break
                with self._lock:
                    self.retries += 1
                log.info("retrying %s in %.1fs after: %s", method, delay, last)
                self._sleep(delay)
            left = give_up_at - self._clock()
            if left < self._timeout / 10:
                break  # too little time left for a try worth making
            with self._lock:
                self.calls += 1
            tries += 1
            try:
                return self._call_once(method, params, left)
            except _Transient as exc:
                last = str(exc)
        if stop is not None and stop.is_set():
            raise _Abandoned(f"Flickr call {method} abandoned: another page of the listing failed")
        raise FlickrError(
            f"Flickr is not answering ({last}) after {tries} {'try' if tries == 1 else 'tries'} "
            f"in {self._clock() - started:.0f} s: try again later"
        )

    def _call_once(self, method: str, params: Mapping[str, Any], budget: float) -> dict[str, Any]:
        api, session = self._api()
        session.budget = budget
        try:
            # format="json" hands back the raw answer: orjson parses a page of 500 several times faster.
            # The key also goes in the form as api_key, as Flickr's own docs show it: flickrapi puts it only in
            # the OAuth header, which Flickr accepts, but not every Flickr-compatible endpoint reads.
            reply = _parse(api.do_flickr_call(method, format="json", api_key=self._key, **params))
        except LibFlickrError as exc:
            raise _translate(exc, method, (self._key, self._secret)) from None
        except RedirectRefused as exc:
            raise FlickrError(
                f"Flickr answered {method} with a redirect (HTTP {exc.status} to {exc.target}); pierrot never "
                "follows one on an API call, as it would take the API key elsewhere: check PIERROT_FLICKR_API_URL"
            ) from None
        except AnswerTooLarge as exc:
            raise FlickrError(f"Flickr's answer to {method} was refused: {exc}; check PIERROT_FLICKR_API_URL") from None
        except AnswerTooSlow:
            raise _Transient(f"the answer did not complete within {self._give_up_after:g} s") from None
        except requests.RequestException as exc:
            reason = describe_failure(exc, self._host, self._timeout)
            if is_certificate_problem(exc):
                raise FlickrError(
                    f"cannot reach Flickr: {reason}; check the system's CA certificates, any proxy that "
                    "intercepts TLS, and PIERROT_FLICKR_API_URL"
                ) from None
            if isinstance(exc, requests.Timeout | requests.ConnectionError):
                # ChunkedEncodingError is a connection dropped in the middle of the answer.
                raise _Transient(reason) from None
            if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
                raise _Transient(reason) from None
            raise FlickrError(f"Flickr call {method} failed: {reason}") from None
        except ValueError:
            raise _Transient("the answer was not JSON") from None
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


class _Abandoned(FlickrError):
    """A call given up because another page of the same listing failed."""


def _translate(exc: LibFlickrError, method: str, secrets: Sequence[str]) -> Exception:
    code = exc.code
    text = str(exc)
    if code is None:
        # flickrapi reports a non-200 HTTP status only in the message.
        status = _int(text.rsplit(" ", 2)[-2]) if "Status code" in text else 0
        if status == 429 or status >= 500:
            return _Transient(f"HTTP {status}")
        return FlickrError(f"Flickr answered HTTP {status or '?'} to {method}: check PIERROT_FLICKR_API_URL")
    message = excerpt(text.split(": ", 2)[-1], secrets)  # Flickr's words, which may quote the key
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


class _Listing:
    """Everything a listing found, deduplicated by id, and what it had to leave out or correct."""

    def __init__(self) -> None:
        self.found: dict[str, Photo] = {}
        self.dropped: set[str] = set()
        self.problems: set[str] = set()

    def absorb(self, page: _Page) -> None:
        for photo in page.photos:
            self.found[photo.id] = photo
        self.dropped |= page.dropped
        self.problems |= page.problems

    def report(self) -> None:
        problems = sorted(self.problems)
        for problem in problems[:MAX_LOGGED_PROBLEMS]:
            log.warning("%s", problem)
        if len(problems) > MAX_LOGGED_PROBLEMS:
            log.warning("and %d more problems with the listing's items", len(problems) - MAX_LOGGED_PROBLEMS)
