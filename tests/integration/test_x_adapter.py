"""The X adapter against recorded answers: request shapes, signing, and every error a post can meet."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from oauthlib.oauth1 import Client as OAuthClient
from requests_toolbelt.multipart.decoder import MultipartDecoder
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from pierrot.adapters.networks.x import XPublisher
from pierrot.errors import ConfigError, DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import FetchedImage
from tests.integration.faulty_http import FaultyServer, trickle

FIXTURES = Path(__file__).parent.parent / "fixtures"
API_KEY = "KEYzq8RkT3xDistinctApiKey"
API_SECRET = "SECRETw7PvLmDistinctApiSecretNeverShown"
ACCESS_TOKEN = "2244994945-TOKENa9FqDistinctAccessToken"
ACCESS_SECRET = "TOKSECRETb4HnDistinctAccessTokenSecret"
SECRETS = (API_KEY, API_SECRET, ACCESS_TOKEN, ACCESS_SECRET)

UPLOAD = "https://api.x.com/2/media/upload"
METADATA = "https://api.x.com/2/media/metadata"
TWEETS = "https://api.x.com/2/tweets"
ME = "https://api.x.com/2/users/me"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 2000 + b"\xff\xd9"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def publisher(**kwargs: Any) -> XPublisher:
    return XPublisher(
        api_key=API_KEY, api_secret=API_SECRET, access_token=ACCESS_TOKEN, access_token_secret=ACCESS_SECRET, **kwargs
    )


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def image(tmp_path: Path) -> FetchedImage:
    path = tmp_path / "52345678901_k.jpg"
    path.write_bytes(JPEG)
    return FetchedImage(path, "k", 2048, 1365, len(JPEG), "image/jpeg")


def oauth_params(request: requests.PreparedRequest) -> dict[str, str]:
    header = request.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header.startswith("OAuth ")
    pairs = (item.strip().split("=", 1) for item in header[len("OAuth ") :].split(","))
    return {key: dict(parse_qsl(f"v={value.strip(chr(34))}"))["v"] for key, value in pairs}


def assert_signed(request: requests.PreparedRequest) -> None:
    """The OAuth 1.0a signature is what X computes: over the URL and oauth_* only (never a multipart body)."""
    params = oauth_params(request)
    assert params["oauth_consumer_key"] == API_KEY
    assert params["oauth_token"] == ACCESS_TOKEN
    expected = OAuthClient(
        API_KEY,
        client_secret=API_SECRET,
        resource_owner_key=ACCESS_TOKEN,
        resource_owner_secret=ACCESS_SECRET,
        nonce=params["oauth_nonce"],
        timestamp=params["oauth_timestamp"],
    )
    _, headers, _ = expected.sign(str(request.url), str(request.method))
    assert oauth_params_from(headers["Authorization"])["oauth_signature"] == params["oauth_signature"]


def oauth_params_from(header: str) -> dict[str, str]:
    fake = requests.Request("POST", "https://example.invalid", headers={"Authorization": header}).prepare()
    return oauth_params(fake)


# ---- request shapes ----------------------------------------------------------------------------


def test_upload_sends_the_file_as_multipart_media_signed_with_oauth1(
    mocked: responses.RequestsMock, image: FetchedImage
) -> None:
    mocked.post(UPLOAD, json=fixture("x-media-upload.json"))

    media_id = publisher().upload_media(image)

    assert media_id == "1880028106020515840"
    request = mocked.calls[0].request
    decoder = MultipartDecoder(request.body, request.headers["Content-Type"])
    parts = {}
    for part in decoder.parts:
        disposition = part.headers[b"Content-Disposition"].decode()
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        parts[name] = (disposition, part.headers.get(b"Content-Type"), part.content)
    assert set(parts) == {"media", "media_category"}
    disposition, content_type, content = parts["media"]
    assert 'filename="52345678901_k.jpg"' in disposition
    assert content_type == b"image/jpeg"
    assert content == JPEG
    assert parts["media_category"][2] == b"tweet_image"
    assert "oauth_signature=" in request.headers["Authorization"]
    assert_signed(request)


def test_alt_text_sends_the_metadata_json_exactly(mocked: responses.RequestsMock) -> None:
    mocked.post(METADATA, json=fixture("x-media-metadata.json"))

    publisher().set_alt_text("1880028106020515840", 'Harbour at dusk. Taken from the "old" pier.')

    request = mocked.calls[0].request
    assert json.loads(request.body or b"") == {
        "id": "1880028106020515840",
        "metadata": {"alt_text": {"text": 'Harbour at dusk. Taken from the "old" pier.'}},
    }
    assert_signed(request)


def test_create_post_sends_text_and_media_and_returns_the_post(mocked: responses.RequestsMock) -> None:
    mocked.post(TWEETS, json=fixture("x-create-tweet.json"), status=201)

    post = publisher().create_post("Harbour at dusk", ["1880028106020515840"])

    assert post.id == "1880028120123456789"
    assert post.url == "https://x.com/i/web/status/1880028120123456789"
    request = mocked.calls[0].request
    assert json.loads(request.body or b"") == {
        "text": "Harbour at dusk",
        "media": {"media_ids": ["1880028106020515840"]},
    }
    assert_signed(request)


def test_whoami_returns_the_username(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("x-users-me.json"))

    assert publisher().whoami() == "someone_photos"


def test_a_custom_api_url_receives_every_call_including_tweepys(
    mocked: responses.RequestsMock, image: FetchedImage
) -> None:
    base = "http://127.0.0.1:8124"
    mocked.post(f"{base}/2/media/upload", json=fixture("x-media-upload.json"))
    mocked.post(f"{base}/2/media/metadata", json=fixture("x-media-metadata.json"))
    mocked.post(f"{base}/2/tweets", json=fixture("x-create-tweet.json"), status=201)
    mocked.get(f"{base}/2/users/me", json=fixture("x-users-me.json"))
    x = publisher(api_url=base + "/")

    media_id = x.upload_media(image)
    x.set_alt_text(media_id, "alt")
    x.create_post("text", [media_id])
    x.whoami()

    urls = [call.request.url for call in mocked.calls]
    assert urls == [f"{base}/2/media/upload", f"{base}/2/media/metadata", f"{base}/2/tweets", f"{base}/2/users/me"]
    for call in mocked.calls:
        assert_signed(call.request)


def test_every_call_has_a_timeout(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(UPLOAD, json=fixture("x-media-upload.json"))
    mocked.post(TWEETS, json=fixture("x-create-tweet.json"), status=201)
    x = publisher(timeout=7.5)

    x.upload_media(image)
    x.create_post("text", ["1"])

    assert [call.request.req_kwargs["timeout"] for call in mocked.calls] == [7.5, 7.5]  # type: ignore[attr-defined]


# ---- errors before anything is public ----------------------------------------------------------


def only_publish_error(exc: BaseException) -> None:
    """Nothing is public yet: a PublishError, never one of a post's outcomes."""
    assert isinstance(exc, PublishError)
    assert not isinstance(exc, PostRefused | PostOutcomeUnknown | DuplicatePost)


