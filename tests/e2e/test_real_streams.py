"""The installed pierrot on photostreams shaped like real ones: repeated titles, photos gone, a restored backup."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.conftest import CATALOGUE, META, Pierrot, assert_never_posted_twice
from tests.e2e.servers import FlickrFake, ImageHost, XFake, XPost

pytestmark = pytest.mark.e2e


def test_repeated_and_missing_titles_get_eight_posts_in_eight_runs(
    pierrot: Pierrot, flickr: FlickrFake, x: XFake
) -> None:
    # Six "Sunset" (four from one evening) and two untitled: X refuses a repeated text.
    flickr.add(2, title="", taken="2021-03-04 09:00:00")
    flickr.add(2, title="Sunset", taken="2020-08-01 20:00:00")
    flickr.add(4, title="Sunset", taken="2019-05-12 19:00:00")
    assert pierrot("sync").returncode == 0

    for week in range(8):
        result = pierrot("publish")
        assert result.returncode == 0, f"week {week + 1}: {result}"

    texts = [p.text for p in x.posts]
    assert len(x.posts) == 8 and len(set(texts)) == 8, texts
    assert len(x.attempts) == 8, "pierrot knew its own texts: X never had to refuse one"
    posted = {pid for p in x.posts for pid in p.photo_ids}
    assert posted == {p.id for p in flickr.photos}
    entries = pierrot.log_entries()
    assert [e["status"] for e in entries] == ["published"] * 8
    assert sorted(e["text"] for e in entries) == sorted(texts)
    assert_never_posted_twice(x, entries)
    last = pierrot("publish")
    assert last.returncode == 3 and "every photo" in last.stderr, last


def test_a_text_x_already_has_from_outside_pierrot_is_varied_once(
    pierrot: Pierrot, flickr: FlickrFake, x: XFake
) -> None:
    flickr.add(1, title="Sunset", taken="2019-05-12 19:00:00")
    assert pierrot("sync").returncode == 0
    x.attempts.append(XPost("1", "Sunset", [], [], accepted=True))  # posted by hand, before pierrot

    result = pierrot("publish")

    assert result.returncode == 0, result
    assert [p.text for p in x.posts][-1] == "Sunset (12 May 2019)"
    assert "instead" in result.stderr
    (entry,) = pierrot.log_entries()
    assert entry["status"] == "published" and entry["post_id"] and entry["text"] == "Sunset (12 May 2019)"


def test_photos_deleted_since_the_sync_are_skipped_in_the_same_run(
    pierrot: Pierrot, flickr: FlickrFake, images: ImageHost, x: XFake
) -> None:
    made = flickr.add(4)
    assert pierrot("sync").returncode == 0
    deleted = [p.id for p in made[:3]]
    images.gone = set(deleted)
    flickr.delete(*deleted)

    result = pierrot("publish")

    assert result.returncode == 0, result
    assert [pid for p in x.posts for pid in p.photo_ids] == [made[3].id]
    skipped = [line for line in result.stderr.splitlines() if "gone from Flickr" in line]
    assert all(any(pid in line for pid in deleted) for line in skipped)
    assert [e["photo_id"] for e in pierrot.log_entries()] == [made[3].id]
    sync = pierrot("sync")
    assert sync.returncode == 0, sync
    assert [p["id"] for p in pierrot.doc(CATALOGUE)["photos"]] == [made[3].id]


def test_a_restored_catalogue_is_caught_up_by_the_next_sync(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    flickr.add(5)
    assert pierrot("sync").returncode == 0
    backup = pierrot.home / "backup.json"
    shutil.copy(pierrot.store / CATALOGUE, backup)
    flickr.add(3)
    assert pierrot("sync").returncode == 0
    shutil.copy(backup, pierrot.store / CATALOGUE)  # the user restores last week's file

    result = pierrot("sync")

    assert result.returncode == 0, result
    assert "3 added" in result.stdout and "incremental" in result.stdout
    assert len(pierrot.doc(CATALOGUE)["photos"]) == 8
    assert pierrot.doc(META)["total"] == 8
    again = pierrot("sync")
    assert "no change" in again.stdout

    (pierrot.store / CATALOGUE).write_text('{"version": 1, "nsid": "12345678@N00", "photos": []}')
    assert pierrot("publish", "--dry-run").returncode == 3  # an empty catalogue: run `pierrot sync`...
    fixed = pierrot("sync")  # ...which now rebuilds it instead of answering "no change"
    assert fixed.returncode == 0 and "8 added" in fixed.stdout, fixed
    assert pierrot("publish").returncode == 0
