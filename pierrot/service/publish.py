"""The publish use case: choose one photo and post it to every selected network, at most once whatever happens.

Exactly once where the network allows it: on a network that can settle (``NetworkRules.settles_unknown``), an
interrupted post is looked up by the key pierrot chose before posting, at the start of the next run."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pierrot.config import DEFAULT_ALT_TEMPLATE, DEFAULT_TEMPLATE
from pierrot.domain import (
    BLOCKING,
    FAILED,
    LOG_DOCUMENT,
    PENDING,
    PUBLISHED,
    UNKNOWN,
    Filters,
    LogEntry,
    Photo,
    PublishLog,
    Size,
    StoredCatalogue,
    compose,
    eligible_in,
    iso,
    parse_iso,
    sizes_for,
    utc_now,
)
from pierrot.errors import (
    AnotherRunActive,
    ConfigError,
    DocumentError,
    DuplicateEvent,
    DuplicatePost,
    ImageError,
    NothingToPublish,
    PhotoGone,
    PierrotError,
    PostOutcomeUnknown,
    PostRefused,
    PublishError,
    SizeUnavailable,
    StoreError,
    UsageError,
)
from pierrot.logs import REDACT
from pierrot.ports import (
    Attempt,
    DocumentStore,
    FetchedImage,
    ImageFetcher,
    NetworkRules,
    Post,
    Publisher,
    Settled,
)
from pierrot.service._log import (
    Clock,
    EntryTakenOver,
    LogState,
    read_catalogue,
    read_log,
    update_log,
)

log = logging.getLogger(__name__)

# How many photos, and for how long, one run tries when the chosen ones turn out to be gone from Flickr: a 404 is
# quick, and a stream where most photos were deleted since the last sync must still get its post.
MAX_PHOTO_TRIES = 50
MAX_PHOTO_SEARCH_SECONDS = 30.0
GONE_WARNINGS = 3  # one line each for the first few; then one line for the rest
# After the claim, what posting to one network may take, in answers (a session refresh, the post), and what
# recording its outcome may take (the store's writes and re-reads, retried): the lease must cover both.
POST_ANSWERS = 2
RECORD_SECONDS = 30.0
# A pending entry stamped further ahead than this is a clock-skewed machine's, not a live run's.
FUTURE_TOLERANCE_SECONDS = 300
# An interrupted post is looked up only this long after it was last touched: the request may still be in flight
# (Mastodon stores an Idempotency-Key only once the status is saved).
SETTLE_AFTER_SECONDS = 120
# The reason of a failed entry whose text X already had: the next run avoids that text.
DUPLICATE_TEXT_REASON = "the network refused the text as a duplicate of an earlier post"
TEMPLATE_SETTING = "PIERROT_PUBLISH_TEMPLATE"
ALT_TEMPLATE_SETTING = "PIERROT_PUBLISH_ALT_TEMPLATE"

PublisherFactory = Callable[[str], Publisher]


@dataclass(frozen=True)
class NetworkOptions:
    """One network of the run: its rules, and its own templates where the user set them."""

    rules: NetworkRules
    template: str | None = None
    alt_template: str | None = None
    template_setting: str = TEMPLATE_SETTING
    alt_template_setting: str = ALT_TEMPLATE_SETTING

    @property
    def name(self) -> str:
        return self.rules.name


@dataclass(frozen=True)
class PublishOptions:
    """How one publish run chooses and composes."""

    networks: tuple[NetworkOptions, ...] = ()
    filters: Filters = field(default_factory=Filters)
    template: str = DEFAULT_TEMPLATE
    alt_template: str = DEFAULT_ALT_TEMPLATE
    link: bool = False
    alt_text: bool = True
    photo_id: str | None = None
    force: bool = False
    dry_run: bool = False
    output_dir: Path | None = None
    lease_seconds: int = 900
    # The scheduler's id for the event that started this run (Lambda): a second delivery is refused.
    event_id: str | None = None
    keep_location: bool = False
    prefer: str = "random"
    min_interval: dt.timedelta | None = None
    repost_after: dt.timedelta | None = None
    jitter: dt.timedelta | None = None

    def template_for(self, network: NetworkOptions) -> str:
        return network.template or self.template

    def alt_template_for(self, network: NetworkOptions) -> str:
        return network.alt_template or self.alt_template


@dataclass
class NetworkResult:
    """What one network of the run got (or would get, in a dry run)."""

    network: str
    display: str
    text: str = ""
    length: int = 0
    limit: int = 0
    unit: str = ""
    alt_text: str | None = None
    alt_limit: int = 0
    image: FetchedImage | None = None
    photo_id: str | None = None
    post: Post | None = None
    error: str | None = None
    skipped: str | None = None
    settled: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "photo_id": self.photo_id,
            "text": self.text,
            "length": self.length,
            "limit": self.limit,
            "alt_text": self.alt_text,
            "size": self.image.size_label if self.image else None,
            "bytes": self.image.nbytes if self.image else None,
            "post_id": self.post.id if self.post else None,
            "post_url": self.post.url if self.post else None,
            "error": self.error,
            "skipped": self.skipped,
            "settled": list(self.settled),
        }


@dataclass
class PublishReport:
    """What a publish run chose, composed and (unless a dry run) posted, network by network."""

    photo: Photo | None
    dry_run: bool
    results: list[NetworkResult] = field(default_factory=list)
    rule: str = "random"
    why: str = ""
    saved_to: Path | None = None
    notes: list[str] = field(default_factory=list)
    # Lines the user should see even when the run succeeds (a skipped photo, a stale entry settled).
    warnings: list[str] = field(default_factory=list)

    # ---- the first network's view, which is the whole story of a one-network run ----------------

    def _first(self) -> NetworkResult | None:
        return next((r for r in self.results if r.skipped is None), self.results[0] if self.results else None)

    @property
    def post(self) -> Post | None:
        first = self._first()
        return first.post if first else None

    @property
    def text(self) -> str:
        first = self._first()
        return first.text if first else ""

    @property
    def text_weight(self) -> int:
        first = self._first()
        return first.length if first else 0

    @property
    def alt_text(self) -> str | None:
        first = self._first()
        return first.alt_text if first else None

    @property
    def image(self) -> FetchedImage | None:
        first = self._first()
        return first.image if first else None

    @property
    def size_label(self) -> str:
        return self.image.size_label if self.image else ""

    @property
    def width(self) -> int:
        return self.image.width if self.image else 0

    @property
    def height(self) -> int:
        return self.image.height if self.image else 0

    @property
    def nbytes(self) -> int:
        return self.image.nbytes if self.image else 0

    @property
    def failed(self) -> list[NetworkResult]:
        return [r for r in self.results if r.error is not None]

    @property
    def posts(self) -> list[NetworkResult]:
        return [r for r in self.results if r.post is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo_id": self.photo.id if self.photo else None,
            "title": self.photo.title if self.photo else None,
            "size": self.size_label or None,
            "bytes": self.nbytes or None,
            "text": self.text,
            "text_weight": self.text_weight,
            "alt_text": self.alt_text,
            "dry_run": self.dry_run,
            "post_id": self.post.id if self.post else None,
            "post_url": self.post.url if self.post else None,
            "rule": self.rule,
            "why": self.why,
            "networks": {r.network: r.to_dict() for r in self.results},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


class _NetworkDown(Exception):
    """One network failed in a step that concerns it alone; its result says why."""


class SomeNetworksFailed(PublishError):
    """At least one network of a several-network run failed; the others did what the report says."""

    def __init__(self, report: PublishReport) -> None:
        lines = [f"{r.display}: {r.error}" for r in report.failed]
        super().__init__("; ".join(lines))
        self.report = report
        self.lines = lines


# ==== the run ====================================================================================


def publish(
    store: DocumentStore,
    fetcher: ImageFetcher,
    publishers: PublisherFactory | None,
    options: PublishOptions,
    *,
    now: Clock = utc_now,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishReport:
    """Post one never-posted photo to each network of the run, at most once whatever happens.

    With ``dry_run``: no network call, no write. A one-network run raises that network's failure as it is; a
    run of several raises SomeNetworksFailed (carrying the report) when any failed, after the others posted."""
    if not options.networks:
        raise UsageError("no network to publish to: set PIERROT_PUBLISH_NETWORKS")
    rng = rng or random.SystemRandom()
    # A template that no network of the run can take is a usage error before anything (and before the jitter);
    # one that only some cannot take drops those networks alone, in the run.
    invalid = _invalid_templates(options, {n.name: n.rules for n in options.networks})
    if len(invalid) == len(options.networks):
        raise next(iter(invalid.values()))
    if options.jitter is not None and not options.dry_run:
        sleep(rng.uniform(0, options.jitter.total_seconds()))
    run = _Run(store, fetcher, publishers, options, now, rng, sleep)
    for name, exc in invalid.items():
        run.drop(name, exc)
    with tempfile.TemporaryDirectory(prefix="pierrot-") as workdir:
        run.workdir = Path(workdir)
        report = run.go()
    if len(options.networks) > 1 and report.failed:
        raise SomeNetworksFailed(report)
    return report


class _Run:
    """One publish run: its state across the steps, so each step is a short method."""

    def __init__(
        self,
        store: DocumentStore,
        fetcher: ImageFetcher,
        publishers: PublisherFactory | None,
        options: PublishOptions,
        now: Clock,
        rng: random.Random,
        sleep: Callable[[float], None],
    ) -> None:
        self.store, self.fetcher, self.factory, self.options = store, fetcher, publishers, options
        self.now, self.rng, self.sleep = now, rng, sleep
        self.run_id = uuid.uuid4().hex
        self.workdir = Path()
        self.report = PublishReport(None, options.dry_run)
        self.results = {n.name: NetworkResult(n.name, n.rules.display) for n in options.networks}
        self.report.results = list(self.results.values())
        self.rules = {n.name: n.rules for n in options.networks}
        self.publishers: dict[str, Publisher] = {}
        self.single = len(options.networks) == 1
        self._texts: dict[str, Iterator[str]] = {}
        self._raised: BaseException | None = None
        self._dropped: set[str] = set()
        self._accounts: dict[str, str | None] = {}

    def drop(self, name: str, exc: BaseException) -> None:
        """Leave a network out of this run before it starts (its settings or limits cannot work)."""
        self._fail(name, exc)
        self._dropped.add(name)

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    def go(self) -> PublishReport:
        # 1. Read the log and the catalogue; a live lease means another run is publishing.
        state = read_log(self.store)
        # Entries are only ever appended: what a claim must check is everything appended since this first read.
        seen = len(state.log.entries)
        _refuse_handled_event(state.log, self.options.event_id)
        catalogue = read_catalogue(self.store)
        state = _settle_stale(self.store, state, self.options, self.now(), self.report.warnings)
        active = [name for name in self._due(state.log) if name not in self._dropped]
        if not active:
            return self._finish()
        if not self.dry_run:
            active = self._prepare(active)
            state, active = self._settle_unknown(state, catalogue, active)
        if not active:
            return self._finish()

        # 2. Choose and download (each size once), compose for each network: nothing public happens here.
        photo, images = self._choose_and_fetch(catalogue, state.log, active)
        self.report.photo = photo
        for name in list(active):
            try:
                self._compose(name, photo, catalogue, state.log, images[name])
            except (PublishError, ConfigError) as exc:
                self._fail(name, exc)
                if self.single:
                    raise
                active.remove(name)
        if not active:
            return self._finish()
        if self.options.output_dir is not None:
            first = images[active[0]]
            self.report.saved_to = _keep_image(first, self.options.output_dir)
        if self.dry_run:
            return self.report

        # 3. Upload to each network (still nothing public); a network that fails here is out of this run.
        media = self._upload(photo, images, active)
        if not media:
            return self._finish()

        # 4. Claim the photo on every network at once with pending entries (one conditional write).
        entries = self._claim_entries(photo, media)
        state = _append_pending(self.store, state, entries, seen, self.options)

        # 5. Post to each network, and record each outcome whatever it is.
        for position, entry in enumerate(entries):
            try:
                state = self._post(state, photo, entry, catalogue)
            except BaseException:
                # Stopped (interrupted, or a fault pierrot did not foresee): the networks not yet tried were claimed
                # but never sent anything. Best effort: record that, so they are not left pending then unknown.
                for untried in entries[position + 1:]:
                    try:
                        state = _record(self.store, state, untried, self.sleep, self.now, status=FAILED,
                                        reason="not attempted: the run stopped before posting it")
                    except BaseException:  # the run is stopping; the lease covers what is left
                        break
                raise
        return self._finish()

    def _finish(self) -> PublishReport:
        failed = self.report.failed
        if self.single and failed and failed[0].error is not None and self._raised is not None:
            raise self._raised
        return self.report

    def _fail(self, name: str, exc: BaseException) -> None:
        self.results[name].error = str(exc)
        if self.single:
            self._raised = exc

    # ---- which networks are due ------------------------------------------------------------------

    def _due(self, plog: PublishLog) -> list[str]:
        """The networks of the run, less those posted to within ``min_interval``."""
        due = []
        interval = self.options.min_interval
        moment = self.now()
        for name in self.results:
            last = plog.last_posted(name)
            since = parse_iso(last) if last else None
            if interval is not None and since is not None and moment - since < interval:
                age = moment - since
                result = self.results[name]
                result.skipped = (
                    f"{result.display}: last post {_duration(age)} ago; min_interval {_duration(interval)}: "
                    "not posting"
                )
                continue
            due.append(name)
        return due

    # ---- publishers ------------------------------------------------------------------------------

    def _prepare(self, active: list[str]) -> list[str]:
        """Make and prepare each network's publisher (a login, an instance's limits); a failure drops it."""
        if self.factory is None:
            raise UsageError("no publisher configured")
        ready = []
        for name in active:
            try:
                publisher = self.factory(name)
                rules = publisher.prepare()
                # The limits in force (an instance's own): a template they cannot take drops this network alone.
                problem = _invalid_templates(self.options, {name: rules}).get(name)
                if problem is not None:
                    raise problem
                self.rules[name] = rules
            except PierrotError as exc:
                self._fail(name, exc)
                if self.single:
                    raise
                continue
            self.publishers[name] = publisher
            ready.append(name)
        return ready

    # ---- settling what an interrupted run left -----------------------------------------------------

    def _settle_unknown(
        self, state: LogState, catalogue: StoredCatalogue, active: list[str]
    ) -> tuple[LogState, list[str]]:
        """Ask each network that can whether its interrupted posts exist; send an absent one again with its key.

        A network whose interrupted post this run sends again (or tries to) posts nothing else in this run."""
        remaining = []
        for name in active:
            rules = self.rules[name]
            moment = self.now()
            unsettled = [e for e in state.log.entries if e.network == name and e.status == UNKNOWN and e.key
                         and e.age(moment) >= SETTLE_AFTER_SECONDS]
            if not rules.settles_unknown or not unsettled:
                remaining.append(name)
                continue
            resume: tuple[LogEntry, Settled] | None = None
            try:
                for entry in unsettled:
                    state, settled = self._settle_one(state, name, entry)
                    if settled is not None and resume is None:
                        resume = entry, settled
            except _NetworkDown:
                if self.single:
                    raise self._raised or PublishError(f"{rules.display}: the look-up failed") from None
                continue
            if resume is None:
                remaining.append(name)
                continue
            # This run's post on this network is the interrupted one, sent again with the same key.
            state, done = self._repost(state, catalogue, name, *resume)
            if not done:
                remaining.append(name)  # definitely never posted, and it cannot be sent again: a new photo instead
        return state, remaining

    def _settle_one(self, state: LogState, name: str, entry: LogEntry) -> tuple[LogState, Settled | None]:
        """Settle one interrupted post by asking its network; the answer if it is to be sent again, else None."""
        publisher, result, display = self.publishers[name], self.results[name], self.rules[name].display
        try:
            account = self._account(name)
            if entry.account is not None and account != entry.account:
                # Another account's answer says nothing about this post: it is never settled against it.
                self.report.warnings.append(
                    f"photo {entry.photo_id} on {display}: the interrupted post was made by account {entry.account}, "
                    f"and the credentials are now account {account or 'unknown'}'s; not asking that account. Check "
                    f"the first account, then `pierrot resolve {entry.photo_id} --network {name}`"
                )
                return state, None
            settled = publisher.settle(_attempt(entry), entry.text or "", entry.started_at)
        except PierrotError as exc:
            # The look-up itself failed (credentials refused, login limit): this network's failure, no other's.
            self._fail(name, exc)
            raise _NetworkDown from exc
        note = f" ({settled.reason})" if settled.reason else ""
        if settled.posted is True:
            post = settled.post
            state, kept = self._settle_record(state, entry, status=PUBLISHED, post_id=post.id if post else None,
                                              post_url=post.url if post else None, updated_at=entry.started_at,
                                              reason=f"settled: {display} has the interrupted post{note}")
            if kept:
                result.settled.append(f"photo {entry.photo_id}: the interrupted post exists on {display}"
                                      + (f" ({post.url})" if post else "") + "; recorded as published")
            return state, None
        if settled.same_key:
            return state, settled
        if settled.posted is False:
            state, kept = self._settle_record(state, entry, status=FAILED,
                                              reason=f"settled: {display} has no such post{note}")
            if kept:
                result.settled.append(f"photo {entry.photo_id}: the interrupted post never reached {display}; "
                                      "it may be chosen again")
            return state, None
        self.report.warnings.append(
            f"photo {entry.photo_id} on {display}: could not learn whether the interrupted post exists "
            f"({settled.reason or 'no answer'}); the next run asks again"
        )
        return state, None

    def _settle_record(self, state: LogState, entry: LogEntry, **changes: Any) -> tuple[LogState, bool]:
        """Record what a network said of an unknown entry, unless another run has settled or taken it since."""
        try:
            return _record(self.store, state, entry, self.sleep, self.now, expect=UNKNOWN, **changes), True
        except EntryTakenOver:
            self.report.warnings.append(f"photo {entry.photo_id} on {entry.network}: another run settled the "
                                        "interrupted post first; leaving it to that run")
            return read_log(self.store), False

    def _repost(
        self, state: LogState, catalogue: StoredCatalogue, name: str, entry: LogEntry, settled: Settled
    ) -> tuple[LogState, bool]:
        """Send an interrupted post again with its key (the network keeps one post per key); True if this network's
        turn in the run is spent on it.

        Only a definite answer of absence is evidence: when the network said the post is not there, a photo that
        can no longer be sent is recorded failed; otherwise anything short of success leaves the entry unknown.
        The image is uploaded first (nothing public), then the entry is taken back to pending by a conditional
        write, with this run's id, time and event: two runs never send it together, and a run that outlived its
        lease can no longer record over this one."""
        result, rules = self.results[name], self.rules[name]
        absent = settled.posted is False
        index = catalogue.index_of(entry.photo_id)
        try:
            if index is None:
                raise PhotoGone(f"photo {entry.photo_id} is no longer in the catalogue")
            photo = catalogue.photo(index)
            if settled.staged is not None:
                # The network still holds this very post staged (Threads' container): publish it as it is. A new
                # upload would stage a second post beside it.
                result.photo_id, result.text = photo.id, entry.text or ""
                media_id = settled.staged
            else:
                images = _Images(self.fetcher, photo, self.workdir, [rules], self.options.keep_location)
                image = images.for_network(rules)
                network = next(n for n in self.options.networks if n.name == name)
                alt = self._alt(photo, network, rules)
                result.photo_id, result.text, result.image, result.alt_text = photo.id, entry.text or "", image, alt
                media_id = self.publishers[name].upload_media(image, alt, text=entry.text or "")
        except PierrotError as exc:
            if absent:
                state, kept = self._settle_record(
                    state, entry, status=FAILED, reason=f"settled: {rules.display} has no such post, and it "
                    f"cannot be sent again ({exc})")
                if kept:
                    result.settled.append(f"photo {entry.photo_id}: the interrupted post never reached "
                                          f"{rules.display} and cannot be sent again ({exc})")
                return state, False
            self._fail(name, PublishError(
                f"{rules.display}: the interrupted post of photo {entry.photo_id} may exist and could not be sent "
                f"again with its key ({exc}); it stays unknown, and the next `pierrot publish` settles it"
            ))
            return state, True
        try:
            state, entry = _take_back(self.store, state, entry, self.now, self.run_id, self.options.event_id,
                                      media_id=media_id,
                                      # The key alone makes it one post; a fresh time keeps it from reading as
                                      # backdated.
                                      created_at=_created_at(self.now()) if entry.created_at else None)
        except PierrotError as exc:
            self._fail(name, exc)
            return state, True
        result.settled.append(f"photo {entry.photo_id}: the interrupted post is sent again to {rules.display} "
                              "with the same key, which keeps it to one post")
        return self._post(state, photo, entry, catalogue, resumed=True, absent=absent), True

    def _account(self, name: str) -> str | None:
        """The account the network's credentials are for (asked once per run)."""
        if name not in self._accounts:
            self._accounts[name] = self.publishers[name].account()
        return self._accounts[name]

    # ---- choosing and downloading ------------------------------------------------------------------

    def _choose_and_fetch(
        self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str]
    ) -> tuple[Photo, dict[str, FetchedImage]]:
        """Choose a photo and download it for each network; a photo gone from Flickr gives way to another."""
        gone: set[str] = set()
        rules = [self.rules[name] for name in active]
        give_up = time.monotonic() + MAX_PHOTO_SEARCH_SECONDS
        while len(gone) < MAX_PHOTO_TRIES and (not gone or time.monotonic() < give_up):
            photo = self._choose(catalogue, plog, active, gone)
            images = _Images(self.fetcher, photo, self.workdir, rules, self.options.keep_location)
            try:
                found: dict[str, FetchedImage] = {}
                failures: dict[str, ImageError] = {}
                for name in sorted(active, key=lambda n: -self.rules[n].max_image_bytes):
                    try:
                        found[name] = images.for_network(self.rules[name])
                    except PhotoGone:
                        raise
                    except ImageError as exc:
                        failures[name] = exc
            except PhotoGone as exc:
                if self.options.photo_id is not None:
                    raise
                gone.add(photo.id)
                if len(gone) <= GONE_WARNINGS:
                    self.report.warnings.append(
                        f"{exc}; skipped it (the next `pierrot sync` drops it from the catalogue)")
                continue
            if len(gone) > GONE_WARNINGS:
                self.report.warnings.append(f"{len(gone) - GONE_WARNINGS} more photos are gone from Flickr and were "
                                            "skipped too: run `pierrot sync`")
            if not found:
                raise next(iter(failures.values()))
            # No size of this photo fits one network (say all over Bluesky's 1 MB): that network fails, not all.
            for name, failure in failures.items():
                self._fail(name, failure)
                active.remove(name)
            return photo, found
        raise ImageError(
            f"{len(gone)} photos in a row are gone from Flickr (deleted or made private since the last sync): "
            "run `pierrot sync`, then publish again"
        )

    def _choose(self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str], skip: set[str]) -> Photo:
        options = self.options
        if options.photo_id is not None:
            return _the_photo(options, catalogue, plog, active)
        if not len(catalogue):
            raise NothingToPublish("the catalogue is empty: run `pierrot sync` first")
        split = eligible_in(catalogue, plog, active, options.filters)
        candidates = [i for i in split.eligible if catalogue.ids[i] not in skip and i not in catalogue.videos]
        if candidates:
            return self._pick(catalogue, candidates)
        if options.repost_after is not None:
            again = self._repost_candidates(catalogue, plog, active, skip)
            if again:
                return again
        if skip and split.eligible:
            raise NothingToPublish(
                f"every remaining photo that was tried ({len(skip)}) is gone from Flickr: run `pierrot sync` to "
                "drop them from the catalogue"
            )
        if split.eligible or split.photos == 0:
            raise NothingToPublish("the catalogue holds no photos (only videos): nothing to publish")
        where = " and ".join(self.rules[name].display for name in active)
        states = [plog.states(name) for name in active]
        unknown = sum(1 for pid in catalogue.ids if any(s.get(pid) == UNKNOWN for s in states))
        if split.published >= split.photos:
            if unknown:
                raise NothingToPublish(
                    f"no photo is left to post on {where}: {unknown} of the {split.photos} may or may not have "
                    "been posted (unknown); check your account and settle them with `pierrot resolve` "
                    "(`pierrot history` lists them)"
                )
            hint = "" if options.repost_after is not None else " (set [publish] repost_after to post them again)"
            raise NothingToPublish(
                f"every photo in the catalogue ({split.photos}) has been published on {where}: nothing left "
                f"to post{hint}"
            )
        raise NothingToPublish(
            f"the filters exclude all {split.filtered_out} unpublished photos "
            f"({split.published} of {split.photos} already published): loosen the [publish] filters or options"
        )

    def _pick(self, catalogue: StoredCatalogue, candidates: list[int]) -> Photo:
        """One of the eligible photos, by the run's ``prefer`` rule; uniform without parsing for ``random``."""
        if self.options.prefer == "random":
            index = candidates[self.rng.randrange(len(candidates))]
            self.report.rule, self.report.why = "random", f"uniform among {len(candidates):,} eligible photos"
            return catalogue.photo(index)
        from pierrot.domain import selection

        pairs = [(i, catalogue.photo(i)) for i in candidates]
        choice = selection.choose(pairs, self.options.prefer, self._today(), self.rng)
        self.report.rule, self.report.why = choice.rule, choice.why
        return catalogue.photo(choice.index)

    def _today(self) -> dt.date:
        """Today in the user's time zone (TZ, else the system's): anniversaries are local dates."""
        return self.now().astimezone().date()

    def _repost_candidates(
        self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str], skip: set[str]
    ) -> Photo | None:
        """With repost_after: the photo whose last post is the longest ago, if older than that."""
        assert self.options.repost_after is not None
        cutoff = self.now() - self.options.repost_after
        last: dict[str, str] = {}
        held: set[str] = set()
        for entry in plog.entries:
            if entry.network not in active:
                continue
            if entry.state in (PENDING, UNKNOWN):
                held.add(entry.photo_id)
            elif entry.state == PUBLISHED:
                last[entry.photo_id] = max(last.get(entry.photo_id, ""), entry.updated_at)
        ready = [(when, pid) for pid, when in last.items()
                 if pid not in held and pid not in skip and (parse_iso(when) or cutoff) < cutoff]
        if not ready:
            return None
        ready.sort()
        oldest = [pid for when, pid in ready if when == ready[0][0]]
        for pid in self.rng.sample(oldest, len(oldest)) + [pid for _, pid in ready[len(oldest):]]:
            index = catalogue.index_of(pid)
            if index is None or index in catalogue.videos:
                continue
            photo = catalogue.photo(index)
            if not self.options.filters.matches(photo):
                continue
            self.report.rule = "repost"
            self.report.why = f"every photo has been posted; last posted {last[pid]}, the longest ago"
            return photo
        return None

    # ---- composing ---------------------------------------------------------------------------------

    def _context(self, photo: Photo) -> dict[str, str]:
        from pierrot.domain import selection

        today = self._today()
        return {"years_ago": selection.years_ago_text(photo, today), "month": selection.month_name(today)}

    def _alt(self, photo: Photo, network: NetworkOptions, rules: NetworkRules) -> str | None:
        if not self.options.alt_text:
            return None
        return compose.compose_alt_text(photo, self.options.alt_template_for(network), limit=rules.alt_limit,
                                        setting=network.alt_template_setting, context=self._context(photo))

    def _compose(
        self, name: str, photo: Photo, catalogue: StoredCatalogue, plog: PublishLog, image: FetchedImage
    ) -> None:
        network = next(n for n in self.options.networks if n.name == name)
        rules, result = self.rules[name], self.results[name]
        texts = _texts(self.options, network, rules, photo, catalogue, plog, self._context(photo))
        result.photo_id = photo.id
        text = next(texts, None)
        if text is None:
            raise PublishError(
                f"every text pierrot can make for photo {photo.id} is already on {rules.display} (a title many photos "
                "share, with no date taken): add {date_taken}, {description} or {url} to [publish] template"
            )
        result.text = text
        result.length, result.limit, result.unit = rules.measure(result.text), rules.text_limit, rules.unit
        result.alt_text = self._alt(photo, network, rules)
        result.alt_limit = rules.alt_limit
        result.image = image
        self._texts[name] = texts

    # ---- uploading, claiming, posting --------------------------------------------------------------

    def _upload(self, photo: Photo, images: dict[str, FetchedImage], active: list[str]) -> dict[str, str]:
        media: dict[str, str] = {}
        for name in active:
            result = self.results[name]
            try:
                media_id = self.publishers[name].upload_media(images[name], result.alt_text, text=result.text)
                self._account(name)  # kept with the claim: the post is only ever settled against this account
                media[name] = media_id
            except PierrotError as exc:
                self._fail(name, exc)
                if self.single:
                    raise
        return media

    def _claim_entries(self, photo: Photo, media: dict[str, str]) -> list[LogEntry]:
        moment = iso(self.now()) or ""
        entries = []
        for name, media_id in media.items():
            attempt = self.publishers[name].new_attempt(_created_at(self.now()))
            entries.append(LogEntry(
                photo.id, name, PENDING, self.run_id, moment, moment, title=photo.title or None,
                text=self.results[name].text, event_id=self.options.event_id,
                key=attempt.key or None, created_at=attempt.created_at if attempt.key else None,
                media_ids=(media_id,), account=self._accounts.get(name),
            ))
        return entries

    def _post(
        self, state: LogState, photo: Photo, entry: LogEntry, catalogue: StoredCatalogue, *, resumed: bool = False,
        absent: bool = False,
    ) -> LogState:
        """Post one network's claimed entry; record what happened. Never raises for a network's own failure.

        ``resumed``: the entry is an interrupted post sent again with its key; then a refusal is evidence of nothing
        (the first attempt may be the post) unless the network said it is ``absent``: the entry stays unknown."""
        name = entry.network
        publisher, rules, result = self.publishers[name], self.rules[name], self.results[name]
        text = entry.text or result.text
        attempt = _attempt(entry)
        media_ids = list(entry.media_ids[-1:])  # this attempt's upload; an earlier one may be attached already
        undecided = UNKNOWN if resumed and not absent else FAILED
        if not self._still_held(state, entry):
            reason = (f"not attempted: the run's lease ({self.options.lease_seconds}s) ran out before it could post, "
                      "and another run may have taken the entry")
            state, _ = self._outcome(state, entry, status=undecided, reason=reason)
            self._fail(name, PublishError(
                f"{rules.display}: photo {photo.id} {reason}; raise PIERROT_PUBLISH_LEASE_SECONDS (`pierrot check` "
                "says how long a run can take)"))
            return state
        retried = False
        while True:
            try:
                post = publisher.create_post(text, media_ids, attempt)
            except PostRefused as exc:
                reason = str(exc) if undecided == FAILED else (
                    f"sending the interrupted post again was refused ({exc}); the first attempt may have been posted")
                state, _ = self._outcome(state, entry, status=undecided, reason=reason, text=text)
                self._fail(name, exc if undecided == FAILED else PublishError(
                    f"{exc}; photo {photo.id} stays unknown on {rules.display}: the next `pierrot publish` settles it"))
                return state
            except DuplicatePost as exc:
                if not rules.refuses_repeated_text or resumed or _may_be_posted(state.log, entry):
                    # The network says this post (its key, its media or its very text) already exists.
                    state, kept = self._outcome(state, entry, status=PUBLISHED, text=text,
                                                reason=f"{rules.display} answered that it already has this post: an "
                                                f"earlier attempt went through ({exc})")
                    if kept:
                        result.settled.append(f"photo {photo.id} was already posted on {rules.display} by an "
                                              "earlier attempt; now recorded as published")
                        self.report.notes.extend(result.settled[-1:])
                    return state
                nxt = None if retried else next(self._texts.get(name, iter(())), None)
                if nxt is None:
                    state, kept = self._outcome(state, entry, status=FAILED, text=text,
                                                reason=f"{DUPLICATE_TEXT_REASON} ({exc}); nothing was posted")
                    tried = "twice, with two different texts" if retried else "and no other text could be made"
                    if kept:
                        self._fail(name, PublishError(
                            f"{rules.display} refused photo {photo.id} as a duplicate of an earlier post {tried}; "
                            "nothing was posted and the photo stays eligible. Change [publish] template (add "
                            "{date_taken} or {description}) if this keeps happening"
                        ))
                    return state
                # A definite refusal: nothing was posted, so trying a distinct text is safe.
                self.report.warnings.append(
                    f"{rules.display} already has the text {text!r} from a post pierrot does not know of; "
                    f"posting photo {photo.id} as {nxt!r} instead"
                )
                text, retried = nxt, True
                state, kept = self._outcome(state, entry, status=PENDING, text=text)
                if not kept:
                    return state
                result.text, result.length = text, rules.measure(text)
            except PostOutcomeUnknown as exc:
                state, _ = self._outcome(state, entry, status=UNKNOWN, reason=str(exc), text=text)
                if rules.settles_unknown:
                    advice = f"the next `pierrot publish` asks {rules.display} and settles it"
                else:
                    advice = (f"check your {rules.display} account, then run `pierrot resolve {photo.id} "
                              "--posted POST_ID` or `--not-posted`")
                self._fail(name, PublishError(
                    f"{exc}; photo {photo.id} may or may not be posted on {rules.display} and will not be posted "
                    f"there again automatically: {advice}"
                ))
                return state
            except Exception as exc:
                # A fault pierrot did not foresee: the post may or may not exist. That network's failure alone.
                state, _ = self._outcome(state, entry, status=UNKNOWN, text=text,
                                         reason=f"unexpected failure while posting: {exc!r}")
                self._fail(name, exc)
                return state
            except BaseException as exc:
                with contextlib.suppress(PierrotError):
                    _record(self.store, state, entry, self.sleep, self.now, status=UNKNOWN, text=text,
                            reason=f"interrupted while posting: {exc!r}")
                raise
            else:
                break
        result.post = post
        state, _ = self._outcome(state, entry, status=PUBLISHED, post_id=post.id, post_url=post.url, reason=None,
                                 text=text, posted=post)
        return state

    def _still_held(self, state: LogState, entry: LogEntry) -> bool:
        """Whether the entry's lease still runs: past it, another run may mark the claim unknown and settle it."""
        current = _find(state.log, entry) or entry
        touched = parse_iso(current.updated_at)
        return touched is None or (self.now() - touched).total_seconds() < self.options.lease_seconds

    def _outcome(
        self, state: LogState, entry: LogEntry, *, status: str, posted: Post | None = None, **changes: Any
    ) -> tuple[LogState, bool]:
        """Record a post's outcome if the entry is still this run's pending one; False (and why) if it is not.

        A run that outlived its lease must not write over what another run has recorded since."""
        current = _find(state.log, entry) or entry
        touched = parse_iso(current.updated_at)
        deadline = None if touched is None else touched + dt.timedelta(seconds=self.options.lease_seconds)
        try:
            return _record(self.store, state, entry, self.sleep, self.now, status=status, posted=posted,
                           deadline=deadline, **changes), True
        except EntryTakenOver:
            display = self.rules[entry.network].display
            what = f"was posted as {posted.url}" if posted else f"ended {status}"
            self._fail(entry.network, PublishError(
                f"photo {entry.photo_id} {what} on {display}, but this run outlived its lease and another run has "
                f"taken the entry over: not recording over it. Check `pierrot history`"
                + (f"; if it does not show the post, `pierrot resolve {entry.photo_id} --network {entry.network} "
                   f"--posted {posted.url}`" if posted else "")
            ))
            return read_log(self.store), False


