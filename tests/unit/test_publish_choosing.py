"""When and what a run of several networks posts (min_interval, repost_after, prefer, jitter), and what status,
check --max-silence, history and resolve then say network by network."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pierrot import service
from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import FAILED, PENDING, PUBLISHED, UNKNOWN, Filters, Photo
from pierrot.errors import EXIT_NOTHING_TO_PUBLISH, EXIT_USAGE, NothingToPublish, PierrotError, UsageError
from tests.fakes import (
    Factory,
    NetworkPublisher,
    at,
    entry,
    log_of,
    make_photo,
    make_store,
    never_made,
    photos,
    run,
    stamp,
)

HOUR = 3600
DAY = 86400


@pytest.fixture
def local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Runs under UTC unless the test sets TZ itself; the process's zone is restored afterwards."""
    monkeypatch.setenv("TZ", "UTC0")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# ==== min_interval, network by network ================================================================


def test_a_network_posted_to_just_under_min_interval_ago_is_skipped_and_the_others_post() -> None:
    items = photos(3)
    store = make_store(items, [entry(items[0], "x", PUBLISHED, seconds=-(20 * HOUR - 1)),
                               entry(items[1], "bluesky", PUBLISHED, seconds=-30 * HOUR)])
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    factory = Factory([x, bluesky])

    report = run(store, factory, networks=[X, BLUESKY], min_interval=dt.timedelta(hours=20))

    result = {r.network: r for r in report.results}
    assert result["x"].skipped == "X: last post 19 h 59 min ago; min_interval 20 h: not posting"
    assert result["x"].post is None and result["x"].error is None
    assert result["bluesky"].skipped is None and result["bluesky"].post is not None
    assert factory.made == ["bluesky"], "no X publisher is even made"
    assert x.accepted == [] and len(bluesky.accepted) == 1
    assert [(e.network, e.status) for e in log_of(store).entries][2:] == [("bluesky", PUBLISHED)]


def test_a_network_posted_to_just_over_min_interval_ago_posts() -> None:
    items = photos(3)
    store = make_store(items, [entry(items[0], "x", PUBLISHED, seconds=-(20 * HOUR + 1))])
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    report = run(store, [x, bluesky], min_interval=dt.timedelta(hours=20))

    assert all(r.skipped is None and r.post is not None for r in report.results)
    assert len(x.accepted) == len(bluesky.accepted) == 1


def test_a_run_whose_every_network_is_within_min_interval_posts_and_writes_nothing() -> None:
    items = photos(3)
    store = make_store(items, [entry(items[0], "x", PUBLISHED, seconds=-HOUR),
                               entry(items[0], "bluesky", PUBLISHED, seconds=-HOUR)])
    before = store.snapshot()

    report = run(store, never_made, networks=[X, BLUESKY], min_interval=dt.timedelta(hours=20))

    assert [r.skipped for r in report.results] == [
        "X: last post 1 h ago; min_interval 20 h: not posting",
        "Bluesky: last post 1 h ago; min_interval 20 h: not posting",
    ]
    assert report.photo is None and report.posts == []
    assert store.snapshot() == before


def test_min_interval_counts_only_posts_with_evidence() -> None:
    items = photos(3)
    store = make_store(items, [entry(items[0], "x", UNKNOWN, seconds=-HOUR),
                               entry(items[1], "x", FAILED, seconds=-HOUR)])
    x = NetworkPublisher(X)

    report = run(store, [x], min_interval=dt.timedelta(hours=20))

    assert report.results[0].skipped is None and len(x.accepted) == 1


# ==== repost_after ====================================================================================


def all_posted_long_ago() -> tuple[list[dict[str, Any]], list[str]]:
    items = photos(2)
    entries = [entry(items[0], "x", PUBLISHED, seconds=-800 * DAY),
               entry(items[0], "bluesky", PUBLISHED, seconds=-800 * DAY),
               entry(items[1], "x", PUBLISHED, seconds=-400 * DAY),
               entry(items[1], "bluesky", PUBLISHED, seconds=-400 * DAY)]
    return entries, [p.id for p in items]


