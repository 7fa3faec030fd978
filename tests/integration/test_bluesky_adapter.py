"""The Bluesky adapter against recorded XRPC answers, and against the fake PDS of the end-to-end tests."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from pierrot.adapters.networks.bluesky import RULES, BlueskyPublisher
from pierrot.adapters.networks.bluesky.rules import facets, new_tid, parse_tid, post_record, record_time, tid
from pierrot.errors import ConfigError, DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import Attempt, FetchedImage, Post
from tests.e2e.fake_bluesky import BlueskyFake, BlueskyFault, BlueskyServer
from tests.e2e.servers import jpeg
from tests.integration.faulty_http import FaultyServer, hang, trickle

FIXTURES = Path(__file__).parent.parent / "fixtures"
SERVICE = "https://bsky.social"
HANDLE = "harbour-photos.bsky.social"
APP_PASSWORD = "k7qm-x2vb-9fjd-e3wp"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


SESSION = fixture("bluesky-createSession.json")
RENEWED = fixture("bluesky-refreshSession.json")
DID = SESSION["did"]
SECRETS = (APP_PASSWORD, SESSION["accessJwt"], SESSION["refreshJwt"], RENEWED["accessJwt"], RENEWED["refreshJwt"])
BLOB = fixture("bluesky-uploadBlob.json")["blob"]
RKEY = "3lbq5jzk2ls2c"
ATTEMPT = Attempt(key=RKEY, created_at="2026-11-20T07:30:00.000Z")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2038


def xrpc(nsid: str, service: str = SERVICE) -> str:
    return f"{service}/xrpc/{nsid}"


LOGIN = xrpc("com.atproto.server.createSession")
REFRESH = xrpc("com.atproto.server.refreshSession")
UPLOAD = xrpc("com.atproto.repo.uploadBlob")
PUT = xrpc("com.atproto.repo.putRecord")
GET = xrpc("com.atproto.repo.getRecord")


def publisher(**kwargs: Any) -> BlueskyPublisher:
    return BlueskyPublisher(handle=HANDLE, app_password=APP_PASSWORD, **kwargs)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def logged_in(mocked: responses.RequestsMock) -> responses.RequestsMock:
    mocked.post(LOGIN, json=SESSION)
    return mocked


@pytest.fixture
def image(tmp_path: Path) -> FetchedImage:
    path = tmp_path / "53000000003_k.png"
    path.write_bytes(PNG)
    return FetchedImage(path, "k", 2048, 1365, len(PNG), "image/png")


def media_id(alt: str = "Boats moored at dusk") -> str:
    return json.dumps(
        {"alt": alt, "aspectRatio": {"height": 1365, "width": 2048}, "blob": BLOB},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )


def calls_to(mocked: responses.RequestsMock, url: str) -> list[Any]:
    return [c for c in mocked.calls if str(c.request.url).split("?")[0] == url]


def bearer(call: Any) -> str:
    return str(call.request.headers.get("Authorization", ""))


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


def refused_connection() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request was never sent."""
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/xrpc", cause))  # type: ignore[arg-type]


def lost_connection() -> requests.ConnectionError:
    """What requests raises when the connection drops after sending: the post may exist."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- the rules ----------------------------------------------------------------------------------------------


def test_the_rules_are_bluesky_s_and_count_graphemes() -> None:
    assert (RULES.name, RULES.display, RULES.unit) == ("bluesky", "Bluesky", "graphemes")
    assert (RULES.text_limit, RULES.max_text_bytes, RULES.alt_limit) == (300, 3000, 2000)
    assert RULES.max_image_bytes == 1_000_000
    assert RULES.settles_unknown is True
    assert RULES.measure("Café") == 4
    assert RULES.measure("👨‍👩‍👧 à") == 3  # a family emoji is one grapheme, the combining accent too
    assert RULES.measure("e\u0301") == 1
    assert publisher().rules is RULES
    assert publisher().network == "bluesky"


# ---- record keys and times -----------------------------------------------------------------------------


def s32(value: int) -> str:
    """atproto's s32encode, as in packages/common-web/src/util.ts."""
    alphabet, text = "234567abcdefghijklmnopqrstuvwxyz", ""
    while value:
        value, digit = divmod(value, 32)
        text = alphabet[digit] + text
    return text


def test_a_tid_is_atproto_s_encoding_of_the_time_and_clock_id() -> None:
    micros = 1_700_000_000_123_456
    # TID.fromTime in atproto: s32encode(timestamp) then the clock id padded to two characters.
    assert tid(micros, 5) == s32(micros) + s32(5).rjust(2, "2")
    assert tid(micros, 1023) == s32(micros) + s32(1023)
    assert tid(0, 0) == "2222222222222"
    assert parse_tid(tid(micros, 517)) == (micros, 517)


@pytest.mark.parametrize("valid", ["3jzfcijpj2z2a", "7777777777777", "3zzzzzzzzzzzz", "a222222222222", "j222222222222"])
def test_the_interop_valid_tids_parse(valid: str) -> None:
    micros, clock_id = parse_tid(valid)
    # The syntax allows a first character up to "j"; pierrot's own keys keep the spec's 53-bit time (up to "b").
    assert s32(micros << 10 | clock_id).rjust(13, "2") == valid


