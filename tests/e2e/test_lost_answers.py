"""Answers lost on the way back, and one network's trouble: never a photo twice, never a guess recorded as a fact.

Issue 15. Mastodon makes the status, then its answer is lost (503): the entry is ``unknown``, and every later run
must either find that status or leave the entry ``unknown``; only a definite answer of absence lets the photo go
again. Time passes between runs with ``Pierrot.pass_time``, which ages the publish log and the Mastodon fake alike.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.e2e.conftest import CATALOGUE, LOG, META, Pierrot
from tests.e2e.fake_mastodon import FakeStatus, MastodonFake, MastodonFault
from tests.e2e.servers import DEFAULT_IMAGE_BYTES, FakeServers, FlickrFake, ImageHost
from tests.e2e.test_faults import one_error_line
from tests.e2e.test_networks import latest

pytestmark = pytest.mark.e2e

MASTODON = ("--network", "mastodon")
SOON = 3 * 60  # the next run: past the wait before an interrupted post is looked up, well inside the key's hour
A_WEEK = 7 * 24 * 3600
POSTS = "/api/v1/statuses"


def carrying(mastodon: MastodonFake, photo_id: str) -> list[FakeStatus]:
    """Every status the fake made (whatever it answered) with an image of this photo."""
    return [s for s in mastodon.statuses if photo_id in s.photo_ids]


def status_url(mastodon: MastodonFake, status: FakeStatus) -> str:
    owner = next(a for a in mastodon.accounts.values() if a.id == status.account_id)
    return f"https://{mastodon.domain}/@{owner.username}/{status.id}"


def mastodon_entry(pierrot: Pierrot, photo_id: str) -> dict[str, Any]:
    return latest(pierrot.log_entries(), "mastodon", photo_id)


def lost_answer(pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake) -> str:
    """Run 1, of two photos: Mastodon saves the status, its answer is lost (503). The photo's id, ``unknown``."""
    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    mastodon.inject(MastodonFault("accept_then_unavailable"), path=POSTS)

    first = pierrot("publish", *MASTODON)

    assert first.returncode == 1, first
    assert "503" in first.stderr, first
    (status,) = mastodon.statuses
    (photo_id,) = status.photo_ids
    assert photo_id is not None
    assert mastodon_entry(pierrot, photo_id)["status"] == "unknown"
    return photo_id


def attempt_entry(pierrot: Pierrot, key: str) -> dict[str, Any]:
    """The log entry of one attempt, by its Idempotency-Key (a resumed attempt keeps its entry and its key)."""
    (entry,) = [e for e in pierrot.log_entries() if e["network"] == "mastodon" and e.get("key") == key]
    return entry


def media_of(status: FakeStatus) -> list[str]:
    return [m.id for m in status.media]


def flickr_ids(flickr: FlickrFake) -> list[str]:
    return [p.id for p in flickr.photos]


# ==== 1. never posted twice on Mastodon ============================================================


def test_lost_twice_then_a_week_later_the_original_status_is_found(
    pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake
) -> None:
    photo_id = lost_answer(pierrot, flickr, mastodon)
    (original,) = mastodon.statuses
    first_media = media_of(original)
    key = mastodon_entry(pierrot, photo_id)["key"]
    pierrot.pass_time(SOON)
    mastodon.inject(MastodonFault("accept_then_unavailable"), path=POSTS)

    # Run 2, inside the key's hour: the same key again, which Mastodon answers with the original status (lost too).
    second = pierrot("publish", *MASTODON)

    assert second.returncode == 1, second
    assert [c.idempotency_key for c in mastodon.calls_to(POSTS)] == [key, key], "one re-send, with the same key"
    assert mastodon.statuses == [original], "the repeated key made no second status"
    after_second = attempt_entry(pierrot, key)
    uploaded = {m.id for m in mastodon.media.values() if m.photo_id == photo_id}
    assert after_second["status"] == "unknown", after_second
    pierrot.pass_time(A_WEEK)

    # Run 3, a week later: the key is forgotten; the account's statuses show the first image.
    third = pierrot("publish", *MASTODON)

    entry = attempt_entry(pierrot, key)
    assert entry["status"] == "published", f"{entry}\n{third}"
    assert entry["post_url"] == status_url(mastodon, original), entry
    assert carrying(mastodon, photo_id) == [original], "the photo is on Mastodon once"
    assert mastodon_entry(pierrot, photo_id) == entry, "and has one attempt in the log"
    assert third.returncode == 0, third
    # Settling is not this run's post (docs/data-format.md, step 5): it goes on to post a new photo.
    (new,) = [s for s in mastodon.statuses if s is not original]
    assert new.photo_ids != [photo_id]
    assert status_url(mastodon, new) in third.stdout
    # The entry kept every image it was ever sent with, the first one included.
    media_ids = after_second.get("media_ids")
    assert isinstance(media_ids, list) and set(first_media) | uploaded == set(media_ids), after_second


