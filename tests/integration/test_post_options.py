"""What a post carries besides its text, as each network's API receives it: language, warning, hashtag facets;
and the account's bot flag, read and set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from pierrot.adapters.networks.bluesky import BlueskyPublisher
from pierrot.adapters.networks.bluesky.rules import post_record
from pierrot.adapters.networks.mastodon import MastodonPublisher
from pierrot.adapters.networks.threads import RULES as THREADS
from pierrot.adapters.networks.x import XPublisher
from pierrot.errors import PublishError
from pierrot.ports import Attempt, PostOptions
from tests.e2e.fake_threads import ThreadsFake
from tests.e2e.servers import ServerThread, jpeg
from tests.integration.test_bluesky_adapter import ATTEMPT, GET, LOGIN, PUT, SESSION, media_id
from tests.integration.test_mastodon_adapter import BASE, ME, MEDIA_ID, STATUSES, TOKEN, fixture
from tests.integration.test_threads_adapter import TOKEN as THREADS_TOKEN
from tests.integration.test_threads_adapter import _image, _Images, _publisher, _ServedHost

STATUS_ATTEMPT = Attempt(key="5f1d7c2e9a4b4e0f8c3d2b1a09876543", created_at="2026-05-01T11:59:00Z")
UPDATE = f"{BASE}/api/v1/accounts/update_credentials"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def mastodon() -> MastodonPublisher:
    return MastodonPublisher(url=BASE, access_token=TOKEN, sleep=lambda s: None, clock=lambda: 0.0)


def bluesky(**kwargs: Any) -> BlueskyPublisher:
    return BlueskyPublisher(handle="harbour-photos.bsky.social", app_password="k7qm-x2vb-9fjd-e3wp", **kwargs)


def form(request: Any) -> list[tuple[str, str]]:
    body = request.body
    return parse_qsl(body.decode() if isinstance(body, bytes) else body)


# --- Bluesky ------------------------------------------------------------------------------------


def test_a_bluesky_record_says_its_language_and_carries_the_self_label() -> None:
    record = post_record("Low tide", "2026-11-20T07:30:00.000Z", [], language="pt-BR", label="nudity")

    assert record["langs"] == ["pt-BR"]
    assert record["labels"] == {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "nudity"}]}


def test_a_bluesky_record_without_options_has_neither_langs_nor_labels() -> None:
    record = post_record("Low tide", "2026-11-20T07:30:00.000Z", [])

    assert "langs" not in record and "labels" not in record


def test_hashtag_facets_count_utf8_bytes_past_accents_and_emoji() -> None:
    text = "Été à Paris 🌅👨‍👩‍👧 #été #paris"

    record = post_record(text, "2026-11-20T07:30:00.000Z", [])

    tags = [(f["index"], f["features"][0]) for f in record["facets"]]
    encoded = text.encode()
    assert [feature for _, feature in tags] == [
        {"$type": "app.bsky.richtext.facet#tag", "tag": "été"},
        {"$type": "app.bsky.richtext.facet#tag", "tag": "paris"},
    ]
    assert [encoded[i["byteStart"]:i["byteEnd"]].decode() for i, _ in tags] == ["#été", "#paris"]
    assert tags[0][0]["byteStart"] == len("Été à Paris 🌅👨‍👩‍👧 ".encode())


def test_bluesky_puts_the_language_and_the_label_of_a_sensitive_photo(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, json=SESSION)
    mocked.post(PUT, json={"uri": f"at://{SESSION['did']}/app.bsky.feed.post/{ATTEMPT.key}", "cid": "bafy"})

    bluesky(label="porn").create_post("Low tide #sea", [media_id()], ATTEMPT,
                                      PostOptions(language="fr", warning="Sensitive photo"))

    record = json.loads(mocked.calls[-1].request.body)["record"]
    assert record["langs"] == ["fr"]
    assert record["labels"]["values"] == [{"val": "porn"}]
    assert record["facets"][0]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "sea"}]


def test_the_bluesky_bot_label_is_read_from_the_profile(mocked: responses.RequestsMock) -> None:
    mocked.post(LOGIN, json=SESSION)
    mocked.get(GET, json={"uri": "at://x/app.bsky.actor.profile/self", "cid": "bafyprofile", "value": {
        "$type": "app.bsky.actor.profile", "displayName": "Harbour",
        "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "bot"}]}}})

    flag = bluesky().bot_flag()

    assert flag.is_bot is True and flag.settable


def test_setting_the_bluesky_bot_label_keeps_the_profile_and_swaps_on_its_cid(
    mocked: responses.RequestsMock,
) -> None:
    mocked.post(LOGIN, json=SESSION)
    mocked.get(GET, json={"uri": "at://x/app.bsky.actor.profile/self", "cid": "bafyprofile",
                          "value": {"$type": "app.bsky.actor.profile", "displayName": "Harbour"}})
    mocked.post(PUT, json={"uri": "at://x/app.bsky.actor.profile/self", "cid": "bafynew"})

    publisher = bluesky()
    assert publisher.bot_flag().is_bot is False
    publisher.set_bot_flag()

    body = json.loads(mocked.calls[-1].request.body)
    assert (body["collection"], body["rkey"], body["swapRecord"]) == ("app.bsky.actor.profile", "self", "bafyprofile")
    assert body["record"]["displayName"] == "Harbour"
    assert body["record"]["labels"] == {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "bot"}]}


# --- Mastodon -----------------------------------------------------------------------------------


def test_mastodon_sends_the_language_and_puts_a_sensitive_photo_behind_the_warning(
    mocked: responses.RequestsMock,
) -> None:
    mocked.post(STATUSES, json=fixture("mastodon-status.json"))

    mastodon().create_post("Low tide", [MEDIA_ID], STATUS_ATTEMPT, PostOptions(language="fr", warning="Nudity"))

    sent = form(mocked.calls[0].request)
    assert ("language", "fr") in sent
    assert ("sensitive", "true") in sent and ("spoiler_text", "Nudity") in sent


def test_mastodon_without_options_sends_no_warning(mocked: responses.RequestsMock) -> None:
    mocked.post(STATUSES, json=fixture("mastodon-status.json"))

    mastodon().create_post("Low tide", [MEDIA_ID], STATUS_ATTEMPT)

    sent = dict(form(mocked.calls[0].request))
    assert not {"language", "sensitive", "spoiler_text"} & set(sent)


def test_mastodon_reads_and_sets_the_bot_flag(mocked: responses.RequestsMock) -> None:
    mocked.get(ME, json={"id": "1", "acct": "someone", "bot": False})
    mocked.patch(UPDATE, json={"id": "1", "acct": "someone", "bot": True})

    publisher = mastodon()
    flag = publisher.bot_flag()
    publisher.set_bot_flag()

    assert flag.is_bot is False and flag.settable and "This is a bot account" in flag.how
    assert form(mocked.calls[-1].request) == [("bot", "true")]


def test_a_token_without_write_accounts_says_how_to_set_the_flag_by_hand(mocked: responses.RequestsMock) -> None:
    mocked.patch(UPDATE, status=403, json={"error": "This action is outside the authorized scopes"})

    with pytest.raises(PublishError, match=r"write:accounts.*This is a bot account"):
        mastodon().set_bot_flag()


# --- X ------------------------------------------------------------------------------------------


def test_x_cannot_tell_and_says_where_the_automated_label_is_set() -> None:
    flag = XPublisher(api_key="k", api_secret="s", access_token="t", access_token_secret="ts").bot_flag()

    assert flag.is_bot is None and not flag.settable and "Automation" in flag.how


# --- Threads ------------------------------------------------------------------------------------


def test_threads_blurs_the_image_of_a_sensitive_photo_and_only_that(tmp_path: Path) -> None:
    fake, images = ThreadsFake(THREADS_TOKEN), _Images()
    api, files = ServerThread(fake), ServerThread(images)
    try:
        threads = _publisher(api.url, _ServedHost(images, files.url))
        image = _image(tmp_path, jpeg(tag=b"pierrot-e2e photo=42 size=k"))
        hidden = threads.upload_media(image, "A figure study", text="Study", options=PostOptions(warning="Nudity"))
        shown = threads.upload_media(image, "A harbour", text="Harbour")
    finally:
        api.stop()
        files.stop()

    assert fake.containers[hidden].spoiler and not fake.containers[shown].spoiler
    assert THREADS.warnings == "media" and not THREADS.languages