@pytest.mark.parametrize(
    "invalid", ["3jzfcijpj2z21", "0000000000000", "3jzfcijpj2z2aa", "3jzfcijpj2z2", "3jzf-cij-pj2z-2a", "zzzzzzzzzzzzz"]
)
def test_the_interop_invalid_tids_do_not(invalid: str) -> None:
    with pytest.raises(ValueError):
        parse_tid(invalid)


def test_new_tids_are_valid_now_and_strictly_increasing() -> None:
    before = time.time_ns() // 1000
    tids = [new_tid() for _ in range(500)]
    after = time.time_ns() // 1000

    assert all(re.fullmatch(r"[234567a-j][234567a-z]{12}", t) for t in tids)
    assert tids == sorted(tids)
    assert len(set(tids)) == len(tids)
    times = [parse_tid(t)[0] for t in tids]
    assert times == sorted(times)
    assert before <= times[0] and times[-1] <= after + len(tids)


def test_new_attempt_has_a_fresh_key_and_the_time_in_utc_milliseconds() -> None:
    bluesky = publisher()

    first = bluesky.new_attempt("2026-11-20T09:30:00.123456+02:00")
    second = bluesky.new_attempt("2026-11-20T07:30:00Z")

    assert first.created_at == "2026-11-20T07:30:00.123Z"
    assert second.created_at == "2026-11-20T07:30:00.000Z"
    assert first.key < second.key
    parse_tid(first.key)


def test_record_time_of_nothing_is_now() -> None:
    stamp = record_time("")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert record_time("2026-11-20 07:30:00") == "2026-11-20T07:30:00.000Z"  # naive: UTC


# ---- rich text -----------------------------------------------------------------------------------------


def test_facets_count_utf8_bytes_after_accents_and_emoji() -> None:
    text = "Café à l’aube 🌅👨‍👩‍👧 https://flickr.com/photos/someone/53000000003/. #sunset #2024 #Brighton!"

    found = facets(text)

    assert found == [
        {
            "index": {"byteStart": 41, "byteEnd": 87},
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://flickr.com/photos/someone/53000000003/"}
            ],
        },
        {
            "index": {"byteStart": 89, "byteEnd": 96},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "sunset"}],
        },
        {
            "index": {"byteStart": 103, "byteEnd": 112},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Brighton"}],
        },
    ]
    data = text.encode()
    spans = [data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in found]
    assert spans == ["https://flickr.com/photos/someone/53000000003/", "#sunset", "#Brighton"]


def test_links_keep_balanced_brackets_and_hashtags_stay_out_of_links() -> None:
    text = "(see https://en.wikipedia.org/wiki/Pier_(disambiguation)). Tokyo#night https://example.com/#anchor #café,"

    found = facets(text)

    features = [f["features"][0] for f in found]
    assert features == [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://en.wikipedia.org/wiki/Pier_(disambiguation)"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/#anchor"},
        {"$type": "app.bsky.richtext.facet#tag", "tag": "café"},
    ]
    last = found[-1]["index"]
    assert text.encode()[last["byteStart"] : last["byteEnd"]].decode() == "#café"


def test_a_record_without_links_or_images_has_no_facets_or_embed() -> None:
    assert post_record("Just words", "2026-11-20T07:30:00.000Z", []) == {
        "$type": "app.bsky.feed.post",
        "text": "Just words",
        "createdAt": "2026-11-20T07:30:00.000Z",
    }


# ---- the upload ----------------------------------------------------------------------------------------


def test_upload_sends_the_raw_bytes_and_returns_blob_alt_and_aspect_ratio(
    logged_in: responses.RequestsMock, image: FetchedImage
) -> None:
    logged_in.post(UPLOAD, json=fixture("bluesky-uploadBlob.json"))

    result = publisher().upload_media(image, "Boats moored at dusk")

    assert result == media_id("Boats moored at dusk")
    assert json.loads(result)["blob"] == BLOB
    login, upload = logged_in.calls
    assert body_of(login) == {"identifier": HANDLE, "password": APP_PASSWORD}
    assert "Authorization" not in login.request.headers
    assert upload.request.body == PNG
    assert upload.request.headers["Content-Type"] == "image/png"
    assert bearer(upload) == f"Bearer {SESSION['accessJwt']}"
    assert str(upload.request.headers["User-Agent"]).startswith("pierrot/")


def test_upload_without_alt_text_still_sets_alt(logged_in: responses.RequestsMock, image: FetchedImage) -> None:
    logged_in.post(UPLOAD, json=fixture("bluesky-uploadBlob.json"))

    assert json.loads(publisher().upload_media(image, None))["alt"] == ""