def longest_hold(networks: int, answer_seconds: float) -> float:
    """The longest a run can hold its claim (post and record on each network in turn): what the lease must cover."""
    return networks * (POST_ANSWERS * answer_seconds + RECORD_SECONDS)


def _attempt(entry: LogEntry) -> Attempt:
    """What the network needs to make or find the entry's post exactly once."""
    return Attempt(entry.key or "", entry.created_at or entry.started_at, entry.media_ids, entry.account)


def _invalid_templates(options: PublishOptions, rules: dict[str, NetworkRules]) -> dict[str, ConfigError]:
    """The networks whose rules the templates cannot fit, each with its error (naming the network)."""
    problems: dict[str, ConfigError] = {}
    for network in options.networks:
        if network.name not in rules:
            continue
        limits = rules[network.name]
        try:
            compose.validate_template(options.template_for(network), network.template_setting,
                                      measure=limits.measure, limit=limits.text_limit)
            compose.validate_template(options.alt_template_for(network), network.alt_template_setting, measure=len,
                                      limit=limits.alt_limit)
        except ConfigError as exc:
            problems[network.name] = ConfigError(f"{limits.display}: {exc}")
    return problems


def _created_at(moment: dt.datetime) -> str:
    """The time a post says it was made, to the millisecond, as Bluesky's createdAt wants it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _duration(delta: dt.timedelta) -> str:
    from pierrot.domain.durations import format_duration

    return format_duration(delta)


def _find(plog: PublishLog, entry: LogEntry) -> LogEntry | None:
    index = plog.find(entry.run_id, entry.photo_id, entry.network)
    return plog.entries[index] if index is not None else None


# ==== the image for each network =================================================================


class _Images:
    """The photo's sizes as this run downloads them: each size once, whichever networks use it."""

    def __init__(
        self, fetcher: ImageFetcher, photo: Photo, workdir: Path, rules: Sequence[NetworkRules], keep_location: bool
    ) -> None:
        self.fetcher, self.photo, self.workdir, self.keep_location = fetcher, photo, workdir, keep_location
        self.cache: dict[str, FetchedImage | SizeUnavailable] = {}

    def for_network(self, rules: NetworkRules) -> FetchedImage:
        """The largest size that fits the network (PhotoGone if every size answers 404/410).

        Ask for the networks in decreasing order of their byte caps: a download stops at the asking network's cap,
        so a size found too large then is too large for every network after it, and none is fetched twice."""
        photo = self.photo
        sizes = sizes_for(photo, max_edge=rules.max_image_edge, max_pixels=rules.max_image_pixels)
        if not sizes:
            raise ImageError(f"photo {photo.id} has no size {rules.display} takes in the catalogue; run "
                             "`pierrot sync --full`")
        failures: list[str] = []
        statuses: list[int | None] = []
        for size in sizes:
            got = self.cache.get(size.label)
            if got is None:
                got = self._download(size, rules.max_image_bytes)
                self.cache[size.label] = got
            if isinstance(got, SizeUnavailable):
                failures.append(f"{size.label}: {got}")
                statuses.append(got.status)
                continue
            if got.nbytes > rules.max_image_bytes:
                failures.append(f"{size.label}: {got.nbytes:,} bytes, over {rules.display}'s {rules.max_image_bytes:,}")
                statuses.append(None)
                continue
            if rules.max_image_pixels is not None and got.width * got.height > rules.max_image_pixels:
                failures.append(f"{size.label}: {got.width}x{got.height}, over {rules.display}'s pixel limit")
                statuses.append(None)
                continue
            return got
        if statuses and all(status in (404, 410) for status in statuses):
            raise PhotoGone(
                f"photo {photo.id} is gone from Flickr (deleted or made private since the last sync: every size "
                f"answers {'/'.join(sorted({str(s) for s in statuses}))})"
            )
        raise ImageError(f"photo {photo.id}: no size could be downloaded as an image {rules.display} accepts "
                         f"({', '.join(failures)})")

    def _download(self, size: Size, cap: int) -> FetchedImage | SizeUnavailable:
        try:
            image = self.fetcher.fetch_size(self.photo, size, self.workdir, cap)
            return _checked(image, strip=not self.keep_location)
        except SizeUnavailable as exc:
            return exc


