"""Review of the multi-network publish run: each xfail test below demonstrates one defect (see the report)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.mastodon import MastodonPublisher
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import FAILED, PUBLISHED, UNKNOWN, parse_iso
from pierrot.errors import AnotherRunActive, DuplicateEvent, PierrotError
from pierrot.ports import Attempt, Post, Settled
from tests.fakes import (
    T0,
    NetworkPublisher,
    at,
    entry,
    failed_lines,
    failure_of,
    log_of,
    make_photo,
    make_store,
    photos,
    run,
    stamp,
)

# ==== 1. every text variant already used on X: StopIteration escapes, and takes the other networks down ====


def test_review_exhausted_text_variants_fail_x_alone_with_one_clear_line() -> None:
    # A trip batch of 51 photos all titled "Harbour", no date taken: X has had "Harbour", "Harbour (2)" ...
    # "Harbour (50)" (every variant compose can make); the 51st photo is now chosen for X and Bluesky.
    items = [make_photo(n, title="Harbour", date_taken=None) for n in range(1, 52)]
    texts = ["Harbour", *(f"Harbour ({n})" for n in range(2, 51))]
    store = make_store(items, [entry(p, "x", PUBLISHED, seconds=-86400 * (60 - i), text=t)
                               for i, (p, t) in enumerate(zip(items[:50], texts, strict=True))])
    x, bluesky = NetworkPublisher(X), NetworkPublisher(BLUESKY)

    caught = failure_of(run(store, [x, bluesky]))
    assert isinstance(caught, BaseException)

    # Expected: X alone fails with a PierrotError line (change the template); Bluesky posts the photo.
    assert isinstance(caught, PierrotError), f"escaped as {type(caught).__name__}"
    assert bluesky.texts == ["Harbour"]


def test_review_exhausted_text_variants_one_network_is_a_pierrot_error() -> None:
    items = [make_photo(n, title="Harbour", date_taken=None) for n in range(1, 52)]
    texts = ["Harbour", *(f"Harbour ({n})" for n in range(2, 51))]
    store = make_store(items, [entry(p, "x", PUBLISHED, seconds=-86400 * (60 - i), text=t)
                               for i, (p, t) in enumerate(zip(items[:50], texts, strict=True))])

    caught = failure_of(run(store, [NetworkPublisher(X)]))
    assert isinstance(caught, BaseException)

    assert isinstance(caught, PierrotError), f"escaped as {type(caught).__name__}"




# ==== 2. a run whose only post is a same-key repost leaves no trace of its event ===========================

KEY = "3kabcdefghij2"
CREATED_AT = "2025-05-30T12:00:00.000Z"


def interrupted_bluesky(photo: Any, seconds: float = -2 * 86400) -> dict[str, Any]:
    return entry(photo, "bluesky", UNKNOWN, seconds=seconds, run_id="interrupted", key=KEY,
                 created_at=CREATED_AT, media_ids=("blob-1",), reason="Bluesky answered 502")


def test_review_second_delivery_of_an_event_whose_run_only_reposted_is_refused() -> None:
    items = photos(3)
    store = make_store(items, [interrupted_bluesky(items[0])])
    first = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, same_key=True)])
    run(store, [first], event_id="schedule-2025-06-01T12:00")
    assert first.texts == [items[0].title]  # the interrupted photo, sent again under its key

    second = NetworkPublisher(BLUESKY)
    with pytest.raises(DuplicateEvent):
        run(store, [second], event_id="schedule-2025-06-01T12:00", now=at(30))
    assert second.texts == []


# ==== 3. the same-key repost on Bluesky is backdated to the failed attempt ====================================


def test_review_a_same_key_repost_says_it_was_made_now() -> None:
    items = photos(2)
    store = make_store(items, [interrupted_bluesky(items[0])])
    bluesky = NetworkPublisher(BLUESKY, answers=[Settled(posted=False, same_key=True)])

    run(store, [bluesky])

    (attempt,) = bluesky.attempts
    assert attempt.key == KEY
    made = parse_iso(attempt.created_at)
    assert made is not None and abs((made - T0).total_seconds()) < 3600, attempt.created_at


# ==== a tiny in-process Mastodon, for the real MastodonPublisher ============================================


def _answer(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.url = "https://mastodon.example/"
    return response


class MastodonServer:
    """Statuses, media and Idempotency-Keys of one account, as requests.Session.request sees them."""

    def __init__(self, clock: float) -> None:
        self.clock = clock
        self.ids = itertools.count(1000)
        self.media: dict[str, str | None] = {}  # media id -> status id it is attached to
        self.statuses: list[dict[str, Any]] = []  # newest last
        self.keys: dict[str, str] = {}
        self.created: list[str] = []  # ids of the statuses made through the API

    def _stamp(self) -> str:
        return dt.datetime.fromtimestamp(self.clock, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def add_status(self, text: str, media: list[str], when: float) -> dict[str, Any]:
        sid = str(next(self.ids))
        status = {"id": sid, "url": f"https://mastodon.example/@someone/{sid}", "content": f"<p>{text}</p>",
                  "created_at": dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                  "media_attachments": [{"id": m} for m in media]}
        for m in media:
            self.media[m] = sid
        self.statuses.append(status)
        return status

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, params: Any = None,
                data: Any = None, files: Any = None, **_: Any) -> requests.Response:
        path = urlsplit(url).path
        headers = headers or {}
        if method == "GET" and path in ("/api/v2/instance", "/api/v1/instance"):
            return _answer(200, {"domain": "mastodon.example", "version": "4.3.0"})
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return _answer(200, {"id": "1", "acct": "someone"})
        if method == "POST" and path == "/api/v2/media":
            mid = f"m{next(self.ids)}"
            self.media[mid] = None
            return _answer(200, {"id": mid, "url": f"https://mastodon.example/media/{mid}"})
        if method == "POST" and path == "/api/v1/statuses":
            key = headers.get("Idempotency-Key")
            if key and key in self.keys:
                original = next(s for s in self.statuses if s["id"] == self.keys[key])
                return _answer(200, original)
            form = list(data or [])
            text = next(v for k, v in form if k == "status")
            media = [v for k, v in form if k == "media_ids[]"]
            if any(self.media.get(m, "gone") is not None for m in media):
                return _answer(422, {"error": f"Media {media[0]} not found or already attached to another post"})
            status = self.add_status(text, media, self.clock)
            self.created.append(status["id"])
            if key:
                self.keys[key] = status["id"]
            return _answer(200, status)
        if method == "GET" and path == "/api/v1/accounts/1/statuses":
            newest_first = list(reversed(self.statuses))
            max_id = (params or {}).get("max_id")
            if max_id:
                newest_first = [s for s in newest_first if int(s["id"]) < int(max_id)]
            return _answer(200, newest_first[: int((params or {}).get("limit", 20))])
        return _answer(404, {"error": "Record not found"})


def mastodon(server: MastodonServer) -> MastodonPublisher:
    return MastodonPublisher(url="https://mastodon.example", access_token="secret-token", session=server,  # type: ignore[arg-type]
                             sleep=lambda s: None, clock=lambda: server.clock)


# ==== 4. Mastodon's settle re-POST can make the interrupted post now, and the run then posts another ======


def test_review_one_run_makes_at_most_one_post_on_mastodon() -> None:
    # A run died after its claim (media uploaded, Idempotency-Key chosen) and before its POST: nothing was posted.
    items = photos(3)
    server = MastodonServer(clock=T0.timestamp())
    server.media["m-orig"] = None
    store = make_store(items, [entry(items[0], "mastodon", UNKNOWN, seconds=-600, run_id="dead", key="k-dead",
                                     created_at="2025-06-01T11:50:00.000Z", media_ids=("m-orig",))])

    report = run(store, lambda name: mastodon(server), networks=[MASTODON])

    # What happened: the settle's re-POST made the photo of the dead run now, then a new photo was posted too.
    assert len(server.created) <= 1, (
        f"{len(server.created)} statuses made by one run: "
        f"{[(s['id'], s['content']) for s in server.statuses]}; {[r.settled for r in report.results]}")


# ==== 5. two runs started together both re-POST the same Mastodon key (no lease around the settle) =========


class RacingMastodon(NetworkPublisher):
    """Mastodon-like rules; the first look-up lets another whole run happen before it answers "same key"."""

    def __init__(self, during_settle: Any = None) -> None:
        super().__init__(MASTODON, answers=[Settled(posted=None, same_key=True, reason="within the hour")])
        self.during_settle = during_settle

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        if self.during_settle is not None:
            hook, self.during_settle = self.during_settle, None
            hook()
        return super().settle(attempt, text, started_at)


def test_review_concurrent_runs_do_not_both_resend_one_mastodon_post() -> None:
    items = photos(4)
    store = make_store(items, [entry(items[0], "mastodon", UNKNOWN, seconds=-600, run_id="dead", key="k-dead",
                                     created_at="2025-06-01T11:50:00.000Z", media_ids=("m-orig",))])
    b = RacingMastodon()
    a = RacingMastodon(during_settle=lambda: run(store, [b], seed=1))

    with contextlib.suppress(AnotherRunActive):
        run(store, [a], seed=2)

    resent = [x for x in a.attempts + b.attempts if x.key == "k-dead"]
    assert len(resent) == 1, "both runs re-sent the interrupted post with its key"


# ==== 5b. a run that settled while another run posted goes on to post too ====================================


POSTED = Settled(posted=True, post=Post(f"at://did:plc:someone/app.bsky.feed.post/{KEY}",
                                        f"https://bsky.app/profile/someone.bsky.social/post/{KEY}"))


class SlowSettle(NetworkPublisher):
    """Bluesky rules; the first look-up lets another whole run happen while it waits for the answer."""

    def __init__(self, during_settle: Any = None) -> None:
        super().__init__(BLUESKY, answers=[POSTED])
        self.during_settle = during_settle

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        if self.during_settle is not None:
            hook, self.during_settle = self.during_settle, None
            hook()
        return super().settle(attempt, text, started_at)


def test_review_runs_started_together_post_one_photo_even_when_one_settles() -> None:
    items = photos(4)
    store = make_store(items, [interrupted_bluesky(items[0])])
    b = SlowSettle()
    a = SlowSettle(during_settle=lambda: run(store, [b], seed=1))

    with contextlib.suppress(AnotherRunActive):
        run(store, [a], seed=2)

    new_posts = [text for text in a.texts + b.texts]
    assert len(new_posts) == 1, f"two runs started together made {len(new_posts)} new posts on Bluesky: {new_posts}"


# ==== 6. Mastodon's search says "never posted" when it did not reach back to the attempt ====================


def test_review_mastodon_search_that_does_not_reach_the_attempt_cannot_tell() -> None:
    server = MastodonServer(clock=T0.timestamp())
    started = T0 - dt.timedelta(hours=3)
    # The interrupted post was made (with its media) 3 h ago; the account posted 100 times since (a busy account,
    # or boosts excluded but replies included).
    server.add_status("Photo 1", ["m-orig"], started.timestamp() + 5)
    for n in range(100):
        server.add_status(f"chatter {n}", [], started.timestamp() + 60 + n * 60)
    publisher = mastodon(server)
    publisher.prepare()

    settled = publisher.settle(Attempt("k-old", "2025-06-01T09:00:00.000Z", ("m-orig",)), "Photo 1", stamp(-3 * 3600))

    assert settled.posted is not False, settled.reason  # it was posted: False makes the photo eligible again


# ==== 7. an unexpected exception (or Ctrl-C) on one network leaves the later networks' claims pending ======


def test_review_an_unforeseen_fault_on_one_network_does_not_stop_the_others() -> None:
    items = photos(3)
    store = make_store(items)
    bluesky, x = NetworkPublisher(BLUESKY), NetworkPublisher(X)
    bluesky.fail_at["post"] = RuntimeError("an adapter bug")

    report = run(store, [bluesky, x])

    assert "post" in x.calls, "X posted all the same"
    assert any("an adapter bug" in line for line in failed_lines(report))
    states = {e.network: e.status for e in log_of(store).entries}
    assert states == {"bluesky": UNKNOWN, "x": PUBLISHED}  # the fault may have come after Bluesky posted


def test_review_networks_never_attempted_are_not_left_pending() -> None:
    items = photos(3)
    store = make_store(items)
    bluesky, x = NetworkPublisher(BLUESKY), NetworkPublisher(X)
    bluesky.fail_at["post"] = KeyboardInterrupt()  # Ctrl-C during Bluesky's post

    with pytest.raises(KeyboardInterrupt):
        run(store, [bluesky, x])

    assert x.calls == ["prepare", "upload", "alt_text"], "X was never asked to post"
    (on_x,) = [e for e in log_of(store).entries if e.network == "x"]
    assert on_x.status == FAILED, f"X holds a {on_x.status} claim for a post never sent"