def test_upload_with_bad_credentials_says_which_settings_to_check(
    mocked: responses.RequestsMock, image: FetchedImage
) -> None:
    mocked.post(UPLOAD, json=fixture("x-unauthorized.json"), status=401)

    with pytest.raises(PublishError) as caught:
        publisher().upload_media(image)

    only_publish_error(caught.value)
    message = str(caught.value)
    assert "(HTTP 401" in message
    assert "PIERROT_X_API_KEY" in message
    assert "Read and Write" in message
    assert "regenerate the access token" in message


def test_upload_rate_limited_says_when_it_resets(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    reset = int(time.time()) + 600
    mocked.post(UPLOAD, json=fixture("x-rate-limited.json"), status=429, headers={"x-rate-limit-reset": str(reset)})

    with pytest.raises(PublishError) as caught:
        publisher().upload_media(image)

    only_publish_error(caught.value)
    assert "429" in str(caught.value)
    assert "in 10 minutes" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": 503, "body": "upstream unavailable"}, "HTTP 503"),
        ({"body": requests.ReadTimeout("read timed out")}, "no answer within 30 s"),
        ({"body": requests.ConnectionError("boom")}, "could not reach X"),
        ({"status": 400, "json": {"errors": [{"message": "media type unrecognized"}]}}, "media type unrecognized"),
        ({"status": 403, "json": {"detail": "Forbidden by plan"}}, "403 Forbidden: Forbidden by plan"),
    ],
)
def test_upload_failures_are_publish_errors(
    mocked: responses.RequestsMock, image: FetchedImage, body: dict[str, Any], expected: str
) -> None:
    mocked.post(UPLOAD, **body)

    with pytest.raises(PublishError) as caught:
        publisher().upload_media(image)

    only_publish_error(caught.value)
    assert expected in str(caught.value)


