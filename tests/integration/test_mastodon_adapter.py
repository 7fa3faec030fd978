"""The Mastodon adapter against recorded answers, then against the fake instance: limits, media processing,
posts made once with an Idempotency-Key, interrupted posts settled, and every error a post can meet."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from requests_toolbelt.multipart.decoder import MultipartDecoder
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from pierrot.adapters.networks.mastodon import (
    DEFAULT_RULES,
    KEY_WINDOW,
    MastodonPublisher,
    cut_alt_text,
    mastodon_length,
    rules_from_instance,
)
from pierrot.domain import iso
from pierrot.errors import ConfigError, DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import Attempt, FetchedImage, Post
from tests.e2e.fake_mastodon import MastodonFake, MastodonFault, mastodon_count
from tests.e2e.servers import ServerThread, jpeg

FIXTURES = Path(__file__).parent.parent / "fixtures"
TOKEN = "mSt-TOKEN-q8RkT3xDistinctBearerNeverShown0123"
BASE = "https://photos.example"
INSTANCE = f"{BASE}/api/v2/instance"
INSTANCE_V1 = f"{BASE}/api/v1/instance"
MEDIA = f"{BASE}/api/v2/media"
MEDIA_ID = "113456789000000001"
MEDIA_STATUS = f"{BASE}/api/v1/media/{MEDIA_ID}"
STATUSES = f"{BASE}/api/v1/statuses"
ME = f"{BASE}/api/v1/accounts/verify_credentials"
ACCOUNT_ID = "109876543210987654"
ACCOUNT_STATUSES = f"{BASE}/api/v1/accounts/{ACCOUNT_ID}/statuses"
PAGE_URL = "https://www.flickr.com/photos/someone/53000000003/"
TEXT = f"Harbour at dusk {PAGE_URL}"
NOW = 1_777_636_800.0  # 2026-05-01T12:00:00Z
ATTACHED = "Media 113456789000000001 not found or already attached to another post"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeTime:
    """A clock that moves only when slept on."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def publisher(fake_time: FakeTime | None = None, **kwargs: Any) -> MastodonPublisher:
    clock = fake_time or FakeTime()
    options: dict[str, Any] = {"url": BASE, "access_token": TOKEN, "sleep": clock.sleep, "clock": clock.clock}
    return MastodonPublisher(**{**options, **kwargs})


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def image(tmp_path: Path) -> FetchedImage:
    data = jpeg(20_000)
    path = tmp_path / "53000000003_k.jpg"
    path.write_bytes(data)
    return FetchedImage(path, "k", 2048, 1365, len(data), "image/jpeg")


def attempt(media_id: str | None = MEDIA_ID, key: str = "5f1d7c2e9a4b4e0f8c3d2b1a09876543") -> Attempt:
    return Attempt(key=key, created_at=iso_at(NOW - 60), media_ids=(media_id,) if media_id else ())


def iso_at(moment: float) -> str:
    return iso(dt.datetime.fromtimestamp(moment, dt.UTC)) or ""


def form(request: Any) -> list[tuple[str, str]]:
    body = request.body
    return parse_qsl(body.decode() if isinstance(body, bytes) else body)


def status(
    status_id: str, *, at: float, text: str = "Another photo", media_ids: tuple[str, ...] = ()
) -> dict[str, Any]:
    doc: dict[str, Any] = fixture("mastodon-status.json")
    doc.update(
        id=status_id,
        created_at=dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        url=f"{BASE}/@someone/{status_id}",
        uri=f"{BASE}/users/someone/statuses/{status_id}",
        content=f"<p>{text}</p>",
        media_attachments=[{"id": m, "type": "image"} for m in media_ids],
    )
    return doc


def multipart(request: Any) -> dict[str, tuple[str, bytes | None, bytes]]:
    decoder = MultipartDecoder(request.body, request.headers["Content-Type"])
    parts = {}
    for part in decoder.parts:
        disposition = part.headers[b"Content-Disposition"].decode()
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        parts[name] = (disposition, part.headers.get(b"Content-Type"), part.content)
    return parts


