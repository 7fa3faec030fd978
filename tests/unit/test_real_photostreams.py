"""What real photostreams do to publish: repeated titles, photos gone since the sync, a restored log, hand edits."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from pierrot import service
from pierrot.domain import FAILED, LOG_DOCUMENT, PENDING, PUBLISHED, UNKNOWN, Filters, LogEntry
from pierrot.errors import (
    EXIT_FAILURE,
    EXIT_NOTHING_TO_PUBLISH,
    EXIT_OK,
    AnotherRunActive,
    ConflictError,
    DuplicateEvent,
    ImageError,
    NothingToPublish,
    PublishError,
)
from pierrot.logs import REDACT
from tests.fakes import (
    FakeFetcher,
    FakePublisher,
    FakeStore,
    at,
    failure_of,
    log_of,
    make_photo,
    make_store,
    publish_on_x,
    x_entry,
)


def sunset_stream() -> list[Any]:
    """Six photos titled "Sunset" (four taken the same day) and two without a title, as real streams have."""
    same_day = "2019-05-12 19:00:00"
    items = [make_photo(n, title="Sunset", date_taken=same_day if n <= 4 else f"2020-0{n}-01 10:00:00",
                        description="") for n in range(1, 7)]
    items += [make_photo(n, title="", description="", date_taken="2021-03-04 09:00:00") for n in (7, 8)]
    return items


# --- 1. repeated titles -------------------------------------------------------------------------------


def test_eight_weekly_runs_on_repeated_titles_post_eight_distinct_photos() -> None:
    store, publisher = make_store(sunset_stream()), FakePublisher()

    for week in range(8):
        report = publish_on_x(store, publisher, now=at(week * 7 * 86400), seed=week)
        assert report.results[0].post is not None

    posted_texts = [text for _, text in publisher.accepted]
    assert len(posted_texts) == len(set(posted_texts)) == 8
    assert publisher.refused == []  # pierrot knew its own texts: X never had to refuse one
    entries = log_of(store).entries
    assert [e.status for e in entries] == [PUBLISHED] * 8
    assert len({e.photo_id for e in entries}) == 8
    assert all(e.post_id and e.text for e in entries)
    assert sorted(posted_texts)[:3] == ["Photo taken 4 March 2021", "Photo taken 4 March 2021 (2)", "Sunset"]
    assert "Sunset (12 May 2019)" in posted_texts
    with pytest.raises(NothingToPublish, match="every photo"):
        publish_on_x(store, publisher, now=at(9 * 7 * 86400))


def test_a_duplicate_refusal_of_a_new_photo_is_a_collision_and_a_variant_is_posted() -> None:
    store, publisher = make_store(sunset_stream()[:1]), FakePublisher()
    publisher.outside_texts.add("Sunset")  # the account posted "Sunset" before pierrot

    report = publish_on_x(store, publisher)

    assert report.results[0].post is not None
    assert publisher.refused == ["Sunset"]
    assert publisher.accepted == [(report.results[0].post.id, "Sunset (12 May 2019)")]
    assert report.results[0].text == "Sunset (12 May 2019)"
    assert any("Sunset" in w and "instead" in w for w in report.warnings)
    (entry,) = log_of(store).entries
    assert (entry.status, entry.post_id, entry.text) == (PUBLISHED, report.results[0].post.id, "Sunset (12 May 2019)")


def test_two_duplicate_refusals_record_failed_exit_1_and_the_photo_stays_eligible() -> None:
    store, publisher = make_store(sunset_stream()[:1]), FakePublisher()
    publisher.outside_texts |= {"Sunset", "Sunset (12 May 2019)"}

    caught = failure_of(publish_on_x(store, publisher))
    assert isinstance(caught, PublishError) and 'duplicate' in str(caught)

    assert caught.exit_code == EXIT_FAILURE
    assert publisher.accepted == []
    (entry,) = log_of(store).entries
    assert entry.status == FAILED and entry.post_id is None
    # The next run knows X has that text, and gets past it within its one retry.
    report = publish_on_x(store, publisher, now=at(3600))
    assert report.results[0].post is not None and report.results[0].text == "Sunset (2)"
    assert service.status(store, Filters()).published == 1


def test_a_duplicate_answer_settles_an_earlier_unknown_attempt_as_published() -> None:
    photo = sunset_stream()[0]
    earlier = dict(x_entry(photo, UNKNOWN), text="Sunset", reason="X answered 503")
    store, publisher = make_store([photo], [earlier]), FakePublisher()
    publisher.outside_texts.add("Sunset")  # the 503'd post did go through

    report = publish_on_x(store, publisher, photo_id=photo.id, force=True, now=at(3600))

    assert publisher.refused == ["Sunset"] and publisher.accepted == []
    assert report.results[0].post is None and report.notes
    assert [e.status for e in log_of(store).entries] == [UNKNOWN, PUBLISHED]
    assert service.status(store, Filters()).published == 1


def test_texts_posted_before_pierrot_kept_texts_are_recomposed_to_avoid_them() -> None:
    items = sunset_stream()[:2]
    old = dict(x_entry(items[0], PUBLISHED), title="Sunset")  # a 0.x entry: no "text"
    store, publisher = make_store(items, [old]), FakePublisher()
    publisher.outside_texts.add("Sunset")

    report = publish_on_x(store, publisher)

    assert publisher.refused == []
    assert report.results[0].text == "Sunset (12 May 2019)"


# --- 2. photos gone since the sync ------------------------------------------------------------------


def test_photos_gone_from_flickr_are_skipped_within_the_run() -> None:
    items = [make_photo(n) for n in range(1, 5)]
    fetcher = FakeFetcher()
    fetcher.gone = {p.id for p in items[:3]}

    for seed in range(5):
        store = make_store(items)
        report = publish_on_x(store, FakePublisher(), fetcher=fetcher, seed=seed, now=at(seed))
        assert report.photo.id == items[3].id
        skipped = [w for w in report.warnings if "gone from Flickr" in w]
        assert len(skipped) == len({w.split()[1] for w in skipped}) <= 3
        assert [e.photo_id for e in log_of(store).entries] == [items[3].id]  # nothing recorded for the gone


def test_when_every_photo_is_gone_publish_says_to_sync() -> None:
    items = [make_photo(n) for n in range(1, 3)]
    store, fetcher = make_store(items), FakeFetcher()
    fetcher.gone = {p.id for p in items}

    with pytest.raises(NothingToPublish, match="pierrot sync") as caught:
        publish_on_x(store, FakePublisher(), fetcher=fetcher)

    assert caught.value.exit_code == EXIT_NOTHING_TO_PUBLISH
    assert store.doc(LOG_DOCUMENT) is None


def test_more_gone_photos_than_the_bound_fail_the_run() -> None:
    items = [make_photo(n) for n in range(1, service.MAX_PHOTO_TRIES + 10)]
    store, fetcher = make_store(items), FakeFetcher()
    fetcher.gone = {p.id for p in items}

    with pytest.raises(ImageError, match="in a row are gone"):
        publish_on_x(store, FakePublisher(), fetcher=fetcher)

    assert len({photo_id for photo_id, _ in fetcher.sizes}) == service.MAX_PHOTO_TRIES


def test_a_transient_download_failure_does_not_skip_the_photo() -> None:
    store, fetcher = make_store([make_photo(n) for n in range(1, 4)]), FakeFetcher()
    fetcher.fail = ImageError("photo 1: no size could be downloaded (k: HTTP 503, l: no answer within 30 s)")

    with pytest.raises(ImageError, match="503"):
        publish_on_x(store, FakePublisher(), fetcher=fetcher)

    assert fetcher.calls == 1


def test_a_named_photo_that_is_gone_is_an_error_not_a_substitute() -> None:
    items = [make_photo(n) for n in range(1, 3)]
    store, fetcher = make_store(items), FakeFetcher()
    fetcher.gone = {items[0].id}

    with pytest.raises(ImageError, match="gone"):
        publish_on_x(store, FakePublisher(), fetcher=fetcher, photo_id=items[0].id)


# --- 4. one rule for "posted" ---------------------------------------------------------------------


def test_a_photo_posted_then_forced_again_with_a_failure_counts_as_published() -> None:
    photo = make_photo(1)
    entries = [x_entry(photo, PUBLISHED), x_entry(photo, FAILED, seconds=60, run_id="later")]
    store = make_store([photo, make_photo(2)], entries)

    state = service.status(store, Filters())

    assert (state.published, state.failed, state.remaining) == (1, 0, 1)


def test_when_only_unknown_photos_remain_publish_points_at_resolve() -> None:
    items = [make_photo(1), make_photo(2)]
    store = make_store(items, [x_entry(items[0], PUBLISHED), x_entry(items[1], UNKNOWN)])

    with pytest.raises(NothingToPublish, match=r"1 of the 2 .*unknown.*pierrot resolve"):
        publish_on_x(store, FakePublisher())


def test_a_published_entry_without_evidence_from_pierrot_0x_counts_as_unknown() -> None:
    photo = make_photo(1)
    legacy = dict(x_entry(photo, PUBLISHED), post_id=None,
                  reason="X refused it as duplicate content: X refused the post as duplicate content (403)")
    store = make_store([photo], [legacy])

    state = service.status(store, Filters())
    assert (state.published, state.unknown) == (0, 1)
    entry = service.resolve(store, photo.id, posted=None, network="x", now=at(3600))
    assert entry.status == FAILED
    assert publish_on_x(store, FakePublisher(), now=at(7200)).results[0].post is not None


def test_resolve_keeps_the_attempt_time_and_is_idempotent_when_its_answer_is_lost() -> None:
    photo = make_photo(1)
    store = make_store([photo], [x_entry(photo, UNKNOWN, seconds=60)])
    real_write = FakeStore.write

    def lost_answer(self: FakeStore, name: str, doc: Any, expected: str | None) -> str:
        real_write(self, name, doc, expected)  # the write lands...
        raise ConflictError(name)  # ...but its retried request sees 412

    store.write = lost_answer.__get__(store)  # type: ignore[method-assign]
    entry = service.resolve(store, photo.id, posted="1234567890", network="x", now=at(86400))

    assert (entry.status, entry.post_id) == (PUBLISHED, "1234567890")
    (stored,) = log_of(store).entries
    assert stored.updated_at == stored.started_at == "2025-06-01T12:01:00Z"  # when it was posted, not resolved
    assert stored.resolved_at == "2025-06-02T12:00:00Z"
    assert service.status(store, Filters()).last_publish == "2025-06-01T12:01:00Z"
    assert service.history(store)[0].when == "2025-06-01T12:01:00Z"


# --- edges found in review ------------------------------------------------------------------------


def test_a_second_delivery_of_the_same_scheduled_event_does_not_post_again() -> None:
    store, publisher = make_store([make_photo(n) for n in range(1, 4)]), FakePublisher()
    publish_on_x(store, publisher, event_id="evt-1")

    with pytest.raises(DuplicateEvent, match="evt-1") as caught:
        publish_on_x(store, publisher, event_id="evt-1", now=at(60))

    assert caught.value.exit_code == EXIT_OK
    assert len(publisher.accepted) == 1
    assert log_of(store).entries[0].event_id == "evt-1"
    assert publish_on_x(store, publisher, event_id="evt-2", now=at(120)).results[0].post is not None


def test_a_pending_entry_dated_in_the_future_is_stale_not_a_lock_forever() -> None:
    items = [make_photo(1), make_photo(2)]
    skewed = x_entry(items[0], PENDING, seconds=30 * 86400)  # another machine's clock is a month ahead
    store, publisher = make_store(items, [skewed]), FakePublisher()

    report = publish_on_x(store, publisher)

    assert report.results[0].post is not None
    assert any("in the future" in w for w in report.warnings)
    assert log_of(store).entries[0].status == UNKNOWN


def test_a_pending_entry_a_little_ahead_is_still_a_live_run() -> None:
    items = [make_photo(1), make_photo(2)]
    store = make_store(items, [x_entry(items[0], PENDING, seconds=60)])

    with pytest.raises(AnotherRunActive, match="another publish is running"):
        publish_on_x(store, FakePublisher())


def test_the_reason_stored_for_an_unexpected_failure_is_redacted() -> None:
    REDACT.add(["s3cr3t-token-value"])
    store, publisher = make_store([make_photo(1)]), FakePublisher()
    publisher.fail_at["post"] = RuntimeError("boom with s3cr3t-token-value inside")

    failure = failure_of(publish_on_x(store, publisher))
    assert isinstance(failure, RuntimeError)

    (entry,) = log_of(store).entries
    assert entry.status == UNKNOWN
    assert entry.reason is not None and "s3cr3t" not in entry.reason and "***" in entry.reason


def test_output_never_writes_through_a_symlink_and_saves_privately(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    photo = make_photo(1)
    (out / f"{photo.id}_k.jpg").symlink_to(victim)

    report = publish_on_x(make_store([photo]), None, dry_run=True, output_dir=out)

    assert victim.read_text() == "precious"
    assert report.saved_to is not None and not report.saved_to.is_symlink()
    assert os.stat(report.saved_to).st_mode & 0o077 == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{photo.id}_k.jpg"]


def test_history_and_status_agree_on_a_clock(tmp_path: Path) -> None:
    # the timestamps used above are what the log keeps: ISO 8601 UTC with a Z
    assert LogEntry.from_doc(x_entry(make_photo(1), PUBLISHED)).updated_at.endswith("Z")
    assert dt.datetime.fromisoformat("2025-06-01T12:01:00+00:00")


def test_a_photo_with_no_size_the_network_takes_says_to_sync_in_full() -> None:
    from dataclasses import replace

    from pierrot.domain import Size

    huge = Size("o", "https://live.staticflickr.com/65535/1_o.jpg", 6000, 4000)  # over X's 2048 px
    store = make_store([replace(make_photo(1), sizes=(huge,))])

    with pytest.raises(ImageError, match=r"has no size X takes in the catalogue.*pierrot sync --full"):
        publish_on_x(store, FakePublisher())