def test_a_cdn_403_on_the_resend_leaves_the_entry_unknown(
    pierrot: Pierrot, flickr: FlickrFake, images: ImageHost, mastodon: MastodonFake
) -> None:
    photo_id = lost_answer(pierrot, flickr, mastodon)
    pierrot.pass_time(SOON)
    images.forbidden = set(DEFAULT_IMAGE_BYTES)  # Flickr's CDN refuses every size during run 2

    second = pierrot("publish", *MASTODON)

    entry = mastodon_entry(pierrot, photo_id)
    assert entry["status"] == "unknown", f"Mastodon never said it has no such post: {entry}"
    assert second.returncode == 1, second
    one_error_line(second.stderr)
    assert len(mastodon.statuses) == 1
    assert len(mastodon.calls_to(POSTS)) == 1, "nothing was sent without an image"


def test_a_429_on_the_same_key_resend_leaves_the_entry_unknown(
    pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake
) -> None:
    photo_id = lost_answer(pierrot, flickr, mastodon)
    pierrot.pass_time(SOON)
    mastodon.inject(MastodonFault("rate_limited"), path=POSTS)

    second = pierrot("publish", *MASTODON)

    assert [c.status for c in mastodon.calls_to(POSTS)] == [503, 429], "the re-send was refused with 429"
    entry = mastodon_entry(pierrot, photo_id)
    assert entry["status"] == "unknown", f"a refused re-send says nothing of the first: {entry}"
    assert second.returncode == 1, second
    line = one_error_line(second.stderr)
    assert "429" in line or "rate limit" in line, line
    assert len(mastodon.statuses) == 1


def test_a_failed_upload_on_the_resend_leaves_the_entry_unknown(
    pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake
) -> None:
    photo_id = lost_answer(pierrot, flickr, mastodon)
    pierrot.pass_time(SOON)
    mastodon.inject(MastodonFault("unavailable"), path="/api/v2/media")

    second = pierrot("publish", *MASTODON)

    assert second.returncode == 1, second
    entry = mastodon_entry(pierrot, photo_id)
    assert entry["status"] == "unknown", f"left {entry['status']}, not unknown: {entry}"
    assert len(mastodon.calls_to(POSTS)) == 1 and len(mastodon.statuses) == 1
    # Nothing is running: the next run may settle it, and is not told to wait for a lease.
    third = pierrot("publish", *MASTODON)
    assert "another publish is running" not in third.stderr, third


