"""PIERROT_PUBLISH_PHOTOS=4: the installed ``pierrot`` posts four photos of one day to X, Bluesky and a Mastodon
instance that takes two; the other two stay eligible on Mastodon alone, and none is ever posted twice. Threads gets
the four as one carousel, exactly once, even when the run dies between staging it and publishing it."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Pierrot, wait_until
from tests.e2e.fake_threads import ThreadsFault
from tests.e2e.servers import FakeServers, FlickrFake

pytestmark = pytest.mark.e2e

ALL = ("--network", "x", "--network", "bluesky", "--network", "mastodon")
FOUR = {"PIERROT_PUBLISH_PHOTOS": "4"}


def test_four_photos_of_one_day_in_one_post_and_a_mastodon_that_takes_two(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    fakes.mastodon.max_media_attachments = 2
    made = flickr.populate(6)
    times = ["2024-06-09 12:00:00", "2024-06-09 12:30:00", "2024-06-09 08:00:00", "2024-06-09 23:00:00",
             "2024-06-11 09:00:00", "2023-01-01 09:00:00"]
    for photo, taken in zip(made, times, strict=True):
        photo.taken = taken
        photo.description = f"taken {taken}"
    day = [p.id for p in made[:4]]
    assert pierrot("sync").returncode == 0

    dry = pierrot("publish", *ALL, "--photo", day[0], "--dry-run", env=FOUR)
    assert dry.returncode == 0, dry
    assert dry.stdout.count("photos:    4") == 3  # the dry run asks no instance: Mastodon's limit is its default 4
    for photo in made[1:4]:
        assert f"alt text: {photo.title}. taken {photo.taken}" in dry.stdout

    result = pierrot("publish", *ALL, "--photo", day[0], env=FOUR)

    assert result.returncode == 0, result
    (tweet,) = fakes.x.posts
    (record,) = fakes.bluesky.posts
    (status,) = fakes.mastodon.statuses
    # The same day, the nearest in time first: 12:30, 08:00, 23:00.
    order = [day[0], day[1], day[2], day[3]]
    assert tweet.photo_ids == record.photo_ids == order
    assert status.photo_ids == order[:2], "Mastodon takes the first two"
    alts = [f"{flickr.photo(p).title}. taken {flickr.photo(p).taken}" for p in order]
    assert record.alts == alts and status.descriptions == alts[:2]
    assert [u.alt_text for u in fakes.x.uploads.values()] == alts
    entries = pierrot.log_entries()
    assert [(e["network"], e["photo_id"], e.get("also"), len(e["media_ids"])) for e in entries] == [
        ("x", day[0], order[1:], 4), ("bluesky", day[0], order[1:], 4), ("mastodon", day[0], order[1:2], 2)]

    # Mastodon alone, again: the two it could not take are still eligible there, and go in one post.
    again = pierrot("publish", "--network", "mastodon", "--photo", order[2], env=FOUR)
    assert again.returncode == 0, again
    on_mastodon = [p for s in fakes.mastodon.statuses for p in s.photo_ids]
    assert on_mastodon[2:] == order[2:], on_mastodon
    assert len(on_mastodon) == len(set(on_mastodon)), "no photo twice on Mastodon"

    # X: the four are never offered again; the next post there is of the other days.
    later = pierrot("publish", "--network", "x", env=FOUR)
    assert later.returncode == 0, later
    on_x = [p for post in fakes.x.posts for p in post.photo_ids]
    assert len(on_x) == len(set(on_x)) and set(on_x[4:]) == {made[4].id, made[5].id}

    # Every photo carried counts as published: on X all six, on Mastodon four, nothing remains.
    status_out = pierrot("status", "--json", env={"PIERROT_PUBLISH_NETWORKS": "x,mastodon"})
    assert status_out.returncode == 0, status_out
    figures = json.loads(status_out.stdout)
    assert figures["networks"]["x"]["published"] == 6 and figures["networks"]["mastodon"]["published"] == 4
    history = pierrot("history")
    assert "+3 photos" in history.stdout


def _one_day(flickr: FlickrFake) -> list[str]:
    made = flickr.populate(5)
    times = ["2024-06-09 12:00:00", "2024-06-09 12:30:00", "2024-06-09 08:00:00", "2024-06-09 23:00:00",
             "2023-01-01 09:00:00"]
    for photo, taken in zip(made, times, strict=True):
        photo.taken = taken
        photo.description = f"taken {taken}"
    return [p.id for p in made]


def test_threads_gets_four_photos_of_one_day_as_one_carousel(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    threads = fakes.threads_fake
    ids = _one_day(flickr)
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", "--network", "x", "--network", "threads", "--photo", ids[0], env=FOUR)

    assert result.returncode == 0, result
    (thread,) = threads.threads
    (tweet,) = fakes.x.posts
    shown = [c.photo[0] if c.photo else None for c in thread.container.images]
    assert shown == [str(p) for p in tweet.photo_ids] == [str(p) for p in ids[:4]], "one post, four images"
    alts = [f"{flickr.photo(p).title}. taken {flickr.photo(p).taken}" for p in ids[:4]]
    assert [c.alt_text for c in thread.container.images] == alts
    assert len(threads.fetched) == 4 and len(threads.containers) == 5  # four items, one carousel
    entry = next(e for e in pierrot.log_entries() if e["network"] == "threads")
    assert (entry["status"], entry["post_id"], entry["media_ids"], entry["also"]) == (
        "published", thread.id, [thread.container.id], ids[1:4])
    assert f"Threads: {thread.permalink}" in result.stdout.splitlines()


def test_a_carousel_killed_before_its_publish_is_published_once_by_the_next_run(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    threads = fakes.threads_fake
    ids = _one_day(flickr)
    assert pierrot("sync").returncode == 0
    threads.inject(ThreadsFault("hang", seconds=30))  # the publish request waits, unacted on
    running = pierrot.start("publish", "--network", "threads", "--photo", ids[0], env=FOUR)
    wait_until(lambda: threads.calls_to("/v1.0/me/threads_publish"), what="the publish request")
    pierrot.kill(running)
    (carousel,) = [c for c in threads.containers.values() if c.children]
    assert threads.threads == [] and carousel.status == "FINISHED"
    (claimed,) = pierrot.log_entries()
    assert (claimed["status"], claimed["media_ids"], claimed["also"]) == ("pending", [carousel.id], ids[1:4])
    pierrot.age_log(20 * 60)  # past the dead run's lease: the next cron run

    result = pierrot("publish", "--network", "threads", env=FOUR)

    assert result.returncode == 0, result
    (thread,) = threads.threads
    assert thread.container is carousel and len(threads.containers) == 5, "that same carousel, nothing new staged"
    entry = [e for e in pierrot.log_entries() if e["photo_id"] == ids[0]][-1]
    assert (entry["status"], entry["post_id"]) == ("published", thread.id), entry

    later = pierrot("publish", "--network", "threads", env=FOUR)  # the four are never offered again
    assert later.returncode == 0, later
    assert [[c.photo[0] if c.photo else None for c in t.container.images] for t in threads.threads][1:] == [
        [str(ids[4])]]
