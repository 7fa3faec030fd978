"""PIERROT_PUBLISH_PHOTOS on a network that stages a post of several images as ONE media id (Threads' carousel
container, ``Publisher.stage_post``): the claim logs that one id, the post publishes it, and an interrupted post is
settled by it: a staged carousel is published as it is, once; a post to send again is staged anew, whole."""

from __future__ import annotations

import pytest

from pierrot.adapters.networks.threads.rules import RULES as THREADS
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import PUBLISHED, UNKNOWN, Photo
from pierrot.errors import PostRefused
from pierrot.ports import NO_OPTIONS, Attempt, FetchedImage, Post, PostOptions, Settled
from tests.fakes import NetworkPublisher, at, by_network, make_photo, make_store, run


class CarouselPublisher(NetworkPublisher):
    """Threads as the service sees it: several images staged as one container, FINISHED until published once;
    settled by that container's status, as the adapter does."""

    def __init__(self, *, answers: list[Settled] | None = None) -> None:
        super().__init__(THREADS, answers=answers or [])
        self.staged: list[tuple[str, list[str | None], str]] = []  # (container, alt texts, text)
        self.status: dict[str, str] = {}
        self.kill_post = False

    def stage_post(
        self, images: list[tuple[FetchedImage, str | None]], *, text: str, options: PostOptions = NO_OPTIONS
    ) -> str | None:
        if len(images) < 2:
            return None
        assert all(image.path.exists() for image, _ in images)
        container = f"carousel-{len(self.staged) + 1}"
        self.staged.append((container, [alt for _, alt in images], text))
        self.status[container] = "FINISHED"
        return container

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        if self.kill_post:
            raise KeyboardInterrupt  # the run dies after the claim, before the publish request
        if len(media_ids) != 1 or self.status.get(media_ids[0]) != "FINISHED":
            raise PostRefused(f"not one FINISHED container: {media_ids}")
        self.status[media_ids[0]] = "PUBLISHED"
        return super().create_post(text, media_ids, attempt, options)

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        if self.answers:
            return super().settle(attempt, text, started_at)
        self.asked.append(attempt)
        states = [self.status.get(m) for m in attempt.media_ids]
        if "PUBLISHED" in states:
            return Settled(posted=True, reason="PUBLISHED")
        if states and states[-1] == "FINISHED":
            return Settled(posted=None, same_key=True, staged=attempt.media_ids[-1], reason="FINISHED")
        return Settled(posted=False, reason="EXPIRED")


def one_day() -> list[Photo]:
    """Four photos taken on 9 June 2024 (the first at noon), and one of another day."""
    return [
        make_photo(1, date_taken="2024-06-09 12:00:00", description="Noon"),
        make_photo(2, date_taken="2024-06-09 08:00:00", description="Morning"),
        make_photo(3, date_taken="2024-06-09 23:00:00", description="Night"),
        make_photo(4, date_taken="2024-06-09 12:30:00", description="Lunch"),
        make_photo(5, date_taken="2024-05-01 10:00:00", description="May"),
    ]


DAY = ["1", "4", "2", "3"]  # the first, then the same day's nearest in time


def _ids(items: list[Photo]) -> list[str]:
    by_number = {p.id[-1:]: p.id for p in items}
    return [by_number[n] for n in DAY]


def test_four_photos_of_one_day_go_to_threads_as_one_carousel_with_one_key() -> None:
    items = one_day()
    store = make_store(items)
    x, threads = NetworkPublisher(X), CarouselPublisher()

    run(store, [x, threads], photo_id=items[0].id, photos=4)

    day = _ids(items)
    by_id = {p.id: p for p in items}
    [(container, alts, text)] = threads.staged
    assert alts == [f"{by_id[p].title}. {by_id[p].description}" for p in day]  # each image its own alt, in order
    assert threads.uploads == []  # no image uploaded on its own: the carousel is the post
    assert threads.media == [[container]] and len(threads.accepted) == 1
    [entry] = by_network(store)["threads"]
    assert (entry.photo_id, entry.also, entry.media_ids, entry.status, entry.text) == (
        day[0], tuple(day[1:]), (container,), PUBLISHED, text)
    [on_x] = by_network(store)["x"]
    assert len(on_x.media_ids) == 4  # the others upload each image as before


def test_a_run_killed_after_staging_the_carousel_is_published_once_by_the_next_run() -> None:
    items = one_day()
    store = make_store(items)
    threads = CarouselPublisher()
    threads.kill_post = True
    with pytest.raises(KeyboardInterrupt):
        run(store, [threads], photo_id=items[0].id, photos=4)
    [entry] = by_network(store)["threads"]
    [(container, _, _)] = threads.staged
    assert (entry.status, entry.media_ids) == (UNKNOWN, (container,))

    threads.kill_post = False
    report = run(store, [threads], now=at(600), photos=4)

    assert [s[0] for s in threads.staged] == [container]  # nothing staged a second time
    assert threads.media == [[container]] and len(threads.accepted) == 1
    [entry] = by_network(store)["threads"]
    assert (entry.photo_id, entry.also, entry.status, entry.media_ids) == (
        items[0].id, tuple(_ids(items)[1:]), PUBLISHED, (container,))
    assert any("same key" in line for r in report.results for line in r.settled)

    run(store, [threads], now=at(7200), photos=4)  # a later run posts other photos, never these again
    assert threads.status[container] == "PUBLISHED" and len(threads.staged) == 1  # one photo left: one image
    assert [e.photo_id for e in by_network(store)["threads"][1:]] == [items[4].id]


def test_a_carousel_to_send_again_is_staged_anew_whole_and_sent_alone() -> None:
    """Sent again with its key (not staged any more): every carried photo staged again as one new carousel, and
    only that one is published, not the earlier attempt's beside it."""
    items = one_day()
    store = make_store(items)
    threads = CarouselPublisher()
    threads.kill_post = True
    with pytest.raises(KeyboardInterrupt):
        run(store, [threads], photo_id=items[0].id, photos=4)
    threads.kill_post = False
    threads.answers = [Settled(posted=False, same_key=True, reason="absent, send it again")]

    run(store, [threads], now=at(600), photos=4)

    first, second = (s[0] for s in threads.staged)
    assert len(threads.staged[1][1]) == 4  # all four photos, each with its alt text
    assert threads.media == [[second]]
    [entry] = by_network(store)["threads"]
    assert (entry.status, entry.media_ids, entry.also) == (PUBLISHED, (first, second), tuple(_ids(items)[1:]))