def test_with_repost_after_the_photo_posted_longest_ago_is_posted_again_its_text_varied_on_x() -> None:
    items = photos(2)
    entries, _ = all_posted_long_ago()
    store = make_store(items, entries)
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    x.outside_texts |= {items[0].title, items[1].title}  # X remembers both texts

    report = run(store, [x, bluesky], repost_after=dt.timedelta(days=365))

    assert report.photo is not None and report.photo.id == items[0].id
    assert report.rule == "repost"
    assert stamp(-800 * DAY) in report.why and "longest ago" in report.why
    assert x.refused == [], "pierrot knew X has the text and varied it first"
    (on_x,) = x.texts
    assert on_x != items[0].title and on_x.startswith(items[0].title)
    assert bluesky.texts == [items[0].title], "Bluesky takes a repeated text"
    posts = [(e.network, e.status, e.text) for e in log_of(store).entries if e.photo_id == items[0].id]
    assert posts == [("x", PUBLISHED, items[0].title), ("bluesky", PUBLISHED, items[0].title),
                     ("x", PUBLISHED, on_x), ("bluesky", PUBLISHED, items[0].title)]


def test_repost_after_waits_until_the_last_post_is_old_enough() -> None:
    items = photos(2)
    entries, _ = all_posted_long_ago()
    store = make_store(items, entries)

    with pytest.raises(NothingToPublish):
        run(store, [NetworkPublisher(X), NetworkPublisher(BLUESKY)], repost_after=dt.timedelta(days=1000))

    assert store.writes == []


def test_without_repost_after_an_exhausted_catalogue_is_nothing_to_publish_with_a_hint() -> None:
    items = photos(2)
    entries, _ = all_posted_long_ago()
    store = make_store(items, entries)

    with pytest.raises(NothingToPublish, match="repost_after") as caught:
        run(store, [NetworkPublisher(X), NetworkPublisher(BLUESKY)])

    assert caught.value.exit_code == EXIT_NOTHING_TO_PUBLISH
    assert "X and Bluesky" in str(caught.value)


# ==== prefer ===========================================================================================


def dated() -> list[Photo]:
    return [
        make_photo(1, date_taken="2015-06-01 08:00:00"),
        make_photo(2, date_taken="2020-01-15 10:00:00"),
        make_photo(3, date_taken="2019-11-03 10:00:00"),
        make_photo(4, date_taken="2018-06-02 10:00:00"),
    ]


@pytest.mark.usefixtures("local_time")
def test_prefer_anniversary_posts_the_photo_taken_this_day_to_every_network() -> None:
    items = dated()
    store = make_store(items)
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    report = run(store, [x, bluesky], prefer="anniversary", template="{title}, {years_ago}")

    assert report.photo is not None and report.photo.id == make_photo(1).id
    assert (report.rule, report.why) == ("anniversary", "taken 2015-06-01: 10 years ago today")
    assert x.texts == bluesky.texts == ["Photo 1, 10 years ago today"]
    assert report.to_dict()["rule"] == "anniversary"


@pytest.mark.usefixtures("local_time")
def test_prefer_anniversary_reads_the_day_in_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "NZST-12")  # noon UTC is already tomorrow there
    time.tzset()
    store = make_store(dated())

    report = run(store, never_made, networks=[X, BLUESKY], prefer="anniversary", dry_run=True)

    assert report.photo is not None and report.photo.id == make_photo(4).id
    assert report.rule == "anniversary"


@pytest.mark.usefixtures("local_time")
def test_prefer_anniversary_without_a_hit_falls_back_to_random_and_says_so() -> None:
    store = make_store(dated()[1:3])

    report = run(store, never_made, networks=[X, BLUESKY], prefer="anniversary", dry_run=True)

    assert report.rule == "random (no anniversary today)"


@pytest.mark.usefixtures("local_time")
def test_prefer_season_posts_a_photo_taken_in_this_month() -> None:
    items = dated()[:3]
    store = make_store(items)

    reports = [run(store, never_made, networks=[X, MASTODON], prefer="season", dry_run=True, seed=seed)
               for seed in range(10)]
    chosen = {r.photo.id for r in reports if r.photo is not None}

    assert chosen == {make_photo(1).id}
    assert {(r.rule, r.why) for r in reports} == {("season", "taken in June 2015")}