def _checked(image: FetchedImage, *, strip: bool) -> FetchedImage:
    """The image with its real pixel size and, unless kept on purpose, its location removed (EXIF GPS, XMP...).

    Nothing leaves the machine with a location: a file whose location cannot be removed without breaking it is
    not used (the next size may be)."""
    from pierrot.adapters.images import exif

    data = image.path.read_bytes()
    try:
        clean = exif.strip_location(data) if strip else data
    except exif.ImageRefused as exc:
        raise SizeUnavailable(f"not usable: {exc}") from None
    size = exif.display_size(clean)
    if size is None:
        raise SizeUnavailable("not a readable image" + (" once its location was removed" if strip else ""))
    if clean != data:
        exif.strip_location_file(image.path)
    return replace(image, nbytes=len(clean), width=size[0], height=size[1],
                   location_removed=(clean != data) if strip else None)


def _keep_image(image: FetchedImage, directory: Path) -> Path:
    """Copy the image into ``directory`` by a private temporary file and a rename, never through a symlink."""
    target = directory / image.path.name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".pierrot-", dir=directory)  # O_EXCL, mode 0600
        try:
            with os.fdopen(fd, "wb") as out, image.path.open("rb") as source:
                shutil.copyfileobj(source, out)
            # rename replaces a symlink at the target itself, never the file it points to
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"cannot save the image in {directory}: {exc.strerror or exc}") from None
    return target