@pytest.mark.parametrize("declared", [1_000_001, len(PNG)])
def test_an_image_over_a_million_bytes_is_refused_before_any_call(
    mocked: responses.RequestsMock, tmp_path: Path, declared: int
) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\x00" * 1_000_000)
    big = FetchedImage(path, "k", 2048, 1365, declared if declared > 1_000_000 else 2048, "image/jpeg")

    with pytest.raises(PublishError, match="1,000,000 bytes") as caught:
        publisher().upload_media(big, "alt")

    assert type(caught.value) is PublishError
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"status": 400, "json": {"error": "InvalidRequest", "message": "Request encoding is not supported"}},
            "HTTP 400",
        ),
        ({"status": 413, "json": {"error": "PayloadTooLarge", "message": "request entity too large"}}, "too large"),
        ({"status": 503, "body": "<html>busy</html>"}, "HTTP 503"),
        ({"body": requests.ReadTimeout("read timed out")}, "no answer within 30 s"),
        ({"status": 200, "json": {"nothing": True}}, "no blob"),
    ],
)
def test_upload_failures_are_publish_errors(
    logged_in: responses.RequestsMock, image: FetchedImage, answer: dict[str, Any], expected: str
) -> None:
    logged_in.post(UPLOAD, **answer)

    with pytest.raises(PublishError, match=expected) as caught:
        publisher().upload_media(image, "alt")

    assert type(caught.value) is PublishError


# ---- the record ----------------------------------------------------------------------------------------


TEXT = "Harbour at dusk 🌅 https://flickr.com/photos/someone/53000000003 #brighton"


def expected_put() -> dict[str, Any]:
    return {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": RKEY,
        "swapRecord": None,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": TEXT,
            "createdAt": "2026-11-20T07:30:00.000Z",
            "facets": [
                {
                    "index": {"byteStart": 21, "byteEnd": 66},
                    "features": [
                        {
                            "$type": "app.bsky.richtext.facet#link",
                            "uri": "https://flickr.com/photos/someone/53000000003",
                        }
                    ],
                },
                {
                    "index": {"byteStart": 67, "byteEnd": 76},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "brighton"}],
                },
            ],
            "embed": {
                "$type": "app.bsky.embed.images",
                "images": [
                    {"image": BLOB, "alt": "Boats moored at dusk", "aspectRatio": {"width": 2048, "height": 1365}}
                ],
            },
        },
    }


def test_create_post_puts_the_exact_record_and_the_same_bytes_on_a_retry(logged_in: responses.RequestsMock) -> None:
    logged_in.post(PUT, status=502, json={"error": "UpstreamFailure", "message": "Upstream Failure"})
    logged_in.post(PUT, json=fixture("bluesky-putRecord.json"))
    bluesky = publisher()

    with pytest.raises(PostOutcomeUnknown):
        bluesky.create_post(TEXT, [media_id()], ATTEMPT)
    post = bluesky.create_post(TEXT, [media_id()], ATTEMPT)

    assert post == Post(f"at://{DID}/app.bsky.feed.post/{RKEY}", f"https://bsky.app/profile/{HANDLE}/post/{RKEY}")
    first, second = calls_to(logged_in, PUT)
    assert body_of(first) == expected_put()
    assert '"swapRecord":null' in first.request.body.decode()
    assert first.request.body == second.request.body
    assert first.request.headers["Content-Type"] == "application/json"
    assert bearer(first) == f"Bearer {SESSION['accessJwt']}"
    # A second publisher (the next run) builds the very same bytes from the same attempt and upload.
    logged_in.post(PUT, json=fixture("bluesky-putRecord.json"))
    publisher().create_post(TEXT, [media_id()], ATTEMPT)
    assert calls_to(logged_in, PUT)[-1].request.body == first.request.body


def test_create_post_without_images_has_no_embed(logged_in: responses.RequestsMock) -> None:
    logged_in.post(PUT, json=fixture("bluesky-putRecord.json"))

    publisher().create_post("Just words", [], ATTEMPT)

    assert "embed" not in body_of(calls_to(logged_in, PUT)[0])["record"]


def test_create_post_refuses_a_key_that_is_not_a_tid(mocked: responses.RequestsMock) -> None:
    with pytest.raises(PostRefused, match="record key"):
        publisher().create_post("text", [], Attempt(key="", created_at="2026-11-20T07:30:00.000Z"))

    assert len(mocked.calls) == 0


def test_invalid_swap_means_an_earlier_attempt_was_posted(logged_in: responses.RequestsMock) -> None:
    logged_in.post(PUT, status=400, json=fixture("bluesky-invalid-swap.json"))

    with pytest.raises(DuplicatePost, match=rf"record key {RKEY}.*InvalidSwap") as caught:
        publisher().create_post(TEXT, [media_id()], ATTEMPT)

    assert f"https://bsky.app/profile/{HANDLE}/post/{RKEY}" in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"status": 400, "json": {"error": "InvalidRequest", "message": "Record/text must not be longer than 300"}},
            "InvalidRequest: Record/text must not be longer than 300",
        ),
        ({"status": 400, "json": {"error": "BlobNotFound", "message": "Could not find blob"}}, "BlobNotFound"),
        ({"status": 401, "json": {"error": "AuthenticationRequired", "message": "nope"}}, "PIERROT_BLUESKY_HANDLE"),
        ({"status": 403, "json": {"error": "AccountDeactivated", "message": "Account is deactivated"}}, "deactivated"),
    ],
)
def test_a_4xx_answer_means_nothing_was_posted(
    logged_in: responses.RequestsMock, answer: dict[str, Any], message: str
) -> None:
    logged_in.post(PUT, **answer)

    with pytest.raises(PostRefused, match=message) as caught:
        publisher().create_post(TEXT, [media_id()], ATTEMPT)

    assert caught.value.status == answer["status"]


