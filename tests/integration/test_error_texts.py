"""An error answer that quotes a credential never shows any of it (issue 15): every adapter scrubs, then cuts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from pierrot.adapters.flickr import FlickrPhotoSource
from pierrot.adapters.networks.bluesky import BlueskyPublisher
from pierrot.adapters.networks.mastodon import MastodonPublisher
from pierrot.adapters.networks.x import XPublisher
from pierrot.errors import FlickrError, PublishError
from pierrot.logs import excerpt, scrub
from pierrot.ports import Attempt, FetchedImage

FIXTURES = Path(__file__).parent.parent / "fixtures"
# Where the credential starts in the server's message: just before, at and after the 300th character.
POSITIONS = (280, 290, 296, 299, 300, 301)
ATTEMPT = Attempt(key="3lbq5jzk2ls2c", created_at="2026-12-06T22:00:00.000Z", media_ids=("1",))


def quoting(secret: str, position: int, lead: str = "") -> str:
    """A server's message with ``secret`` starting at ``position``."""
    return lead + "x" * (position - len(lead)) + secret + " was not accepted"


def assert_nothing_of(secret: str, text: str) -> None:
    """No prefix of ``secret`` of four characters or more, nor any eight characters of it in a row, in ``text``."""
    assert secret[:4] not in text, f"{secret[:4]}... leaks in {text!r}"
    leaked = [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in text]
    assert not leaked, f"{secret[:4]}... leaks as {leaked[:3]} in {text!r}"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def image(tmp_path: Path) -> FetchedImage:
    path = tmp_path / "1_k.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9")
    return FetchedImage(path, "k", 2048, 1365, path.stat().st_size, "image/jpeg")


# ---- X -------------------------------------------------------------------------------------------------------

X_KEY, X_TOKEN = "E2eJq8RkT3xZpW7vN2mLc9s", "E2e1234567890-vN2mLc9sD4fH6jK0bYtQ1q8RkT3"


@pytest.mark.parametrize("secret", [X_KEY, X_TOKEN], ids=["api-key", "access-token"])
@pytest.mark.parametrize("position", POSITIONS)
def test_x_refusal_quoting_a_credential_shows_none_of_it(
    mocked: responses.RequestsMock, secret: str, position: int
) -> None:
    mocked.post("https://api.x.com/2/tweets", status=400, json={"detail": quoting(secret, position)})
    x = XPublisher(
        api_key=X_KEY,
        api_secret="E2eXapiSECRET0123456789",
        access_token=X_TOKEN,
        access_token_secret="E2eXaccessSECRET0123456789",
    )

    with pytest.raises(PublishError) as caught:
        x.create_post("text", ["1"])

    assert "HTTP 400" in str(caught.value)
    assert_nothing_of(secret, str(caught.value))


# ---- Mastodon ------------------------------------------------------------------------------------------------

M_BASE = "https://photos.example"
M_TOKEN = "E2eq8RkT3xZpW7vN2mLc9sD4fH6jK0bYtQ1"


@pytest.mark.parametrize(
    ("status", "lead"), [(400, ""), (422, "Media 1 is already attached: ")], ids=["refused", "already-attached"]
)
@pytest.mark.parametrize("position", POSITIONS)
def test_mastodon_refusal_quoting_the_token_shows_none_of_it(
    mocked: responses.RequestsMock, status: int, lead: str, position: int
) -> None:
    mocked.post(f"{M_BASE}/api/v1/statuses", status=status, json={"error": quoting(M_TOKEN, position, lead)})
    mastodon = MastodonPublisher(url=M_BASE, access_token=M_TOKEN)

    with pytest.raises(PublishError) as caught:
        mastodon.create_post("text", ["1"], ATTEMPT)

    assert_nothing_of(M_TOKEN, str(caught.value))


# ---- Bluesky -------------------------------------------------------------------------------------------------

