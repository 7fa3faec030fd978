"""Threads with the installed ``pierrot``: its fake fetches the image from the URL it is handed, as Meta does,
and refuses one that tells where it was taken."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Bucket, Pierrot, wait_until
from tests.e2e.fake_threads import ThreadsFake, ThreadsFault
from tests.e2e.servers import FakeServers, FlickrFake, ImageHost, gps_exif

pytestmark = pytest.mark.e2e

FOUR = ("--network", "x", "--network", "bluesky", "--network", "mastodon", "--network", "threads")
LATER = 20 * 60  # past a dead run's lease: the next cron run


@pytest.fixture
def threads(fakes: FakeServers) -> ThreadsFake:
    return fakes.threads_fake


def test_one_photo_goes_to_four_networks_and_threads_fetches_flickr_s_clean_size(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, threads: ThreadsFake
) -> None:
    flickr.populate(3)  # no location in any size: Flickr's own URL may be handed out
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", *FOUR)

    assert result.returncode == 0, result
    (tweet,) = fakes.x.posts
    (photo_id,) = tweet.photo_ids
    assert [r.photo_ids for r in fakes.bluesky.posts] == [[photo_id]]
    assert [s.photo_ids for s in fakes.mastodon.statuses] == [[photo_id]]
    (thread,) = threads.threads
    container = thread.container
    assert container.photo is not None and container.photo[0] == str(photo_id)
    assert threads.fetched == [(container.image_url, 200)]  # it fetched the image itself, once
    assert container.image_url.startswith(fakes.images_url + "/"), "with a local store: Flickr's own URL"
    served = fakes.images.requested(container.photo[1])
    assert served, "the size Threads fetched is one the image host served"
    assert f"Threads: {thread.permalink}" in result.stdout.splitlines()
    entry = next(e for e in pierrot.log_entries() if e["network"] == "threads")
    assert (entry["status"], entry["post_id"], entry["media_ids"]) == ("published", thread.id, [container.id])


def test_with_gps_in_every_size_and_a_local_store_threads_fails_alone_and_says_use_s3(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, images: ImageHost, threads: ThreadsFake
) -> None:
    images.exif = gps_exif()
    flickr.populate(3)
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", *FOUR)

    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pierrot: error: Threads: "), result
    assert "tells where it was taken" in lines[0] and "S3 store" in lines[0], lines[0]
    assert len(fakes.x.posts) == len(fakes.bluesky.posts) == len(fakes.mastodon.statuses) == 1
    # No URL at all reached Threads: nothing was fetched, no container made.
    assert threads.fetched == [] and threads.containers == {}
    assert threads.calls_to("/v1.0/me/threads", "POST") == []


def test_a_kill_between_container_and_publish_is_settled_by_publishing_that_container(
    pierrot: Pierrot, flickr: FlickrFake, threads: ThreadsFake
) -> None:
    flickr.populate(3)
    assert pierrot("sync").returncode == 0
    threads.inject(ThreadsFault("hang", seconds=30))  # the publish request waits, unacted on
    running = pierrot.start("publish", "--network", "threads")
    wait_until(lambda: threads.calls_to("/v1.0/me/threads_publish"), what="the publish request")
    pierrot.kill(running)
    (container,) = threads.containers
    assert threads.threads == [] and threads.containers[container].status == "FINISHED"
    (claimed,) = pierrot.log_entries()
    assert (claimed["status"], claimed["media_ids"]) == ("pending", [container])
    pierrot.age_log(LATER)

    result = pierrot("publish", "--network", "threads")

    assert result.returncode == 0, result
    (thread,) = threads.threads
    assert thread.container.id == container and list(threads.containers) == [container], "that same container"
    entry = [e for e in pierrot.log_entries() if e["photo_id"] == claimed["photo_id"]][-1]
    assert (entry["status"], entry["post_id"]) == ("published", thread.id), entry


def test_an_s3_store_hosts_the_cleaned_image_and_deletes_it_once_posted(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, images: ImageHost, threads: ThreadsFake,
    bucket: Bucket,
) -> None:
    images.exif = gps_exif()  # every size tells where: only pierrot's cleaned copy may go out
    flickr.populate(2)
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", "--network", "threads")

    assert result.returncode == 0, result
    (thread,) = threads.threads
    ((url, status),) = threads.fetched
    parts = urlsplit(url)
    assert status == 200 and url.startswith(fakes.s3_url + "/") and "Signature" in parts.query, url
    assert parts.path.startswith(f"/{bucket.name}/pierrot/pierrot-images/"), parts.path
    assert thread.container.photo is not None  # the fake read the bytes: it refuses any with GPS
    listed = bucket.client.list_objects_v2(Bucket=bucket.name, Prefix="pierrot/pierrot-images/")
    assert listed.get("KeyCount", 0) == 0, "the hosted image is deleted once the post is settled"
