"""service.publish with fakes: choosing, composing, the publish log, and the at-most-once invariant."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from pierrot.domain import (
    FAILED,
    LOG_DOCUMENT,
    PENDING,
    PUBLISHED,
    UNKNOWN,
    Filters,
    Photo,
)
from pierrot.errors import (
    EXIT_FAILURE,
    EXIT_NOTHING_TO_PUBLISH,
    EXIT_USAGE,
    AnotherRunActive,
    ConflictError,
    DocumentError,
    DuplicatePost,
    ImageError,
    NothingToPublish,
    PostOutcomeUnknown,
    PostRefused,
    PublishError,
    StoreError,
    UsageError,
)
from pierrot.ports import Attempt, DocumentStore, Publisher, Versioned
from tests.fakes import (
    LEASE,
    Crash,
    FakeFetcher,
    FakePublisher,
    FakeStore,
    at,
    failing_store_writes,
    failure_of,
    log_of,
    make_photo,
    make_store,
    photos,
    publish_on_x,
    x_entry,
)


def statuses(store: FakeStore) -> dict[str, str]:
    """The latest status of each photo in the log."""
    return {e.photo_id: e.status for e in log_of(store).entries}


def never_called() -> Publisher:
    pytest.fail("the publisher must not be created")


# --- the happy path -------------------------------------------------------------------------------


def test_publish_posts_one_photo_with_alt_text_and_records_it() -> None:
    store = make_store(photos(1))
    publisher = FakePublisher()

    report = publish_on_x(store, publisher)

    assert report.results[0].post is not None
    assert publisher.accepted == [(report.results[0].post.id, "Photo 1")]
    assert report.results[0].post.url == f"https://x.com/i/web/status/{report.results[0].post.id}"
    assert publisher.alt_texts == [(publisher.uploads[0], "Photo 1. Seen from pier 1")]
    assert publisher.calls == ["upload", "alt_text", "post"]
    (entry,) = log_of(store).entries
    assert (entry.photo_id, entry.network, entry.status) == (make_photo(1).id, "x", PUBLISHED)
    assert entry.post_id == report.results[0].post.id
    assert entry.post_url == report.results[0].post.url
    assert entry.started_at == "2025-06-01T12:00:00Z"
    assert report.results[0].text == "Photo 1"
    assert report.results[0].length == 7
    assert (report.results[0].image.size_label, report.results[0].image.nbytes) == ("k", 2052)


def test_the_image_is_a_temporary_file_removed_afterwards() -> None:
    store, fetcher = make_store(photos(1)), FakeFetcher()

    publish_on_x(store, FakePublisher(), fetcher=fetcher)

    assert fetcher.paths and not any(p.exists() for p in fetcher.paths)


def test_alt_text_can_be_switched_off() -> None:
    store, publisher = make_store(photos(1)), FakePublisher()

    report = publish_on_x(store, publisher, alt_text=False)

    assert "alt_text" not in publisher.calls
    assert report.results[0].alt_text is None


def test_templates_shape_the_text_and_the_link_is_opt_in() -> None:
    store, publisher = make_store(photos(1)), FakePublisher()

    report = publish_on_x(store, publisher, template="{title} ({year})", link=True)

    assert report.results[0].text == f"Photo 1 (2024)\n{make_photo(1).page_url}"
    assert publisher.accepted[0][1] == report.results[0].text


def test_a_second_publish_posts_a_different_photo() -> None:
    store, publisher = make_store(photos(2)), FakePublisher()

    publish_on_x(store, publisher, seed=1)
    publish_on_x(store, publisher, now=at(60), seed=1)

    assert sorted(text for _, text in publisher.accepted) == ["Photo 1", "Photo 2"]
    assert set(statuses(store).values()) == {PUBLISHED}


# --- choosing ---------------------------------------------------------------------------------------


def test_the_choice_is_uniform_among_eligible_photos_only() -> None:
    items = photos(6)
    store = make_store(
        items,
        [
            x_entry(items[0], PUBLISHED),
            x_entry(items[1], UNKNOWN),
            x_entry(items[2], PENDING, seconds=-10 * LEASE),  # a dead run's claim
            x_entry(items[3], FAILED),  # a refused post may be tried again
        ],
    )

    chosen = Counter(publish_on_x(store, seed=seed, dry_run=True).photo.id for seed in range(600))

    assert set(chosen) == {items[3].id, items[4].id, items[5].id}
    assert all(150 <= n <= 250 for n in chosen.values()), chosen  # about 200 each


def test_the_choice_follows_the_random_source() -> None:
    store = make_store(photos(20))

    first = [publish_on_x(store, seed=seed, dry_run=True).photo.id for seed in range(5)]
    again = [publish_on_x(store, seed=seed, dry_run=True).photo.id for seed in range(5)]

    assert first == again
    assert len(set(first)) > 1


def test_videos_are_never_chosen() -> None:
    store = make_store([make_photo(1, media="video"), make_photo(2)])

    assert {publish_on_x(store, seed=seed, dry_run=True).photo.id for seed in range(30)} == {make_photo(2).id}


def tagged(n: int, **fields: Any) -> Photo:
    return make_photo(n, **fields)


FILTER_CASES = {
    "include tags": (Filters(include_tags=("Sea",)), 2),
    "exclude tags": (Filters(exclude_tags=("harbour", "night")), 3),
    "taken after": (Filters(taken_after=dt.date(2023, 1, 1)), 4),
    "taken before": (Filters(taken_before=dt.date(2001, 1, 1)), 1),
    "uploaded after": (Filters(uploaded_after=dt.date(2022, 1, 1)), 5),
    "licenses": (Filters(licenses=("9",)), 6),
}


@pytest.mark.parametrize("case", list(FILTER_CASES))
def test_filters_select_the_matching_photo(case: str) -> None:
    items = [
        tagged(1, date_taken="2000-05-01 10:00:00", tags=("night",)),
        tagged(2, tags=("sea", "harbour"), date_taken="2010-01-01 00:00:00"),
        tagged(3, tags=("dune",), date_taken="2011-01-01 00:00:00"),
        tagged(4, tags=("night",), date_taken="2024-06-09 19:12:44"),
        tagged(5, tags=("night",), date_taken="2012-01-01 00:00:00", date_uploaded=1_700_000_000),
        tagged(6, tags=("night",), date_taken="2013-01-01 00:00:00", license="9"),
    ]
    filters, expected = FILTER_CASES[case]
    store = make_store(items)

    chosen = {publish_on_x(store, seed=seed, dry_run=True, filters=filters).photo.id for seed in range(20)}

    assert chosen == {make_photo(expected).id}


def test_photo_option_publishes_that_photo() -> None:
    items = photos(5)
    store, publisher = make_store(items), FakePublisher()

    report = publish_on_x(store, publisher, photo_id=items[3].id)

    assert report.photo.id == items[3].id
    assert publisher.accepted[0][1] == "Photo 4"


def test_photo_option_ignores_filters() -> None:
    items = photos(2)
    store = make_store(items)

    report = publish_on_x(store, FakePublisher(), photo_id=items[0].id, filters=Filters(include_tags=("absent",)))

    assert report.photo.id == items[0].id


def test_photo_option_must_name_a_photo_in_the_catalogue() -> None:
    store, publisher = make_store(photos(2)), FakePublisher()

    with pytest.raises(UsageError, match="not in the catalogue") as caught:
        publish_on_x(store, publisher, photo_id="123")

    assert caught.value.exit_code == EXIT_USAGE
    assert publisher.calls == [] and store.writes == []


def test_photo_option_refuses_a_video() -> None:
    store = make_store([make_photo(1, media="video")])

    with pytest.raises(UsageError, match="video"):
        publish_on_x(store, FakePublisher(), photo_id=make_photo(1).id)


@pytest.mark.parametrize("status", [PUBLISHED, UNKNOWN])
def test_photo_option_needs_force_for_a_photo_already_posted(status: str) -> None:
    items = photos(2)
    store, publisher = make_store(items, [x_entry(items[0], status)]), FakePublisher()

    with pytest.raises(UsageError, match="--force") as caught:
        publish_on_x(store, publisher, photo_id=items[0].id)
    assert caught.value.exit_code == EXIT_USAGE
    assert publisher.accepted == []

    publish_on_x(store, publisher, photo_id=items[0].id, force=True)
    assert [text for _, text in publisher.accepted] == ["Photo 1"]


def test_photo_option_retries_a_failed_photo_without_force() -> None:
    items = photos(2)
    store, publisher = make_store(items, [x_entry(items[0], FAILED)]), FakePublisher()

    publish_on_x(store, publisher, photo_id=items[0].id)

    assert statuses(store)[items[0].id] == PUBLISHED


def test_entries_of_another_network_neither_block_nor_count() -> None:
    items = photos(1)
    other = {**x_entry(items[0], PUBLISHED), "network": "bluesky"}
    claim = {**x_entry(items[0], PENDING, seconds=-60), "network": "bluesky", "run_id": "bluesky-run"}
    store, publisher = make_store(items, [other, claim]), FakePublisher()

    report = publish_on_x(store, publisher)

    assert report.photo.id == items[0].id
    assert [(e.network, e.status) for e in log_of(store).entries] == [
        ("bluesky", PUBLISHED),
        ("bluesky", PENDING),
        ("x", PUBLISHED),
    ]


# --- nothing to publish -----------------------------------------------------------------------------


def nothing_reason(store: FakeStore, **options: Any) -> str:
    with pytest.raises(NothingToPublish) as caught:
        publish_on_x(store, FakePublisher(), **options)
    assert caught.value.exit_code == EXIT_NOTHING_TO_PUBLISH
    assert store.writes == []
    return str(caught.value)


def test_nothing_to_publish_says_why() -> None:
    items = photos(2)
    missing = nothing_reason(make_store(None))
    empty = nothing_reason(make_store([]))
    all_done = nothing_reason(make_store(items, [x_entry(p, PUBLISHED) for p in items]))
    filtered = nothing_reason(make_store(items), filters=Filters(include_tags=("absent",)))

    assert "pierrot sync" in missing and "missing" in missing
    assert "pierrot sync" in empty and "empty" in empty
    assert "published" in all_done and "pierrot sync" not in all_done
    assert "filters" in filtered
    assert len({missing, empty, all_done, filtered}) == 4


def test_unknown_photos_count_as_done_for_the_reason() -> None:
    items = photos(2)
    reason = nothing_reason(make_store(items, [x_entry(items[0], PUBLISHED), x_entry(items[1], UNKNOWN)]))

    assert "filters" not in reason


def test_a_corrupt_publish_log_is_refused_and_left_alone() -> None:
    store = make_store(photos(2))
    store.put_text(LOG_DOCUMENT, '{"version": 1, "entries": [')

    with pytest.raises(DocumentError, match=LOG_DOCUMENT):
        publish_on_x(store, FakePublisher())

    assert store.writes == []
    assert store.docs[LOG_DOCUMENT][0] == '{"version": 1, "entries": ['


# --- dry run ----------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_never_creates_a_publisher(tmp_path: Path) -> None:
    items = photos(3)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-2 * LEASE)])
    before = store.snapshot()
    fetcher = FakeFetcher()

    report = publish_on_x(store, never_called, fetcher=fetcher, dry_run=True, output_dir=tmp_path / "out")

    assert store.writes == []
    assert store.snapshot() == before  # not even the stale entry is settled
    assert report.dry_run and report.results[0].post is None
    assert report.photo.id != items[0].id
    assert report.results[0].text == report.photo.title
    assert report.results[0].alt_text == f"{report.photo.title}. {report.photo.description}"
    assert fetcher.fetched == [report.photo.id]  # a broken URL shows up now
    assert report.saved_to is not None and report.saved_to.read_bytes()[:3] == b"\xff\xd8\xff"


def test_dry_run_needs_no_publisher_at_all() -> None:
    report = publish_on_x(make_store(photos(1)), None, dry_run=True)

    assert report.results[0].post is None


# --- the publish log protocol -----------------------------------------------------------------------


def test_a_live_pending_entry_means_another_run_is_active() -> None:
    items = photos(3)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-60)])
    publisher, fetcher = FakePublisher(), FakeFetcher()

    with pytest.raises(AnotherRunActive, match="another publish") as caught:
        publish_on_x(store, publisher, fetcher=fetcher)

    assert caught.value.exit_code == EXIT_FAILURE
    assert publisher.calls == [] and publisher.accepted == []
    assert fetcher.calls == 0
    assert store.writes == []


def test_a_stale_pending_entry_is_marked_unknown_and_another_photo_posted() -> None:
    items = photos(2)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-LEASE - 1)])
    publisher = FakePublisher()

    report = publish_on_x(store, publisher, seed=0)

    assert report.photo.id == items[1].id
    assert statuses(store) == {items[0].id: UNKNOWN, items[1].id: PUBLISHED}
    stale = log_of(store).entries[0]
    assert stale.reason and "may have been posted" in stale.reason
    # and the dead run's photo is never chosen again
    with pytest.raises(NothingToPublish):
        publish_on_x(store, publisher, now=at(60))


def test_the_lease_is_configurable() -> None:
    items = photos(2)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-120)])

    publish_on_x(store, FakePublisher(), lease_seconds=60)

    assert statuses(store)[items[0].id] == UNKNOWN


def test_a_refused_post_is_recorded_failed_and_tried_again_later() -> None:
    store, publisher = make_store(photos(1)), FakePublisher()
    publisher.fail_at["post"] = PostRefused("X says: too many requests (resets at 13:00)", status=429)

    failure = failure_of(publish_on_x(store, publisher))
    assert isinstance(failure, PostRefused) and 'too many requests' in str(failure)

    (entry,) = log_of(store).entries
    assert entry.status == FAILED
    assert entry.reason and "too many requests" in entry.reason
    assert publisher.accepted == []

    del publisher.fail_at["post"]
    report = publish_on_x(store, publisher, now=at(60))

    assert report.results[0].post is not None
    assert [e.status for e in log_of(store).entries] == [FAILED, PUBLISHED]


def test_an_unclear_outcome_is_recorded_unknown_and_never_reposted_automatically() -> None:
    items = photos(1)
    store, publisher = make_store(items), FakePublisher()
    publisher.accept_then_fail = PostOutcomeUnknown("X answered 503")

    caught = failure_of(publish_on_x(store, publisher))
    assert isinstance(caught, PublishError) and 'pierrot resolve' in str(caught)

    assert caught.exit_code == EXIT_FAILURE
    assert statuses(store) == {items[0].id: UNKNOWN}
    publisher.accept_then_fail = None
    for k in range(1, 4):
        with pytest.raises(NothingToPublish):
            publish_on_x(store, publisher, now=at(k * (LEASE + 1)))
    with pytest.raises(UsageError, match="--force"):
        publish_on_x(store, publisher, photo_id=items[0].id)
    assert len(publisher.accepted) == 1


def test_an_unexpected_error_while_posting_is_recorded_unknown_at_once() -> None:
    items = photos(2)
    store, publisher = make_store(items), FakePublisher()
    publisher.fail_at["post"] = requests.ConnectionError("connection reset by peer")

    failure = failure_of(publish_on_x(store, publisher))
    assert isinstance(failure, requests.ConnectionError)

    (entry,) = log_of(store).entries
    assert entry.status == UNKNOWN
    assert entry.reason and "connection reset" in entry.reason
    # the next run need not wait for a lease: it posts the other photo
    del publisher.fail_at["post"]
    report = publish_on_x(store, publisher, now=at(60))
    assert report.photo.id != entry.photo_id


def test_a_lost_record_of_a_post_leaves_a_pending_entry_that_blocks_the_photo() -> None:
    items = photos(2)
    store, publisher = make_store(items), FakePublisher()
    failed = failing_store_writes(store, at=range(2, 100), error=StoreError("the store is down"))

    with pytest.raises(StoreError, match="never posted twice"):
        publish_on_x(store, publisher)

    assert failed and len(publisher.accepted) == 1
    posted = {p.title: p.id for p in items}[publisher.accepted[0][1]]
    assert statuses(store) == {posted: PENDING}
    store.before_write = None
    with pytest.raises(AnotherRunActive):
        publish_on_x(store, publisher, now=at(60))
    publish_on_x(store, publisher, now=at(LEASE + 1))
    assert sorted(text for _, text in publisher.accepted) == ["Photo 1", "Photo 2"]


def test_a_conflict_on_the_record_write_is_retried_so_the_post_is_recorded() -> None:
    store, publisher = make_store(photos(1)), FakePublisher()
    failing_store_writes(store, at={2, 3, 4}, error=ConflictError(LOG_DOCUMENT))

    report = publish_on_x(store, publisher)

    assert report.results[0].post is not None
    assert statuses(store) == {make_photo(1).id: PUBLISHED}


# --- the invariant: no photo is ever posted twice, every accepted post is recorded ---------------------


def _dead(name: str, doc: Any) -> None:
    raise Crash("this process was killed")


class KillablePublisher(FakePublisher):
    """A Crash in create_post kills the whole process: the handler that would record it never writes."""

    def __init__(self, accepted: list[tuple[str, str]], store: FakeStore) -> None:
        super().__init__(accepted)
        self.store = store
        self.attempted: list[str] = []

    def create_post(self, text: str, media_ids: list[str], attempt: Attempt, options: Any = None) -> Any:
        self.attempted.append(text)
        try:
            return super().create_post(text, media_ids, attempt, options)
        except Crash:
            self.store.before_write = _dead
            raise


# Sets one failure up on the store, the publisher or the fetcher; returns a check that it did happen.
Inject = Callable[[FakeStore, KillablePublisher, FakeFetcher], Callable[[], bool]]


@dataclass(frozen=True)
class Failure:
    """One way one run can go wrong; ``inject`` returns a check that it did happen."""

    name: str
    inject: Inject
    writes: int = 0  # how many store writes the run must make for the failure to happen


def at_fetch(error: BaseException) -> Inject:
    def inject(store: FakeStore, publisher: KillablePublisher, fetcher: FakeFetcher) -> Callable[[], bool]:
        fetcher.fail = error  # type: ignore[assignment]
        return lambda: fetcher.calls == 1

    return inject


def at_step(step: str, error: BaseException) -> Inject:
    def inject(store: FakeStore, publisher: KillablePublisher, fetcher: FakeFetcher) -> Callable[[], bool]:
        publisher.fail_at[step] = error
        return lambda: step in publisher.calls

    return inject


def after_acceptance(error: BaseException) -> Inject:
    def inject(store: FakeStore, publisher: KillablePublisher, fetcher: FakeFetcher) -> Callable[[], bool]:
        publisher.accept_then_fail = error
        return lambda: len(publisher.accepted) == 1

    return inject


def at_writes(numbers: Container[int], error: BaseException) -> Inject:
    def inject(store: FakeStore, publisher: KillablePublisher, fetcher: FakeFetcher) -> Callable[[], bool]:
        failed = failing_store_writes(store, at=numbers, error=error)
        return lambda: bool(failed)

    return inject


FAILURES = [
    Failure("fetch: no usable size", at_fetch(ImageError("no size of the photo could be downloaded"))),
    Failure("fetch: crash", at_fetch(Crash())),
    Failure("upload: refused", at_step("upload", PublishError("X refused the media (413)"))),
    Failure("upload: connection reset", at_step("upload", requests.ConnectionError("reset"))),
    Failure("upload: crash", at_step("upload", Crash())),
    Failure("alt text: refused", at_step("alt_text", PostRefused("X refused the alt text", status=400))),
    Failure("alt text: crash", at_step("alt_text", Crash())),
    Failure("post: rate limited", at_step("post", PostRefused("429 too many requests", status=429))),
    Failure("post: forbidden", at_step("post", PostRefused("403 forbidden", status=403))),
    Failure("post: duplicate", at_step("post", DuplicatePost("duplicate content"))),
    Failure("post: 503, not accepted", at_step("post", PostOutcomeUnknown("X answered 503"))),
    Failure("post: connection refused", at_step("post", requests.ConnectionError("refused"))),
    Failure("post: interrupted", at_step("post", KeyboardInterrupt())),
    Failure("post: killed", at_step("post", Crash())),
    Failure("accepted, then 503", after_acceptance(PostOutcomeUnknown("X answered 503"))),
    Failure("accepted, then read timeout", after_acceptance(requests.ReadTimeout("read timed out"))),
    Failure("accepted, then connection lost", after_acceptance(requests.ConnectionError("connection aborted"))),
    Failure("accepted, then interrupted", after_acceptance(KeyboardInterrupt())),
    Failure("accepted, then killed", after_acceptance(Crash())),
    *(
        Failure(f"store write {n}: {label}", at_writes({n}, error), writes=n)
        for n in (1, 2, 3)
        for label, error in (
            ("killed", Crash()),
            ("conflict", ConflictError(LOG_DOCUMENT)),
            ("outage", StoreError("the store answered 500")),
        )
    ),
    *(
        Failure(f"store down from write {n}", at_writes(range(n, 100), StoreError("the store is down")), writes=n)
        for n in (1, 2, 3)
    ),
]
# A clean log takes two writes (the claim, the outcome); settling a dead run's entry comes first and makes three.
CASES = [
    pytest.param(failure, stale, id=f"{failure.name}-{'stale entry' if stale else 'clean log'}")
    for failure in FAILURES
    for stale in (False, True)
    if failure.writes <= (3 if stale else 2)
]


def assert_invariant(
    store: FakeStore, items: Sequence[Photo], accepted: list[tuple[str, str]], *, settled: bool = True
) -> None:
    """No photo in two accepted posts; every accepted post recorded as published (with its id) or unknown.

    Until a later run has settled it (``settled=False``), a killed run's claim may still read pending."""
    by_text = {p.title: p.id for p in items}
    posted = [by_text[text] for _, text in accepted]
    twice = [pid for pid, n in Counter(posted).items() if n > 1]
    assert not twice, f"posted twice: {twice}"
    plog = log_of(store)
    for post_id, text in accepted:
        latest = plog.latest_for(by_text[text], "x")
        assert latest is not None, f"the post of {text!r} was forgotten"
        if latest.status == PENDING and not settled:
            continue
        assert latest.status == UNKNOWN or (latest.status == PUBLISHED and latest.post_id == post_id), latest