# ---- how long a status is ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Harbour at dusk", 15),
        (PAGE_URL, 23),  # 50 characters, counted as characters_reserved_per_url
        (f"Harbour {PAGE_URL}.", 8 + 23 + 1),  # the full stop is not part of the URL
        ("https://flic.kr/p/2abc", 23),  # shorter than 23 counts 23 too
        ("👨\u200d👩\u200d👧\u200d👦", 1),  # a family emoji: seven code points, one grapheme
        ("🇫🇷 e\u0301", 3),  # a flag and a combining accent are one grapheme each
        ("@alice@mastodon.social hi", len("@alice hi")),
        ("@alice hi", 9),
        ("flickr.com/photos/someone", 25),  # no scheme: Mastodon counts it as text
        ("bob@example.com", 15),  # an address is not a mention
        ("  Harbour \n", 7),  # stripped as Mastodon strips
        ("see https://en.wikipedia.org/wiki/Primer_(film) now", 4 + 23 + 4),
    ],
)
def test_length_is_counted_as_mastodon_counts(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected
    assert DEFAULT_RULES.measure(text) == expected


def test_the_fakes_independent_count_agrees_on_the_texts_pierrot_writes() -> None:
    for text in (TEXT, "Tour Eiffel 🇫🇷 la nuit", "@alice@mastodon.social 👨\u200d👩\u200d👧\u200d👦 " + PAGE_URL):
        assert mastodon_length(text) == mastodon_count(text)


def test_a_long_text_is_counted_quickly() -> None:
    started = time.monotonic()
    mastodon_length("https://example.com/" + "a(" * 3000 + "!" + "@x" * 2000)
    assert time.monotonic() - started < 1.0


def test_alt_text_is_cut_to_the_limit_without_splitting_a_grapheme() -> None:
    assert cut_alt_text("short", 10) == "short"
    assert cut_alt_text("a" * 9 + "e\u0301", 10) == "a" * 9
    assert len(cut_alt_text("x" * 2000, 1500)) == 1500


# ---- the instance's limits ---------------------------------------------------------------------


def test_default_rules_are_mastodons_own() -> None:
    rules = publisher().rules
    assert rules is DEFAULT_RULES
    assert (rules.name, rules.display, rules.text_limit, rules.unit) == ("mastodon", "Mastodon", 500, "characters")
    # 33 MP accepted, but 8.3 MP kept: pierrot sends no more than Mastodon keeps
    assert (rules.alt_limit, rules.max_image_bytes, rules.max_image_pixels) == (1500, 16_777_216, 8_294_400)
    assert rules.settles_unknown is True


def test_prepare_reads_the_instance_limits_once(mocked: responses.RequestsMock) -> None:
    doc = fixture("mastodon-instance-v2.json")
    doc["configuration"]["statuses"]["characters_reserved_per_url"] = 30
    doc["configuration"]["media_attachments"].update(description_limit=2000, image_size_limit=10_485_760)
    mocked.get(INSTANCE, json=doc)
    mastodon = publisher()

    rules = mastodon.prepare()
    again = mastodon.prepare()

    assert rules is again is mastodon.rules
    assert (rules.text_limit, rules.alt_limit, rules.max_image_bytes, rules.max_image_pixels) == (
        1000,
        2000,
        10_485_760,
        8_294_400,
    )
    assert rules.measure(PAGE_URL) == 30
    assert rules.settles_unknown
    assert len(mocked.calls) == 1
    assert "Authorization" not in mocked.calls[0].request.headers  # a public document


def test_prepare_falls_back_to_the_first_instance_api(mocked: responses.RequestsMock) -> None:
    mocked.get(INSTANCE, json={"error": "Record not found"}, status=404)
    mocked.get(INSTANCE_V1, json={"uri": "photos.example", "version": "3.5.5", "max_toot_chars": 700})

    rules = publisher().prepare()

    assert rules.text_limit == 700
    assert rules.alt_limit == 1500
    assert [c.request.url for c in mocked.calls] == [INSTANCE, INSTANCE_V1]


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"configuration": None},
        {"configuration": {"statuses": {}, "media_attachments": {}}},
        {"configuration": {"statuses": {"max_characters": "many"}, "media_attachments": {"image_size_limit": -1}}},
        {"configuration": {"statuses": {"max_characters": True}}},
        [],
    ],
    ids=["empty", "null", "no-keys", "garbage", "boolean", "not-an-object"],
)
def test_missing_or_odd_limits_fall_back_to_the_defaults(doc: Any) -> None:
    rules = rules_from_instance(doc)
    assert (rules.text_limit, rules.alt_limit, rules.max_image_bytes, rules.max_image_pixels) == (
        500,
        1500,
        16_777_216,
        8_294_400,
    )
    assert rules.measure(PAGE_URL) == 23


def test_a_description_limit_absent_before_mastodon_4_4_means_1500() -> None:
    doc = fixture("mastodon-instance-v2.json")
    del doc["configuration"]["media_attachments"]["description_limit"]
    assert rules_from_instance(doc).alt_limit == 1500


def test_pixelfed_limits_and_its_plain_count(mocked: responses.RequestsMock) -> None:
    mocked.get(INSTANCE, status=404)
    mocked.get(INSTANCE_V1, json=fixture("mastodon-instance-v1-pixelfed.json"))

    rules = publisher().prepare()

    assert rules.display == "Pixelfed"
    assert rules.name == "mastodon"
    assert (rules.text_limit, rules.alt_limit, rules.max_image_bytes, rules.max_image_pixels) == (
        500,
        1000,
        15_360_000,
        3_686_400,
    )
    # Laravel's max: code points, a URL at its full length
    assert rules.measure(PAGE_URL) == len(PAGE_URL)
    assert rules.measure("👨\u200d👩\u200d👧\u200d👦") == 7


def test_pixelfed_without_limits_gets_its_known_ones() -> None:
    rules = rules_from_instance({"version": "2.7.2 (compatible; Pixelfed 0.11.4)"})
    assert (rules.display, rules.alt_limit, rules.max_image_bytes, rules.max_image_pixels) == (
        "Pixelfed",
        1000,
        15_000 * 1024,
        None,
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"status": 503, "body": "<html>down</html>"},
            r"failed to read the instance's limits \(HTTP 503\)",
        ),
        ({"status": 200, "body": "<html>a blog</html>"}, "check PIERROT_MASTODON_URL"),
        ({"body": requests.ConnectTimeout("connect timed out")}, "could not reach Mastodon"),
    ],
)
def test_an_instance_that_cannot_be_read_is_a_publish_error(
    mocked: responses.RequestsMock, answer: dict[str, Any], expected: str
) -> None:
    mocked.get(INSTANCE, **answer)

    with pytest.raises(PublishError, match=expected) as caught:
        publisher().prepare()

    assert type(caught.value) is PublishError