# ==== the publish log ============================================================================


def _refuse_handled_event(plog: PublishLog, event_id: str | None) -> None:
    if event_id is None:
        return
    for entry in plog.entries:
        if entry.event_id == event_id:
            raise DuplicateEvent(
                f"event {event_id} was already handled (photo {entry.photo_id}, {entry.status}): "
                "the scheduler delivered it twice; not publishing again"
            )


def _settle_stale(
    store: DocumentStore, state: LogState, options: PublishOptions, moment: dt.datetime, warnings: list[str]
) -> LogState:
    """Refuse if another publish holds a live lease on a network of this run; mark dead runs' entries unknown."""
    networks = {n.name for n in options.networks}
    lease = options.lease_seconds
    known = len(state.log.entries)

    def settle(plog: PublishLog) -> PublishLog | None:
        _refuse_handled_event(plog, options.event_id)
        pending = [(i, e) for i, e in enumerate(plog.entries) if e.network in networks and e.status == PENDING]
        live = [e for _, e in pending if -FUTURE_TOLERANCE_SECONDS <= e.age(moment) < lease]
        if live:
            entry = live[0]
            raise AnotherRunActive(
                f"another publish is running (photo {entry.photo_id} pending since {entry.updated_at}); "
                f"not posting. If no other run exists, wait {lease}s for its lease to expire"
            )
        # A run started with this one and posted while we settled: as at the claim, one post per start.
        posted = [e for e in plog.entries[known:] if e.network in networks and e.status == PUBLISHED]
        if posted:
            raise AnotherRunActive(
                f"another publish posted photo {posted[0].photo_id} while this one started; not posting"
            )
        if not pending or options.dry_run:
            return None
        updated = plog
        for index, entry in pending:
            if entry.age(moment) < 0:
                warnings.append(
                    f"photo {entry.photo_id} has been pending since {entry.updated_at}, which is in the future "
                    "(a machine sharing this store has its clock wrong?): treating that run as dead"
                )
            # updated_at stays the dead run's last touch: when its post may have been made, and what the wait
            # before asking the network counts from.
            updated = updated.with_update(
                index, status=UNKNOWN,
                reason=f"a publish started at {entry.started_at} never finished; it may have been posted",
            )
        return updated

    return update_log(store, state, settle, attempts=20)