def outcome(call: Callable[[], Any]) -> BaseException | None:
    try:
        call()
    except (Exception, KeyboardInterrupt, Crash) as exc:
        return exc
    return None


@pytest.mark.parametrize(("failure", "stale"), CASES)
def test_no_photo_is_ever_posted_twice_and_no_post_is_forgotten(failure: Failure, stale: bool) -> None:
    items = photos(4)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-LEASE - 1, run_id="dead")] if stale else None)
    accepted: list[tuple[str, str]] = []
    publisher, fetcher = KillablePublisher(accepted, store), FakeFetcher()
    happened = failure.inject(store, publisher, fetcher)

    outcome(lambda: publish_on_x(store, publisher, fetcher=fetcher))

    assert happened(), f"{failure.name} was never reached"
    assert not any(p.exists() for p in fetcher.paths), "the temporary image outlived the run"
    store.before_write = None
    assert_invariant(store, items, accepted, settled=False)
    attempted = {p.id for p in items if p.title in publisher.attempted}

    # A run soon after must respect a claim the failed run may still hold.
    claimed = any(e.age(at(60)()) < LEASE for e in log_of(store).pending("x"))
    soon = outcome(lambda: publish_on_x(store, KillablePublisher(accepted, store), now=at(60)))
    assert isinstance(soon, AnotherRunActive) == claimed, soon
    assert_invariant(store, items, accepted, settled=False)

    # Later runs, each past the lease, go on until nothing is left; none posts a photo again.
    last: BaseException | None = None
    for k in range(1, 9):
        fetcher = FakeFetcher()
        later = KillablePublisher(accepted, store)
        last = outcome(partial(publish_on_x, store, later, fetcher=fetcher, now=at(k * (LEASE + 1)), seed=k))
        assert_invariant(store, items, accepted)
        assert not any(p.exists() for p in fetcher.paths)
        if last is not None:
            break
    assert isinstance(last, NothingToPublish), last
    final = statuses(store)
    assert set(final) == {p.id for p in items}
    assert set(final.values()) <= {PUBLISHED, UNKNOWN}, final
    # Only a photo that may have been posted stays unknown (the dead run's, or the one the failed run tried
    # to post); every other photo, including one whose post was refused, ends up published.
    may_be_posted = attempted | ({items[0].id} if stale else set())
    assert {pid for pid, status in final.items() if status == UNKNOWN} <= may_be_posted, final