# ---- media --------------------------------------------------------------------------------------


def test_upload_sends_the_file_and_alt_text_as_multipart(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(MEDIA, json=fixture("mastodon-media.json"))

    media_id = publisher().upload_media(image, "Harbour at dusk, boats moored along a stone quay.")

    assert media_id == MEDIA_ID
    request = mocked.calls[0].request
    parts = multipart(request)
    assert set(parts) == {"file", "description"}
    disposition, content_type, content = parts["file"]
    assert 'filename="53000000003_k.jpg"' in disposition
    assert content_type == b"image/jpeg"
    assert content == image.path.read_bytes()
    assert parts["description"][2].decode() == "Harbour at dusk, boats moored along a stone quay."
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"].startswith("pierrot/")
    assert "Idempotency-Key" not in request.headers


def test_upload_without_alt_text_sends_no_description(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(MEDIA, json=fixture("mastodon-media.json"))

    publisher().upload_media(image, None)

    assert set(multipart(mocked.calls[0].request)) == {"file"}


def test_alt_text_is_cut_to_the_instances_limit(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.get(INSTANCE, json=fixture("mastodon-instance-v2.json"))
    mocked.post(MEDIA, json=fixture("mastodon-media.json"))
    mastodon = publisher()
    mastodon.prepare()

    mastodon.upload_media(image, "x" * 1600)

    assert multipart(mocked.calls[1].request)["description"][2] == b"x" * 1500


def test_processing_media_is_polled_until_done(
    mocked: responses.RequestsMock, image: FetchedImage, fake_time: FakeTime
) -> None:
    mocked.post(MEDIA, json=fixture("mastodon-media-processing.json"), status=202)
    mocked.get(MEDIA_STATUS, json=fixture("mastodon-media-processing.json"), status=206)
    mocked.get(MEDIA_STATUS, json=fixture("mastodon-media-processing.json"), status=206)
    mocked.get(MEDIA_STATUS, json=fixture("mastodon-media.json"))

    media_id = publisher(fake_time).upload_media(image, "alt")

    assert media_id == MEDIA_ID
    assert [c.request.method for c in mocked.calls] == ["POST", "GET", "GET", "GET"]
    assert fake_time.sleeps == [1, 2, 3]


def test_polling_gives_up_after_a_minute(
    mocked: responses.RequestsMock, image: FetchedImage, fake_time: FakeTime
) -> None:
    mocked.post(MEDIA, json=fixture("mastodon-media-processing.json"), status=202)
    mocked.get(MEDIA_STATUS, json=fixture("mastodon-media-processing.json"), status=206)

    with pytest.raises(PublishError, match="still processing the image 60 s after") as caught:
        publisher(fake_time).upload_media(image, "alt")

    assert type(caught.value) is PublishError
    assert sum(fake_time.sleeps) == pytest.approx(60)
    assert fake_time.sleeps[:6] == [1, 2, 3, 4, 5, 5]
    assert max(fake_time.sleeps) == 5
    assert len(mocked.calls) == 1 + len(fake_time.sleeps)


def test_media_that_fails_processing_is_a_publish_error(
    mocked: responses.RequestsMock, image: FetchedImage, fake_time: FakeTime
) -> None:
    mocked.post(MEDIA, json=fixture("mastodon-media-processing.json"), status=202)
    mocked.get(MEDIA_STATUS, json={"error": "Error processing thumbnail for uploaded media"}, status=422)

    with pytest.raises(PublishError, match="Error processing thumbnail"):
        publisher(fake_time).upload_media(image, "alt")


@pytest.mark.parametrize(
    ("width", "height", "nbytes", "expected"),
    [(2048, 1365, 16_777_217, "16,777,217 bytes"), (8000, 6000, 1000, "8000×6000 pixels")],
)
def test_an_image_over_the_limits_is_refused_without_a_call(
    mocked: responses.RequestsMock, tmp_path: Path, width: int, height: int, nbytes: int, expected: str
) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    big = FetchedImage(path, "o", width, height, nbytes, "image/jpeg")

    with pytest.raises(PublishError, match=expected):
        publisher().upload_media(big, "alt")

    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 401, "json": {"error": "The access token is invalid"}}, "write:media write:statuses"),
        ({"status": 403, "json": {"error": "This action is outside the authorized scopes"}}, "outside the authorized"),
        ({"status": 422, "json": {"error": "File type of uploaded media could not be verified"}}, "could not be verif"),
        ({"status": 413, "body": "<html>413 Request Entity Too Large</html>"}, "too large for the server"),
        ({"status": 500, "json": {"error": "Error processing thumbnail for uploaded media"}}, "try again later"),
        ({"body": requests.ReadTimeout("read timed out")}, "no answer within 30 s"),
    ],
)
def test_upload_failures_are_publish_errors(
    mocked: responses.RequestsMock, image: FetchedImage, answer: dict[str, Any], expected: str
) -> None:
    mocked.post(MEDIA, **answer)

    with pytest.raises(PublishError, match=expected) as caught:
        publisher().upload_media(image, "alt")

    assert not isinstance(caught.value, PostRefused | PostOutcomeUnknown | DuplicatePost)


