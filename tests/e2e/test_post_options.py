"""Issue 17 end to end: the installed ``pierrot`` posts with a language, a warning on a sensitive photo and
hashtags to X, Bluesky and Mastodon, and the fakes keep the whole record or status they received."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Pierrot
from tests.e2e.servers import FakeServers, FlickrFake
from tests.e2e.test_networks import ALL, CREDENTIALS, dry_run_blocks

pytestmark = pytest.mark.e2e

TITLE = "Été à Paris 🌅"
OPTIONS = {
    "PIERROT_PUBLISH_LANGUAGE": "fr",
    "PIERROT_PUBLISH_SENSITIVE_TAGS": "nsfw,nude",
    "PIERROT_PUBLISH_TEMPLATE": "{title} {hashtags}",
    "PIERROT_PUBLISH_HASHTAGS": "3",
}


def two_photos(pierrot: Pierrot, flickr: FlickrFake) -> tuple[str, str]:
    sensitive, plain = flickr.populate(2)
    sensitive.title, sensitive.tags = TITLE, "nsfw été 2024 paris seine"
    plain.title, plain.tags = "Low tide", "sea"
    assert pierrot("sync").returncode == 0
    return sensitive.id, plain.id


def test_language_warning_and_hashtags_reach_each_network_and_only_the_tagged_photo_is_hidden(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    sensitive, plain = two_photos(pierrot, flickr)

    first = pierrot("publish", "--photo", sensitive, *ALL, env=OPTIONS)
    second = pierrot("publish", "--photo", plain, *ALL, env=OPTIONS)

    assert first.returncode == 0 and second.returncode == 0, (first, second)
    text = f"{TITLE} #nsfw #été #paris"
    (tweet, _), (record, plain_record) = fakes.x.posts, fakes.bluesky.posts
    (status, plain_status) = fakes.mastodon.statuses
    assert tweet.text == record.text == status.text == text
    # Bluesky: the language, the self-label, and each hashtag a facet indexed in UTF-8 bytes.
    assert record.record["langs"] == ["fr"]
    assert record.record["labels"] == {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "nudity"}]}
    encoded = text.encode()
    tags = [(encoded[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode(), f["features"][0]["tag"])
            for f in record.facets]
    assert tags == [("#nsfw", "nsfw"), ("#été", "été"), ("#paris", "paris")]
    assert record.facets[0]["index"]["byteStart"] == len(f"{TITLE} ".encode())
    # Mastodon: the language, and the warning shown first.
    assert status.received["language"] == "fr"
    assert (status.received["sensitive"], status.received["spoiler_text"]) == ("true", "Sensitive photo")
    # The photo without the tag carries no warning, and keeps its language.
    assert "labels" not in plain_record.record and plain_record.record["langs"] == ["fr"]
    assert "spoiler_text" not in plain_status.received and "sensitive" not in plain_status.received
    assert plain_status.received["language"] == "fr"


def test_mastodon_cuts_the_text_to_leave_room_for_the_warning(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    sensitive, _ = two_photos(pierrot, flickr)
    warning = "Nudity, in a painter's studio " * 4
    env = {**OPTIONS, "PIERROT_PUBLISH_TEMPLATE": "{title}\n{description}", "PIERROT_PUBLISH_CONTENT_WARNING": warning}
    flickr.photo(sensitive).description = "the light on the canvas " * 40
    assert pierrot("sync", "--full").returncode == 0

    result = pierrot("publish", "--photo", sensitive, "--network", "mastodon", env=env)

    assert result.returncode == 0, result  # the fake refuses a status whose text and warning pass 500
    (status,) = fakes.mastodon.statuses
    assert len(status.text) + len(warning) <= 500 and status.text.endswith("…")
    assert status.received["spoiler_text"] == warning.strip()


def test_a_dry_run_shows_each_networks_language_warning_and_hashtags(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    sensitive, _ = two_photos(pierrot, flickr)

    result = pierrot("publish", "--dry-run", "--photo", sensitive, *ALL, env={**OPTIONS, **dict.fromkeys(CREDENTIALS)})

    assert result.returncode == 0, result
    blocks = dry_run_blocks(result.stdout)
    assert "language" not in blocks["X"]
    assert blocks["X"]["warning"] == "none: X has no such field"
    assert blocks["Bluesky"]["language"] == blocks["Mastodon"]["language"] == "fr"
    assert blocks["Bluesky"]["warning"] == "a self-label hides the image ('Sensitive photo' is not shown)"
    assert blocks["Mastodon"]["warning"] == "Sensitive photo (shown first; the image marked sensitive)"
    assert {block["hashtags"] for block in blocks.values()} == {"#nsfw #été #paris"}
    assert fakes.bluesky.posts == [] and fakes.mastodon.statuses == []


def test_check_reports_the_bot_flags_and_fixes_them_where_it_can(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    flickr.populate(1)
    assert pierrot("sync").returncode == 0
    env = {"PIERROT_PUBLISH_NETWORKS": "x,bluesky,mastodon"}
    account = fakes.mastodon.account
    account.scopes.add("write:accounts")
    try:
        before = pierrot("check", env=env)
        fixed = pierrot("check", "--fix-bot-label", "--yes", env=env)
        after = pierrot("check", env=env)
    finally:
        account.scopes.discard("write:accounts")

    lines = {line.split()[1] + " " + line.split()[2]: line for line in before.stdout.splitlines() if " bot " in line}
    assert "X's API cannot read it" in lines["x bot"]
    assert lines["mastodon bot"].startswith("warn") and "This is a bot account" in lines["mastodon bot"]
    assert lines["bluesky bot"].startswith("warn") and "Automation label" in lines["bluesky bot"]
    assert "the account now says it is automated" in fixed.stdout
    assert account.bot is True
    profile = fakes.bluesky.records[("app.bsky.actor.profile", "self")].value
    assert profile["labels"]["values"] == [{"val": "bot"}]
    assert after.stdout.count("the account says it is automated") == 2, after.stdout