# --- several publishes started at once ----------------------------------------------------------------


NOT_RUN = Crash("never started: the run around it made fewer writes")


def nest(store: FakeStore, runs: Sequence[Callable[[], Any]], writes: Sequence[int]) -> list[BaseException | None]:
    """Start runs[0]; run runs[i+1] whole inside the writes[i]-th store write of runs[i], before it lands."""
    level = 0
    counts = [0] * len(runs)
    results: list[BaseException | None] = [NOT_RUN] * len(runs)

    def hook(name: str, doc: Any) -> None:
        nonlocal level
        counts[level] += 1
        if level + 1 < len(runs) and counts[level] == writes[level]:
            level += 1
            try:
                results[level] = outcome(runs[level])
            finally:
                level -= 1

    store.before_write = hook
    results[0] = outcome(runs[0])
    store.before_write = None
    return results


NESTINGS = [
    pytest.param((a, b), stale, id=f"{a}-{b}-{'stale entry' if stale else 'clean log'}")
    for stale in (False, True)
    for a in range(1, 4 if stale else 3)
    for b in range(1, 4 if stale else 3)
]


@pytest.mark.parametrize(("writes", "stale"), NESTINGS)
def test_three_publishes_interleaved_at_every_write_never_post_a_photo_twice(
    writes: tuple[int, int], stale: bool
) -> None:
    items = photos(4)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-LEASE - 1, run_id="dead")] if stale else None)
    accepted: list[tuple[str, str]] = []
    # The same seed makes every run choose the same photo from the same log: the worst case.
    runs = [lambda: publish_on_x(store, FakePublisher(accepted), seed=0) for _ in range(3)]

    results = nest(store, runs, writes)

    assert results[1] is not NOT_RUN
    assert_invariant(store, items, accepted)
    assert all(r is None or r is NOT_RUN or isinstance(r, AnotherRunActive) for r in results), results
    assert len(accepted) == 1, accepted  # runs started together post once between them
    assert sum(r is None for r in results) == 1
    assert not log_of(store).pending("x"), "a finished run left a claim behind"