@pytest.mark.parametrize("later", [SOON, A_WEEK], ids=["inside-the-key-hour", "a-week-later"])
def test_an_entry_is_never_settled_against_another_account(
    pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake, later: int
) -> None:
    photo_id = lost_answer(pierrot, flickr, mastodon)
    first = mastodon_entry(pierrot, photo_id)
    other = mastodon.add_account("E2eMastodonToken-OtherAccount-Bq9Lm2Xc4", "another")
    pierrot.pass_time(later)

    # The user put another account's token in the settings.
    second = pierrot("publish", *MASTODON, env={"PIERROT_MASTODON_ACCESS_TOKEN": other.token})

    entry = attempt_entry(pierrot, first["key"])
    assert entry["status"] == "unknown", f"settled against {other.username}'s account: {entry}\n{second}"
    mine = [s for s in mastodon.statuses_of(other) if photo_id in s.photo_ids]
    assert mine == [], "the photo was posted again, as the other account"
    searched = mastodon.calls_to(f"/api/v1/accounts/{other.id}/statuses")
    assert searched == [], "another account's statuses are no evidence"
    warned = [line for line in second.stderr.splitlines() if photo_id in line and "account" in line]
    assert len(warned) == 1, second
    assert first.get("account") == mastodon.account.id, f"the entry names the account it was sent as: {first}"


def test_resolve_settles_the_attempt_that_is_still_open(
    pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake
) -> None:
    flickr.populate(1)
    assert pierrot("sync").returncode == 0
    (photo_id,) = flickr_ids(flickr)
    # Attempt 1: 503 before anything was made; the user looked and said so.
    mastodon.inject(MastodonFault("unavailable"), path=POSTS)
    assert pierrot("publish", *MASTODON).returncode == 1
    assert pierrot("resolve", photo_id, *MASTODON, "--not-posted").returncode == 0
    # Attempt 2 at the same photo: 503 again, unknown.
    mastodon.inject(MastodonFault("unavailable"), path=POSTS)
    assert pierrot("publish", *MASTODON).returncode == 1
    assert [e["status"] for e in pierrot.log_entries()] == ["failed", "unknown"]
    before = (pierrot.store / LOG).read_bytes()

    resolved = pierrot("resolve", photo_id, *MASTODON, "--not-posted")

    assert resolved.returncode == 0, resolved
    assert [e["status"] for e in pierrot.log_entries()] == ["failed", "failed"], resolved
    assert (pierrot.store / LOG).read_bytes() != before
    assert "failed" in resolved.stdout, resolved
    # Eligible again: the next run posts it.
    again = pierrot("publish", *MASTODON)
    assert again.returncode == 0, again
    assert [s.photo_ids for s in mastodon.statuses] == [[photo_id]]


# ==== the search for a live photo ==================================================================


def test_nine_photos_of_ten_gone_the_first_run_still_posts_the_live_one(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, images: ImageHost
) -> None:
    photos = flickr.populate(10)
    assert pierrot("sync").returncode == 0
    live = photos[4].id
    images.gone = {p.id for p in photos if p.id != live}  # deleted on Flickr since the last sync
    synced = pierrot.store
    # Independent fresh starts, each with the synced catalogue, no publish log and a new X account: eight first
    # runs in random orders, so that five tries (half the orders) cannot pass by luck (1 in 256).
    for attempt in range(8):
        store = pierrot.home / f"store-{attempt}"
        store.mkdir(mode=0o700)
        for name in (CATALOGUE, META):
            shutil.copy2(synced / name, store / name)
        fakes.x.reset()

        result = pierrot("publish", env={"PIERROT_STORE": str(store)})

        assert result.returncode == 0, f"fresh store {attempt}:\n{result}"
        assert [p.photo_ids for p in fakes.x.posts] == [[live]], result


# ==== one network's limits ========================================================================


def test_one_networks_limits_drop_that_network_only(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, mastodon: MastodonFake
) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    mastodon.max_characters = 3  # an instance that declares it, whatever its reasons

    result = pierrot(
        "publish", "--network", "x", "--network", "mastodon", env={"PIERROT_PUBLISH_TEMPLATE": "{title} #photo"}
    )

    assert result.returncode == 1, result
    (tweet,) = fakes.x.posts
    assert f"https://x.com/i/web/status/{tweet.id}" in result.stdout, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Mastodon" in lines[0] and "3" in lines[0], result.stderr
    assert mastodon.statuses == [] and mastodon.calls_to(POSTS) == [], "nothing was sent to Mastodon"
    assert "pending" not in {e["status"] for e in pierrot.log_entries() if e["network"] == "mastodon"}