def _the_photo(options: PublishOptions, catalogue: StoredCatalogue, plog: PublishLog, active: list[str]) -> Photo:
    """The photo ``--photo`` names, if it may be posted."""
    assert options.photo_id is not None
    index = catalogue.index_of(options.photo_id)
    if index is None:
        raise UsageError(
            f"photo {options.photo_id} is not in the catalogue: check the id, or run `pierrot sync` if it is new"
        )
    photo = catalogue.photo(index)
    if not photo.is_photo:
        raise UsageError(f"{options.photo_id} is a video: only photos can be published")
    for name in active:
        state = plog.states(name).get(photo.id)
        if state in (PUBLISHED, UNKNOWN) and not options.force:
            latest = plog.latest_for(photo.id, name)
            raise UsageError(
                f"photo {photo.id} is already {state} on {name}"
                f"{' (' + latest.post_url + ')' if latest and latest.post_url else ''}: add --force to post it again"
            )
    return photo


def _texts(
    options: PublishOptions,
    network: NetworkOptions,
    rules: NetworkRules,
    photo: Photo,
    catalogue: StoredCatalogue,
    plog: PublishLog,
    context: dict[str, str],
) -> Iterator[str]:
    """The texts to try for ``photo`` on a network, best first; on one that refuses a repeated text, none equal
    to an earlier post's there."""

    def measure(text: str) -> int:
        # A network that also caps bytes (Bluesky's 3000): over it counts as over the limit.
        if rules.max_text_bytes is not None and len(text.encode()) > rules.max_text_bytes:
            return rules.text_limit + 1
        return rules.measure(text)

    variants = compose.compose_post_variants(
        photo, options.template_for(network), options.link, measure=measure, limit=rules.text_limit,
        setting=network.template_setting, context=context,
    )
    if not rules.refuses_repeated_text:
        yield next(variants)
        return
    own = [e for e in plog.entries if e.photo_id == photo.id and e.network == rules.name]
    unsettled = [e for e in own if e.state == UNKNOWN and e.text]
    if unsettled:
        # An earlier attempt may have been posted: the same text again makes a duplicate answer a proof.
        yield unsettled[-1].text or ""
    # Every text that is or may be on the network, but this photo's own unsettled ones (tried first, above).
    used = {e.text for e in plog.entries if e.network == rules.name and e.text is not None
            and (e.status in BLOCKING or (e.reason or "").startswith(DUPLICATE_TEXT_REASON))
            and (e.photo_id != photo.id or e.state in (PUBLISHED, FAILED))}
    used |= _legacy_texts(options, network, rules, photo, catalogue, plog)
    for text in variants:
        if text not in used:
            used.add(text)
            yield text