def test_prefer_random_chooses_among_the_photos_eligible_on_every_network() -> None:
    items = photos(5)
    store = make_store(items, [entry(items[0], "x", PUBLISHED), entry(items[1], "bluesky", UNKNOWN)])

    report = run(store, never_made, networks=[X, BLUESKY], dry_run=True)

    assert (report.rule, report.why) == ("random", "uniform among 3 eligible photos")


def test_prefer_anniversary_skips_photos_already_on_one_of_the_networks(local_time: None) -> None:
    items = dated()
    store = make_store(items, [entry(items[0], "bluesky", PUBLISHED, seconds=-DAY)])

    report = run(store, never_made, networks=[X, BLUESKY], prefer="anniversary", dry_run=True)

    assert report.photo is not None and report.photo.id != make_photo(1).id
    assert report.rule.startswith("anniversary (near)"), report.rule  # the 2 June one, a day away


# ==== jitter ============================================================================================


def test_jitter_sleeps_a_random_time_within_it_before_choosing() -> None:
    waits: list[float] = []
    for seed in range(20):
        store = make_store(photos(2))
        run(store, [NetworkPublisher(X), NetworkPublisher(BLUESKY)], jitter=dt.timedelta(minutes=45), seed=seed,
            sleep=waits.append)
    assert len(waits) == 20
    assert all(0 <= w <= 45 * 60 for w in waits)
    assert len(set(waits)) == 20


def test_a_dry_run_never_sleeps_and_no_jitter_means_no_sleep() -> None:
    waits: list[float] = []
    store = make_store(photos(2))

    run(store, never_made, networks=[X, BLUESKY], jitter=dt.timedelta(minutes=45), dry_run=True, sleep=waits.append)
    run(store, [NetworkPublisher(X), NetworkPublisher(BLUESKY)], sleep=waits.append)

    assert waits == []


# ==== status, check --max-silence, history, resolve ======================================================


def busy_log() -> tuple[list[Photo], list[dict[str, Any]]]:
    items = photos(6)
    return items, [
        entry(items[0], "x", PUBLISHED, seconds=-3 * HOUR),
        entry(items[0], "bluesky", PUBLISHED, seconds=-2 * HOUR),
        entry(items[1], "x", PUBLISHED, seconds=-HOUR),
        entry(items[2], "bluesky", UNKNOWN, seconds=-5 * HOUR),
        entry(items[3], "x", FAILED, seconds=-4 * HOUR),
        entry(items[4], "bluesky", PENDING, seconds=-10 * HOUR),
    ]


def test_status_counts_each_network_and_the_run_as_a_whole() -> None:
    items, entries = busy_log()
    store = make_store(items, entries)

    state = service.status(store, Filters(), networks=("x", "bluesky"), now=at(0))

    figures = {name: n.to_dict() for name, n in state.networks.items()}
    assert figures == {
        "x": {"published": 2, "remaining": 4, "unknown": 0, "failed": 1, "pending": 0,
              "last_publish": stamp(-HOUR)},
        "bluesky": {"published": 1, "remaining": 3, "unknown": 1, "failed": 0, "pending": 1,
                    "last_publish": stamp(-2 * HOUR)},
    }
    # Over both: a photo counts by its strongest state anywhere, and remains only if free on both.
    assert (state.photos, state.published, state.unknown, state.failed, state.remaining) == (6, 2, 1, 1, 2)
    assert [(p["photo_id"], p["network"]) for p in state.pending] == [(make_photo(5).id, "bluesky")]
    assert state.last_publish == stamp(-HOUR)
    assert state.last_publish_age == HOUR
    doc = state.to_dict()
    assert doc["last_publish_age_seconds"] == HOUR
    assert list(doc["networks"]) == ["x", "bluesky"]


def test_status_of_one_network_and_before_any_post() -> None:
    items, entries = busy_log()
    store = make_store(items, entries)

    only = service.status(store, Filters(), network="bluesky", now=at(0))
    assert list(only.networks) == ["bluesky"]
    assert (only.published, only.remaining, only.last_publish_age) == (1, 3, 2 * HOUR)

    empty = service.status(make_store(photos(2)), Filters(), networks=("x", "mastodon"), now=at(0))
    assert (empty.last_publish, empty.last_publish_age, empty.remaining) == (None, None, 2)
    assert empty.to_dict()["last_publish_age_seconds"] is None


