"""service.publish when the answer is lost twice: what counts as evidence, whose entry it is, and the lease.

Each test here is a path where a first fix still posted a photo twice or wrote over another run's record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import FAILED, LOG_DOCUMENT, PENDING, PUBLISHED, UNKNOWN, LogEntry, PublishLog
from pierrot.errors import DuplicateEvent, ImageError, PierrotError, PostRefused, PublishError, StoreError
from pierrot.ports import Attempt, Post, Settled
from pierrot.service.publish import choosing
from tests.fakes import (
    KEY,
    FakeFetcher,
    FakeStore,
    NetworkPublisher,
    at,
    by_network,
    entry,
    failure_of,
    log_of,
    make_store,
    photos,
    run,
)

# Mastodon within its key's hour: it keeps one post per key, but says nothing of whether there is one.
SAME_KEY = Settled(posted=None, same_key=True, reason="within the hour of its Idempotency-Key, Mastodon keeps one post")
# Bluesky after RecordNotFound: a definite absence.
ABSENT = Settled(posted=False, same_key=True, reason="Bluesky has no post under record key: it was not posted")


class Account(NetworkPublisher):
    """A NetworkPublisher logged into one account."""

    def __init__(self, *args: Any, account: str = "acct-1", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_id = account
        self.before_post: Callable[[str], None] | None = None

    def account(self) -> str | None:
        return self.account_id

    def create_post(self, text: str, media_ids: list[str], attempt: Attempt, options: Any = None) -> Post:
        if self.before_post is not None:
            self.before_post(self.rules.name)
        return super().create_post(text, media_ids, attempt, options)


def lost(photo: Any, network: str = "mastodon", **fields: Any) -> dict[str, Any]:
    """An attempt whose answer was lost two hours ago (T0 - 7200 s), made by account acct-1."""
    fields.setdefault("key", "5f1d7c2e9a4b4e0f8c3d2b1a09876543" if network == "mastodon" else KEY)
    fields.setdefault("media_ids", ("m-first",))
    fields.setdefault("account", "acct-1")
    return entry(photo, network, UNKNOWN, seconds=-7200, run_id="lost", reason="503 after the status was saved",
                 **fields)


def the_entry(store: FakeStore, photo_id: str, network: str = "mastodon") -> LogEntry:
    (found,) = [e for e in log_of(store).entries if e.photo_id == photo_id and e.network == network]
    return found


# ==== a resumed post: only success or "the network has it" settles it ============================


def test_a_resend_whose_image_cannot_be_fetched_leaves_the_entry_unknown() -> None:
    items = photos(3)
    store = make_store(items, [lost(items[0])])
    mastodon = Account(MASTODON, answers=[SAME_KEY])
    fetcher = FakeFetcher()
    fetcher.fail = ImageError(f"photo {items[0].id}: no size could be downloaded (k: HTTP 403)")

    raised = failure_of(run(store, [mastodon], fetcher=fetcher))
    assert isinstance(raised, PublishError) and 'stays unknown' in str(raised)

    kept = the_entry(store, items[0].id)
    assert (kept.status, kept.run_id, kept.media_ids) == (UNKNOWN, "lost", ("m-first",))
    assert mastodon.accepted == []  # and no other photo either: the interrupted post may be this run's post
    assert len(log_of(store).entries) == 1
    assert "403" in str(raised)


def test_a_resend_whose_upload_fails_leaves_the_entry_unknown_not_pending() -> None:
    items = photos(3)
    store = make_store(items, [lost(items[0])])
    mastodon = Account(MASTODON, answers=[SAME_KEY])
    mastodon.fail_at["upload"] = PublishError("Mastodon refused the upload: 503")

    failure = failure_of(run(store, [mastodon]))
    assert isinstance(failure, PublishError) and 'stays unknown' in str(failure)

    assert the_entry(store, items[0].id).status == UNKNOWN


def test_a_refused_resend_leaves_the_entry_unknown_with_every_media_id() -> None:
    items = photos(3)
    store = make_store(items, [lost(items[0])])
    mastodon = Account(MASTODON, answers=[SAME_KEY])
    mastodon.fail_at["post"] = PostRefused("Mastodon says: too many requests", status=429)

    failure = failure_of(run(store, [mastodon]))
    assert isinstance(failure, PublishError) and 'stays unknown' in str(failure)

    kept = the_entry(store, items[0].id)
    assert kept.status == UNKNOWN
    assert kept.media_ids == ("m-first", mastodon.uploads[0])  # the search a week later looks for both
    assert kept.reason and "may have been posted" in kept.reason
    assert mastodon.accepted == []


def test_after_a_definite_absence_a_photo_that_cannot_be_sent_is_failed_and_another_is_posted() -> None:
    items = photos(3)
    store = make_store(items, [lost(items[0], "bluesky")])
    bluesky = Account(BLUESKY, answers=[ABSENT])
    fetcher = FakeFetcher()
    fetcher.gone = {items[0].id}

    report = run(store, [bluesky], fetcher=fetcher)

    assert the_entry(store, items[0].id, "bluesky").status == FAILED
    assert report.results[0].post is not None and report.photo is not None and report.photo.id != items[0].id


def test_after_a_definite_absence_a_refused_resend_is_failed() -> None:
    items = photos(3)
    store = make_store(items, [lost(items[0], "bluesky")])
    bluesky = Account(BLUESKY, answers=[ABSENT])
    bluesky.fail_at["post"] = PostRefused("Bluesky says: rate limit exceeded", status=429)

    failure = failure_of(run(store, [bluesky]))
    assert isinstance(failure, PostRefused)

    assert the_entry(store, items[0].id, "bluesky").status == FAILED


# ==== the account ====================================================================================


def test_a_claim_keeps_the_account_it_posts_with() -> None:
    store = make_store(photos(2))
    mastodon = Account(MASTODON, account="109876543210")

    run(store, [mastodon])

    (made,) = log_of(store).entries
    assert made.account == "109876543210" and made.status == PUBLISHED


def test_an_entry_is_never_settled_against_another_account() -> None:
    items = photos(3)
    store = make_store(items, [lost(items[0], account="acct-1")])
    mastodon = Account(MASTODON, account="acct-2", answers=[Settled(posted=False, reason="not in acct-2's statuses")])

    report = run(store, [mastodon])

    assert mastodon.asked == []  # another account's timeline is no evidence either way
    assert the_entry(store, items[0].id).status == UNKNOWN
    assert any("acct-1" in w and "acct-2" in w for w in report.warnings)


# ==== whose entry it is: a run records only its own pending entry ===================================


def test_a_run_that_outlived_its_lease_does_not_write_over_the_run_that_took_its_entry() -> None:
    items = photos(2)
    store = make_store(items)
    mastodon = Account(MASTODON)

    def taken_over(network: str) -> None:
        # While this run's post hangs past its lease, another run marks the entry unknown and takes it back.
        plog = PublishLog.from_doc(store.doc(LOG_DOCUMENT))
        index = len(plog.entries) - 1
        store.put(LOG_DOCUMENT, plog.with_update(index, status=PENDING, run_id="the-other-run").to_doc())

    mastodon.before_post = taken_over
    raised = failure_of(run(store, [mastodon]))
    assert isinstance(raised, PublishError) and 'outlived its lease' in str(raised)

    (kept,) = log_of(store).entries
    assert (kept.status, kept.run_id) == (PENDING, "the-other-run")  # untouched: that run records it
    assert "pierrot resolve" in str(raised)


def test_a_run_that_outlived_its_lease_does_not_write_over_the_unknown_another_run_recorded() -> None:
    store = make_store(photos(2))
    mastodon = Account(MASTODON)

    def marked_unknown(network: str) -> None:
        # Past this run's lease, another run has marked its entry unknown: that run may already be asking about it.
        plog = PublishLog.from_doc(store.doc(LOG_DOCUMENT))
        store.put(LOG_DOCUMENT, plog.with_update(0, status=UNKNOWN, reason="a publish never finished").to_doc())

    mastodon.before_post = marked_unknown
    failure = failure_of(run(store, [mastodon]))
    assert isinstance(failure, PublishError) and 'outlived its lease' in str(failure)

    (kept,) = log_of(store).entries
    assert (kept.status, kept.reason) == (UNKNOWN, "a publish never finished")


def test_a_run_does_not_post_once_its_lease_has_run_out() -> None:
    store = make_store(photos(2))
    mastodon = Account(MASTODON)
    moment = [at(0)()]

    def slow_claim(name: str, doc: Any) -> None:
        if name == LOG_DOCUMENT and any(e["status"] == PENDING for e in doc["entries"]):
            moment[0] += dt.timedelta(seconds=200)  # the claim's write took longer than the whole lease

    store.before_write = slow_claim
    failure = failure_of(run(store, [mastodon], lease_seconds=100, now=lambda: moment[0]))
    assert isinstance(failure, PierrotError) and 'lease' in str(failure)

    assert mastodon.accepted == []
    (made,) = log_of(store).entries
    assert made.status == FAILED and made.reason and "lease" in made.reason


def test_recording_after_a_post_gives_up_within_the_lease_when_the_store_is_down() -> None:
    store = make_store(photos(2))
    mastodon = Account(MASTODON)
    moment = [at(0)()]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        moment[0] += dt.timedelta(seconds=seconds)

    def down_after_the_claim(name: str, doc: Any) -> None:
        if name == LOG_DOCUMENT and any(e["status"] == PUBLISHED for e in doc["entries"]):
            moment[0] += dt.timedelta(seconds=100)  # each failing write takes its time
            raise StoreError("S3 answered 503 SlowDown")

    store.before_write = down_after_the_claim
    with pytest.raises(StoreError, match="never posted twice"):
        run(store, [mastodon], lease_seconds=300, now=lambda: moment[0], sleep=sleep)

    assert mastodon.accepted  # it was posted; the entry stays pending and a later run settles it
    assert moment[0] - at(0)() <= dt.timedelta(seconds=300 + 100)  # the last write started within the lease


# ==== a second delivery of the scheduler's event ======================================================


def test_the_claim_refuses_an_event_another_delivery_handled_while_this_one_prepared() -> None:
    items = photos(3)
    store = make_store(items)
    x = NetworkPublisher(X)
    delivered = [False]

    def twin(name: str, doc: Any) -> None:
        # The same event, delivered twice: the twin claimed first (and failed on another photo).
        if name == LOG_DOCUMENT and not delivered[0]:
            delivered[0] = True
            twin_entry = entry(items[2], "x", FAILED, run_id="twin", event_id="evt-1", reason="refused")
            store.put(LOG_DOCUMENT, {"version": 1, "entries": [twin_entry]})

    store.before_write = twin
    with pytest.raises(DuplicateEvent):
        run(store, [x], event_id="evt-1")

    assert x.accepted == []
    assert [e.run_id for e in log_of(store).entries] == ["twin"]


# ==== a stream where most photos are gone ===========================================================


def test_the_search_for_a_live_photo_is_bounded_by_time_as_well_as_count(monkeypatch: pytest.MonkeyPatch) -> None:
    items = photos(40)
    store = make_store(items)
    fetcher = FakeFetcher()
    fetcher.gone = {p.id for p in items}
    clock = iter(range(0, 10_000, 2))  # every 404 costs two seconds
    monkeypatch.setattr(choosing.time, "monotonic", lambda: float(next(clock)))

    with pytest.raises(ImageError, match="in a row are gone"):
        run(store, [NetworkPublisher(X)], fetcher=fetcher)

    tried = len({photo_id for photo_id, _ in fetcher.sizes})
    assert 10 <= tried <= 20 < len(items)


def test_nine_of_ten_gone_the_run_still_posts_the_live_one() -> None:
    for seed in range(20):
        items = photos(10)
        store = make_store(items)
        fetcher = FakeFetcher()
        fetcher.gone = {p.id for p in items[1:]}
        x = NetworkPublisher(X)

        report = run(store, [x], fetcher=fetcher, seed=seed)

        assert report.photo is not None and report.photo.id == items[0].id, seed
        assert len(report.warnings) <= choosing.GONE_WARNINGS + 1
        assert by_network(store)["x"][0].status == PUBLISHED
