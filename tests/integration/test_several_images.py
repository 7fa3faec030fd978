"""Several images in one post (PIERROT_PUBLISH_PHOTOS): each network's payload carries every media id, each
image with its own alt text, in the post's order."""

from __future__ import annotations

import json

import responses

from pierrot.adapters.networks.mastodon.rules import rules_from_instance
from pierrot.adapters.networks.x.text import RULES as X
from tests.integration import test_bluesky_adapter as bsky
from tests.integration import test_mastodon_adapter as masto
from tests.integration import test_x_adapter as xa


def test_bluesky_embeds_four_images_each_with_its_alt_text_and_aspect_ratio() -> None:
    sizes = [(2048, 1365), (1365, 2048), (1600, 1600), (1024, 683)]
    media = [
        json.dumps({"alt": f"Photo {n}", "aspectRatio": {"height": h, "width": w}, "blob": bsky.BLOB},
                   separators=(",", ":"), sort_keys=True)
        for n, (w, h) in enumerate(sizes, 1)
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(bsky.LOGIN, json=bsky.SESSION)
        mocked.post(bsky.PUT, json=bsky.fixture("bluesky-putRecord.json"))

        bsky.publisher().create_post("Four of one day", media, bsky.ATTEMPT)

        embed = bsky.body_of(bsky.calls_to(mocked, bsky.PUT)[0])["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [(i["alt"], i["aspectRatio"]) for i in embed["images"]] == [
        (f"Photo {n}", {"width": w, "height": h}) for n, (w, h) in enumerate(sizes, 1)]
    assert all(i["image"] == bsky.BLOB for i in embed["images"])


def test_mastodon_sends_media_ids_once_each_in_order() -> None:
    ids = ["113456789000000001", "113456789000000002", "113456789000000003"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(masto.STATUSES, json=masto.fixture("mastodon-status.json"))

        masto.publisher().create_post(masto.TEXT, ids, masto.attempt())

        sent = masto.form(mocked.calls[0].request)
    assert [value for key, value in sent if key == "media_ids[]"] == ids


def test_mastodon_takes_as_many_images_as_the_instance_says() -> None:
    assert rules_from_instance({"configuration": {"statuses": {"max_media_attachments": 2}}}).max_images == 2
    assert rules_from_instance({}).max_images == 4, "an instance that does not say: Mastodon's own 4"
    pixelfed = {"version": "3.5.3 (compatible; Pixelfed 0.12.4)",
                "configuration": {"statuses": {"max_media_attachments": 10}}}
    assert rules_from_instance(pixelfed).max_images == 10


def test_x_sends_up_to_four_media_ids() -> None:
    ids = ["1880028106020515840", "1880028106020515841", "1880028106020515842", "1880028106020515843"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(xa.TWEETS, json=xa.fixture("x-create-tweet.json"), status=201)

        xa.publisher().create_post("Four of one day", ids)

        body = json.loads(mocked.calls[0].request.body or b"")
    assert body == {"text": "Four of one day", "media": {"media_ids": ids}}
    assert X.max_images == 4