def test_upload_answer_without_media_id_is_a_publish_error(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(UPLOAD, body="<html>ok</html>")

    with pytest.raises(PublishError, match="media id"):
        publisher().upload_media(image)


def test_alt_text_refused_is_a_publish_error(mocked: responses.RequestsMock) -> None:
    mocked.post(METADATA, json={"errors": [{"message": "alt text too long"}]}, status=400)

    with pytest.raises(PublishError, match=r"set the alt text.*alt text too long"):
        publisher().set_alt_text("1", "x" * 1001)


def test_whoami_with_bad_credentials(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json=fixture("x-unauthorized.json"), status=401)

    with pytest.raises(PublishError, match="PIERROT_X_ACCESS_TOKEN_SECRET"):
        publisher().whoami()


# ---- errors when posting -----------------------------------------------------------------------


def refused_connection() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request was never sent."""
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/2/tweets", cause))  # type: ignore[arg-type]


def lost_connection() -> requests.ConnectionError:
    """What requests raises when the connection drops after sending: the post may exist."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


def test_post_with_bad_credentials_is_refused(mocked: responses.RequestsMock) -> None:
    mocked.post(TWEETS, json=fixture("x-unauthorized.json"), status=401)

    with pytest.raises(PostRefused) as caught:
        publisher().create_post("text", ["1"])

    assert caught.value.status == 401
    assert "PIERROT_X_API_KEY" in str(caught.value)


def test_duplicate_content_is_a_duplicate_post(mocked: responses.RequestsMock) -> None:
    mocked.post(TWEETS, json=fixture("x-duplicate.json"), status=403)

    with pytest.raises(DuplicatePost):
        publisher().create_post("text", ["1"])


def test_other_403_is_refused(mocked: responses.RequestsMock) -> None:
    mocked.post(TWEETS, json={"detail": "You are not permitted to perform this action."}, status=403)

    with pytest.raises(PostRefused) as caught:
        publisher().create_post("text", ["1"])

    assert caught.value.status == 403
    assert "not permitted" in str(caught.value)
    assert "Read and Write" in str(caught.value)


def test_rate_limited_post_is_refused_with_the_reset_time(mocked: responses.RequestsMock) -> None:
    reset = int(time.time()) + 600
    headers = {"x-rate-limit-limit": "17", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    mocked.post(TWEETS, json=fixture("x-rate-limited.json"), status=429, headers=headers)

    with pytest.raises(PostRefused) as caught:
        publisher().create_post("text", ["1"])

    assert caught.value.status == 429
    assert caught.value.reset_time == reset
    local = time.strftime("%Y-%m-%dT%H:%M", time.localtime(reset))
    assert local in str(caught.value)
    assert "in 10 minutes" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"status": 500, "json": {"title": "Internal Server Error"}},
        {"status": 503, "body": "<html>over capacity</html>"},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": lost_connection()},
        {"status": 201, "body": "{not json"},
        {"status": 201, "json": {"data": {}}},
    ],
    ids=["500", "503", "read-timeout", "connection-lost", "invalid-json", "no-id"],
)
def test_post_outcome_unknown(mocked: responses.RequestsMock, body: dict[str, Any]) -> None:
    mocked.post(TWEETS, **body)

    with pytest.raises(PostOutcomeUnknown):
        publisher().create_post("text", ["1"])