def test_upload_rate_limited_says_when_it_resets(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    reset = dt.datetime.fromtimestamp(NOW + 600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    mocked.post(MEDIA, json={"error": "Too many requests"}, status=429, headers={"X-RateLimit-Reset": reset})

    with pytest.raises(PublishError, match=r"rate limit reached \(HTTP 429.*in 10 minutes"):
        publisher().upload_media(image, "alt")


# ---- the post ----------------------------------------------------------------------------------


def test_post_sends_the_idempotency_key_text_media_and_visibility(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json=fixture("mastodon-status.json"))

    post = publisher(visibility="unlisted").create_post(TEXT, [MEDIA_ID], attempt())

    assert post == Post("113456789012345678", "https://photos.example/@someone/113456789012345678")
    request = mocked.calls[0].request
    assert request.headers["Idempotency-Key"] == attempt().key
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert form(request) == [("status", TEXT), ("media_ids[]", MEDIA_ID), ("visibility", "unlisted")]


def test_post_url_falls_back_to_the_uri(mocked: responses.RequestsMock) -> None:
    doc = fixture("mastodon-status.json")
    doc["url"] = None
    mocked.post(STATUSES, json=doc)

    assert publisher().create_post(TEXT, [MEDIA_ID], attempt()).url == doc["uri"]


def test_new_attempts_have_distinct_keys() -> None:
    mastodon = publisher()
    first, second = mastodon.new_attempt("2026-05-01T12:00:00Z"), mastodon.new_attempt("2026-05-01T12:00:00Z")
    assert len(first.key) == 32 and int(first.key, 16) >= 0
    assert first.key != second.key
    assert first.created_at == "2026-05-01T12:00:00Z"
    assert first.media_ids == ()


def test_a_refused_post_carries_the_servers_reason(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json={"error": "Validation failed: Text character limit of 500 exceeded"}, status=422)

    with pytest.raises(PostRefused, match="character limit of 500 exceeded") as caught:
        publisher().create_post("x" * 501, [MEDIA_ID], attempt())

    assert caught.value.status == 422


def test_media_already_attached_is_a_duplicate_post(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json={"error": ATTACHED}, status=422)

    with pytest.raises(DuplicatePost, match="already attached"):
        publisher().create_post(TEXT, [MEDIA_ID], attempt())


def test_pixelfeds_duplicate_key_is_a_duplicate_post(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json={"message": "Duplicate idempotency key."}, status=400)

    with pytest.raises(DuplicatePost, match="Idempotency-Key"):
        publisher().create_post(TEXT, [MEDIA_ID], attempt())


def test_rate_limited_post_is_refused_with_the_reset_time(mocked: responses.RequestsMock) -> None:
    reset = NOW + 600
    when = dt.datetime.fromtimestamp(reset, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": when}
    mocked.post(STATUSES, json={"error": "Too many requests"}, status=429, headers=headers)

    with pytest.raises(PostRefused) as caught:
        publisher().create_post(TEXT, [MEDIA_ID], attempt())

    assert caught.value.status == 429
    assert caught.value.reset_time == int(reset)
    assert time.strftime("%Y-%m-%dT%H:%M", time.localtime(reset)) in str(caught.value)
    assert "in 10 minutes" in str(caught.value)


def test_a_unix_time_reset_is_read_too(mocked: responses.RequestsMock) -> None:
    mocked.post(
        STATUSES, json={"message": "Too Many Attempts."}, status=429, headers={"X-RateLimit-Reset": "1777637400"}
    )

    with pytest.raises(PostRefused) as caught:
        publisher().create_post(TEXT, [MEDIA_ID], attempt())

    assert caught.value.reset_time == 1_777_637_400


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [(401, "rejected the access token"), (403, "refused to post")],
)
def test_a_post_with_a_bad_token_is_refused_and_says_which_scopes(
    mocked: responses.RequestsMock, status_code: int, expected: str
) -> None:
    mocked.post(STATUSES, json={"error": "The access token is invalid"}, status=status_code)

    with pytest.raises(PostRefused, match=expected) as caught:
        publisher().create_post(TEXT, [MEDIA_ID], attempt())

    assert caught.value.status == status_code
    assert "write:media write:statuses read:accounts" in str(caught.value)
    assert "Pixelfed: read write" in str(caught.value)


def refused_connection() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request was never sent."""
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/api/v1/statuses", cause))  # type: ignore[arg-type]


def lost_connection() -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"error": "We're sorry, but something went wrong on our end."}},
        {"status": 503, "body": "<html>Service Unavailable</html>"},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": lost_connection()},
        {"status": 200, "body": "{not json"},
        {"status": 200, "json": {"content": "<p>no id</p>"}},
    ],
    ids=["500", "503", "read-timeout", "connection-lost", "invalid-json", "no-id"],
)
def test_post_outcome_unknown(mocked: responses.RequestsMock, answer: dict[str, Any]) -> None:
    mocked.post(STATUSES, **answer)

    with pytest.raises(PostOutcomeUnknown):
        publisher().create_post(TEXT, [MEDIA_ID], attempt())


@pytest.mark.parametrize(
    "error", [refused_connection(), requests.ConnectTimeout("connect timed out")], ids=["refused", "connect-timeout"]
)
def test_a_post_never_sent_is_refused(mocked: responses.RequestsMock, error: Exception) -> None:
    mocked.post(STATUSES, body=error)

    with pytest.raises(PostRefused, match="could not reach Mastodon"):
        publisher().create_post(TEXT, [MEDIA_ID], attempt())


def test_a_real_refused_connection_is_recognised_as_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(PostRefused, match="Connection refused"):
        publisher(url=f"http://127.0.0.1:{port}", timeout=5).create_post(TEXT, [MEDIA_ID], attempt())


def test_every_call_has_a_timeout(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.get(INSTANCE, json=fixture("mastodon-instance-v2.json"))
    mocked.post(MEDIA, json=fixture("mastodon-media.json"))
    mocked.post(STATUSES, json=fixture("mastodon-status.json"))
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mastodon = publisher(timeout=7.5)

    mastodon.prepare()
    mastodon.upload_media(image, "alt")
    mastodon.create_post(TEXT, [MEDIA_ID], attempt())
    mastodon.whoami()

    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [7.5] * 4  # type: ignore[attr-defined]


def test_whoami_names_the_account_with_the_instances_domain(mocked: responses.RequestsMock) -> None:
    doc = fixture("mastodon-instance-v2.json")
    doc["domain"] = "example.social"  # the handle's domain, when the web server is on another host
    mocked.get(INSTANCE, json=doc)
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mastodon = publisher()

    assert mastodon.whoami() == "@someone@photos.example"
    mastodon.prepare()
    assert mastodon.whoami() == "@someone@example.social"


def test_whoami_with_a_bad_token(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json={"error": "The access token is invalid"}, status=401)

    with pytest.raises(PublishError, match="PIERROT_MASTODON_ACCESS_TOKEN"):
        publisher().whoami()


# ---- settling an interrupted post --------------------------------------------------------------


def test_settle_within_the_hour_sends_nothing_and_asks_for_the_same_key(mocked: responses.RequestsMock) -> None:
    # Within the hour the Idempotency-Key settles it: the publish run sends the post again under a lease of its
    # own, and Mastodon answers with the original status if there is one. Nothing is sent from settle itself.
    settled = publisher().settle(attempt(), TEXT, iso_at(NOW - 600))

    assert (settled.posted, settled.same_key) == (None, True)
    assert "Idempotency-Key" in settled.reason
    assert len(mocked.calls) == 0


def test_a_repeat_with_the_same_key_answers_the_original(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json=fixture("mastodon-status.json"))

    post = publisher().create_post(TEXT, ["another-upload"], attempt())

    assert post == Post("113456789012345678", "https://photos.example/@someone/113456789012345678")
    assert mocked.calls[0].request.headers["Idempotency-Key"] == attempt().key


def test_pixelfeds_duplicate_key_on_a_repeat_is_evidence(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json={"message": "Duplicate idempotency key."}, status=400)

    with pytest.raises(DuplicatePost):
        publisher().create_post(TEXT, [MEDIA_ID], attempt())


def test_an_attempt_without_a_key_is_settled_by_a_search_only(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mocked.get(ACCOUNT_STATUSES, json=[status("8", at=NOW - 300, text=TEXT)])

    settled = publisher().settle(attempt(key="", media_id=None), TEXT, iso_at(NOW - 600))

    assert settled.posted is True and settled.post is not None and settled.post.id == "8"
    assert not [c for c in mocked.calls if c.request.method == "POST"]


def test_settle_after_the_hour_finds_the_status_with_the_media(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("mastodon-account.json"))
    page = [status("5", at=NOW - 100), status("4", at=NOW - KEY_WINDOW - 500, media_ids=(MEDIA_ID,))]
    mocked.get(ACCOUNT_STATUSES, json=page)

    settled = publisher().settle(attempt(), TEXT, iso_at(NOW - KEY_WINDOW - 600))

    assert settled.posted is True
    assert settled.post == Post("4", f"{BASE}/@someone/4")
    assert not [c for c in mocked.calls if c.request.method == "POST"]  # never posted again after the hour
    assert "limit=40" in str(mocked.calls[1].request.url)


def test_settle_after_the_hour_finds_the_status_by_its_text(mocked: responses.RequestsMock) -> None:
    started = NOW - KEY_WINDOW - 600
    mocked.get(ME, json=fixture("mastodon-account.json"))
    rendered = fixture("mastodon-status.json")  # its HTML link spans hide parts of the URL
    rendered.update(id="7", created_at=iso_at(started + 5), media_attachments=[{"id": "999"}])
    mocked.get(ACCOUNT_STATUSES, json=[rendered])

    # Only when no media id is known: with one, another status with the same title is not taken for it.
    settled = publisher().settle(attempt(media_id=None), TEXT, iso_at(started))
    other = publisher().settle(attempt(), TEXT, iso_at(started))

    assert settled.posted is True
    assert settled.post is not None and settled.post.id == "7"
    assert other.posted is False


def test_the_same_text_posted_before_the_attempt_is_not_taken_for_it(mocked: responses.RequestsMock) -> None:
    started = NOW - KEY_WINDOW - 600
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mocked.get(ACCOUNT_STATUSES, json=[status("7", at=started - 86_400, text=TEXT)])

    settled = publisher().settle(attempt(), TEXT, iso_at(started))

    assert settled.posted is False
    assert "no status of the account on Mastodon since the attempt (1 read)" in settled.reason


def test_settle_after_the_hour_reads_at_most_two_pages(mocked: responses.RequestsMock) -> None:
    started = NOW - 2 * 86_400
    mocked.get(ME, json=fixture("mastodon-account.json"))
    first = [status(str(1000 - i), at=NOW - i) for i in range(40)]
    second = [status(str(900 - i), at=NOW - 100 - i) for i in range(40)]
    mocked.get(ACCOUNT_STATUSES, json=first)
    mocked.get(ACCOUNT_STATUSES, json=second)

    settled = publisher().settle(attempt(), TEXT, iso_at(started))

    # Two pages did not reach back to the attempt: its absence there proves nothing.
    assert settled.posted is None and "do not reach back" in settled.reason
    pages = [c.request.url for c in mocked.calls if "/statuses" in str(c.request.url)]
    assert len(pages) == 2
    assert "max_id=961" in str(pages[1])


def test_settle_that_cannot_read_the_statuses_cannot_tell(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mocked.get(ACCOUNT_STATUSES, json={"error": "oops"}, status=500)

    settled = publisher().settle(attempt(), TEXT, iso_at(NOW - 2 * 86_400))

    assert settled.posted is None
    assert "HTTP 500" in settled.reason


def test_settle_with_a_bad_token_raises(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json={"error": "The access token is invalid"}, status=401)

    with pytest.raises(PublishError, match="rejected the access token"):
        publisher().settle(attempt(), TEXT, iso_at(NOW - 2 * 86_400))


def test_a_token_without_read_statuses_searches_public_posts_anonymously(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mocked.get(ACCOUNT_STATUSES, json={"error": "This action is outside the authorized scopes"}, status=403)
    mocked.get(ACCOUNT_STATUSES, json=[status("4", at=NOW - 100, media_ids=(MEDIA_ID,))])

    settled = publisher().settle(attempt(), TEXT, iso_at(NOW - 2 * 86_400))

    assert settled.posted is True
    listing = [c.request for c in mocked.calls if "/statuses" in str(c.request.url)]
    assert "Authorization" in listing[0].headers
    assert "Authorization" not in listing[1].headers


def test_a_private_post_needs_read_statuses_to_be_settled(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("mastodon-account.json"))
    mocked.get(ACCOUNT_STATUSES, json={"error": "This action is outside the authorized scopes"}, status=403)

    with pytest.raises(PublishError, match="read:statuses"):
        publisher(visibility="private").settle(attempt(), TEXT, iso_at(NOW - 2 * 86_400))


# ---- the host, redirects and secrets -----------------------------------------------------------

ELSEWHERE = "https://elsewhere.example/collect"


def test_a_redirected_upload_is_not_sent_elsewhere(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(MEDIA, status=307, headers={"Location": ELSEWHERE})
    mocked.post(ELSEWHERE, json=fixture("mastodon-media.json"))

    with pytest.raises(PublishError, match="redirect") as caught:
        publisher().upload_media(image, "alt")

    assert type(caught.value) is PublishError
    assert "HTTP 307 to https://elsewhere.example" in str(caught.value)
    assert [c.request.url for c in mocked.calls] == [MEDIA]


@pytest.mark.parametrize(
    ("status_code", "outcome"), [(307, PostRefused), (308, PostRefused), (302, PostOutcomeUnknown)]
)
def test_a_redirected_post_is_not_followed(mocked: responses.RequestsMock, status_code: int, outcome: type) -> None:
    mocked.post(STATUSES, status=status_code, headers={"Location": ELSEWHERE})
    mocked.post(ELSEWHERE, json=fixture("mastodon-status.json"))
    mocked.get(ELSEWHERE, json=fixture("mastodon-status.json"))

    with pytest.raises(outcome, match="redirect"):
        publisher().create_post(TEXT, [MEDIA_ID], attempt())

    assert [c.request.url for c in mocked.calls] == [STATUSES]


def test_a_given_session_is_not_allowed_to_follow_redirects(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, status=302, headers={"Location": ELSEWHERE})
    mocked.get(ELSEWHERE, json=fixture("mastodon-account.json"))

    with pytest.raises(PublishError, match="redirect"):
        publisher(session=requests.Session()).whoami()

    assert [c.request.url for c in mocked.calls] == [ME]


@pytest.mark.parametrize("url", ["http://photos.example", "http://192.168.1.10:3000", "ftp://photos.example"])
def test_plain_http_is_refused_off_this_machine(url: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_MASTODON_URL"):
        publisher(url=url)


def test_an_unknown_visibility_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PIERROT_MASTODON_VISIBILITY"):
        publisher(visibility="followers")


FAILURES: list[tuple[str, dict[str, Any]]] = [
    ("401", {"status": 401, "json": {"error": f"The access token {TOKEN} is invalid"}}),
    ("403", {"status": 403, "json": {"error": "This action is outside the authorized scopes"}}),
    ("422", {"status": 422, "json": {"error": f"Validation failed for {TOKEN}"}}),
    ("429", {"status": 429, "json": {"error": "Too many requests"}, "headers": {"X-RateLimit-Reset": "1"}}),
    ("500", {"status": 500, "body": f"oops {TOKEN}"}),
    ("timeout", {"body": requests.ReadTimeout("read timed out")}),
    ("refused", {"body": refused_connection()}),
    ("lost", {"body": lost_connection()}),
    ("bad-json", {"status": 200, "body": "{"}),
]


@pytest.mark.parametrize(("name", "answer"), FAILURES, ids=[name for name, _ in FAILURES])
def test_the_token_is_in_no_error_or_log_line(
    mocked: responses.RequestsMock,
    image: FetchedImage,
    caplog: pytest.LogCaptureFixture,
    name: str,
    answer: dict[str, Any],
) -> None:
    for url in (MEDIA, STATUSES):
        mocked.post(url, **answer)
    for url in (INSTANCE, ME, ACCOUNT_STATUSES):
        mocked.get(url, **answer)
    mastodon = publisher()
    caplog.set_level(logging.DEBUG)

    errors: list[BaseException] = []
    for call in (
        mastodon.prepare,
        lambda: mastodon.upload_media(image, "alt"),
        lambda: mastodon.create_post(TEXT, [MEDIA_ID], attempt()),
        mastodon.whoami,
    ):
        with pytest.raises(PublishError) as caught:
            call()
        errors.append(caught.value)
    settled = mastodon.settle(attempt(), TEXT, iso_at(NOW - 600)) if name not in ("401", "403") else None

    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [str(e.__cause__) for e in errors]
    texts += [settled.reason] if settled else []
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("pierrot")]
    assert not any(TOKEN in text for text in texts)


# ---- against the fake instance ------------------------------------------------------------------


@pytest.fixture(scope="module")
def instance() -> Iterator[tuple[MastodonFake, str]]:
    fake = MastodonFake("e2e-mastodon-token-Qw3Er5Ty7Ui9Op1")
    server = ServerThread(fake)
    yield fake, server.url
    fake._stop.set()
    server.stop()


@pytest.fixture
def fake(instance: tuple[MastodonFake, str]) -> Iterator[MastodonFake]:
    instance[0].reset()
    yield instance[0]
    instance[0].reset()


@pytest.fixture
def served(instance: tuple[MastodonFake, str], fake: MastodonFake) -> MastodonPublisher:
    return MastodonPublisher(url=instance[1], access_token=fake.access_token, timeout=5, sleep=lambda seconds: None)


@pytest.fixture
def photo(tmp_path: Path) -> FetchedImage:
    data = jpeg(300_000, b"pierrot-e2e photo=53000000003 size=k")
    path = tmp_path / "53000000003_k.jpg"
    path.write_bytes(data)
    return FetchedImage(path, "k", 2048, 1365, len(data), "image/jpeg")


def test_a_full_post_with_media_processing(fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage) -> None:
    fake.processing_polls = 2

    rules = served.prepare()
    media_id = served.upload_media(photo, "Harbour at dusk, boats moored along a stone quay.")
    post = served.create_post(TEXT, [media_id], served.new_attempt("2026-05-01T12:00:00Z"))

    assert rules.text_limit == 500
    [made] = fake.statuses
    assert post.id == made.id and post.url.endswith(f"/@someone/{made.id}")
    assert made.text == TEXT
    assert made.descriptions == ["Harbour at dusk, boats moored along a stone quay."]
    assert made.sizes == [photo.nbytes]
    assert made.photo_ids == ["53000000003"]
    assert [c.status for c in fake.calls_to(f"/api/v1/media/{media_id}")] == [206, 206, 200]
    assert served.whoami() == "@someone@photos.example"


def _resend(served: MastodonPublisher, photo: FetchedImage, tried: Attempt, started: str) -> Post:
    """What the publish run does with a same_key answer: upload again, send with the same key."""
    settled = served.settle(tried, TEXT, started)
    assert settled.same_key, settled
    return served.create_post(TEXT, [served.upload_media(photo, "alt")], tried)


def test_a_resend_after_the_answer_was_lost_gets_the_original(
    fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage
) -> None:
    served.prepare()
    media_id = served.upload_media(photo, "alt")
    started = iso(dt.datetime.now(dt.UTC)) or ""
    tried = Attempt(served.new_attempt(started).key, started, (media_id,))
    fake.inject(MastodonFault("accept_then_unavailable"))

    with pytest.raises(PostOutcomeUnknown):
        served.create_post(TEXT, [media_id], tried)
    post = _resend(served, photo, tried, started)

    [made] = fake.statuses
    assert post.id == made.id
    assert [c.status for c in fake.calls_to("/api/v1/statuses", "POST")] == [503, 200]


def test_a_resend_of_a_post_that_never_arrived_posts_it_once(
    fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage
) -> None:
    media_id = served.upload_media(photo, "alt")
    started = iso(dt.datetime.now(dt.UTC)) or ""
    tried = Attempt(served.new_attempt(started).key, started, (media_id,))
    fake.inject(MastodonFault("unavailable"))

    with pytest.raises(PostOutcomeUnknown):
        served.create_post(TEXT, [media_id], tried)
    assert fake.statuses == []
    first = _resend(served, photo, tried, started)
    again = _resend(served, photo, tried, started)

    [made] = fake.statuses
    assert first == again and first.id == made.id


def test_settle_after_the_hour_searches_the_account(
    fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage
) -> None:
    media_id = served.upload_media(photo, "alt")
    started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    fake.clock = lambda: started.timestamp() + 10  # the post was made two hours ago; its key has expired
    tried = Attempt("0" * 32, iso(started) or "", (media_id,))
    fake.inject(MastodonFault("accept_then_unavailable"))
    with pytest.raises(PostOutcomeUnknown):
        served.create_post(TEXT, [media_id], tried)
    posts = len(fake.calls_to("/api/v1/statuses", "POST"))

    settled = served.settle(tried, TEXT, iso(started) or "")
    lost = served.settle(Attempt("1" * 32, iso(started) or "", ("12345",)), "Another text", iso(started) or "")

    assert settled.posted is True and settled.post is not None and settled.post.id == fake.statuses[0].id
    assert lost.posted is False
    assert len(fake.calls_to("/api/v1/statuses", "POST")) == posts  # searched, not posted again
    listing = fake.calls_to(f"/api/v1/accounts/{fake.accounts[fake.access_token].id}/statuses")
    assert listing and listing[0].status == 403  # no read:statuses: the public listing answered instead


def test_a_resend_after_the_answer_hung(
    fake: MastodonFake, instance: tuple[MastodonFake, str], photo: FetchedImage
) -> None:
    served = MastodonPublisher(url=instance[1], access_token=fake.access_token, timeout=0.3, sleep=lambda s: None)
    media_id = served.upload_media(photo, "alt")
    started = iso(dt.datetime.now(dt.UTC)) or ""
    tried = Attempt("2" * 32, started, (media_id,))
    fake.inject(MastodonFault("accept_then_hang", seconds=3))

    with pytest.raises(PostOutcomeUnknown, match=r"lost contact|did not complete"):
        served.create_post(TEXT, [media_id], tried)
    _resend(served, photo, tried, started)

    assert len(fake.statuses) == 1


def test_pixelfed_answers_a_resend_with_its_duplicate_key(
    fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage
) -> None:
    fake.pixelfed = True
    fake.accounts[fake.access_token].scopes = {"read", "write"}
    rules = served.prepare()
    media_id = served.upload_media(photo, "x" * 1200)
    started = iso(dt.datetime.now(dt.UTC)) or ""
    tried = Attempt("3" * 32, started, (media_id,))
    fake.inject(MastodonFault("accept_then_unavailable"))

    with pytest.raises(PostOutcomeUnknown):
        served.create_post(TEXT, [media_id], tried)
    with pytest.raises(DuplicatePost):  # evidence of the post: publish records it published
        _resend(served, photo, tried, started)

    assert rules.display == "Pixelfed" and rules.alt_limit == 1000
    [made] = fake.statuses
    assert made.descriptions == ["x" * 1000]
    assert [c.status for c in fake.calls_to("/api/v1/statuses", "POST")] == [503, 400]


def test_the_fake_refuses_what_the_measure_refuses(
    fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage
) -> None:
    rules = served.prepare()
    fits = ("word " * 200)[: rules.text_limit - 24] + " " + PAGE_URL + "/" + "p" * 100  # a long URL counts 23
    over = "é" * (rules.text_limit + 1)

    assert rules.measure(fits) == rules.text_limit and len(fits) > rules.text_limit
    served.create_post(fits, [served.upload_media(photo, "alt")], served.new_attempt("2026-05-01T12:00:00Z"))
    with pytest.raises(PostRefused, match="character limit of 500"):
        served.create_post(over, [served.upload_media(photo, "alt")], served.new_attempt("2026-05-01T12:00:00Z"))
    assert len(fake.statuses) == 1


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        (MastodonFault("server_error"), PostOutcomeUnknown),
        (MastodonFault("unprocessable", message="Validation failed: Text can't be blank"), PostRefused),
        (MastodonFault("rate_limited", reset=NOW + 900), PostRefused),
    ],
    ids=["500", "422", "429"],
)
def test_the_fakes_faults_reach_the_adapter_and_post_nothing(
    fake: MastodonFake, served: MastodonPublisher, photo: FetchedImage, fault: MastodonFault, outcome: type
) -> None:
    media_id = served.upload_media(photo, "alt")
    fake.inject(fault)

    with pytest.raises(outcome) as caught:
        served.create_post(TEXT, [media_id], served.new_attempt("2026-05-01T12:00:00Z"))

    assert fake.statuses == []
    if fault.kind == "rate_limited":
        assert isinstance(caught.value, PostRefused) and caught.value.reset_time == int(NOW + 900)
    assert fake.calls_to("/api/v1/statuses")[0].fault == fault


def test_the_fake_checks_the_token(fake: MastodonFake, instance: tuple[MastodonFake, str]) -> None:
    wrong = MastodonPublisher(url=instance[1], access_token="not-the-token", timeout=5)

    with pytest.raises(PublishError, match="rejected the access token"):
        wrong.whoami()