def _legacy_texts(
    options: PublishOptions,
    network: NetworkOptions,
    rules: NetworkRules,
    photo: Photo,
    catalogue: StoredCatalogue,
    plog: PublishLog,
) -> set[str]:
    """Texts of posts logged before pierrot kept the text: recomposed for the photos titled like this one."""
    title = photo.title or None
    texts: set[str] = set()
    legacy = [e for e in plog.entries if e.network == rules.name and e.text is None
              and e.status in BLOCKING and e.title == title and e.photo_id != photo.id]
    for entry in legacy[-200:]:
        index = catalogue.index_of(entry.photo_id)
        if index is None:
            continue
        try:
            texts.add(compose.compose_post(catalogue.photo(index), options.template_for(network), options.link,
                                           measure=rules.measure, limit=rules.text_limit,
                                           setting=network.template_setting))
        except (DocumentError, ConfigError):
            continue
    return texts


def _may_be_posted(plog: PublishLog, entry: LogEntry) -> bool:
    """True if an earlier attempt at this photo on this network ended unknown (it may have been posted)."""
    return any(e.photo_id == entry.photo_id and e.network == entry.network and e.run_id != entry.run_id
               and e.state == UNKNOWN for e in plog.entries)


def _append_pending(
    store: DocumentStore, state: LogState, entries: list[LogEntry], seen: int, options: PublishOptions
) -> LogState:
    """Add our pending entries, unless another run claimed or posted on one of our networks since we read."""
    run_id = entries[0].run_id
    networks = {e.network for e in entries}
    photo_id = entries[0].photo_id

    def claim(plog: PublishLog) -> PublishLog | None:
        # Every attempt, the first too: the log this run holds may have been re-read while it settled.
        newer = plog.entries[seen:]
        if any(e.run_id == run_id for e in newer):
            return None  # our own write landed but its answer was lost (a retried conditional put sees 412)
        _refuse_handled_event(plog, options.event_id)
        for other in newer:
            if other.network not in networks:
                continue
            if other.status == PENDING:
                raise AnotherRunActive(f"another publish claimed photo {other.photo_id} first; not posting")
            if other.status in (PUBLISHED, UNKNOWN) or other.photo_id == photo_id:
                raise AnotherRunActive(
                    f"another publish posted photo {other.photo_id} while this one prepared; not posting"
                )
        return plog.with_entry(*entries)

    return update_log(store, state, claim)


