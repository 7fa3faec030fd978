"""PIERROT_PUBLISH_PHOTOS: one post carries several photos of one day, each with its own alt text; one claim, one
settle, and every photo it carried counts as posted on that network."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pierrot import service
from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import FAILED, PUBLISHED, UNKNOWN, Filters, LogEntry, Photo, PublishLog
from pierrot.errors import AnotherRunActive
from pierrot.ports import Settled
from pierrot.service.publish.options import NetworkOptions
from tests.fakes import (
    KEY,
    NetworkPublisher,
    at,
    by_network,
    entry,
    interrupted,
    log_of,
    make_photo,
    make_store,
    run,
)

MASTODON_OF_TWO = replace(MASTODON, max_images=2)


def one_day() -> list[Photo]:
    """Four photos taken on 9 June 2024 (the first at noon), and three taken on other days."""
    return [
        make_photo(1, date_taken="2024-06-09 12:00:00", description="Noon"),
        make_photo(2, date_taken="2024-06-09 08:00:00", description="Morning"),
        make_photo(3, date_taken="2024-06-09 23:00:00", description="Night"),
        make_photo(4, date_taken="2024-06-09 12:30:00", description="Lunch"),
        make_photo(5, date_taken="2024-06-10 00:30:00", description="Next day"),
        make_photo(6, date_taken="2024-05-01 10:00:00", description="May"),
        make_photo(7, date_taken=None, description="Undated"),
    ]


def networks() -> tuple[NetworkPublisher, NetworkPublisher, NetworkPublisher]:
    return (NetworkPublisher(X), NetworkPublisher(BLUESKY),
            NetworkPublisher(MASTODON, prepared=MASTODON_OF_TWO))


def test_one_post_carries_four_photos_of_one_day_and_a_network_limited_to_two_takes_the_first_two() -> None:
    items = one_day()
    store = make_store(items)
    x, bluesky, mastodon = networks()

    report = run(store, [x, bluesky, mastodon], photo_id=items[0].id, photos=4)

    # The same day first, the nearest in time first: 12:30, 08:00, 23:00 (never the next day's 00:30).
    day = [items[0].id, items[3].id, items[1].id, items[2].id]
    for publisher, carried in ((x, day), (bluesky, day), (mastodon, day[:2])):
        (media,) = publisher.media
        assert media == publisher.uploads and len(media) == len(carried), publisher.rules.name
        # Each image with its own alt text, in the post's order.
        by_id = {i.id: i for i in items}
        assert [alt for _, alt in publisher.alt_texts] == [
            f"{by_id[p].title}. {by_id[p].description}" for p in carried]
        assert len(publisher.accepted) == 1, "one post per network"
    entries = by_network(store)
    assert [(e.photo_id, e.also, e.status, len(e.media_ids)) for e in entries["x"]] == [
        (day[0], tuple(day[1:]), PUBLISHED, 4)]
    assert [(e.photo_id, e.also, len(e.media_ids)) for e in entries["mastodon"]] == [(day[0], (day[1],), 2)]
    assert entries["bluesky"][0].also == tuple(day[1:])
    result = {r.network: r for r in report.results}
    assert result["mastodon"].left_out == day[2:] and result["x"].left_out == []
    # Every carried photo counts as posted where it was carried; the two Mastodon could not take stay eligible there.
    plog = log_of(store)
    assert {p: plog.states("x").get(p) for p in day} == dict.fromkeys(day, PUBLISHED)
    assert set(plog.states("mastodon")) == set(day[:2])
    assert day[2] not in plog.blocked_ids("mastodon") and day[2] in plog.blocked_ids("bluesky")


def test_no_photo_a_post_carried_is_ever_chosen_again_on_that_network() -> None:
    items = one_day()
    store = make_store(items)
    x, bluesky, mastodon = networks()
    run(store, [x, bluesky, mastodon], photo_id=items[0].id, photos=4)

    # Mastodon alone, run after run: it gets the two photos it could not take, never one it carried.
    posted_on_mastodon = set(log_of(store).entries[-1].photo_ids)
    for day in range(1, 4):
        later = NetworkPublisher(MASTODON, prepared=MASTODON_OF_TWO)
        run(store, [later], now=at(day * 86400), photos=4, seed=day)
        carried = log_of(store).entries[-1].photo_ids
        assert posted_on_mastodon.isdisjoint(carried)
        posted_on_mastodon |= set(carried)
    assert posted_on_mastodon == {i.id for i in items}
    # X: the four of that day are never offered again.
    again = NetworkPublisher(X)
    run(store, [again], now=at(5 * 86400), photos=4)
    first_four = {items[i].id for i in range(4)}
    assert first_four.isdisjoint(log_of(store).entries[-1].photo_ids)


def test_the_others_are_the_nearest_in_time_when_the_day_has_too_few_and_an_undated_photo_has_none() -> None:
    items = one_day()
    store = make_store(items)
    x = NetworkPublisher(X)

    run(store, [x], photo_id=items[5].id, photos=3)  # May: no other photo that day

    (post,) = by_network(store)["x"]
    assert post.also == (items[1].id, items[0].id), "08:00 on 9 June, then noon, the nearest to 1 May"

    undated = NetworkPublisher(X)
    run(store, [undated], photo_id=items[6].id, photos=4, now=at(86400))
    assert by_network(store)["x"][-1].also == ()
    assert len(undated.media[0]) == 1


def test_a_photo_dated_to_the_month_only_is_neither_given_nor_taken_as_a_companion() -> None:
    items = [make_photo(1, date_taken="2024-06-09 12:00:00"), make_photo(2, date_taken="2024-06-09 13:00:00"),
             make_photo(3, date_taken="2024-06-01 00:00:00", date_taken_granularity=4)]
    store = make_store(items)
    run(store, [NetworkPublisher(X)], photo_id=items[0].id, photos=4)
    assert by_network(store)["x"][-1].also == (items[1].id,)
    run(store, [NetworkPublisher(X)], photo_id=items[2].id, photos=4, now=at(86400))
    assert by_network(store)["x"][-1].also == ()


def test_the_dry_run_says_how_many_each_network_takes_and_each_images_alt_text() -> None:
    items = one_day()
    store = make_store(items)
    x, bluesky, mastodon = networks()

    # A dry run asks no network: the limits are those the run knows (an instance's own come with prepare).
    report = run(store, [x, bluesky, mastodon], networks=[X, BLUESKY, MASTODON_OF_TWO], photo_id=items[0].id,
                 photos=4, dry_run=True)

    result = {r.network: r for r in report.results}
    lines = result["mastodon"].carried_lines()
    assert lines[0] == "photos:    4 (takes 2: 2 stay eligible)"
    assert "alt text: Photo 4. Lunch" in lines[2]
    assert lines[-2:] == [f"  - {items[1].id}: not taken, stays eligible here",
                          f"  - {items[2].id}: not taken, stays eligible here"]
    assert result["x"].carried_lines()[0] == "photos:    4"
    assert store.doc("pierrot-wal.json") is None, "a dry run writes nothing"


def test_an_interrupted_four_photo_post_is_settled_as_one() -> None:
    items = one_day()
    carried = tuple(items[i].id for i in (3, 1, 2))
    four = {**interrupted(items[0]), "also": list(carried), "media_ids": ["b1", "b2", "b3", "b4"]}
    store = make_store(items, [four])
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, same_key=True, reason="RecordNotFound")])

    run(store, [bluesky], photos=4)

    # One post, under the kept key, with the four photos uploaded anew (each with its alt text); no new photo.
    (attempt,) = bluesky.attempts
    assert attempt.key == KEY
    assert bluesky.media == [bluesky.uploads] and len(bluesky.uploads) == 4
    assert [alt.split(". ")[1] for _, alt in bluesky.alt_texts] == ["Noon", "Lunch", "Morning", "Night"]
    (again,) = log_of(store).entries
    assert (again.status, again.also) == (PUBLISHED, carried)
    assert again.media_ids == ("b1", "b2", "b3", "b4", *bluesky.uploads), "every media id it ever used"


def test_an_interrupted_post_found_posted_blocks_all_its_photos_and_one_unknown_blocks_them_too() -> None:
    items = one_day()
    carried = (items[3].id, items[1].id)
    store = make_store(items, [{**interrupted(items[0]), "also": list(carried)}])
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=None, reason="502")])

    run(store, [bluesky], photos=4)

    plog = log_of(store)
    assert plog.entries[0].status == UNKNOWN
    assert {plog.states("bluesky")[p] for p in (items[0].id, *carried)} == {UNKNOWN}
    assert set(carried).isdisjoint(plog.entries[-1].photo_ids), "an unknown photo is never posted again"


def test_old_logs_read_as_one_photo_per_entry_and_one_photo_writes_no_also() -> None:
    photo = make_photo(1)
    doc = entry(photo, "x", PUBLISHED)
    assert "also" not in doc
    old = LogEntry.from_doc(doc)
    assert old.also == () and old.photo_ids == (photo.id,)
    several = LogEntry.from_doc({**doc, "also": ["2", "3"]})
    assert several.photo_ids == (photo.id, "2", "3") and several.to_doc()["also"] == ["2", "3"]
    assert PublishLog([several]).states("x") == {photo.id: PUBLISHED, "2": PUBLISHED, "3": PUBLISHED}
    assert PublishLog([several]).blocked_ids("x") == {photo.id, "2", "3"}


def test_status_history_resolve_and_the_gallery_count_every_carried_photo() -> None:
    items = one_day()
    carried = [items[3].id, items[1].id]
    store = make_store(items, [entry(items[0], "x", UNKNOWN, also=tuple(carried), seconds=-7200)])

    figures = service.status(store, Filters(), network="x")
    assert figures.networks["x"].unknown == 3
    (line,) = service.history(store)
    assert line.to_dict()["also"] == carried
    # A person settles the post through any of its photos: it is one post.
    settled = service.resolve(store, carried[1], posted="123", network="x", now=at(0))
    assert settled.photo_id == items[0].id and settled.status == PUBLISHED
    assert log_of(store).states("x") == dict.fromkeys([items[0].id, *carried], PUBLISHED)
    # The gallery shows each photo the post carried, each linking to that one post.
    shown = service.gallery(store, ("x",), now=at(86400))
    assert {item.photo_id for item in shown.items} == {items[0].id, *carried}
    assert {(link.network, link.shown) for item in shown.items for link in item.links} == {("x", "123")}


def test_one_photo_a_post_is_todays_behaviour() -> None:
    items = one_day()
    store = make_store(items)
    x = NetworkPublisher(X)
    report = run(store, [x], networks=[NetworkOptions(X)], photo_id=items[0].id)
    assert len(x.media[0]) == 1 and report.results[0].carried_lines() == []
    assert "also" not in store.doc("pierrot-wal.json")["entries"][0]


def test_a_claim_refuses_when_another_run_logged_one_of_its_photos_meanwhile() -> None:
    items = one_day()
    store = make_store(items)
    x = NetworkPublisher(X)
    other = entry(items[5], "x", FAILED, run_id="other", also=(items[1].id,))

    def meanwhile(*args: object, **kwargs: object) -> str:
        # Another run, between this run's reading and its claim, logs a post that carried one of its photos.
        if not store.doc("pierrot-wal.json"):
            store.put("pierrot-wal.json", {"version": 1, "entries": [other]})
        return "m-upload"

    x.upload_media = meanwhile  # type: ignore[method-assign]

    with pytest.raises(AnotherRunActive):
        run(store, [x], photo_id=items[0].id, photos=4)
    assert x.accepted == [] and len(log_of(store).entries) == 1