@pytest.mark.parametrize("stale", [False, True], ids=["clean log", "a dead run's pending entry"])
def test_a_run_that_prepared_while_another_posted_does_not_post(stale: bool) -> None:
    items = photos(4)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-LEASE - 1, run_id="dead")] if stale else None)
    accepted: list[tuple[str, str]] = []
    claim_write = 2 if stale else 1  # the outer run's pending entry
    runs = [lambda: publish_on_x(store, FakePublisher(accepted), seed=0) for _ in range(2)]

    outer, inner = nest(store, runs, [claim_write])

    assert inner is None
    assert isinstance(outer, AnotherRunActive), outer
    assert len(accepted) == 1
    assert_invariant(store, items, accepted)


class GatedStore(DocumentStore):
    """One run's view of a shared store that calls ``on_write(n)`` before its n-th write."""

    def __init__(self, inner: FakeStore, on_write: Callable[[int], None]) -> None:
        self.inner, self.on_write, self.location, self.count = inner, on_write, inner.location, 0

    def read(self, name: str) -> Versioned | None:
        return self.inner.read(name)

    def write(self, name: str, doc: Any, expected: str | None) -> str:
        self.count += 1
        self.on_write(self.count)
        return self.inner.write(name, doc, expected)


def test_a_run_whose_claim_loses_to_a_live_claim_on_another_photo_does_not_post() -> None:
    """A reads the log, B claims, A tries to claim (conflict) while B is still posting: A must stand down."""
    items = photos(4)
    store = make_store(items)
    accepted: list[tuple[str, str]] = []
    a_at_claim, a_may_go = threading.Event(), threading.Event()
    a_result: list[BaseException | None] = []

    def a_pauses_at_its_claim(n: int) -> None:
        if n == 1:
            a_at_claim.set()
            assert a_may_go.wait(timeout=10)

    def run_a() -> None:
        view = GatedStore(store, a_pauses_at_its_claim)
        a_result.append(outcome(lambda: publish_on_x(view, FakePublisher(accepted), photo_id=items[1].id)))

    a = threading.Thread(target=run_a)
    a.start()
    assert a_at_claim.wait(timeout=10)

    def b_lets_a_claim_before_recording(n: int) -> None:
        if n == 2:  # B has claimed and posted; its claim is still pending
            a_may_go.set()
            a.join(timeout=10)

    b_result = outcome(
        lambda: publish_on_x(
            GatedStore(store, b_lets_a_claim_before_recording), FakePublisher(accepted), photo_id=items[2].id
        )
    )

    assert not a.is_alive()
    assert b_result is None
    assert isinstance(a_result[0], AnotherRunActive), a_result
    assert [text for _, text in accepted] == ["Photo 3"]
    assert_invariant(store, items, accepted)