def test_check_silence_passes_when_every_network_posted_recently() -> None:
    items, entries = busy_log()
    store = make_store(items, entries)

    line = service.check_silence(store, ["x", "bluesky"], dt.timedelta(days=1), now=at(0))

    assert line == (f"last post on x 1 h ago ({stamp(-HOUR)}); "
                    f"last post on bluesky 2 h ago ({stamp(-2 * HOUR)})")


def test_check_silence_fails_naming_each_silent_network() -> None:
    items, entries = busy_log()
    store = make_store(items, entries)

    with pytest.raises(PierrotError) as caught:
        service.check_silence(store, ["x", "bluesky", "mastodon"], dt.timedelta(hours=1, minutes=30), now=at(0))

    message = str(caught.value)
    assert message.startswith(f"last post on bluesky 2 h ago ({stamp(-2 * HOUR)}); no post ever on mastodon: "
                              "longer than --max-silence 1 h 30 min")
    assert "on x" not in message
    assert "pierrot history" in message


def test_check_silence_counts_only_posts_with_evidence() -> None:
    items = photos(2)
    store = make_store(items, [entry(items[0], "bluesky", UNKNOWN, seconds=-60)])

    with pytest.raises(PierrotError, match="no post ever on bluesky"):
        service.check_silence(store, ["bluesky"], dt.timedelta(days=1), now=at(0))


def test_history_lists_every_networks_entries_newest_first() -> None:
    items, entries = busy_log()
    store = make_store(items, entries)

    listed = [(i.network, i.status, i.when) for i in service.history(store)]

    assert listed[:3] == [("x", PUBLISHED, stamp(-HOUR)), ("bluesky", PUBLISHED, stamp(-2 * HOUR)),
                          ("x", PUBLISHED, stamp(-3 * HOUR))]
    assert len(listed) == 6


def test_resolve_settles_the_entry_of_the_network_named_only() -> None:
    items = photos(2)
    url = "https://bsky.app/profile/someone.bsky.social/post/3kabcdefghij2"
    store = make_store(items, [entry(items[0], "x", UNKNOWN, seconds=-HOUR),
                               entry(items[0], "bluesky", UNKNOWN, seconds=-HOUR)])

    resolved = service.resolve(store, items[0].id, posted="3kabcdefghij2", network="bluesky", post_url=url,
                               now=at(0))

    assert (resolved.network, resolved.status, resolved.post_id, resolved.post_url) == (
        "bluesky", PUBLISHED, "3kabcdefghij2", url)
    assert resolved.updated_at == stamp(-HOUR) and resolved.resolved_at == stamp(0)
    assert [(e.network, e.status) for e in log_of(store).entries] == [("x", UNKNOWN), ("bluesky", PUBLISHED)]


def test_resolve_not_posted_on_one_network_makes_the_photo_eligible_there_again() -> None:
    items = photos(1)
    store = make_store(items, [entry(items[0], "x", PUBLISHED, seconds=-DAY),
                               entry(items[0], "mastodon", UNKNOWN, seconds=-HOUR)])

    service.resolve(store, items[0].id, posted=None, network="mastodon", now=at(0))

    mastodon = NetworkPublisher(MASTODON)
    report = run(store, [mastodon], now=at(60))
    assert report.photo is not None and report.photo.id == items[0].id
    assert [(e.network, e.status) for e in log_of(store).entries] == [
        ("x", PUBLISHED), ("mastodon", FAILED), ("mastodon", PUBLISHED)]


def test_resolve_on_a_network_without_an_entry_for_the_photo_is_a_usage_error() -> None:
    items = photos(1)
    store = make_store(items, [entry(items[0], "x", UNKNOWN, seconds=-HOUR)])

    with pytest.raises(UsageError, match="no entry in the publish log for bluesky") as caught:
        service.resolve(store, items[0].id, posted="3kabcdefghij2", network="bluesky", now=at(0))

    assert caught.value.exit_code == EXIT_USAGE
    assert store.writes == []

