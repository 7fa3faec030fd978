"""The installed ``pierrot`` against local fakes of Flickr, its image hosts, X and S3, as cron would run it."""

from __future__ import annotations

import math
import re

import pytest

from tests.e2e.conftest import CATALOGUE, META, Bucket, Pierrot, assert_never_posted_twice
from tests.e2e.servers import DEFAULT_SIZES, MIB, X_IMAGE_LIMIT, FlickrFake, ImageHost, XFake, jpeg

pytestmark = pytest.mark.e2e

GET_PHOTOS = "flickr.people.getPhotos"
POST_URL = re.compile(r"^https://x\.com/i/web/status/(\d+)$")


def listing_calls(count: int) -> int:
    """Flickr calls for the count plus a listing of ``count`` items: 1 + ceil(count/500)."""
    return 1 + max(1, math.ceil(count / 500))


def catalogue_ids(pierrot: Pierrot) -> list[str]:
    return [p["id"] for p in pierrot.doc(CATALOGUE)["photos"]]


def fake_photo_ids(flickr: FlickrFake) -> list[str]:
    return [p.id for p in flickr.photos if p.media == "photo"]


# ==== sync ======================================================================================


def test_first_sync_lists_everything_in_the_minimum_of_calls(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(1234, videos=1)
    newest = flickr.photos[0]
    newest.description = 'Taken from the &quot;old&quot; pier.<br />\n<a href="https://example.org">More</a>'
    newest.tags = "harbour dusk"

    result = pierrot("sync")

    assert result.returncode == 0, result
    assert len(flickr.calls_of(GET_PHOTOS)) == listing_calls(1234) == 4
    assert len(flickr.calls) == 4, "an NSID needs no user lookup"
    assert result.stdout.strip() == "catalogue: 1233 photos (1233 added, 0 removed; full sync, 4 Flickr calls)"
    assert result.stderr == ""
    # The first listing call is the count (per_page=1), then every page at most once.
    pages = sorted(int(c.params["page"]) for c in flickr.calls_of(GET_PHOTOS) if c.params["per_page"] == "500")
    assert pages == [1, 2, 3]

    catalogue = pierrot.doc(CATALOGUE)
    assert [p["id"] for p in catalogue["photos"]] == fake_photo_ids(flickr)  # videos dropped, newest first
    record = catalogue["photos"][0]
    assert record["id"] == newest.id and record["title"] == newest.title
    assert record["description"] == newest.description
    assert record["tags"] == ["harbour", "dusk"]
    assert record["date_uploaded"] == newest.uploaded and record["license"] == "4"
    assert record["path_alias"] == "someone"
    # Every size pierrot can post; the 6000x4000 original (24 MP) is more than any network keeps, so not kept.
    assert set(record["sizes"]) == set(DEFAULT_SIZES) - {"o"}
    assert record["sizes"]["k"] == {"url": flickr.url(newest, "k"), "width": 2048, "height": 1365}

    meta = pierrot.doc(META)
    assert meta["total"] == 1233
    assert meta["flickr_total"] == 1234, "Flickr's own total (videos included) is what the next count compares"
    assert meta["newest_id"] == newest.id


def test_sync_without_a_store_setting_uses_the_user_data_folder(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(3)

    result = pierrot("sync", env={"PIERROT_STORE": None})

    assert result.returncode == 0, result
    folder = pierrot.home / "data" / "pierrot"
    assert sorted(p.name for p in folder.glob("pierrot-*.json")) == [CATALOGUE, META]


def test_no_change_sync_makes_exactly_one_call_and_writes_nothing(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(1100, videos=2)
    assert pierrot("sync").returncode == 0
    before = pierrot.snapshot()
    flickr.calls.clear()

    result = pierrot("sync")

    assert result.returncode == 0, result
    assert len(flickr.calls) == 1
    assert flickr.calls[0].params["per_page"] == "1"
    assert "no change" in result.stdout and "1 Flickr call)" in result.stdout
    assert pierrot.snapshot() == before
    quiet = pierrot("-q", "sync")
    assert quiet.returncode == 0 and quiet.output == "", quiet


def test_new_photos_cost_one_call_plus_their_pages(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(700, videos=1)
    assert pierrot("sync").returncode == 0

    for k in (3, 600):
        flickr.calls.clear()
        new = flickr.add(k)
        result = pierrot("sync")
        assert result.returncode == 0, result
        assert len(flickr.calls) == 1 + math.ceil(k / 500), f"{k} new photos"
        listed = [c for c in flickr.calls if c.params["per_page"] == "500"]
        assert all(c.params.get("min_upload_date") for c in listed), "only the new uploads are listed"
        assert f"{k} added, 0 removed; incremental sync" in result.stdout
        assert catalogue_ids(pierrot)[:k] == [p.id for p in new]

    assert catalogue_ids(pierrot) == fake_photo_ids(flickr)
    assert pierrot.doc(META)["total"] == 699 + 603


def test_a_deletion_and_an_upload_with_the_same_total_are_both_seen(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(600)
    assert pierrot("sync").returncode == 0
    gone = flickr.photos[300].id
    flickr.delete(gone)
    (new,) = flickr.add(1)
    assert len(flickr.photos) == 600
    flickr.calls.clear()

    result = pierrot("sync")

    assert result.returncode == 0, result
    assert "1 added, 1 removed" in result.stdout
    ids = catalogue_ids(pierrot)
    assert gone not in ids and ids[0] == new.id
    assert ids == fake_photo_ids(flickr)
    # The count, the listing of what is new (it does not add up), then everything.
    assert len(flickr.calls) <= 1 + 1 + listing_calls(600)


def test_a_username_is_resolved_once(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(5)

    first = pierrot("sync", env={"PIERROT_FLICKR_USER": "Some One"})
    second = pierrot("sync", env={"PIERROT_FLICKR_USER": "Some One"})

    assert first.returncode == 0 and second.returncode == 0, (first, second)
    assert [c.method for c in flickr.calls].count("flickr.people.findByUsername") == 1
    flickr.calls.clear()
    alias = pierrot("sync", env={"PIERROT_FLICKR_USER": "someone"})  # the path alias of the photostream URL
    assert alias.returncode == 0, alias
    assert [c.method for c in flickr.calls][:2] == ["flickr.people.findByUsername", "flickr.urls.lookupUser"]
    assert catalogue_ids(pierrot) == fake_photo_ids(flickr)


# ==== publish ===================================================================================


def test_publish_posts_one_photo_with_alt_text_and_records_it(
    pierrot: Pierrot, flickr: FlickrFake, images: ImageHost, x: XFake
) -> None:
    for photo in flickr.populate(3):
        photo.description = f"About <b>{photo.title}</b> &amp; the sea"
    assert pierrot("sync").returncode == 0
    flickr.calls.clear()

    result = pierrot("publish")

    assert result.returncode == 0, result
    assert result.stderr == ""
    (post,) = x.posts
    found = POST_URL.match(result.stdout.strip())
    assert found and found.group(1) == post.id
    (photo_id,) = post.photo_ids
    photo = flickr.photo(str(photo_id))
    assert post.text == photo.title
    # 2048 px is 6 MB here: over X's 5 MB, so the 1600 px size (3 MB) went up instead.
    (upload,) = x.uploads.values()
    assert upload.label == "h" and upload.nbytes == 3 * MIB <= X_IMAGE_LIMIT
    assert upload.alt_text == f"{photo.title}. About {photo.title} & the sea"
    assert [c.path for c in x.calls] == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]
    assert [r.label for r in images.requests] == ["k", "h"], "never the original, largest acceptable first"
    assert all(r.user_agent.startswith("pierrot/") for r in images.requests)
    assert flickr.calls == [], "publish needs no Flickr API call"

    (entry,) = pierrot.log_entries()
    assert entry["photo_id"] == photo.id and entry["status"] == "published" and entry["network"] == "x"
    assert entry["post_id"] == post.id and entry["post_url"] == result.stdout.strip()
    assert list((pierrot.home / "tmp").iterdir()) == [], "the downloaded image is removed"

    history = pierrot("history")
    assert history.returncode == 0 and photo.id in history.stdout and "published" in history.stdout


def test_dry_run_calls_no_x_and_writes_nothing(
    pierrot: Pierrot, flickr: FlickrFake, images: ImageHost, x: XFake
) -> None:
    flickr.populate(4)
    assert pierrot("sync").returncode == 0
    assert pierrot("publish").returncode == 0  # so the log exists and must stay as it is
    before = pierrot.snapshot()
    x.calls.clear()
    output = pierrot.home / "kept"
    no_x = {
        name: None
        for name in (
            "PIERROT_X_API_KEY",
            "PIERROT_X_API_SECRET",
            "PIERROT_X_ACCESS_TOKEN",
            "PIERROT_X_ACCESS_TOKEN_SECRET",
        )
    }

    result = pierrot("publish", "--dry-run", "--output", str(output), env=no_x)

    assert result.returncode == 0, result
    assert x.calls == []
    assert pierrot.snapshot() == before
    assert "dry run: nothing was posted or written" in result.stdout
    chosen = re.search(r"^photo:\s+(\d+)\s", result.stdout, re.M)
    assert chosen, result.stdout
    assert chosen.group(1) not in {e["photo_id"] for e in pierrot.log_entries()}
    assert re.search(r"^size:\s+h \(1600x1067\), 3,145,728 bytes$", result.stdout, re.M), result.stdout
    (kept,) = output.iterdir()
    assert kept.read_bytes() == jpeg(3 * MIB, f"pierrot-e2e photo={chosen.group(1)} size=h".encode(), (1600, 1067))
    assert images.requested("h")


def test_publish_exits_3_when_nothing_is_left(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    missing = pierrot("publish")
    assert missing.returncode == 3, missing
    assert "pierrot sync" in missing.stderr

    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    assert pierrot("publish").returncode == 0
    assert pierrot("publish").returncode == 0

    result = pierrot("publish")

    assert result.returncode == 3, result
    assert result.stderr.count("\n") == 1 and "every photo in the catalogue (2) has been published" in result.stderr
    assert len(x.posts) == 2
    assert_never_posted_twice(x, pierrot.log_entries())


def test_free_account_sizes_fall_back_to_1024(
    pierrot: Pierrot, flickr: FlickrFake, images: ImageHost, x: XFake
) -> None:
    flickr.populate(2)
    images.forbidden = {"k", "h"}  # free accounts: nothing above 1024 px since May 2025
    images.sizes["k"] = 2 * MIB  # small enough, so only the 403 makes it fall back
    assert pierrot("sync").returncode == 0

    result = pierrot("publish")

    assert result.returncode == 0, result
    assert [(r.label, r.status) for r in images.requests] == [("k", 403), ("h", 403), ("l", 200)]
    (upload,) = x.uploads.values()
    assert upload.label == "l" and upload.nbytes == 400_000


def test_an_oversized_image_without_a_length_is_cut_off_while_streaming(
    pierrot: Pierrot, flickr: FlickrFake, images: ImageHost, x: XFake
) -> None:
    flickr.populate(1)
    images.send_length = False
    images.sizes["h"] = 5 * MIB + 1
    assert pierrot("sync").returncode == 0

    result = pierrot("publish")

    assert result.returncode == 0, result
    assert [r.label for r in images.requests] == ["k", "h", "l"]
    (upload,) = x.uploads.values()
    assert upload.label == "l"


def test_check_passes_against_the_fakes(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    flickr.populate(2)

    result = pierrot("check")

    assert result.returncode == 0, result
    assert "@someone_photos" in result.stdout
    assert [c.path for c in x.calls] == ["/2/users/me"]


def test_s3_store_sync_and_publish(pierrot: Pierrot, bucket: Bucket, flickr: FlickrFake, x: XFake) -> None:
    flickr.populate(520, videos=1)

    first = pierrot("sync")
    flickr.calls.clear()
    again = pierrot("sync")
    published = pierrot("publish")

    assert first.returncode == 0, first
    assert again.returncode == 0 and len(flickr.calls) == 1, again
    assert published.returncode == 0, published
    assert bucket.doc(META)["total"] == 519
    assert [p["id"] for p in bucket.doc(CATALOGUE)["photos"]] == fake_photo_ids(flickr)
    (post,) = x.posts
    (entry,) = bucket.log_entries()
    assert entry["status"] == "published" and entry["post_id"] == post.id
    assert [entry["photo_id"]] == post.photo_ids
    assert not (pierrot.home / "store").exists() and not (pierrot.home / "data" / "pierrot").exists()