def _take_back(
    store: DocumentStore, state: LogState, entry: LogEntry, now: Clock, run_id: str, event_id: str | None, *,
    media_id: str, created_at: str | None,
) -> tuple[LogState, LogEntry]:
    """Take an interrupted (unknown) entry back to pending for this run, unless another run has just done so.

    The entry becomes this run's (its run id), so a run that took it before and outlived its lease cannot record
    over it; it keeps every media id it ever used, since any of them may be the one posted."""

    def take(plog: PublishLog) -> PublishLog | None:
        mine = plog.find(run_id, entry.photo_id, entry.network)
        if mine is not None and plog.entries[mine].status == PENDING and media_id in plog.entries[mine].media_ids:
            return None  # our own write landed but its answer was lost
        index = plog.find(entry.run_id, entry.photo_id, entry.network)
        if index is None or plog.entries[index].status != UNKNOWN:
            raise AnotherRunActive(
                f"another publish is settling photo {entry.photo_id} on {entry.network}; not sending it again"
            )
        current = plog.entries[index]
        media_ids = current.media_ids if media_id in current.media_ids else (*current.media_ids, media_id)
        changes: dict[str, Any] = {"status": PENDING, "updated_at": iso(now()), "run_id": run_id,
                                   "media_ids": media_ids}
        if event_id is not None:
            changes["event_id"] = event_id
        if created_at is not None:
            changes["created_at"] = created_at
        return plog.with_update(index, **changes)

    state = update_log(store, state, take)
    taken = _find(state.log, replace(entry, run_id=run_id))
    if taken is None:  # cannot be: the write above put it there
        raise EntryTakenOver(f"the entry of photo {entry.photo_id} on {entry.network} is no longer this run's")
    return state, taken