B_SERVICE = "https://bsky.social"
B_PASSWORD = "k7qm-x2vb-9fjd-e3wp"
SESSION = json.loads((FIXTURES / "bluesky-createSession.json").read_text())


@pytest.mark.parametrize(
    "secret", [SESSION["accessJwt"], SESSION["refreshJwt"], B_PASSWORD], ids=["access-jwt", "refresh-jwt", "password"]
)
@pytest.mark.parametrize("position", POSITIONS)
def test_bluesky_refusal_quoting_a_credential_shows_none_of_it(
    mocked: responses.RequestsMock, image: FetchedImage, secret: str, position: int
) -> None:
    mocked.post(f"{B_SERVICE}/xrpc/com.atproto.server.createSession", json=SESSION)
    mocked.post(
        f"{B_SERVICE}/xrpc/com.atproto.repo.uploadBlob",
        status=400,
        json={"error": "InvalidRequest", "message": quoting(secret, position)},
    )
    bluesky = BlueskyPublisher(handle="harbour-photos.bsky.social", app_password=B_PASSWORD)

    with pytest.raises(PublishError) as caught:
        bluesky.upload_media(image, "alt")

    assert "HTTP 400" in str(caught.value)
    assert_nothing_of(secret, str(caught.value))


# ---- Flickr --------------------------------------------------------------------------------------------------

F_KEY, F_SECRET = "0123456789abcdef0123456789abcdef", "fedcba9876543210"


@pytest.mark.parametrize("secret", [F_KEY, F_SECRET], ids=["key", "secret"])
@pytest.mark.parametrize("position", POSITIONS)
def test_flickr_refusal_quoting_a_credential_shows_none_of_it(
    mocked: responses.RequestsMock, secret: str, position: int
) -> None:
    mocked.post(
        "https://api.flickr.com/services/rest/", json={"stat": "fail", "code": 99, "message": quoting(secret, position)}
    )
    source = FlickrPhotoSource(F_KEY, F_SECRET, sleep=lambda seconds: None)

    with pytest.raises(FlickrError) as caught:
        source.summary("12345678@N00")

    assert "error 99" in str(caught.value)
    assert_nothing_of(secret, str(caught.value))


# ---- the helper ----------------------------------------------------------------------------------------------

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOmFiYyJ9.c2lnbmF0dXJlLWhlcmU"


@pytest.mark.parametrize("position", range(280, 305))
def test_excerpt_scrubs_before_it_cuts(position: int) -> None:
    secret = "E2eSecretTokenValue0123456789"
    text = excerpt(quoting(secret, position), [secret])
    assert len(text) <= 300
    assert_nothing_of(secret, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token E2eSecretTokenValue0123456789 refused", "token *** refused"),
        ("token E2eSecretTokenValue0123456789%21 refused", "token ***%21 refused"),
        ("url-encoded E2eSecret%2FTokenValue refused", "url-encoded *** refused"),
        (f"session {JWT} expired", "session *** expired"),
        ("header Authorization: Bearer abcdefgh12345678 refused", "header Authorization: Bearer *** refused"),
        (
            'OAuth oauth_consumer_key="abcdefgh1234", oauth_token="123-abcdefgh"',
            "OAuth oauth_consumer_key=***, oauth_token=***",
        ),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_scrub_removes_known_secrets_and_credential_shapes(text: str, expected: str) -> None:
    assert scrub(text, ["E2eSecretTokenValue0123456789", "E2eSecret/TokenValue"]) == expected


def test_excerpt_leaves_a_short_text_whole_and_marks_a_cut() -> None:
    assert excerpt("short") == "short"
    assert excerpt("y" * 301) == "y" * 299 + "…"


def test_excerpt_also_scrubs_what_the_log_redacts(monkeypatch: pytest.MonkeyPatch) -> None:
    from pierrot import logs

    monkeypatch.setattr(logs, "REDACT", logs.Redactor(["E2eFromSettings0123"]))
    assert_nothing_of("E2eFromSettings0123", excerpt("x" * 290 + "E2eFromSettings0123"))