def test_a_rate_limited_post_is_refused_with_the_reset_time(logged_in: responses.RequestsMock) -> None:
    reset = int(time.time()) + 600
    headers = {"RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    logged_in.post(PUT, status=429, json=fixture("bluesky-rate-limited.json"), headers=headers)

    with pytest.raises(PostRefused, match="in 10 minutes") as caught:
        publisher().create_post(TEXT, [media_id()], ATTEMPT)

    assert (caught.value.status, caught.value.reset_time) == (429, reset)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"error": "InternalServerError", "message": "Internal Server Error"}},
        {"status": 503, "body": "<html>over capacity</html>"},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": lost_connection()},
        {"status": 200, "body": "{not json"},
        {"status": 200, "json": {"cid": "bafyrei"}},
    ],
    ids=["500", "503", "read-timeout", "connection-lost", "invalid-json", "no-uri"],
)
def test_post_outcome_unknown(logged_in: responses.RequestsMock, answer: dict[str, Any]) -> None:
    logged_in.post(PUT, **answer)

    with pytest.raises(PostOutcomeUnknown):
        publisher().create_post(TEXT, [media_id()], ATTEMPT)


@pytest.mark.parametrize(
    "error", [refused_connection(), requests.exceptions.ConnectTimeout("connect timed out")], ids=["refused", "connect"]
)
def test_a_post_never_sent_is_refused(logged_in: responses.RequestsMock, error: Exception) -> None:
    logged_in.post(PUT, body=error)

    with pytest.raises(PostRefused, match="could not reach Bluesky"):
        publisher().create_post(TEXT, [media_id()], ATTEMPT)


def test_a_real_refused_connection_is_recognised_as_not_sent(mocked: responses.RequestsMock) -> None:
    service = f"http://127.0.0.1:{free_port()}"
    mocked.post(xrpc("com.atproto.server.createSession", service), json=SESSION)
    mocked.add_passthru(xrpc("com.atproto.repo.putRecord", service))

    with pytest.raises(PostRefused, match="Connection refused"):
        publisher(service=service, timeout=5).create_post(TEXT, [media_id()], ATTEMPT)


def test_a_real_post_that_never_gets_an_answer_is_unknown(mocked: responses.RequestsMock) -> None:
    with FaultyServer(hang) as server:
        mocked.post(xrpc("com.atproto.server.createSession", server.origin), json=SESSION)
        mocked.add_passthru(xrpc("com.atproto.repo.putRecord", server.origin))
        started = time.monotonic()

        with pytest.raises(PostOutcomeUnknown, match=r"no answer within 0\.3 s"):
            publisher(service=server.origin, timeout=0.3).create_post(TEXT, [media_id()], ATTEMPT)

    assert time.monotonic() - started < 3


def test_a_post_answer_trickled_byte_by_byte_is_abandoned_at_the_deadline(mocked: responses.RequestsMock) -> None:
    with FaultyServer(trickle(seconds=4)) as server:
        mocked.post(xrpc("com.atproto.server.createSession", server.origin), json=SESSION)
        mocked.add_passthru(xrpc("com.atproto.repo.putRecord", server.origin))
        started = time.monotonic()

        with pytest.raises(PostOutcomeUnknown, match=r"did not complete within 0\.8 s"):
            publisher(service=server.origin, timeout=0.4).create_post(TEXT, [media_id()], ATTEMPT)

    assert time.monotonic() - started < 3


def test_a_media_id_not_from_an_upload_is_refused(logged_in: responses.RequestsMock) -> None:
    with pytest.raises(PostRefused, match="not a media id"):
        publisher().create_post(TEXT, ["1880028106020515840"], ATTEMPT)

    assert len(logged_in.calls) == 0


# ---- settling ------------------------------------------------------------------------------------------


def test_settle_finds_the_post_under_its_key(logged_in: responses.RequestsMock) -> None:
    logged_in.get(GET, json=fixture("bluesky-getRecord.json"))

    settled = publisher().settle(ATTEMPT, TEXT, "2026-11-20T07:30:00Z")

    assert settled.posted is True
    assert settled.post == Post(
        f"at://{DID}/app.bsky.feed.post/{RKEY}", f"https://bsky.app/profile/{HANDLE}/post/{RKEY}"
    )
    call = calls_to(logged_in, GET)[0]
    assert call.request.params == {"repo": DID, "collection": "app.bsky.feed.post", "rkey": RKEY}


def test_settle_record_not_found_means_post_again_with_the_same_key(logged_in: responses.RequestsMock) -> None:
    logged_in.get(GET, status=400, json=fixture("bluesky-record-not-found.json"))

    settled = publisher().settle(ATTEMPT, TEXT, "2026-11-20T07:30:00Z")

    assert (settled.posted, settled.same_key, settled.post) == (False, True, None)
    assert RKEY in settled.reason


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"error": "InternalServerError", "message": "Internal Server Error"}},
        {"status": 502, "body": "<html>bad gateway</html>"},
        {"status": 400, "json": {"error": "InvalidRequest", "message": "Could not find repo"}},
        {"status": 200, "body": "not json"},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": refused_connection()},
    ],
    ids=["500", "502", "400-other", "bad-json", "timeout", "refused"],
)
def test_settle_cannot_tell_without_raising(logged_in: responses.RequestsMock, answer: dict[str, Any]) -> None:
    logged_in.get(GET, **answer)

    settled = publisher().settle(ATTEMPT, TEXT, "2026-11-20T07:30:00Z")

    assert settled.posted is None
    assert settled.reason