def _record(
    store: DocumentStore,
    state: LogState,
    entry: LogEntry,
    sleep: Callable[[float], None],
    now: Clock,
    *,
    status: str,
    posted: Post | None = None,
    expect: str = PENDING,
    deadline: dt.datetime | None = None,
    **changes: Any,
) -> LogState:
    """Settle an entry that is still as this run left it (``expect``); retried on conflicts and outages until
    ``deadline``, since losing this record could mean a double post.

    EntryTakenOver if another run has recorded or taken it since: its record is never overwritten."""
    if changes.get("reason"):
        changes["reason"] = REDACT(str(changes["reason"]))
    changes.setdefault("updated_at", iso(now()))
    wanted = {"status": status, **changes}

    def settle(plog: PublishLog) -> PublishLog | None:
        index = plog.find(entry.run_id, entry.photo_id, entry.network)
        if index is None:
            raise EntryTakenOver(f"the entry of photo {entry.photo_id} on {entry.network} is no longer this run's")
        current = plog.entries[index]
        if all(getattr(current, key) == value for key, value in wanted.items()):
            return None  # our own write landed but its answer was lost
        if current.status != expect:
            raise EntryTakenOver(f"the entry of photo {entry.photo_id} on {entry.network} is {current.status} now")
        return plog.with_update(index, **wanted)

    try:
        return update_log(store, state, settle, attempts=8, sleep=sleep, now=now, deadline=deadline)
    except EntryTakenOver:
        raise
    except StoreError as exc:
        where = f" as {posted.url}" if posted else ""
        raise StoreError(
            f"photo {entry.photo_id} was {'posted' + where if posted else 'attempted'} but {LOG_DOCUMENT} could not "
            f"be updated ({exc}); its entry stays pending and will be marked unknown, so it is never posted twice"
        ) from None
