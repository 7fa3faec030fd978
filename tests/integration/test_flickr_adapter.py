"""The Flickr adapter against a replayed REST endpoint: flickrapi POSTs a signed form, we answer it."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from pierrot.adapters.flickr import FlickrPhotoSource
from pierrot.errors import ConfigError, FlickrError
from tests.integration.faulty_http import FaultyServer, hang, not_tls, trickle

API_URL = "https://api.flickr.com/services/rest/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Shaped like real credentials so that a leak is easy to spot in any text.
KEY = "0123456789abcdef0123456789abcdef"
SECRET = "fedcba9876543210"
NSID = "12345678@N00"
NEEDED_EXTRAS = {
    "url_k", "url_h", "url_l", "url_c", "url_z", "url_o", "description", "tags", "date_taken", "date_upload",
    "license", "path_alias", "media", "last_update", "original_format",
}  # fmt: skip

Answer = tuple[int, dict[str, str], str] | Exception


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


PAGE = fixture("flickr-getPhotos-page.json")
TEMPLATE = PAGE["photos"]["photo"][0]


def make_item(n: int) -> dict[str, Any]:
    """The n-th upload (0 is the oldest), shaped exactly like a real getPhotos item."""
    pid = str(50_000_000_000 + n)
    item: dict[str, Any] = json.loads(json.dumps(TEMPLATE).replace(TEMPLATE["id"], pid))
    item["title"] = f"Photo {n}"
    item["dateupload"] = str(1_600_000_000 + 60 * n)
    item["lastupdate"] = str(1_600_000_000 + 60 * n + 5)
    return item


def stream(count: int) -> list[dict[str, Any]]:
    """A photostream of ``count`` uploads, newest first as Flickr lists them."""
    return [make_item(n) for n in reversed(range(count))]


def ok(doc: Any) -> Answer:
    return 200, {"Content-Type": "application/json"}, json.dumps(doc)


def http(status: int) -> Answer:
    return status, {"Content-Type": "text/html"}, f"<html><body><h1>{status}</h1></body></html>"


def stat_fail(code: int, message: str) -> Answer:
    return ok({"stat": "fail", "code": code, "message": message})


INVALID_KEY = ok(fixture("flickr-error-invalid-key.json"))
USER_NOT_FOUND = ok(fixture("flickr-error-user-not-found.json"))


class FakeFlickr:
    """The REST endpoint: answers each POSTed form by method, page, per_page and min_upload_date."""

    def __init__(self, items: list[dict[str, Any]] | None = None, *, total_as: Callable[[int], Any] = str) -> None:
        self.items = list(items or [])
        self.total_as = total_as
        self.nsid = NSID
        self.usernames = {"Some One": NSID}
        self.aliases = {"someone": NSID}
        self.requests: list[requests.PreparedRequest] = []
        self.forms: list[dict[str, str]] = []
        self.served: dict[int, list[list[str]]] = {}  # page number: the ids on each answer to it
        # Scripted answers, each (when, answer), served once before the normal one.
        self.script: list[tuple[Callable[[dict[str, str]], bool], Answer]] = []
        # Runs after a getPhotos page is served: the stream changing in the middle of a listing.
        self.after_page: Callable[[dict[str, str]], None] | None = None
        self.latency = 0.0
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0

    def fail(self, answer: Answer, times: int = 1, when: Callable[[dict[str, str]], bool] = lambda form: True) -> None:
        self.script.extend([(when, answer)] * times)

    def pages_asked(self) -> list[int]:
        return [int(f["page"]) for f in self.forms if f["method"] == "flickr.people.getPhotos"]

    def __call__(self, request: requests.PreparedRequest) -> Answer:
        body = request.body or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        form = {name: values[-1] for name, values in parse_qs(body, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append(request)
            self.forms.append(form)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            scripted = next((i for i, (when, _) in enumerate(self.script) if when(form)), None)
            answer = self.script.pop(scripted)[1] if scripted is not None else None
        try:
            if self.latency:
                time.sleep(self.latency)
            return answer if answer is not None else self._answer(form)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, form: dict[str, str]) -> Answer:
        method = form.get("method")
        if form.get("format") != "json" or form.get("nojsoncallback") != "1":
            return stat_fail(111, "Format not found")
        if method == "flickr.people.findByUsername":
            name = form.get("username", "")
            if name not in self.usernames:
                return USER_NOT_FOUND
            nsid = self.usernames[name]
            return ok({"user": {"id": nsid, "nsid": nsid, "username": {"_content": name}}, "stat": "ok"})
        if method == "flickr.urls.lookupUser":
            alias = form.get("url", "").rstrip("/").rsplit("/", 1)[-1]
            if alias not in self.aliases:
                return USER_NOT_FOUND
            return ok({"user": {"id": self.aliases[alias], "username": {"_content": alias}}, "stat": "ok"})
        if method == "flickr.people.getPhotos":
            if form.get("user_id") != self.nsid:
                return USER_NOT_FOUND
            answer = self._page(form)
            if self.after_page is not None:
                self.after_page(form)
            return answer
        return stat_fail(112, f'Method "{method}" not found')

    def _page(self, form: dict[str, str]) -> Answer:
        since = int(form.get("min_upload_date", "0"))
        with self._lock:
            items = [item for item in self.items if int(item["dateupload"]) >= since]
        per_page = min(500, int(form.get("per_page", "100")))
        total = len(items)
        pages = math.ceil(total / per_page)
        # Flickr answers a page past the last with the last page again, never an empty one.
        page = max(1, min(int(form.get("page", "1")), pages, 10_000))
        chunk = items[(page - 1) * per_page : page * per_page]
        with self._lock:
            self.served.setdefault(int(form.get("page", "1")), []).append([str(item["id"]) for item in chunk])
        block = {"page": page, "pages": self.total_as(pages), "perpage": per_page, "total": self.total_as(total),
                 "photo": chunk}  # fmt: skip
        return ok({"photos": block, "stat": "ok"})


@pytest.fixture
def flickr() -> Iterator[FakeFlickr]:
    fake = FakeFlickr()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, API_URL, callback=fake)
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def source(sleeps: list[float]) -> Callable[..., FlickrPhotoSource]:
    def make(**options: Any) -> FlickrPhotoSource:
        return FlickrPhotoSource(KEY, SECRET, sleep=sleeps.append, **options)

    return make


def assert_no_secrets(exc: BaseException) -> None:
    seen: BaseException | None = exc
    while seen is not None:
        for text in (str(seen), repr(seen)):
            assert KEY not in text
            assert SECRET not in text
        seen = seen.__cause__ or seen.__context__


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(item["id"]) for item in items]


# ---- summary ----------------------------------------------------------------------------------


@pytest.mark.parametrize("total_as", [str, int], ids=["total-as-string", "total-as-int"])
def test_summary_gives_total_and_newest_upload_in_one_call(flickr, source, total_as):
    flickr.items = stream(1234)
    flickr.total_as = total_as
    flickr_source = source()

    summary = flickr_source.summary(NSID)

    assert summary.total == 1234
    assert summary.newest_id == flickr.items[0]["id"]
    assert summary.newest_upload == int(flickr.items[0]["dateupload"])
    assert flickr_source.calls == 1
    [form] = flickr.forms
    assert (form["method"], form["user_id"], form["per_page"], form["page"]) == (
        "flickr.people.getPhotos", NSID, "1", "1")  # fmt: skip
    assert "date_upload" in form["extras"].split(",")


def test_summary_of_the_recorded_count_reply(source):
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, json=fixture("flickr-getPhotos-count.json"))
        summary = source().summary(NSID)

    assert (summary.total, summary.newest_id, summary.newest_upload) == (1234, "53912345678", None)


def test_summary_of_an_empty_photostream(flickr, source):
    summary = source().summary(NSID)

    assert (summary.total, summary.newest_id, summary.newest_upload) == (0, None, None)


# ---- resolving the user -----------------------------------------------------------------------


def test_an_nsid_needs_no_call(flickr, source):
    flickr_source = source()

    assert flickr_source.resolve_user(NSID) == NSID
    assert flickr.forms == []
    assert flickr_source.calls == 0


def test_a_username_is_found_by_username(flickr, source):
    flickr_source = source()

    assert flickr_source.resolve_user("Some One") == NSID
    assert [(f["method"], f["username"]) for f in flickr.forms] == [("flickr.people.findByUsername", "Some One")]
    assert flickr_source.calls == 1


def test_a_path_alias_falls_back_to_looking_up_the_photostream_url(flickr, source):
    flickr_source = source()

    assert flickr_source.resolve_user("someone") == NSID
    assert [f["method"] for f in flickr.forms] == ["flickr.people.findByUsername", "flickr.urls.lookupUser"]
    assert flickr.forms[1]["url"] == "https://www.flickr.com/photos/someone/"
    assert flickr_source.retries == 0


def test_a_photostream_url_is_looked_up_directly(flickr, source):
    assert source().resolve_user("https://www.flickr.com/photos/someone/") == NSID
    assert [f["method"] for f in flickr.forms] == ["flickr.urls.lookupUser"]


def test_an_unknown_user_names_the_setting(flickr, source):
    flickr_source = source()

    with pytest.raises(FlickrError, match="PIERROT_FLICKR_USER") as caught:
        flickr_source.resolve_user("nobody-here")

    assert "nobody-here" in str(caught.value)
    assert [f["method"] for f in flickr.forms] == ["flickr.people.findByUsername", "flickr.urls.lookupUser"]
    assert flickr_source.retries == 0
    assert_no_secrets(caught.value)


def test_an_invalid_key_while_resolving_is_not_mistaken_for_an_unknown_user(flickr, source):
    flickr.fail(INVALID_KEY)

    with pytest.raises(FlickrError, match="PIERROT_FLICKR_API_KEY") as caught:
        source().resolve_user("someone")

    assert len(flickr.forms) == 1
    assert_no_secrets(caught.value)


# ---- credentials on the wire -----------------------------------------------------------------


def test_the_key_travels_in_the_oauth_header_and_the_form_and_the_secret_nowhere(flickr, source):
    flickr.items = stream(600)
    flickr_source = source()

    flickr_source.resolve_user("someone")
    flickr_source.summary(NSID)
    flickr_source.list_photos(NSID, total=600)

    assert len(flickr.requests) == 5
    for request, form in zip(flickr.requests, flickr.forms, strict=True):
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        assert form["api_key"] == KEY
        headers = {
            name: value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()
        }
        assert headers["Authorization"].startswith("OAuth ")
        assert f'oauth_consumer_key="{KEY}"' in headers["Authorization"]
        assert headers["User-Agent"].startswith("pierrot/")
        for text in (body, str(request.url), *headers.values()):
            assert SECRET not in text


# ---- listing ----------------------------------------------------------------------------------


def test_a_full_listing_takes_one_call_per_500_items_with_every_extra(flickr, source):
    flickr.items = stream(1234)
    flickr_source = source()

    photos = flickr_source.list_photos(NSID, total=1234)

    assert [p.id for p in photos] == ids(flickr.items)
    assert flickr_source.calls == 3 == math.ceil(1234 / 500)
    assert flickr_source.retries == 0
    assert sorted(flickr.pages_asked()) == [1, 2, 3]
    for form in flickr.forms:
        assert form["per_page"] == "500"
        assert form["user_id"] == NSID
        assert set(form["extras"].split(",")) >= NEEDED_EXTRAS
        assert "min_upload_date" not in form


@pytest.mark.parametrize("new", [3, 500, 700])
def test_an_incremental_listing_asks_only_for_uploads_since(flickr, source, new):
    flickr.items = stream(1234)
    since = int(flickr.items[new - 1]["dateupload"])
    flickr_source = source()

    photos = flickr_source.list_photos(NSID, total=new, min_upload_date=since)

    assert [p.id for p in photos] == ids(flickr.items[:new])
    assert flickr_source.calls == math.ceil(new / 500)
    assert all(form["min_upload_date"] == str(since) for form in flickr.forms)
    assert all(form["per_page"] == "500" for form in flickr.forms)


def test_an_upload_during_the_listing_shifts_the_pages_and_nothing_counted_is_lost(flickr, source):
    flickr.items = stream(1000)
    counted = ids(flickr.items)
    newcomer = make_item(5000)

    def upload_once(form: dict[str, str]) -> None:
        if newcomer not in flickr.items:
            flickr.items.insert(0, newcomer)

    flickr.after_page = upload_once
    flickr_source = source(concurrency=1)  # one page at a time: the upload lands between pages 1 and 2

    photos = flickr_source.list_photos(NSID, total=1000)

    # The first answer to page 2 began with the last photo of page 1: one photo, two pages.
    assert flickr.served[2][0][0] == flickr.served[1][0][-1]
    # The stream now has a third page, and the oldest photo is on it.
    assert [p.id for p in photos] == counted
    assert flickr.pages_asked() == [1, 2, 3]
    assert flickr_source.calls == 3
    # The newcomer came after the count: the next summary sees it.


def test_a_photo_skipped_by_shifting_pages_is_found_by_listing_once_more(flickr, source):
    flickr.items = stream(1000)
    skipped = flickr.items[500]  # first of page 2 until a photo on page 1 goes away
    deleted = flickr.items[10]

    def delete_once(form: dict[str, str]) -> None:
        if deleted in flickr.items:
            flickr.items.remove(deleted)

    flickr.after_page = delete_once
    flickr_source = source(concurrency=1)

    photos = flickr_source.list_photos(NSID, total=1000)

    listed = [p.id for p in photos]
    assert skipped["id"] in listed
    assert len(listed) == len(set(listed))
    assert set(ids(flickr.items)) <= set(listed)
    assert flickr_source.calls == 4  # the 2-page listing, done twice
    assert flickr.pages_asked() == [1, 2, 1, 2]


def test_a_total_that_never_matches_lists_twice_and_no_more(flickr, source):
    # The summary counted 1,001 but one photo went away since: page 3 does not exist, and Flickr
    # answers it with page 2 again.
    flickr.items = stream(1000)
    flickr_source = source()

    photos = flickr_source.list_photos(NSID, total=1001)

    listed = [p.id for p in photos]
    assert listed == ids(flickr.items)
    assert flickr_source.calls == 6
    assert sorted(flickr.pages_asked()) == [1, 1, 2, 2, 3, 3]


def test_overlapping_pages_are_deduplicated(flickr, source):
    # A photo that shows up on two pages, as when one is uploaded mid-listing.
    flickr.items = stream(1000)
    repeat = flickr.items[499]
    flickr.fail(ok({"photos": {"page": 2, "pages": 2, "perpage": 500, "total": "1000",
                               "photo": [repeat, *flickr.items[500:999]]}, "stat": "ok"}),
                when=lambda form: form.get("page") == "2")  # fmt: skip
    flickr_source = source()

    photos = flickr_source.list_photos(NSID, total=1000)

    listed = [p.id for p in photos]
    assert listed == ids(flickr.items)  # the last one came with the second pass
    assert listed.count(repeat["id"]) == 1
    assert flickr_source.calls == 4


def test_a_concurrent_listing_returns_every_item_exactly_once(flickr, source):
    flickr.items = stream(5_123)
    flickr.latency = 0.02
    progress: list[tuple[int, int]] = []
    flickr_source = source(concurrency=4)

    photos = flickr_source.list_photos(NSID, total=5_123, progress=lambda done, of: progress.append((done, of)))

    assert [p.id for p in photos] == ids(flickr.items)
    assert sorted(flickr.pages_asked()) == list(range(1, 12))
    assert flickr_source.calls == 11
    assert 1 < flickr.max_in_flight <= 4
    assert progress[-1] == (11, 11)
    assert [done for done, _ in progress] == list(range(1, 12))


# ---- parsing ----------------------------------------------------------------------------------


def test_items_become_catalogue_records(flickr, source):
    harbour, sunset, clip = PAGE["photos"]["photo"]
    private = {**make_item(1), "ispublic": 0}
    flickr.items = [harbour, sunset, private, clip]

    photos = {p.id: p for p in source().list_photos(NSID, total=3)}

    assert set(photos) == {harbour["id"], sunset["id"], clip["id"]}  # the private one is dropped
    first = photos[harbour["id"]]
    assert first.title == "Harbour at dusk"
    assert first.description == harbour["description"]["_content"]  # HTML kept raw, entities too
    assert first.tags == ("harbour", "dusk", "boats")
    assert (first.date_taken, first.date_taken_unknown) == ("2024-06-09 19:12:44", False)
    assert (first.date_uploaded, first.last_update) == (1718000000, 1718003600)
    assert (first.license, first.path_alias, first.owner) == ("4", "someone", NSID)
    assert (first.media, first.original_format) == ("photo", "jpg")
    # Its 6000x4000 original (24 MP) is more than any network keeps (Mastodon scales to 8.3 MP): left out.
    assert [(s.label, s.url, s.width, s.height) for s in first.sizes] == [
        (label, harbour[f"url_{label}"], harbour[f"width_{label}"], harbour[f"height_{label}"])
        for label in ("k", "h", "l", "c", "z")
    ]

    second = photos[sunset["id"]]
    assert second.title == "🌅 夕焼け"
    assert (second.description, second.tags) == ("", ())
    # A small photo has no l, h or k; its widths came as strings.
    assert [(s.label, s.width, s.height) for s in second.sizes] == [("o", 900, 600), ("c", 800, 533), ("z", 640, 427)]

    video = photos[clip["id"]]
    assert video.media == "video"  # kept here: dropping videos is the service's decision
    assert video.date_taken_unknown is True
    assert [s.label for s in video.sizes] == ["z"]


# ---- failures that pass -----------------------------------------------------------------------

TRANSIENT = {
    "http-500": http(500),
    "http-502": http(502),
    "http-429": http(429),
    "error-105": stat_fail(105, "Service currently unavailable"),
    "not-json": (200, {"Content-Type": "text/html"}, "<html>Flickr is having a massage</html>"),
    "connection-error": requests.exceptions.ConnectionError("Connection refused"),
    "connect-timeout": requests.exceptions.ConnectTimeout("Connection to api.flickr.com timed out"),
    "timeout": requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"),
    "dropped-mid-answer": requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
}


@pytest.mark.parametrize("answer", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_transient_failure_is_retried(flickr, source, sleeps, answer):
    flickr.items = stream(3)
    flickr.fail(answer)
    flickr_source = source()

    summary = flickr_source.summary(NSID)

    assert summary.total == 3
    assert (flickr_source.calls, flickr_source.retries) == (2, 1)
    assert len(flickr.forms) == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 8 * 1.5


def test_a_page_that_fails_twice_is_retried_within_a_listing(flickr, source, sleeps):
    flickr.items = stream(1234)
    flickr.fail(http(503), times=2, when=lambda form: form.get("page") == "2")
    flickr_source = source()

    photos = flickr_source.list_photos(NSID, total=1234)

    assert [p.id for p in photos] == ids(flickr.items)
    assert (flickr_source.calls, flickr_source.retries) == (5, 2)
    assert sorted(flickr.pages_asked()) == [1, 2, 2, 2, 3]
    assert len(sleeps) == 2


# ---- failures that do not -------------------------------------------------------------------


def test_an_invalid_key_fails_at_once_naming_the_setting(flickr, source, sleeps):
    flickr.fail(INVALID_KEY)
    flickr_source = source()

    with pytest.raises(FlickrError, match="PIERROT_FLICKR_API_KEY") as caught:
        flickr_source.summary(NSID)

    assert (flickr_source.calls, flickr_source.retries, sleeps) == (1, 0, [])
    assert len(flickr.forms) == 1
    assert_no_secrets(caught.value)


def test_an_unknown_user_id_on_listing_fails_naming_the_setting(flickr, source, sleeps):
    flickr_source = source()

    with pytest.raises(FlickrError, match="PIERROT_FLICKR_USER") as caught:
        flickr_source.summary("99999999@N99")

    assert (flickr_source.calls, flickr_source.retries, sleeps) == (1, 0, [])
    assert_no_secrets(caught.value)


def test_http_404_fails_at_once(flickr, source, sleeps):
    flickr.fail(http(404))
    flickr_source = source()

    with pytest.raises(FlickrError, match="404") as caught:
        flickr_source.summary(NSID)

    assert "PIERROT_FLICKR_API_URL" in str(caught.value)
    assert (flickr_source.calls, flickr_source.retries, sleeps) == (1, 0, [])
    assert_no_secrets(caught.value)


@pytest.mark.parametrize("answer", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_transient_failure_that_persists_gives_up_after_the_attempts(flickr, source, sleeps, answer):
    flickr.fail(answer, times=10)
    flickr_source = source(attempts=3)

    with pytest.raises(FlickrError, match="not answering") as caught:
        flickr_source.summary(NSID)

    assert (flickr_source.calls, flickr_source.retries) == (3, 2)
    assert len(flickr.forms) == 3
    assert len(sleeps) == 2
    assert_no_secrets(caught.value)


def test_a_listing_fails_when_one_page_never_answers(flickr, source):
    flickr.items = stream(1234)
    flickr.fail(http(500), times=10, when=lambda form: form.get("page") == "3")

    with pytest.raises(FlickrError, match="not answering") as caught:
        source(attempts=2).list_photos(NSID, total=1234)

    assert_no_secrets(caught.value)


# ---- the endpoint -----------------------------------------------------------------------------


def test_a_custom_api_url_is_used(source):
    fake = FakeFlickr(stream(2))
    custom = "http://127.0.0.1:9/rest/"
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, custom, callback=fake)
        summary = source(api_url=custom).summary(NSID)

    assert summary.total == 2
    assert [r.url for r in fake.requests] == [custom]


# ---- what an endpoint must not be able to do --------------------------------------------------


def test_a_redirect_is_never_followed_and_the_key_stays_home(source, sleeps):
    elsewhere = "https://elsewhere.example/collect"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, API_URL, status=307, headers={"Location": elsewhere})
        mock.add(responses.POST, elsewhere, json=fixture("flickr-getPhotos-count.json"))
        flickr_source = source()

        with pytest.raises(FlickrError, match="redirect") as caught:
            flickr_source.summary(NSID)

        assert [call.request.url for call in mock.calls] == [API_URL]
    message = str(caught.value)
    assert "HTTP 307 to https://elsewhere.example" in message
    assert "PIERROT_FLICKR_API_URL" in message
    assert (flickr_source.calls, sleeps) == (1, [])
    assert_no_secrets(caught.value)


def test_a_listing_claiming_far_more_pages_than_its_total_is_read_as_its_total_says(flickr, source):
    flickr.items = stream(2)
    lie = {"photos": {"page": 1, "pages": 10_000, "perpage": 500, "total": "2", "photo": flickr.items}, "stat": "ok"}
    flickr.fail(ok(lie), when=lambda form: form.get("page") == "1" and form.get("per_page") == "500")
    # Should the pages past what the total implies be asked for, fail at once rather than make 10,000 calls.
    flickr.fail(INVALID_KEY, times=50, when=lambda form: int(form.get("page", "1")) > 2)
    flickr_source = source()

    photos = flickr_source.list_photos(NSID, total=2)

    assert [p.id for p in photos] == ids(flickr.items)
    assert sorted(flickr.pages_asked()) == [1, 2]  # the total's one page, and one more for late uploads
    assert flickr_source.calls == 2


def test_an_answer_larger_than_32_mb_is_refused_without_a_retry(source, sleeps):
    huge = b'{"stat": "ok", "photos": {"photo": [], "padding": "' + b"x" * (32 * 1024 * 1024) + b'"}}'
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, body=huge, content_type="application/json")
        flickr_source = source()

        with pytest.raises(FlickrError, match="larger than 32 MB") as caught:
            flickr_source.summary(NSID)

    assert (flickr_source.calls, sleeps) == (1, [])
    assert_no_secrets(caught.value)


def test_an_answer_declaring_more_than_the_cap_is_refused_unread(source):
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, json=fixture("flickr-getPhotos-count.json"),
                 headers={"Content-Length": str(64 * 1024 * 1024)}, auto_calculate_content_length=False)  # fmt: skip

        with pytest.raises(FlickrError, match="larger than 32 MB"):
            source().summary(NSID)


def test_an_answer_trickled_byte_by_byte_is_abandoned_at_the_deadline(source):
    with FaultyServer(trickle(seconds=4)) as server:
        flickr_source = source(api_url=server.origin + "/services/rest/", timeout=0.4)
        started = time.monotonic()

        with pytest.raises(FlickrError, match=r"did not complete within 0\.8 s") as caught:
            flickr_source.summary(NSID)

    # The timeout bounds each read; the whole call, retries included, ends within twice the timeout.
    assert time.monotonic() - started < 2.0
    assert flickr_source.calls == 1
    assert_no_secrets(caught.value)


def test_a_hung_flickr_gives_up_within_twice_the_timeout(source):
    with FaultyServer(hang) as server:
        flickr_source = source(api_url=server.origin + "/services/rest/", timeout=0.5, attempts=4)
        started = time.monotonic()

        # The read timeout (0.5 s) ends it, or on a loaded machine the whole call's deadline (twice that) first.
        with pytest.raises(FlickrError, match=r"not answering \((no answer within 0.5 s|the answer did not complete "
                           r"within 1 s)\)"):
            flickr_source.summary(NSID)
        elapsed = time.monotonic() - started

    assert elapsed < 1.5  # four tries of the timeout each would take 2 s
    assert flickr_source.calls < 4


def test_a_failed_page_stops_the_rest_of_the_listing_and_is_the_error_shown(flickr, source, sleeps):
    flickr.items = stream(5_000)
    flickr.fail(INVALID_KEY, when=lambda form: form.get("page") == "2")
    flickr.fail(http(503), times=100, when=lambda form: form.get("page") != "2")
    flickr.latency = 0.1

    with pytest.raises(FlickrError, match="PIERROT_FLICKR_API_KEY"):
        source(concurrency=2, attempts=4).list_photos(NSID, total=5_000)

    # Page 1 was being retried when page 2 failed: it gives up instead of trying four times; the rest never start.
    assert flickr.pages_asked().count(1) < 4
    assert set(flickr.pages_asked()) == {1, 2}


# ---- fields an answer cannot smuggle into a post or the catalogue ---------------------------------


def test_items_with_malformed_fields_are_dropped_or_corrected_and_logged(flickr, source, caplog):
    good, bad_alias, bad_owner, bad_id, bad_url = (make_item(n) for n in reversed(range(5)))
    bad_alias["pathalias"] = "../../evil?x="
    bad_owner["owner"] = "12345678@N00/../../x"
    bad_id["id"] = "../1"
    bad_url["url_k"] = {"nested": "https://live.staticflickr.com/x.jpg"}
    flickr.items = [good, bad_alias, bad_owner, bad_id, bad_url]
    flickr_source = source()

    photos = {p.id: p for p in flickr_source.list_photos(NSID, total=5)}

    assert set(photos) == {good["id"], bad_alias["id"], bad_owner["id"], bad_url["id"]}
    # The item left out is counted as listed: no second pass hunting for it.
    assert (flickr_source.calls, flickr_source.skipped) == (1, 1)
    alias = photos[bad_alias["id"]]
    assert (alias.path_alias, alias.owner) == (None, NSID)
    assert alias.page_url == f"https://www.flickr.com/photos/{NSID}/{bad_alias['id']}/"
    assert photos[good["id"]].page_url == f"https://www.flickr.com/photos/someone/{good['id']}/"
    assert photos[bad_owner["id"]].owner == ""
    assert "k" not in [s.label for s in photos[bad_url["id"]].sizes]
    assert all(isinstance(s.url, str) for p in photos.values() for s in p.sizes)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("'../1'" in w and "left out" in w for w in warnings)
    assert any("'../../evil?x='" in w for w in warnings)
    assert any("not an NSID" in w for w in warnings)
    assert any("url_k" in w for w in warnings)


@pytest.mark.parametrize("alias", ["a/b", "a?b", "a#b", "a.b", "a%2F", "a b", "a\nb", "", 7])
def test_a_path_alias_outside_flickrs_characters_is_never_used_in_a_link(flickr, source, alias):
    item = make_item(1)
    item["pathalias"] = alias
    flickr.items = [item]

    [photo] = source().list_photos(NSID, total=1)

    assert photo.path_alias is None


@pytest.mark.parametrize("alias", ["someone", "Some_One-2", "x" * 60])
def test_flickr_url_aliases_are_kept(flickr, source, alias):
    item = make_item(1)
    item["pathalias"] = alias
    flickr.items = [item]

    [photo] = source().list_photos(NSID, total=1)

    assert photo.path_alias == alias


def test_a_resolved_user_that_is_not_an_nsid_is_refused(flickr, source):
    flickr.usernames["Some One"] = "../../evil"

    with pytest.raises(FlickrError, match="not an NSID"):
        source().resolve_user("Some One")


# ---- what a network failure says --------------------------------------------------------------


def test_a_dns_failure_names_the_host_it_could_not_resolve(source, monkeypatch):
    import socket

    def no_dns(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    with pytest.raises(FlickrError, match=r"could not resolve api\.flickr\.com") as caught:
        source(attempts=2).summary(NSID)

    assert_no_secrets(caught.value)


def test_a_refused_connection_says_so(source):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FlickrError, match=r"cannot connect to 127\.0\.0\.1: Connection refused"):
        source(api_url=f"http://127.0.0.1:{port}/services/rest/", attempts=2).summary(NSID)


def test_a_server_that_does_not_speak_tls_is_a_tls_failure(source):
    with FaultyServer(not_tls) as server:
        https = server.origin.replace("http://", "https://") + "/services/rest/"

        with pytest.raises(FlickrError, match=r"TLS failure with 127\.0\.0\.1"):
            source(api_url=https, attempts=2, timeout=5).summary(NSID)


def test_a_refused_certificate_is_not_retried(source, sleeps):
    import ssl

    from urllib3.exceptions import MaxRetryError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    refused = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    refused.verify_message = "certificate has expired"
    error = requests.exceptions.SSLError(MaxRetryError(None, "/services/rest/", Urllib3SSLError(refused)))  # type: ignore[arg-type]
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, body=error)
        flickr_source = source()

        with pytest.raises(FlickrError, match="certificate verify failed: certificate has expired"):
            flickr_source.summary(NSID)

    assert (flickr_source.calls, sleeps) == (1, [])


@pytest.mark.parametrize("url", ["http://api.flickr.com/services/rest/", "http://10.0.0.1/rest/", "ftp://x/"])
def test_plain_http_is_refused_off_this_machine(url):
    with pytest.raises(ConfigError, match="PIERROT_FLICKR_API_URL"):
        FlickrPhotoSource(KEY, SECRET, api_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/rest/", "http://127.5.0.1/rest/", "http://[::1]:9/",
                                 "http://localhost:9/"])  # fmt: skip
def test_plain_http_is_allowed_on_loopback(url):
    FlickrPhotoSource(KEY, SECRET, api_url=url)


def test_an_original_larger_than_any_network_takes_is_left_out_and_counts_are_read(flickr, source):
    huge = {**make_item(7), "url_o": "https://live.staticflickr.com/1/7_o.jpg", "width_o": 9000, "height_o": 6000,
            "views": "1234", "count_faves": 12, "datetakengranularity": 4}
    flickr.items = [huge]

    (photo,) = source().list_photos(NSID, total=1)

    assert photo.size("o") is None  # 54 MP: more than any network keeps
    assert (photo.views, photo.faves, photo.date_taken_granularity) == (1234, 12, 4)


def test_the_listing_asks_for_views_and_favourites():
    from pierrot.adapters.flickr import EXTRAS

    assert {"views", "count_faves", "date_taken"} <= set(EXTRAS.split(","))