def test_settle_when_bluesky_cannot_be_reached_to_log_in_cannot_tell(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, body=refused_connection())

    settled = publisher().settle(ATTEMPT, TEXT, "2026-11-20T07:30:00Z")

    assert settled.posted is None
    assert "log in" in settled.reason


def test_settle_with_bad_credentials_raises(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, status=401, json=fixture("bluesky-invalid-login.json"))

    with pytest.raises(PublishError, match="PIERROT_BLUESKY_APP_PASSWORD"):
        publisher().settle(ATTEMPT, TEXT, "2026-11-20T07:30:00Z")


# ---- the session ---------------------------------------------------------------------------------------


def test_one_login_serves_the_whole_run(logged_in: responses.RequestsMock, image: FetchedImage) -> None:
    logged_in.post(UPLOAD, json=fixture("bluesky-uploadBlob.json"))
    logged_in.post(PUT, json=fixture("bluesky-putRecord.json"))
    logged_in.get(GET, json=fixture("bluesky-getRecord.json"))
    bluesky = publisher()

    assert bluesky.prepare() is RULES
    assert bluesky.whoami() == HANDLE
    media = bluesky.upload_media(image, "alt")
    bluesky.create_post(TEXT, [media], bluesky.new_attempt(""))
    bluesky.settle(ATTEMPT, TEXT, "")

    assert len(calls_to(logged_in, LOGIN)) == 1


@pytest.mark.parametrize("status", [400, 401])
def test_an_expired_token_is_refreshed_never_a_second_login(
    logged_in: responses.RequestsMock, image: FetchedImage, status: int
) -> None:
    logged_in.post(UPLOAD, status=status, json=fixture("bluesky-expired-token.json"))
    logged_in.post(UPLOAD, json=fixture("bluesky-uploadBlob.json"))
    logged_in.post(REFRESH, json=RENEWED)
    logged_in.post(PUT, json=fixture("bluesky-putRecord.json"))
    bluesky = publisher()

    media = bluesky.upload_media(image, "alt")
    bluesky.create_post(TEXT, [media], ATTEMPT)

    urls = [str(c.request.url) for c in logged_in.calls]
    assert urls == [LOGIN, UPLOAD, REFRESH, UPLOAD, PUT]
    tokens = [bearer(c) for c in logged_in.calls]
    assert tokens == [
        "",
        f"Bearer {SESSION['accessJwt']}",
        f"Bearer {SESSION['refreshJwt']}",
        f"Bearer {RENEWED['accessJwt']}",
        f"Bearer {RENEWED['accessJwt']}",
    ]
    assert logged_in.calls[1].request.body == logged_in.calls[3].request.body == PNG


def test_a_session_that_cannot_be_renewed_fails_without_logging_in_again(logged_in: responses.RequestsMock) -> None:
    logged_in.post(PUT, status=400, json=fixture("bluesky-expired-token.json"))
    logged_in.post(REFRESH, status=400, json=fixture("bluesky-expired-token.json"))

    with pytest.raises(PostRefused, match="could not be renewed"):
        publisher().create_post(TEXT, [media_id()], ATTEMPT)

    assert [str(c.request.url) for c in logged_in.calls] == [LOGIN, PUT, REFRESH]


