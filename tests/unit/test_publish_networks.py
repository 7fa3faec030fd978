"""service.publish over several networks: one photo for all, each network its own entry, outcome and image."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from pierrot import service
from pierrot.adapters.images.exif import display_size, has_location
from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import (
    FAILED,
    PENDING,
    PUBLISHED,
    UNKNOWN,
    Size,
)
from pierrot.errors import (
    EXIT_OK,
    ConfigError,
    DuplicateEvent,
    DuplicatePost,
    ImageError,
    NothingToPublish,
    PierrotError,
    PostOutcomeUnknown,
    PostRefused,
    PublishError,
    UsageError,
)
from pierrot.ports import Attempt, Post, Settled
from tests.fakes import (
    CREATED_AT,
    DAY_SECONDS,
    JPEG,
    KEY,
    LEASE,
    RULES,
    Factory,
    NetworkPublisher,
    ShapedFetcher,
    at,
    by_network,
    entry,
    failed_lines,
    failure_of,
    gps_jpeg,
    interrupted,
    log_of,
    make_photo,
    make_store,
    never_made,
    photos,
    record_writes,
    run,
    stamp,
    three,
)

# ==== one run, one photo, every network ============================================================


def test_one_run_posts_one_photo_to_every_network_each_with_its_own_entry() -> None:
    store = make_store(photos(3))
    x, bluesky, mastodon = three()

    report = run(store, [x, bluesky, mastodon])

    photo = report.photo
    assert photo is not None
    for publisher in (x, bluesky, mastodon):
        assert publisher.texts == [photo.title]
        assert publisher.alt_texts == [(publisher.uploads[0], f"{photo.title}. {photo.description}")]
    assert [(r.network, r.photo_id, r.error) for r in report.results] == [
        ("x", photo.id, None), ("bluesky", photo.id, None), ("mastodon", photo.id, None)]
    posts = {r.network: r.post for r in report.results}
    assert all(post is not None for post in posts.values())
    entries = log_of(store).entries
    assert [(e.network, e.photo_id, e.status) for e in entries] == [
        ("x", photo.id, PUBLISHED), ("bluesky", photo.id, PUBLISHED), ("mastodon", photo.id, PUBLISHED)]
    assert len({e.run_id for e in entries}) == 1
    for e in entries:
        post = posts[e.network]
        assert post is not None and (e.post_id, e.post_url) == (post.id, post.url)
        assert e.text == photo.title and e.started_at == stamp(0)
    # Only the networks that can settle an interrupted post keep a key and the post's own time.
    assert [(e.network, e.key is not None, e.created_at) for e in entries] == [
        ("x", False, None), ("bluesky", True, "2025-06-01T12:00:00.000Z"),
        ("mastodon", True, "2025-06-01T12:00:00.000Z")]
    assert [a.key for a in bluesky.attempts] == [entries[1].key]
    assert [a.key for a in mastodon.attempts] == [entries[2].key]


def test_the_claim_is_one_write_holding_every_networks_pending_entry() -> None:
    store = make_store(photos(3))
    written = record_writes(store)
    x, bluesky, mastodon = three()

    run(store, [x, bluesky, mastodon])

    claim, *outcomes = written
    assert [(e["network"], e["status"]) for e in claim["entries"]] == [
        ("x", PENDING), ("bluesky", PENDING), ("mastodon", PENDING)]
    # Then one write per network's outcome, in turn.
    assert len(outcomes) == 3
    assert [[e["status"] for e in doc["entries"]] for doc in outcomes] == [
        [PUBLISHED, PENDING, PENDING], [PUBLISHED, PUBLISHED, PENDING], [PUBLISHED, PUBLISHED, PUBLISHED]]


def test_the_claim_lands_before_any_network_is_posted_to() -> None:
    store = make_store(photos(2))
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    seen: list[tuple[int, int]] = []

    def hook(name: str, doc: Any) -> None:
        seen.append((len(x.accepted), len(bluesky.accepted)))

    store.before_write = hook
    run(store, [x, bluesky])

    assert seen[0] == (0, 0), "the claim lands while nothing is posted yet"
    assert x.calls == bluesky.calls == ["prepare", "upload", "alt_text", "post"]


def test_a_photo_blocked_on_any_network_of_the_run_is_never_chosen() -> None:
    items = photos(8)
    store = make_store(items, [
        entry(items[0], "x", PUBLISHED),
        entry(items[1], "bluesky", UNKNOWN),
        entry(items[2], "bluesky", PENDING, seconds=-2 * LEASE),  # a dead run's claim
        entry(items[3], "x", FAILED),  # nothing was posted: it may be chosen again
        entry(items[3], "bluesky", FAILED),
        entry(items[4], "mastodon", PUBLISHED),  # not a network of this run
    ])

    chosen = Counter(run(store, networks=[X, BLUESKY], dry_run=True, seed=seed).photo.id  # type: ignore[union-attr]
                     for seed in range(400))

    assert set(chosen) == {items[3].id, items[4].id, items[5].id, items[6].id, items[7].id}


def test_a_bluesky_only_run_may_post_a_photo_already_on_x() -> None:
    items = photos(1)
    store = make_store(items, [entry(items[0], "x", PUBLISHED, seconds=-3600)])
    bluesky = NetworkPublisher(BLUESKY)

    report = run(store, [bluesky])

    assert report.photo is not None and report.photo.id == items[0].id
    assert bluesky.texts == [items[0].title]
    assert [(e.network, e.status) for e in log_of(store).entries] == [("x", PUBLISHED), ("bluesky", PUBLISHED)]
    # ... while a run on both has nothing left: the photo is on X.
    with pytest.raises(NothingToPublish, match="X and Bluesky"):
        run(store, [NetworkPublisher(X), NetworkPublisher(BLUESKY)], now=at(60))


def test_a_photo_published_on_one_network_is_not_posted_to_the_others_by_a_run_of_both() -> None:
    items = photos(2)
    store = make_store(items, [entry(items[0], "bluesky", PUBLISHED, seconds=-3600)])
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    report = run(store, [x, bluesky])

    assert report.photo is not None and report.photo.id == items[1].id
    assert x.texts == bluesky.texts == [items[1].title]


# ==== a failure on one network never blocks or double-posts another =================================


FAILURES: dict[str, tuple[str, PierrotError, str | None]] = {
    # name: (where, the error, the failing network's log status afterwards: None for no entry)
    "factory": ("factory", ConfigError("PIERROT_NETWORK_TOKEN is not set"), None),
    "login": ("prepare", PublishError("the login was refused (401): check the app password"), None),
    "upload": ("upload", PublishError("the image was refused (413)"), None),
    "refused": ("post", PostRefused("rate limited (429): resets at 13:00", status=429), FAILED),
    "unknown outcome": ("post", PostOutcomeUnknown("the network answered 502"), UNKNOWN),
}


def broken(where: str, error: PierrotError, victim: str) -> tuple[list[NetworkPublisher], Factory]:
    publishers = list(three())
    factory = Factory(publishers, {victim: error} if where == "factory" else None)
    if where != "factory":
        next(p for p in publishers if p.rules.name == victim).fail_at[where] = error
    return publishers, factory


@pytest.mark.parametrize("victim", ["x", "bluesky", "mastodon"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failure_on_one_network_lets_the_others_post_and_is_reported(failure: str, victim: str) -> None:
    where, error, status = FAILURES[failure]
    items = photos(3)
    store = make_store(items)
    publishers, factory = broken(where, error, victim)

    report = run(store, factory, networks=[X, BLUESKY, MASTODON])

    photo = report.photo
    assert photo is not None
    display = RULES[victim].display
    (line,) = failed_lines(report)
    assert line.startswith(f"{display}: ") and str(error) in line
    assert [r.network for r in report.failed] == [victim]
    others = [p for p in publishers if p.rules.name != victim]
    for publisher in others:
        assert publisher.texts == [photo.title], publisher.rules.name
        assert report.results[[r.network for r in report.results].index(publisher.rules.name)].post is not None
    (failed,) = [p for p in publishers if p.rules.name == victim]
    assert failed.accepted == []
    entries = by_network(store)
    for publisher in others:
        assert [(e.photo_id, e.status) for e in entries[publisher.rules.name]] == [(photo.id, PUBLISHED)]
    if status is None:
        assert victim not in entries
    else:
        assert [(e.photo_id, e.status) for e in entries[victim]] == [(photo.id, status)]
    assert not log_of(store).pending(victim)


def test_the_failure_of_an_earlier_network_does_not_stop_the_later_ones() -> None:
    store = make_store(photos(2))
    x, bluesky, mastodon = three()
    x.fail_at["post"] = PostRefused("X: too many requests", status=429)
    bluesky.accept_then_fail = PostOutcomeUnknown("Bluesky answered 502")

    report = run(store, [x, bluesky, mastodon])

    assert len(failed_lines(report)) == 2
    assert failed_lines(report)[0] == "X: X: too many requests"
    assert failed_lines(report)[1].startswith("Bluesky: Bluesky answered 502")
    assert "settles it" in failed_lines(report)[1]
    assert [r.network for r in report.posts] == ["mastodon"]
    assert [(e.network, e.status) for e in log_of(store).entries] == [
        ("x", FAILED), ("bluesky", UNKNOWN), ("mastodon", PUBLISHED)]
    assert len(bluesky.accepted) == 1 and len(mastodon.accepted) == 1 and x.accepted == []


def test_when_every_network_fails_the_report_has_a_line_for_each() -> None:
    store = make_store(photos(2))
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    x.fail_at["prepare"] = PublishError("X refused the credentials (401)")
    bluesky.fail_at["upload"] = PublishError("Bluesky refused the image (400)")

    report = run(store, [x, bluesky])

    assert failed_lines(report) == ["X: X refused the credentials (401)", "Bluesky: Bluesky refused the image (400)"]
    assert x.accepted == [] and bluesky.accepted == []
    assert log_of(store).entries == []


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_one_network_run_reports_that_networks_own_exception(failure: str) -> None:
    where, error, status = FAILURES[failure]
    store = make_store(photos(2))
    publishers, factory = broken(where, error, "bluesky")
    bluesky = next(p for p in publishers if p.rules.name == "bluesky")

    caught = failure_of(run(store, factory, networks=[BLUESKY]))

    if isinstance(error, PostOutcomeUnknown):
        # As on X, an unclear outcome says what happens next; on Bluesky the next run settles it.
        assert isinstance(caught, PublishError) and str(error) in str(caught)
        assert "settles it" in str(caught)
    else:
        assert caught is error
    assert bluesky.accepted == []
    assert [e.status for e in log_of(store).entries] == ([] if status is None else [status])


# ==== settling an interrupted post on a network that can ============================================


POSTED = Settled(posted=True, post=Post(f"at://did:plc:someone/app.bsky.feed.post/{KEY}",
                                        f"https://bsky.app/profile/someone.bsky.social/post/{KEY}"),
                 reason=f"Bluesky has the post under record key {KEY}")


def test_an_interrupted_post_that_exists_is_recorded_published_before_choosing() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    bluesky = NetworkPublisher(BLUESKY, answers=[POSTED])

    report = run(store, [bluesky])

    assert bluesky.asked == [Attempt(KEY, CREATED_AT, ("blob-1",))]
    assert bluesky.calls[:2] == ["prepare", "settle"]
    settled, new = log_of(store).entries
    assert (settled.photo_id, settled.status, settled.run_id) == (items[0].id, PUBLISHED, "interrupted")
    assert POSTED.post is not None and (settled.post_id, settled.post_url) == (POSTED.post.id, POSTED.post.url)
    assert (settled.started_at, settled.updated_at) == (stamp(-7200), stamp(-7200)), "the attempt's time is kept"
    assert any("recorded as published" in line for line in report.results[0].settled)
    # Then the run goes on: a new photo, with a new key.
    assert (new.photo_id, new.status) == (items[1].id, PUBLISHED)
    assert bluesky.texts == [items[1].title]
    assert [a.key for a in bluesky.attempts] == [new.key] and new.key != KEY


def test_a_dead_runs_claim_settled_as_posted_keeps_the_attempts_time() -> None:
    items = photos(3)
    store = make_store(items, [interrupted(items[0], status=PENDING, seconds=-7200)])
    run(store, [NetworkPublisher(BLUESKY)])  # marks the dead run's claim unknown, posts another photo
    assert log_of(store).entries[0].status == UNKNOWN
    bluesky = NetworkPublisher(BLUESKY, answers=[POSTED])

    run(store, [bluesky], now=at(3600))

    assert bluesky.asked == [Attempt(KEY, CREATED_AT, ("blob-1",))]
    settled = log_of(store).entries[0]
    assert settled.status == PUBLISHED
    assert settled.updated_at == settled.started_at == stamp(-7200)


def test_an_entry_marked_unknown_a_moment_ago_is_asked_about_only_by_a_later_run() -> None:
    items = photos(3)
    store = make_store(items, [interrupted(items[0], seconds=-30)])  # the answer to its post timed out just now
    first = NetworkPublisher(BLUESKY, answers=[POSTED])

    report = run(store, [first])

    # Its request may still be in flight: it is left for a later run, and this run posts another photo.
    assert "settle" not in first.calls
    assert report.photo is not None and report.photo.id != items[0].id
    assert log_of(store).entries[0].status == UNKNOWN
    later = NetworkPublisher(BLUESKY, answers=[POSTED])
    run(store, [later], now=at(3600))
    assert later.asked == [Attempt(KEY, CREATED_AT, ("blob-1",))]
    assert log_of(store).entries[0].status == PUBLISHED


def test_a_dead_runs_claim_is_asked_about_by_the_very_next_run() -> None:
    items = photos(3)
    store = make_store(items, [interrupted(items[0], status=PENDING, seconds=-7200)])  # its lease ran out
    bluesky = NetworkPublisher(BLUESKY, answers=[POSTED])

    run(store, [bluesky])

    assert bluesky.asked == [Attempt(KEY, CREATED_AT, ("blob-1",))]
    entry = log_of(store).entries[0]
    assert entry.status == PUBLISHED and entry.updated_at == entry.started_at


def test_an_interrupted_post_that_is_absent_is_posted_again_with_the_same_key_and_time() -> None:
    items = photos(3)
    store = make_store(items, [interrupted(items[0])])
    x = NetworkPublisher(X)
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, same_key=True, reason="RecordNotFound")])

    report = run(store, [x, bluesky])

    # Bluesky: the interrupted photo again, with the key the entry kept (which keeps it to one post), a fresh
    # createdAt (so it does not read as backdated) and fresh media; the entry keeps every media id it used.
    (attempt,) = bluesky.attempts
    assert attempt.key == KEY and attempt.created_at != CREATED_AT and attempt.created_at.endswith("Z")
    assert bluesky.media == [[bluesky.uploads[0]]] and attempt.media_ids == ("blob-1", bluesky.uploads[0])
    assert bluesky.texts == [items[0].title]
    entries = by_network(store)
    (again,) = entries["bluesky"]  # no new photo chosen on Bluesky in this run
    # The run that sent it again holds the entry now: the interrupted run can no longer record over it.
    assert (again.photo_id, again.status, again.key) == (items[0].id, PUBLISHED, KEY)
    assert again.run_id != "interrupted" and again.media_ids == ("blob-1", bluesky.uploads[0])
    result = {r.network: r for r in report.results}
    assert result["bluesky"].photo_id == items[0].id and result["bluesky"].post is not None
    assert any("same key" in line for line in result["bluesky"].settled)
    # X gets this run's photo as usual.
    assert len(x.accepted) == 1
    (on_x,) = entries["x"]
    assert on_x.status == PUBLISHED and report.photo is not None and on_x.photo_id == report.photo.id


def test_an_interrupted_post_that_is_absent_without_a_key_to_reuse_is_failed_and_eligible_again() -> None:
    items = photos(1)
    store = make_store(items, [interrupted(items[0])])
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, reason="no status with that text")])

    report = run(store, [bluesky])

    old, new = log_of(store).entries
    assert (old.status, old.run_id) == (FAILED, "interrupted")
    assert old.reason is not None and "no such post" in old.reason
    assert any("may be chosen again" in line for line in report.results[0].settled)
    # Nothing was posted, so the only photo is eligible again at once, as a new post with a new key.
    assert (new.photo_id, new.status) == (items[0].id, PUBLISHED)
    assert [a.key for a in bluesky.attempts] == [new.key] and new.key != KEY


def test_an_interrupted_post_the_network_cannot_tell_about_stays_unknown_with_a_warning() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=None, reason="Bluesky answered 503")])

    report = run(store, [bluesky])

    old, new = log_of(store).entries
    assert (old.status, old.key) == (UNKNOWN, KEY)
    assert (new.photo_id, new.status) == (items[1].id, PUBLISHED)
    (warning,) = report.warnings
    assert items[0].id in warning and "Bluesky answered 503" in warning and "next run asks again" in warning
    # The next run asks again.
    later = NetworkPublisher(BLUESKY, answers=[POSTED])
    with pytest.raises(NothingToPublish):
        run(store, [later], now=at(3600))
    assert later.asked == [Attempt(KEY, CREATED_AT, ("blob-1",))]
    assert log_of(store).entries[0].status == PUBLISHED


def test_a_network_that_cannot_settle_is_never_asked() -> None:
    items = photos(2)
    store = make_store(items, [entry(items[0], "x", UNKNOWN, key="not-a-real-key")])
    x = NetworkPublisher(X, answers=[POSTED])

    run(store, [x])

    assert "settle" not in x.calls
    assert log_of(store).entries[0].status == UNKNOWN


def test_settling_happens_only_in_a_real_run() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    before = store.snapshot()

    report = run(store, never_made, networks=[BLUESKY], dry_run=True)

    assert store.snapshot() == before
    assert report.photo is not None and report.photo.id == items[1].id


def test_a_reposted_interrupted_post_that_fails_is_reported_among_several_networks() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    x = NetworkPublisher(X)
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, same_key=True)])
    bluesky.fail_at["post"] = PostRefused("Bluesky: rate limited (429)", status=429)

    report = run(store, [x, bluesky])

    assert failed_lines(report) == ["Bluesky: Bluesky: rate limited (429)"]
    assert len(x.accepted) == 1
    assert [(e.network, e.status) for e in log_of(store).entries] == [("bluesky", FAILED), ("x", PUBLISHED)]


def test_a_one_network_run_whose_repost_with_the_same_key_fails_reports_it() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, same_key=True)])
    refusal = PostRefused("Bluesky: rate limited (429)", status=429)
    bluesky.fail_at["post"] = refusal

    caught = failure_of(run(store, [bluesky]))
    assert isinstance(caught, PostRefused)

    assert caught is refusal
    assert log_of(store).entries[0].status == FAILED


def test_a_look_up_that_fails_on_one_network_does_not_stop_the_others() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    bluesky.fail_at["settle"] = PublishError("Bluesky refused to look the post up (401)")

    report = run(store, [x, bluesky])

    assert failed_lines(report) == ["Bluesky: Bluesky refused to look the post up (401)"]
    assert len(x.accepted) == 1
    assert log_of(store).entries[0].status == UNKNOWN


# ==== a duplicate answer ================================================================================


def test_a_duplicate_answer_from_a_network_that_takes_repeated_texts_is_evidence_of_the_post() -> None:
    items = photos(1)
    store = make_store(items)
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    bluesky.fail_at["post"] = DuplicatePost("Bluesky already has a record under this key")

    report = run(store, [x, bluesky])

    assert bluesky.calls.count("post") == 1, "no text variant is tried"
    assert not any("instead" in w for w in report.warnings)
    entries = by_network(store)
    (on_bluesky,) = entries["bluesky"]
    assert on_bluesky.status == PUBLISHED and on_bluesky.text == items[0].title
    assert on_bluesky.reason is not None and "already has this post" in on_bluesky.reason
    assert any("already posted on Bluesky" in note for note in report.notes)
    assert report.failed == []
    assert [e.status for e in entries["x"]] == [PUBLISHED]


def test_a_duplicate_answer_from_x_is_a_collision_of_texts_and_a_variant_is_posted() -> None:
    items = photos(1)
    store = make_store(items)
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)
    x.outside_texts.add(items[0].title)  # the account posted this text before pierrot

    report = run(store, [x, bluesky])

    assert x.refused == [items[0].title]
    (varied,) = x.texts
    assert varied != items[0].title and varied.startswith(items[0].title)
    assert bluesky.texts == [items[0].title], "Bluesky keeps its own text"
    assert any("instead" in w for w in report.warnings)
    assert {e.network: (e.status, e.text) for e in log_of(store).entries} == {
        "x": (PUBLISHED, varied), "bluesky": (PUBLISHED, items[0].title)}


# ==== the image each network gets =====================================================================


def test_each_size_is_downloaded_once_and_each_network_gets_the_largest_it_takes() -> None:
    items = photos(1)
    store = make_store(items)
    fetcher = ShapedFetcher()
    fetcher.nbytes["k"] = 1_500_000  # over Bluesky's 1,000,000 bytes, well within X's and Mastodon's
    x, bluesky, mastodon = three()

    report = run(store, [x, bluesky, mastodon], fetcher=fetcher)

    pid = items[0].id
    assert fetcher.sizes == [(pid, "k"), (pid, "l")]
    assert [label for label, _ in x.images] == ["k"] and len(x.images[0][1]) == 1_500_000
    assert [label for label, _ in mastodon.images] == ["k"]
    assert [label for label, _ in bluesky.images] == ["l"] and len(bluesky.images[0][1]) <= BLUESKY.max_image_bytes
    sizes = {r.network: (r.image.size_label, r.image.nbytes) for r in report.results if r.image}
    assert sizes == {"x": ("k", 1_500_000), "bluesky": ("l", len(JPEG)), "mastodon": ("k", 1_500_000)}


def test_a_networks_pixel_limit_excludes_the_original() -> None:
    original = Size("o", "https://live.staticflickr.com/65535/o.jpg", 2048, 2048)  # 4.2 million pixels
    photo = make_photo(1)
    photo = replace(photo, sizes=(original, *photo.sizes))
    store = make_store([photo])
    fetcher = ShapedFetcher()
    # An instance that takes fewer pixels than Mastodon's default says so when prepared.
    small = replace(MASTODON, max_image_pixels=3_000_000)
    x, mastodon = NetworkPublisher(X), NetworkPublisher(MASTODON, prepared=small)

    report = run(store, [x, mastodon], fetcher=fetcher)

    assert sorted(fetcher.sizes) == [(photo.id, "k"), (photo.id, "o")]  # each once, whichever asked first
    assert [label for label, _ in x.images] == ["o"]
    assert [label for label, _ in mastodon.images] == ["k"]
    assert {r.network: r.image.size_label for r in report.results if r.image} == {"x": "o", "mastodon": "k"}


def test_no_network_receives_the_location_of_a_photo() -> None:
    store = make_store(photos(1))
    fetcher = ShapedFetcher(gps=True)
    publishers = three()

    run(store, list(publishers), fetcher=fetcher)

    assert has_location(gps_jpeg()), "the test image does carry a location"
    for publisher in publishers:
        (upload,) = publisher.images
        assert not has_location(upload[1]), publisher.rules.name
        assert display_size(upload[1]) == (2048, 1365)


def test_keep_location_sends_the_location_to_every_network() -> None:
    store = make_store(photos(1))
    fetcher = ShapedFetcher(gps=True)
    publishers = three()

    run(store, list(publishers), fetcher=fetcher, keep_location=True)

    for publisher in publishers:
        (upload,) = publisher.images
        assert has_location(upload[1]), publisher.rules.name


def test_an_image_that_cannot_be_cleaned_safely_is_sent_to_no_network() -> None:
    store = make_store(photos(1))
    fetcher = ShapedFetcher()
    fetcher.image = gps_jpeg()[:-2]  # cut before its end: what follows its scan cannot be told apart from it
    publishers = three()

    with pytest.raises(ImageError, match="not usable: a JPEG without a frame, a scan or its end"):
        run(store, list(publishers), fetcher=fetcher)

    assert all(publisher.images == [] for publisher in publishers)


def test_the_downloaded_files_are_gone_after_a_run_of_several_networks() -> None:
    store, fetcher = make_store(photos(1)), ShapedFetcher()
    fetcher.nbytes["k"] = 1_500_000

    run(store, list(three()), fetcher=fetcher)

    assert len(fetcher.paths) == 2 and not any(p.exists() for p in fetcher.paths)


def test_a_photo_gone_from_flickr_gives_way_to_another_on_every_network() -> None:
    items = photos(2)
    store = make_store(items)
    fetcher = ShapedFetcher()
    fetcher.gone.add(items[0].id)
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    report = run(store, [x, bluesky], fetcher=fetcher, seed=1)

    assert report.photo is not None and report.photo.id == items[1].id
    assert x.texts == bluesky.texts == [items[1].title]
    assert any(items[0].id in w and "gone from Flickr" in w for w in report.warnings)
    assert {e.photo_id for e in log_of(store).entries} == {items[1].id}


# ==== dry run ===========================================================================================


def test_a_dry_run_on_three_networks_creates_no_publisher_writes_nothing_and_shows_each_network() -> None:
    items = photos(3)
    store = make_store(items, [entry(items[0], "bluesky", PENDING, seconds=-2 * LEASE)])
    before = store.snapshot()
    fetcher = ShapedFetcher()
    fetcher.nbytes["k"] = 1_500_000
    networks = [service.NetworkOptions(X), service.NetworkOptions(BLUESKY, template="{title} on Bluesky"),
                service.NetworkOptions(MASTODON)]

    report = run(store, never_made, networks=networks, fetcher=fetcher, dry_run=True)

    assert store.writes == [] and store.snapshot() == before
    photo = report.photo
    assert photo is not None and photo.id != items[0].id
    shown = {r.network: (r.text, r.length, r.limit, r.unit, r.alt_text, r.alt_limit,
                         r.image.size_label if r.image else None, r.post) for r in report.results}
    alt = f"{photo.title}. {photo.description}"
    assert shown == {
        "x": (photo.title, len(photo.title), 280, "weighted characters", alt, 1000, "k", None),
        "bluesky": (f"{photo.title} on Bluesky", len(photo.title) + 11, 300, "graphemes", alt, 2000, "l", None),
        "mastodon": (photo.title, len(photo.title), 500, "characters", alt, 1500, "k", None),
    }
    assert report.to_dict()["networks"]["bluesky"]["size"] == "l"


# ==== --photo ==============================================================================================


def test_photo_option_needs_force_when_the_photo_is_on_any_network_of_the_run() -> None:
    items = photos(2)
    store = make_store(items, [entry(items[0], "bluesky", PUBLISHED, seconds=-DAY_SECONDS)])
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    with pytest.raises(UsageError, match=r"already published on bluesky.*--force"):
        run(store, [x, bluesky], photo_id=items[0].id)
    assert x.accepted == bluesky.accepted == []

    report = run(store, [x, bluesky], photo_id=items[0].id, force=True)
    assert report.photo is not None and report.photo.id == items[0].id
    assert x.texts == bluesky.texts == [items[0].title]


def test_photo_option_posts_a_photo_on_the_networks_that_do_not_have_it() -> None:
    items = photos(2)
    store = make_store(items, [entry(items[0], "x", PUBLISHED, seconds=-DAY_SECONDS)])
    bluesky = NetworkPublisher(BLUESKY)

    run(store, [bluesky], photo_id=items[0].id)

    assert bluesky.texts == [items[0].title]


# ==== the scheduler's event ===============================================================================


def test_an_event_handled_on_any_network_is_refused_on_all() -> None:
    items = photos(3)
    store = make_store(items)
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    run(store, [x, bluesky], event_id="evt-1")

    assert [(e.network, e.event_id) for e in log_of(store).entries] == [("x", "evt-1"), ("bluesky", "evt-1")]
    before = store.snapshot()
    again = [NetworkPublisher(X), NetworkPublisher(BLUESKY)]
    with pytest.raises(DuplicateEvent, match="evt-1") as caught:
        run(store, again, event_id="evt-1", now=at(60))
    assert caught.value.exit_code == EXIT_OK
    assert store.snapshot() == before
    assert all(p.calls == [] for p in again)

    # An event recorded on one network only (a run of Bluesky alone) still stops a run of both.
    only = make_store(items, [entry(items[0], "bluesky", PUBLISHED, event_id="evt-2")])
    with pytest.raises(DuplicateEvent):
        run(only, [NetworkPublisher(X), NetworkPublisher(BLUESKY)], event_id="evt-2")
    assert only.writes == []