@pytest.mark.parametrize(
    "error",
    [refused_connection(), requests.exceptions.ConnectTimeout("connect timed out")],
    ids=["refused", "connect-timeout"],
)
def test_post_never_sent_is_refused(mocked: responses.RequestsMock, error: Exception) -> None:
    mocked.post(TWEETS, body=error)

    with pytest.raises(PostRefused) as caught:
        publisher().create_post("text", ["1"])

    assert "could not reach X" in str(caught.value)


def test_a_real_refused_connection_is_recognised_as_not_sent() -> None:
    """Against requests' own exception shapes, not ours: nothing listens on a port just released."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(PostRefused, match="Connection refused"):
        publisher(api_url=f"http://127.0.0.1:{port}", timeout=5).create_post("text", ["1"])


# ---- secrets -----------------------------------------------------------------------------------

FAILURES: list[tuple[str, dict[str, Any]]] = [
    ("401", {"status": 401, "json": fixture("x-unauthorized.json")}),
    ("403-duplicate", {"status": 403, "json": fixture("x-duplicate.json")}),
    ("403", {"status": 403, "json": {"detail": "nope"}}),
    ("429", {"status": 429, "json": fixture("x-rate-limited.json"), "headers": {"x-rate-limit-reset": "1"}}),
    ("500", {"status": 500, "body": "oops"}),
    ("timeout", {"body": requests.ReadTimeout("read timed out")}),
    ("refused", {"body": refused_connection()}),
    ("lost", {"body": lost_connection()}),
    ("bad-json", {"status": 200, "body": "{"}),
]


@pytest.mark.parametrize(("name", "answer"), FAILURES, ids=[name for name, _ in FAILURES])
def test_no_secret_in_any_error_or_pierrot_log_line(
    mocked: responses.RequestsMock,
    image: FetchedImage,
    caplog: pytest.LogCaptureFixture,
    name: str,
    answer: dict[str, Any],
) -> None:
    for url in (UPLOAD, METADATA, TWEETS):
        mocked.post(url, **answer)
    mocked.get(ME, **answer)
    x = publisher()
    caplog.set_level(logging.DEBUG)

    calls = [lambda: x.upload_media(image), lambda: x.create_post("text", ["1"]), x.whoami]
    if name != "bad-json":  # the metadata call has no answer to read
        calls.append(lambda: x.set_alt_text("1", "alt"))

    errors: list[BaseException] = []
    for call in calls:
        with pytest.raises(PublishError) as caught:
            call()
        errors.append(caught.value)

    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [str(e.__cause__) for e in errors]
    texts += [r.getMessage() for r in caplog.records if r.name.startswith(("pierrot", "tweepy"))]
    for secret in SECRETS:
        assert not any(secret in text for text in texts), secret


def test_upload_answer_in_the_v1_shape_is_read_too(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(UPLOAD, json={"media_id": 1880028106020515840, "media_id_string": "1880028106020515840"})

    assert publisher().upload_media(image) == "1880028106020515840"


# ---- the host, redirects and bounded answers ---------------------------------------------------


def test_every_call_goes_to_api_x_com_by_default(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post("https://api.x.com/2/media/upload", json=fixture("x-media-upload.json"))
    mocked.post("https://api.x.com/2/media/metadata", json=fixture("x-media-metadata.json"))
    mocked.post("https://api.x.com/2/tweets", json=fixture("x-create-tweet.json"), status=201)
    mocked.get("https://api.x.com/2/users/me", json=fixture("x-users-me.json"))
    x = publisher()

    x.set_alt_text(x.upload_media(image), "alt")
    x.create_post("text", ["1"])
    x.whoami()

    assert {str(call.request.url).split("/2/")[0] for call in mocked.calls} == {"https://api.x.com"}


ELSEWHERE = "https://elsewhere.example/collect"


def test_a_redirected_upload_is_not_posted_elsewhere(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(UPLOAD, status=307, headers={"Location": ELSEWHERE})
    mocked.post(ELSEWHERE, json=fixture("x-media-upload.json"))

    with pytest.raises(PublishError, match="redirect") as caught:
        publisher().upload_media(image)

    only_publish_error(caught.value)
    assert "HTTP 307 to https://elsewhere.example" in str(caught.value)
    assert [call.request.url for call in mocked.calls] == [UPLOAD]


@pytest.mark.parametrize("status", [307, 308])
def test_a_post_redirected_to_be_sent_again_elsewhere_was_not_posted(
    mocked: responses.RequestsMock, status: int
) -> None:
    mocked.post(TWEETS, status=status, headers={"Location": ELSEWHERE})
    mocked.post(ELSEWHERE, json=fixture("x-create-tweet.json"), status=201)

    with pytest.raises(PostRefused, match="redirect") as caught:
        publisher().create_post("text", ["1"])

    assert caught.value.status == status
    assert [call.request.url for call in mocked.calls] == [TWEETS]


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_post_answered_with_see_other_may_have_been_posted(mocked: responses.RequestsMock, status: int) -> None:
    mocked.post(TWEETS, status=status, headers={"Location": ELSEWHERE})
    mocked.get(ELSEWHERE, json=fixture("x-create-tweet.json"))
    mocked.post(ELSEWHERE, json=fixture("x-create-tweet.json"), status=201)

    with pytest.raises(PostOutcomeUnknown, match="redirect"):
        publisher().create_post("text", ["1"])

    assert [call.request.url for call in mocked.calls] == [TWEETS]


def test_a_redirected_credentials_check_is_an_error(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, status=302, headers={"Location": ELSEWHERE})
    mocked.get(ELSEWHERE, json=fixture("x-users-me.json"))

    with pytest.raises(PublishError, match="redirect"):
        publisher().whoami()

    assert [call.request.url for call in mocked.calls] == [ME]


def test_an_answer_larger_than_32_mb_is_refused(mocked: responses.RequestsMock, image: FetchedImage) -> None:
    mocked.post(UPLOAD, body=b'{"data": {"id": "1", "padding": "' + b"x" * (32 * 1024 * 1024) + b'"}}')

    with pytest.raises(PublishError, match="larger than 32 MB"):
        publisher().upload_media(image)


def test_a_post_answer_trickled_byte_by_byte_is_abandoned_at_the_deadline() -> None:
    with FaultyServer(trickle(seconds=4)) as server:
        x = publisher(api_url=server.origin, timeout=0.4)
        started = time.monotonic()

        with pytest.raises(PostOutcomeUnknown, match=r"did not complete within 0\.8 s"):
            x.create_post("text", ["1"])

    assert time.monotonic() - started < 2.0


def test_a_dns_failure_names_the_host_and_means_not_posted(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_dns(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    with pytest.raises(PostRefused, match=r"could not resolve api\.x\.com"):
        publisher().create_post("text", ["1"])


@pytest.mark.parametrize("url", ["http://api.x.com", "http://192.168.1.10:8080"])
def test_plain_http_is_refused_off_this_machine(url: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_X_API_URL"):
        publisher(api_url=url)