def test_a_rate_limited_login_says_when_it_resets_and_warns_of_lockout(
    mocked: responses.RequestsMock, image: FetchedImage
) -> None:
    reset = int(time.time()) + 600
    headers = {"RateLimit-Limit": "30", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    mocked.post(LOGIN, status=429, json=fixture("bluesky-rate-limited.json"), headers=headers)
    bluesky = publisher()

    with pytest.raises(PublishError) as caught:
        bluesky.prepare()

    assert type(caught.value) is PublishError
    message = str(caught.value)
    assert "rate limit" in message
    assert "in 10 minutes" in message
    assert time.strftime("%Y-%m-%dT%H:%M", time.localtime(reset)) in message
    assert "locks the account out" in message
    # Nothing in this run logs in again: every later call fails with the same line.
    with pytest.raises(PublishError, match="rate limit"):
        bluesky.whoami()
    with pytest.raises(PublishError, match="rate limit"):
        bluesky.upload_media(image, "alt")
    with pytest.raises(PostRefused, match="rate limit") as refused:
        bluesky.create_post(TEXT, [media_id()], ATTEMPT)
    assert refused.value.reset_time == reset
    assert len(mocked.calls) == 1


def test_a_wrong_password_says_which_settings_to_check(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, status=401, json=fixture("bluesky-invalid-login.json"))

    with pytest.raises(PublishError) as caught:
        publisher().whoami()

    message = str(caught.value)
    assert "Invalid identifier or password" in message
    assert "PIERROT_BLUESKY_HANDLE" in message
    assert "PIERROT_BLUESKY_APP_PASSWORD" in message
    assert "App passwords" in message
    assert "never the account password" in message


def test_the_account_password_is_recognised_by_its_second_factor(mocked: responses.RequestsMock) -> None:
    body = {"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent to your email address"}
    mocked.post(LOGIN, status=401, json=body)

    with pytest.raises(PublishError, match="holds the account password"):
        publisher().prepare()


def test_a_login_answer_without_tokens_is_an_error(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, json={"handle": HANDLE})

    with pytest.raises(PublishError, match="without the session tokens"):
        publisher().prepare()


def test_a_leading_at_sign_in_the_handle_is_ignored(logged_in: responses.RequestsMock) -> None:
    BlueskyPublisher(handle="@" + HANDLE, app_password=APP_PASSWORD).prepare()

    assert body_of(logged_in.calls[0])["identifier"] == HANDLE


# ---- hosts, redirects, timeouts ------------------------------------------------------------------------


ELSEWHERE = "https://elsewhere.example/collect"


def test_a_redirected_login_is_not_followed(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, status=302, headers={"Location": ELSEWHERE})
    mocked.post(ELSEWHERE, json=SESSION)
    mocked.get(ELSEWHERE, json=SESSION)

    with pytest.raises(PublishError, match=r"redirect \(HTTP 302 to https://elsewhere\.example\)"):
        publisher().prepare()

    assert [str(c.request.url) for c in mocked.calls] == [LOGIN]


def test_a_redirected_upload_is_not_followed(logged_in: responses.RequestsMock, image: FetchedImage) -> None:
    logged_in.post(UPLOAD, status=307, headers={"Location": ELSEWHERE})
    logged_in.post(ELSEWHERE, json=fixture("bluesky-uploadBlob.json"))

    with pytest.raises(PublishError, match="redirect"):
        publisher().upload_media(image, "alt")

    assert [str(c.request.url) for c in logged_in.calls] == [LOGIN, UPLOAD]


@pytest.mark.parametrize(("status", "kind"), [(307, PostRefused), (308, PostRefused), (303, PostOutcomeUnknown)])
def test_a_redirected_post_is_not_followed(
    logged_in: responses.RequestsMock, status: int, kind: type[Exception]
) -> None:
    logged_in.post(PUT, status=status, headers={"Location": ELSEWHERE})
    logged_in.post(ELSEWHERE, json=fixture("bluesky-putRecord.json"))
    logged_in.get(ELSEWHERE, json=fixture("bluesky-putRecord.json"))

    with pytest.raises(kind, match="redirect"):
        publisher().create_post(TEXT, [media_id()], ATTEMPT)

    assert [str(c.request.url) for c in logged_in.calls] == [LOGIN, PUT]


def test_every_call_has_a_timeout_and_goes_to_the_service(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    service = "http://127.0.0.1:8125"
    mocked.post(xrpc("com.atproto.server.createSession", service), json=SESSION)
    mocked.post(xrpc("com.atproto.repo.uploadBlob", service), json=fixture("bluesky-uploadBlob.json"))
    mocked.post(xrpc("com.atproto.repo.putRecord", service), json=fixture("bluesky-putRecord.json"))
    mocked.get(xrpc("com.atproto.repo.getRecord", service), json=fixture("bluesky-getRecord.json"))
    bluesky = publisher(service=service + "/", timeout=7.5)

    bluesky.create_post(TEXT, [bluesky.upload_media(image, "alt")], ATTEMPT)
    bluesky.settle(ATTEMPT, TEXT, "")

    assert len(mocked.calls) == 4
    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [7.5] * 4  # type: ignore[attr-defined]
    assert all(str(c.request.url).startswith(service + "/xrpc/") for c in mocked.calls)


def test_an_answer_larger_than_a_megabyte_is_not_read(logged_in: responses.RequestsMock) -> None:
    logged_in.post(PUT, body=b'{"uri": "at://x", "padding": "' + b"x" * (1024 * 1024) + b'"}')

    with pytest.raises(PostOutcomeUnknown, match="larger than 1 MB"):
        publisher().create_post(TEXT, [media_id()], ATTEMPT)


@pytest.mark.parametrize("url", ["http://bsky.social", "http://192.168.1.10:2583", "ftp://bsky.social"])
def test_plain_http_is_refused_off_this_machine(url: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_BLUESKY_SERVICE"):
        publisher(service=url)


# ---- secrets -------------------------------------------------------------------------------------------

TOKENS = f"{SESSION['accessJwt']} and {SESSION['refreshJwt']}"


def failure(name: str, echo: str) -> dict[str, Any]:
    """An answer that fails a call; some echo ``echo`` back in their message, as a careless server might."""
    return {
        "400-echo": {"status": 400, "json": {"error": "InvalidRequest", "message": echo}},
        "401-echo": {"status": 401, "json": {"error": "AuthenticationRequired", "message": echo}},
        "429": {"status": 429, "json": fixture("bluesky-rate-limited.json"), "headers": {"RateLimit-Reset": "1"}},
        "500-echo": {"status": 500, "json": {"error": "InternalServerError", "message": echo}},
        "timeout": {"body": requests.ReadTimeout("read timed out")},
        "refused": {"body": refused_connection()},
        "lost": {"body": lost_connection()},
        "bad-json": {"status": 200, "body": "{"},
    }[name]


@pytest.mark.parametrize("name", ["400-echo", "401-echo", "429", "500-echo", "timeout", "refused", "lost", "bad-json"])
def test_no_secret_in_any_error_reason_or_log_line(
    mocked: responses.RequestsMock, image: FetchedImage, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    # The login itself fails (no token is known yet: only the password can be echoed).
    mocked.post(LOGIN, **failure(name, f"bad login for {APP_PASSWORD}"))
    try:
        publisher().prepare()
    except PublishError as exc:
        texts += [str(exc), repr(exc), str(exc.__cause__)]
    mocked.reset()

    # Logged in, then every later call fails.
    mocked.post(LOGIN, json=SESSION)
    answer = failure(name, f"bad request for {APP_PASSWORD} with {TOKENS}")
    for url in (UPLOAD, PUT, REFRESH):
        mocked.post(url, **answer)
    mocked.get(GET, **answer)
    bluesky = publisher()
    for call in (lambda: bluesky.upload_media(image, "alt"), lambda: bluesky.create_post(TEXT, [media_id()], ATTEMPT)):
        with pytest.raises(PublishError) as caught:
            call()
        texts += [str(caught.value), repr(caught.value), str(caught.value.__cause__)]
    try:
        texts.append(bluesky.settle(ATTEMPT, TEXT, "").reason)
    except PublishError as exc:
        texts += [str(exc), repr(exc)]

    texts += [r.getMessage() for r in caplog.records]
    for secret in SECRETS:
        assert not any(secret in text for text in texts), (secret, texts)


def test_a_failed_renewal_keeps_the_tokens_out_of_the_message(logged_in: responses.RequestsMock) -> None:
    logged_in.post(PUT, status=400, json=fixture("bluesky-expired-token.json"))
    echo = {"error": "InvalidToken", "message": f"Token {SESSION['refreshJwt']} has been revoked"}
    logged_in.post(REFRESH, status=400, json=echo)

    with pytest.raises(PostRefused) as caught:
        publisher().create_post(TEXT, [media_id()], ATTEMPT)

    assert "InvalidToken: Token *** has been revoked" in str(caught.value)
    assert not any(secret in str(caught.value) for secret in SECRETS)


# ---- against the fake PDS ------------------------------------------------------------------------------


@pytest.fixture
def pds() -> Iterator[BlueskyServer]:
    server = BlueskyServer(BlueskyFake())
    yield server
    server.stop()


def on(pds: BlueskyServer, **kwargs: Any) -> BlueskyPublisher:
    return BlueskyPublisher(
        handle=pds.fake.handle, app_password=pds.fake.app_password, service=pds.url, **{"timeout": 5, **kwargs}
    )


@pytest.fixture
def photo(tmp_path: Path) -> FetchedImage:
    data = jpeg(200_000, b"pierrot-e2e photo=53000000003 size=z")
    path = tmp_path / "53000000003_z.jpg"
    path.write_bytes(data)
    return FetchedImage(path, "z", 640, 427, len(data), "image/jpeg")


def test_fake_a_full_post_then_settle(pds: BlueskyServer, photo: FetchedImage) -> None:
    bluesky = on(pds)
    assert bluesky.prepare() is RULES
    attempt = bluesky.new_attempt("2026-11-20T07:30:00Z")

    post = bluesky.create_post(TEXT, [bluesky.upload_media(photo, "Boats moored at dusk")], attempt)

    fake = pds.fake
    assert post.id == f"at://{fake.did}/app.bsky.feed.post/{attempt.key}"
    assert post.url == f"https://bsky.app/profile/{fake.handle}/post/{attempt.key}"
    [made] = fake.posts
    assert (made.rkey, made.text, made.created_at, made.via) == (attempt.key, TEXT, attempt.created_at, "putRecord")
    assert (made.alts, made.blob_sizes, made.photo_ids) == (["Boats moored at dusk"], [photo.nbytes], ["53000000003"])
    assert [f["features"][0]["$type"] for f in made.facets] == [
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
    ]
    settled = bluesky.settle(attempt, TEXT, "")
    assert (settled.posted, settled.post) == (True, post)
    assert bluesky.settle(bluesky.new_attempt(""), TEXT, "").posted is False
    assert len(fake.calls_to("com.atproto.server.createSession")) == 1
    assert all(c.user_agent.startswith("pierrot/") for c in fake.calls)
    listed = requests.get(
        f"{pds.url}/xrpc/com.atproto.repo.listRecords",
        params={"repo": fake.did, "collection": "app.bsky.feed.post"},
        timeout=5,
    ).json()
    assert [r["uri"] for r in listed["records"]] == [post.id]


def test_fake_an_answer_lost_after_posting_is_settled_and_a_retry_is_a_no_op(
    pds: BlueskyServer, photo: FetchedImage
) -> None:
    bluesky = on(pds)
    attempt = bluesky.new_attempt("")
    media = bluesky.upload_media(photo, "alt")
    pds.fake.inject(BlueskyFault("accept_then_unavailable"))

    with pytest.raises(PostOutcomeUnknown):
        bluesky.create_post(TEXT, [media], attempt)

    assert bluesky.settle(attempt, TEXT, "").posted is True
    # The next run uploads the same bytes again (same blob) and puts the same record: nothing new is posted.
    again = on(pds)
    post = again.create_post(TEXT, [again.upload_media(photo, "alt")], attempt)
    assert post.id.endswith(attempt.key)
    assert len(pds.fake.posts) == 1


def test_fake_a_5xx_before_posting_is_settled_as_not_posted_and_posted_once_with_the_same_key(
    pds: BlueskyServer, photo: FetchedImage
) -> None:
    bluesky = on(pds)
    attempt = bluesky.new_attempt("")
    media = bluesky.upload_media(photo, "alt")
    pds.fake.inject(BlueskyFault("unavailable", status=502))

    with pytest.raises(PostOutcomeUnknown):
        bluesky.create_post(TEXT, [media], attempt)
    settled = bluesky.settle(attempt, TEXT, "")
    assert (settled.posted, settled.same_key) == (False, True)
    bluesky.create_post(TEXT, [media], attempt)

    assert [p.rkey for p in pds.fake.posts] == [attempt.key]


def test_fake_a_post_that_hangs_after_posting_is_unknown_then_found(pds: BlueskyServer, photo: FetchedImage) -> None:
    bluesky = on(pds, timeout=0.3)
    attempt = bluesky.new_attempt("")
    media = bluesky.upload_media(photo, "alt")
    pds.fake.inject(BlueskyFault("accept_then_hang", seconds=3))

    with pytest.raises(PostOutcomeUnknown):
        bluesky.create_post(TEXT, [media], attempt)

    assert bluesky.settle(attempt, TEXT, "").posted is True


def test_fake_another_record_under_the_key_is_a_duplicate(pds: BlueskyServer, photo: FetchedImage) -> None:
    bluesky = on(pds)
    attempt = bluesky.new_attempt("")
    media = bluesky.upload_media(photo, "alt")
    bluesky.create_post(TEXT, [media], attempt)

    with pytest.raises(DuplicatePost):
        bluesky.create_post(TEXT + " (again)", [media], attempt)

    assert [p.text for p in pds.fake.posts] == [TEXT]


def test_fake_an_expired_token_is_refreshed(pds: BlueskyServer, photo: FetchedImage) -> None:
    bluesky = on(pds)
    bluesky.prepare()
    pds.fake.expire_tokens()

    bluesky.create_post(TEXT, [bluesky.upload_media(photo, "alt")], bluesky.new_attempt(""))

    fake = pds.fake
    assert len(fake.calls_to("com.atproto.server.createSession")) == 1
    assert len(fake.calls_to("com.atproto.server.refreshSession")) == 1
    assert [c.error for c in fake.calls_to("com.atproto.repo.uploadBlob")] == ["ExpiredToken", ""]
    assert len(fake.posts) == 1


def test_fake_too_many_logins_are_refused(pds: BlueskyServer) -> None:
    pds.fake.login_limit = 2
    for _ in range(2):
        on(pds).prepare()

    with pytest.raises(PublishError, match=r"rate limit.*locks the account out"):
        on(pds).prepare()


def test_fake_an_injected_login_rate_limit(pds: BlueskyServer) -> None:
    reset = int(time.time()) + 120
    pds.fake.inject(BlueskyFault("rate_limited", reset=reset), method="com.atproto.server.createSession")

    with pytest.raises(PublishError, match="in 2 minutes"):
        on(pds).whoami()
    assert on(pds).whoami() == pds.fake.handle


def test_fake_a_wrong_password_and_the_account_password(pds: BlueskyServer) -> None:
    with pytest.raises(PublishError, match="PIERROT_BLUESKY_APP_PASSWORD"):
        BlueskyPublisher(handle=pds.fake.handle, app_password="wrong-pass-word-here", service=pds.url).prepare()
    with pytest.raises(PublishError, match="holds the account password"):
        BlueskyPublisher(handle=pds.fake.handle, app_password=pds.fake.account_password, service=pds.url).prepare()


def test_fake_behaves_as_a_pds_on_create_record_and_large_blobs(pds: BlueskyServer) -> None:
    fake = pds.fake
    session = requests.post(
        f"{pds.url}/xrpc/com.atproto.server.createSession",
        json={"identifier": fake.handle, "password": fake.app_password},
        timeout=5,
    ).json()
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    record = {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2026-11-20T07:30:00.000Z"}
    body = {"repo": fake.did, "collection": "app.bsky.feed.post", "rkey": RKEY, "record": record}
    url = f"{pds.url}/xrpc/com.atproto.repo.createRecord"

    first = requests.post(url, json=body, headers=auth, timeout=5)
    second = requests.post(url, json=body, headers=auth, timeout=5)
    big = requests.post(
        f"{pds.url}/xrpc/com.atproto.repo.uploadBlob",
        data=b"\xff\xd8\xff" + b"\0" * 1_000_000,
        headers={**auth, "Content-Type": "image/jpeg"},
        timeout=5,
    )
    anonymous = requests.post(url, json=body, timeout=5)

    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]) == (500, "InternalServerError")
    assert (big.status_code, big.json()["error"]) == (400, "BlobTooLarge")
    assert anonymous.status_code == 401
    assert [p.rkey for p in fake.posts] == [RKEY]
    assert [c.nsid for c in fake.calls][-4:] == [
        "com.atproto.repo.createRecord",
        "com.atproto.repo.createRecord",
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.createRecord",
    ]