class BarrierStore(DocumentStore):
    """One run's view of a shared store: its first read of the log waits until every run has read it."""

    def __init__(self, inner: FakeStore, barrier: threading.Barrier) -> None:
        self.inner, self.barrier, self.location, self.waited = inner, barrier, inner.location, False

    def read(self, name: str) -> Versioned | None:
        found = self.inner.read(name)
        if name == LOG_DOCUMENT and not self.waited:
            self.waited = True
            self.barrier.wait(timeout=10)
        return found

    def write(self, name: str, doc: Any, expected: str | None) -> str:
        return self.inner.write(name, doc, expected)


@pytest.mark.parametrize("same_choice", [True, False], ids=["same photo", "different photos"])
@pytest.mark.parametrize("stale", [False, True], ids=["clean log", "a dead run's pending entry"])
def test_publishes_started_at_once_post_exactly_one_photo(same_choice: bool, stale: bool) -> None:
    items = photos(8)
    store = make_store(items, [x_entry(items[0], PENDING, seconds=-LEASE - 1, run_id="dead")] if stale else None)
    accepted: list[tuple[str, str]] = []
    count = 6
    barrier = threading.Barrier(count)
    results: list[BaseException | None] = [None] * count

    def run(i: int) -> None:
        view = BarrierStore(store, barrier)
        results[i] = outcome(lambda: publish_on_x(view, FakePublisher(accepted), seed=0 if same_choice else i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert not any(t.is_alive() for t in threads)
    assert len(accepted) == 1, accepted
    assert sum(r is None for r in results) == 1
    assert all(r is None or isinstance(r, AnotherRunActive) for r in results), results
    assert_invariant(store, items, accepted)
    assert not log_of(store).pending("x")
