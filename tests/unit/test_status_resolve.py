"""service.status, service.history and service.resolve: what a user sees and how they settle an unclear post."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

import pytest

from pierrot import service
from pierrot.adapters.networks.x.text import RULES as X_RULES
from pierrot.domain import (
    CATALOGUE_DOCUMENT,
    FAILED,
    LOG_DOCUMENT,
    META_DOCUMENT,
    PENDING,
    PUBLISHED,
    UNKNOWN,
    Catalogue,
    Filters,
    LogEntry,
    Photo,
    PublishLog,
)
from pierrot.errors import EXIT_USAGE, ConflictError, NothingToPublish, UsageError
from tests.fakes import FakeFetcher, FakeFlickr, FakePublisher, FakeStore, failing_store_writes, make_photo

NSID = "12345678@N00"
T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
LEASE = 900


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(photo: Photo, status: str, *, seconds: float = 0, network: str = "x", **fields: Any) -> dict[str, Any]:
    return LogEntry(
        photo.id, network, status, f"run-{photo.id}-{seconds}", stamp(seconds), stamp(seconds), **fields
    ).to_doc()


def make_store(items: Sequence[Photo] | None, entries: Sequence[dict[str, Any]] = ()) -> FakeStore:
    store = FakeStore()
    if items is not None:
        store.put(CATALOGUE_DOCUMENT, Catalogue(NSID, list(items)).to_doc())
    if entries:
        store.put(LOG_DOCUMENT, {"version": 1, "entries": list(entries)})
    return store


def log_of(store: FakeStore) -> PublishLog:
    return PublishLog.from_doc(store.doc(LOG_DOCUMENT))


def publish(store: FakeStore, seconds: float = 0, **options: Any) -> service.PublishReport:
    return service.publish(
        store,
        FakeFetcher(),
        lambda network: FakePublisher(),
        service.PublishOptions(**{"networks": (service.NetworkOptions(X_RULES),), **options}),
        now=lambda: at(seconds),
        rng=random.Random(0),
        sleep=lambda s: None,
    )


ITEMS = [make_photo(n) for n in range(1, 7)]


# --- status -----------------------------------------------------------------------------------------


def test_status_counts_the_catalogue_and_the_log() -> None:
    store = make_store(
        [*ITEMS, make_photo(9, media="video")],
        [
            entry(ITEMS[0], PUBLISHED, seconds=-7200, post_id="11"),
            entry(ITEMS[1], UNKNOWN, seconds=-3600),
            entry(ITEMS[2], FAILED, seconds=-1800),
            entry(ITEMS[3], PENDING, seconds=-60),
            entry(ITEMS[4], PUBLISHED, seconds=-600, network="bluesky"),
        ],
    )
    store.put(META_DOCUMENT, {"version": 1, "total": 7, "last_sync": "2025-06-01T06:00:00Z"})

    status = service.status(store, Filters(), networks=("x",), now=lambda: T0)

    assert status.photos == 6  # videos are not photos
    assert (status.published, status.unknown, status.failed) == (1, 1, 1)
    assert status.remaining == 3  # the failed one and the two never tried; bluesky does not count for x
    assert status.pending == [{"photo_id": ITEMS[3].id, "network": "x", "since": stamp(-60), "age_seconds": 60}]
    assert status.last_sync == "2025-06-01T06:00:00Z"
    assert status.last_publish == stamp(-7200)
    assert status.catalogue_present
    assert status.store == store.location
    assert store.writes == []
    assert status.to_dict()["remaining"] == 3


def test_status_of_another_network_counts_its_own_entries() -> None:
    store = make_store(ITEMS, [entry(ITEMS[0], PUBLISHED), entry(ITEMS[1], PUBLISHED, network="bluesky")])

    status = service.status(store, Filters(), network="bluesky", now=lambda: T0)

    assert (status.published, status.remaining) == (1, 5)


def test_status_remaining_follows_the_filters() -> None:
    items = [make_photo(1, tags=("sea",)), make_photo(2, tags=("sea",)), make_photo(3, tags=("dune",))]
    store = make_store(items, [entry(items[0], PUBLISHED)])

    status = service.status(store, Filters(include_tags=("sea",)), now=lambda: T0)

    assert (status.photos, status.published, status.remaining) == (3, 1, 1)


def test_status_of_an_empty_store() -> None:
    store = FakeStore()

    status = service.status(store, Filters(), now=lambda: T0)

    assert not status.catalogue_present
    assert (status.photos, status.published, status.remaining, status.pending) == (0, 0, 0, [])
    assert status.last_sync is None and status.last_publish is None
    assert store.writes == []


def test_status_after_sync_and_publish() -> None:
    store, source = FakeStore(), FakeFlickr(ITEMS)
    service.sync(store, source, NSID, now=lambda: T0)
    publish(store)

    status = service.status(store, Filters(), now=lambda: at(60))

    assert (status.photos, status.published, status.remaining) == (6, 1, 5)
    assert status.last_sync == stamp(0)
    assert status.pending == []


# --- history ----------------------------------------------------------------------------------------


def test_history_lists_the_log_newest_first_with_titles() -> None:
    items = [make_photo(1, title="Harbour"), make_photo(2, title="Dune")]
    store = make_store(
        items,
        [
            entry(items[0], FAILED, seconds=-100, reason="429 too many requests"),
            entry(items[1], PUBLISHED, seconds=-50, post_id="22", post_url="https://x.com/i/web/status/22"),
            entry(items[0], PUBLISHED, seconds=-10, post_id="33", title="Harbour at dusk"),
        ],
    )

    history = service.history(store)

    assert [(h.photo_id, h.status) for h in history] == [
        (items[0].id, PUBLISHED),
        (items[1].id, PUBLISHED),
        (items[0].id, FAILED),
    ]
    assert history[0].title == "Harbour at dusk"  # what was posted, even if the title changed since
    assert history[1].title == "Dune"  # from the catalogue when the entry has none
    assert history[1].post_url == "https://x.com/i/web/status/22"
    assert history[2].reason == "429 too many requests"
    assert [h.photo_id for h in service.history(store, limit=1)] == [items[0].id]
    assert store.writes == []


def test_history_works_without_a_readable_catalogue() -> None:
    store = make_store(None, [entry(ITEMS[0], PUBLISHED)])
    store.put_text(CATALOGUE_DOCUMENT, "{broken")

    assert [h.photo_id for h in service.history(store)] == [ITEMS[0].id]


# --- resolve ----------------------------------------------------------------------------------------


def test_resolving_an_unknown_post_as_posted_records_it_published() -> None:
    store = make_store(ITEMS[:1], [entry(ITEMS[0], UNKNOWN, seconds=-3600)])

    settled = service.resolve(store, ITEMS[0].id, posted="1234567890", network="x", now=lambda: T0,
                              post_url="https://x.com/i/web/status/1234567890")  # as the CLI gives it

    assert settled.status == PUBLISHED
    assert settled.post_id == "1234567890"
    assert settled.post_url == "https://x.com/i/web/status/1234567890"
    assert settled.updated_at == stamp(-3600)  # the attempt's time: when it was posted
    assert settled.resolved_at == stamp(0)
    (recorded,) = log_of(store).entries
    assert recorded == settled
    with pytest.raises(NothingToPublish):
        publish(store, 60)


def test_resolving_an_unknown_post_as_not_posted_makes_the_photo_eligible_again() -> None:
    store = make_store(ITEMS[:1], [entry(ITEMS[0], UNKNOWN, seconds=-3600)])
    with pytest.raises(NothingToPublish):
        publish(store, 0)

    settled = service.resolve(store, ITEMS[0].id, posted=None, network="x", now=lambda: T0)

    assert settled.status == FAILED
    assert settled.reason and "not posted" in settled.reason
    assert publish(store, 60).photo.id == ITEMS[0].id


def test_a_stale_pending_entry_can_be_resolved() -> None:
    store = make_store(ITEMS[:1], [entry(ITEMS[0], PENDING, seconds=-LEASE - 1)])

    assert service.resolve(store, ITEMS[0].id, posted="42", network="x", now=lambda: T0).status == PUBLISHED


def test_a_live_pending_entry_cannot_be_resolved() -> None:
    store = make_store(ITEMS[:1], [entry(ITEMS[0], PENDING, seconds=-60)])

    with pytest.raises(UsageError, match="may still be running") as caught:
        service.resolve(store, ITEMS[0].id, posted=None, network="x", now=lambda: T0)

    assert caught.value.exit_code == EXIT_USAGE
    assert store.writes == []


@pytest.mark.parametrize("status", [PUBLISHED, FAILED])
def test_only_an_unclear_entry_can_be_resolved(status: str) -> None:
    store = make_store(ITEMS[:1], [entry(ITEMS[0], status, post_id="7" if status == PUBLISHED else None)])

    with pytest.raises(UsageError, match="nothing to resolve"):
        service.resolve(store, ITEMS[0].id, posted="42", network="x", now=lambda: T0)

    assert store.writes == []


def test_resolving_a_photo_never_attempted_is_a_usage_error() -> None:
    store = make_store(ITEMS, [entry(ITEMS[0], UNKNOWN)])

    with pytest.raises(UsageError, match="no entry"):
        service.resolve(store, ITEMS[1].id, posted=None, network="x", now=lambda: T0)
    with pytest.raises(UsageError, match="no entry"):
        service.resolve(FakeStore(), ITEMS[1].id, posted=None, network="x", now=lambda: T0)


def test_resolve_settles_the_latest_attempt_on_the_given_network_only() -> None:
    store = make_store(
        ITEMS[:1],
        [
            entry(ITEMS[0], FAILED, seconds=-7200),
            entry(ITEMS[0], UNKNOWN, seconds=-3600),
            entry(ITEMS[0], UNKNOWN, seconds=-3000, network="bluesky"),
        ],
    )

    service.resolve(store, ITEMS[0].id, posted=None, network="bluesky", now=lambda: T0)

    assert [(e.network, e.status) for e in log_of(store).entries] == [
        ("x", FAILED),
        ("x", UNKNOWN),
        ("bluesky", FAILED),
    ]
    service.resolve(store, ITEMS[0].id, posted="5", network="x", now=lambda: T0)
    assert [(e.network, e.status) for e in log_of(store).entries] == [
        ("x", FAILED),
        ("x", PUBLISHED),
        ("bluesky", FAILED),
    ]


def test_resolve_retries_when_another_run_writes_the_log_in_between() -> None:
    store = make_store(ITEMS, [entry(ITEMS[0], UNKNOWN, seconds=-3600)])
    failing_store_writes(store, at={1, 2}, error=ConflictError(LOG_DOCUMENT))

    settled = service.resolve(store, ITEMS[0].id, posted="9", network="x", now=lambda: T0)

    assert settled.status == PUBLISHED
    assert log_of(store).entries[0].status == PUBLISHED


def test_resolve_keeps_a_concurrent_publish_entry() -> None:
    store = make_store(ITEMS, [entry(ITEMS[0], UNKNOWN, seconds=-3600)])
    another = entry(ITEMS[1], PUBLISHED, seconds=-5, post_id="77")

    def a_publish_lands_first(name: str, doc: Any) -> None:
        store.before_write = None
        current = store.doc(LOG_DOCUMENT)
        store.put(LOG_DOCUMENT, {**current, "entries": [*current["entries"], another]})

    store.before_write = a_publish_lands_first
    service.resolve(store, ITEMS[0].id, posted=None, network="x", now=lambda: T0)

    assert [(e.photo_id, e.status) for e in log_of(store).entries] == [
        (ITEMS[0].id, FAILED),
        (ITEMS[1].id, PUBLISHED),
    ]


def test_a_post_refused_as_duplicate_content_can_be_settled_as_not_posted() -> None:
    store = make_store(ITEMS[:1], [entry(ITEMS[0], PUBLISHED, reason="X refused it as duplicate content")])

    settled = service.resolve(store, ITEMS[0].id, posted=None, network="x", now=lambda: T0)

    assert settled.status == FAILED
    assert publish(store, 60).photo.id == ITEMS[0].id
