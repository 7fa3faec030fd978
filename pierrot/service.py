"""The use cases: sync, publish, status, history, resolve. The CLI and the Lambda handlers call only this."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pierrot import compose
from pierrot.config import DEFAULT_ALT_TEMPLATE, DEFAULT_TEMPLATE
from pierrot.domain import (
    BLOCKING,
    CATALOGUE_DOCUMENT,
    FAILED,
    LOG_DOCUMENT,
    META_DOCUMENT,
    PENDING,
    PUBLISHED,
    UNKNOWN,
    Filters,
    LogEntry,
    Meta,
    NewerSchemaError,
    Photo,
    PublishLog,
    StoredCatalogue,
    catalogue_chunks,
    eligible_in,
    iso,
    newest_first,
    record_bytes,
    utc_now,
)
from pierrot.errors import (
    AnotherRunActive,
    CatalogueMissing,
    ConfigError,
    ConflictError,
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
    StoreError,
    UsageError,
)
from pierrot.logs import REDACT
from pierrot.ports import (
    DocumentStore,
    Encoded,
    FetchedImage,
    ImageFetcher,
    PhotoSource,
    Post,
    ProgressCallback,
    Publisher,
    StreamSummary,
)

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


# ==== sync ======================================================================================


@dataclass
class SyncReport:
    """What a sync did, for the summary line and the Lambda's answer."""

    mode: str  # "unchanged", "incremental" or "full"
    photos: int
    added: int = 0
    removed: int = 0
    updated: int = 0
    flickr_calls: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.mode == "unchanged":
            change = "no change"
        else:
            change = f"{self.added} added, {self.removed} removed"
            if self.updated:
                change += f", {self.updated} updated"
        calls = "call" if self.flickr_calls == 1 else "calls"
        return f"catalogue: {self.photos} photos ({change}; {self.mode} sync, {self.flickr_calls} Flickr {calls})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "photos": self.photos,
            "added": self.added,
            "removed": self.removed,
            "updated": self.updated,
            "flickr_calls": self.flickr_calls,
            "warnings": list(self.warnings),
        }


def _read_doc(store: DocumentStore, name: str) -> tuple[Any | None, str | None]:
    found = store.read(name)
    return (None, None) if found is None else (found.doc, found.token)


def sync(
    store: DocumentStore,
    source: PhotoSource,
    user: str,
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
    now: Clock = utc_now,
) -> SyncReport:
    """Bring the catalogue in line with the photostream, as cheaply as the information allows."""
    warnings: list[str] = []
    calls_before = source.calls
    meta, meta_token = _read_derived(store, META_DOCUMENT, Meta.parse, warnings)

    # A user resolved on an earlier run needs no call.
    known_user = meta is not None and meta.nsid and user in (meta.user, meta.nsid)
    nsid = meta.nsid if known_user and meta is not None and meta.nsid else source.resolve_user(user)
    stream = source.summary(nsid)
    same_stream = meta is not None and meta.nsid == nsid
    unchanged = (
        not full
        and meta is not None
        and same_stream
        and meta.flickr_total == stream.total
        and meta.newest_id == stream.newest_id
    )
    # The catalogue must be the one this meta describes, or a missing or damaged catalogue would never be
    # rebuilt (`pierrot sync` is what publish recommends). Its token says so without downloading it.
    known_token = meta.catalogue_token if meta is not None else None
    if unchanged and meta is not None and known_token and store.token(CATALOGUE_DOCUMENT) == known_token:
        return SyncReport("unchanged", meta.total, flickr_calls=source.calls - calls_before, warnings=warnings)

    catalogue, cat_token = _read_derived(store, CATALOGUE_DOCUMENT, StoredCatalogue.parse, warnings)
    # Trust a catalogue only when it is the one meta describes: a restored backup, an emptied file or the
    # newer catalogue of a sync killed before its meta write must be brought up to date, not taken as current.
    trusted = meta is not None and catalogue is not None and same_stream and meta.describes(catalogue, cat_token)
    if unchanged and trusted and meta is not None and catalogue is not None:
        if cat_token != meta.catalogue_token:
            # The same catalogue under another token (copied back, re-uploaded): remember it, so the next
            # no-change sync is again one call and one token check.
            store.write(META_DOCUMENT, replace(meta, catalogue_token=cat_token).to_doc(), meta_token)
        return SyncReport("unchanged", meta.total, flickr_calls=source.calls - calls_before, warnings=warnings)

    plan = None
    if not full and meta is not None and catalogue is not None and same_stream and catalogue.nsid in (None, nsid):
        if trusted and meta.newest_upload is not None and stream.total > meta.flickr_total:
            plan = _incremental(source, nsid, stream, meta.flickr_total, meta.newest_upload, catalogue, progress,
                                count_videos=True)
        elif not trusted and len(catalogue):
            warnings.append(
                f"{CATALOGUE_DOCUMENT} is not the catalogue {META_DOCUMENT} describes (restored from a backup, or "
                "a sync was interrupted): bringing it up to date"
            )
            since = _newest_upload(catalogue)
            if since is not None:
                # Videos are not in the catalogue: meta knows how many the stream had.
                base = len(catalogue) + max(0, meta.flickr_total - meta.total)
                plan = _incremental(source, nsid, stream, base, since, catalogue, progress, count_videos=False)
    if plan is None:
        plan = _full(source, nsid, stream, catalogue, progress, warnings)

    moment = iso(now())
    records = plan.records
    new_cat_token = store.write(
        CATALOGUE_DOCUMENT, Encoded(lambda: catalogue_chunks(nsid, (bytes(r) for r in records()))), cat_token
    )
    # pierrot-meta.json goes last: a crash before it only costs a re-sync next time.
    new_meta = Meta(
        total=plan.total,
        flickr_total=stream.total,
        nsid=nsid,
        user=user,
        newest_id=stream.newest_id,
        newest_upload=plan.newest_upload,
        last_sync=moment,
        last_full_sync=moment if plan.mode == "full" else (meta.last_full_sync if meta else None),
        catalogue_token=new_cat_token,
        catalogue_newest=plan.newest_photo,
    )
    store.write(META_DOCUMENT, new_meta.to_doc(), meta_token)
    return SyncReport(
        plan.mode, plan.total, plan.added, plan.removed, plan.updated, source.calls - calls_before, warnings
    )


T = TypeVar("T")


def _read_derived(
    store: DocumentStore, name: str, parse: Callable[[bytes, str], T], warnings: list[str]
) -> tuple[T | None, str | None]:
    """A document sync derives from Flickr, and its token; a damaged one is noted and rebuilt, a newer one refused."""
    found: tuple[bytes, str] | None = None
    try:
        found = store.read_bytes(name)
        return (None, None) if found is None else (parse(*found), found[1])
    except NewerSchemaError:
        raise
    except DocumentError as exc:
        warnings.append(f"{exc} (rebuilding it from Flickr)")
        return None, exc.token if exc.token is not None else (found[1] if found is not None else None)


@dataclass
class _SyncPlan:
    """What a listing found, ready to be written."""

    mode: str
    total: int
    added: int
    removed: int
    updated: int
    newest_upload: int | None
    records: Callable[[], Iterable[bytes | memoryview]]
    newest_photo: str | None = None


def _incremental(
    source: PhotoSource,
    nsid: str,
    stream: StreamSummary,
    base: int,
    since: int,
    catalogue: StoredCatalogue,
    progress: ProgressCallback | None,
    *,
    count_videos: bool,
) -> _SyncPlan | None:
    """List what was uploaded after ``since``, the catalogue's newest; None if Flickr's totals do not add up.

    ``base`` is how many of Flickr's items the catalogue accounts for; with ``count_videos`` new videos count
    towards the total (base counted the videos of the stream up to ``since``), else only new photos do."""
    expected_new = stream.total - base
    listed = source.list_photos(nsid, total=max(expected_new, 1), min_upload_date=since + 1, progress=progress)
    old_ids = set(catalogue.ids)
    fresh = [p for p in listed if p.id not in old_ids]
    counted = len(fresh) if count_videos else sum(1 for p in fresh if p.is_photo)
    if base + counted != stream.total:
        log.info("incremental listing found %d new items, expected %d: listing everything", counted, expected_new)
        return None
    new_photos = newest_first(p for p in fresh if p.is_photo)
    newest_upload = stream.newest_upload
    if newest_upload is None:
        newest_upload = max([since, *(p.date_uploaded for p in fresh)])
    newest = new_photos[0].id if new_photos else (catalogue.ids[0] if catalogue.ids else None)
    # The old records are written back as they were read: never parsed, never rebuilt.
    return _SyncPlan(
        "incremental", len(new_photos) + len(catalogue), len(new_photos), 0, 0, newest_upload,
        lambda: itertools.chain((record_bytes(p) for p in new_photos), catalogue.records()), newest,
    )


def _newest_upload(catalogue: StoredCatalogue) -> int | None:
    """The latest upload time in a catalogue not known to be pierrot's own (so not known to be in order)."""
    try:
        return max((p.date_uploaded for p in catalogue.photos()), default=None)
    except DocumentError:
        return None


def _full(
    source: PhotoSource,
    nsid: str,
    stream: StreamSummary,
    old: StoredCatalogue | None,
    progress: ProgressCallback | None,
    warnings: list[str],
) -> _SyncPlan:
    """List everything; compare with the old catalogue for the summary."""
    # An empty photostream needs no listing: the count already said so.
    listed = source.list_photos(nsid, total=stream.total, progress=progress) if stream.total else []
    if len(listed) != stream.total:
        warnings.append(
            f"Flickr reported {stream.total} items but listed {len(listed)} (twice); "
            "the catalogue holds what was listed"
        )
    photos = [p for p in listed if p.is_photo]
    del listed
    old_ids = set(old.ids) if old is not None else set()
    newest_upload = stream.newest_upload
    if newest_upload is None and photos:
        newest_upload = max(p.date_uploaded for p in photos)
    return _SyncPlan(
        "full",
        len(photos),
        added=sum(1 for p in photos if p.id not in old_ids),
        removed=len(old_ids - {p.id for p in photos}) if old_ids else 0,
        updated=_count_updated(photos, old),
        newest_upload=newest_upload,
        records=lambda: (record_bytes(p) for p in photos),
        newest_photo=photos[0].id if photos else None,
    )


def _count_updated(photos: list[Photo], old: StoredCatalogue | None) -> int:
    """How many listed photos differ from their record in the old catalogue (edited titles, tags...)."""
    if old is None:
        return 0
    changed = 0
    for photo in photos:
        index = old.index_of(photo.id)
        if index is not None and old.record(index) != record_bytes(photo):
            changed += 1
    return changed


# ==== publish ===================================================================================

# How many photos one run tries when the chosen ones turn out to be gone from Flickr.
MAX_PHOTO_TRIES = 5
# A pending entry stamped further ahead than this is a clock-skewed machine's, not a live run's.
FUTURE_TOLERANCE_SECONDS = 300
# The reason of a failed entry whose text X already had: the next run avoids that text.
DUPLICATE_TEXT_REASON = "X refused the text as a duplicate of an earlier post"


@dataclass(frozen=True)
class PublishOptions:
    """How one publish run chooses and composes."""

    network: str = "x"
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


@dataclass
class PublishReport:
    """What a publish run chose, composed and (unless a dry run) posted."""

    photo: Photo
    size_label: str
    width: int
    height: int
    nbytes: int
    text: str
    text_weight: int
    alt_text: str | None
    dry_run: bool
    post: Post | None = None
    saved_to: Path | None = None
    notes: list[str] = field(default_factory=list)
    # Lines the user should see even when the run succeeds (a skipped photo, a stale entry settled).
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo_id": self.photo.id,
            "title": self.photo.title,
            "size": self.size_label,
            "bytes": self.nbytes,
            "text": self.text,
            "text_weight": self.text_weight,
            "alt_text": self.alt_text,
            "dry_run": self.dry_run,
            "post_id": self.post.id if self.post else None,
            "post_url": self.post.url if self.post else None,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


@dataclass
class _LogState:
    log: PublishLog
    token: str | None


def _read_log(store: DocumentStore) -> _LogState:
    doc, token = _read_doc(store, LOG_DOCUMENT)
    return _LogState(PublishLog() if doc is None else PublishLog.from_doc(doc), token)


def _update_log(
    store: DocumentStore,
    state: _LogState,
    change: Callable[[PublishLog], PublishLog | None],
    *,
    attempts: int = 10,
    sleep: Callable[[float], None] | None = None,
) -> _LogState:
    """The publish log's compare-and-swap loop: apply ``change`` to the latest log until the write lands.

    ``change`` sees the log as it now is and returns the new log, or None when nothing is left to write (it
    may also raise to stand down). A conflict re-reads and tries again; with ``sleep``, so does a store outage."""
    delay = 0.2
    last: Exception | None = None
    for _ in range(attempts):
        updated = change(state.log)
        if updated is None:
            return state
        try:
            token = store.write(LOG_DOCUMENT, updated.to_doc(), state.token)
            return _LogState(updated, token)
        except ConflictError as exc:
            last = exc
        except StoreError as exc:
            if sleep is None:
                raise
            last = exc
            sleep(delay)
            delay = min(delay * 2, 5.0)
        try:
            state = _read_log(store)
        except StoreError as exc:
            if sleep is None:
                raise
            last = exc
    raise StoreError(f"{LOG_DOCUMENT} keeps changing under this run ({last}): try again later")


def _read_catalogue(store: DocumentStore) -> StoredCatalogue:
    found = store.read_bytes(CATALOGUE_DOCUMENT)
    if found is None:
        raise CatalogueMissing(f"the catalogue is missing in {store.location}: run `pierrot sync` first")
    return StoredCatalogue.parse(*found)


def _refuse_handled_event(plog: PublishLog, event_id: str | None) -> None:
    if event_id is None:
        return
    for entry in plog.entries:
        if entry.event_id == event_id:
            raise DuplicateEvent(
                f"event {event_id} was already handled (photo {entry.photo_id}, {entry.status}): "
                "the scheduler delivered it twice; not publishing again"
            )


def _settle_stale(store: DocumentStore, state: _LogState, options: PublishOptions, moment: dt.datetime,
                  warnings: list[str]) -> _LogState:
    """Refuse if another publish holds a live lease; mark pending entries of dead runs unknown."""
    network, lease = options.network, options.lease_seconds
    known = len(state.log.entries)

    def settle(plog: PublishLog) -> PublishLog | None:
        _refuse_handled_event(plog, options.event_id)
        pending = [(i, e) for i, e in enumerate(plog.entries) if e.network == network and e.status == PENDING]
        live = [e for _, e in pending if -FUTURE_TOLERANCE_SECONDS <= e.age(moment) < lease]
        if live:
            entry = live[0]
            raise AnotherRunActive(
                f"another publish is running (photo {entry.photo_id} pending since {entry.updated_at}); "
                f"not posting. If no other run exists, wait {lease}s for its lease to expire"
            )
        # A run started with this one and posted while we settled: as at the claim, one post per start.
        posted = [e for e in plog.entries[known:] if e.network == network and e.status == PUBLISHED]
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
            updated = updated.with_update(
                index, status=UNKNOWN, updated_at=iso(moment),
                reason=f"a publish started at {entry.started_at} never finished; it may have been posted",
            )
        return updated

    return _update_log(store, state, settle, attempts=20)


def _choose(
    options: PublishOptions,
    catalogue: StoredCatalogue,
    plog: PublishLog,
    rng: random.Random,
    skip: set[str] | frozenset[str] = frozenset(),
) -> Photo:
    if options.photo_id is not None:
        return _the_photo(options, catalogue, plog)
    if not len(catalogue):
        raise NothingToPublish("the catalogue is empty: run `pierrot sync` first")
    split = eligible_in(catalogue, plog, options.network, options.filters)
    candidates = [i for i in split.eligible if catalogue.ids[i] not in skip]
    while candidates:
        # Uniform among the eligible; a video (never written by sync, but possible by hand) is drawn again.
        photo = catalogue.photo(candidates.pop(rng.randrange(len(candidates))))
        if photo.is_photo:
            return photo
    if skip and split.eligible:
        raise NothingToPublish(
            f"every remaining photo that was tried ({len(skip)}) is gone from Flickr: run `pierrot sync` to "
            "drop them from the catalogue"
        )
    if split.eligible or split.photos == 0:
        raise NothingToPublish("the catalogue holds no photos (only videos): nothing to publish")
    states = plog.states(options.network)
    unknown = sum(1 for pid in catalogue.ids if states.get(pid) == UNKNOWN)
    if split.published >= split.photos:
        if unknown:
            raise NothingToPublish(
                f"no photo is left to post on {options.network}: {unknown} of the {split.photos} may or may not "
                f"have been posted (unknown); check your account and settle them with `pierrot resolve` "
                "(`pierrot history` lists them)"
            )
        raise NothingToPublish(
            f"every photo in the catalogue ({split.photos}) has been published on {options.network}: "
            "nothing left to post"
        )
    raise NothingToPublish(
        f"the filters exclude all {split.filtered_out} unpublished photos "
        f"({split.published} of {split.photos} already published): loosen the [publish] filters or options"
    )


def _the_photo(options: PublishOptions, catalogue: StoredCatalogue, plog: PublishLog) -> Photo:
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
    state = plog.states(options.network).get(photo.id)
    if state in (PUBLISHED, UNKNOWN) and not options.force:
        latest = plog.latest_for(photo.id, options.network)
        raise UsageError(
            f"photo {photo.id} is already {state} on {options.network}"
            f"{' (' + latest.post_url + ')' if latest and latest.post_url else ''}: add --force to post it again"
        )
    return photo


def _texts(options: PublishOptions, photo: Photo, catalogue: StoredCatalogue, plog: PublishLog) -> Iterator[str]:
    """The texts to try for ``photo``, best first, none equal to an earlier post's on this network."""
    own = [e for e in plog.entries if e.photo_id == photo.id and e.network == options.network]
    unsettled = [e for e in own if e.state == UNKNOWN and e.text]
    if unsettled:
        # An earlier attempt may have been posted: the same text again makes X's duplicate answer a proof.
        yield unsettled[-1].text or ""
    # Every text that is or may be on the network, but this photo's own unsettled ones (tried first, above).
    used = {e.text for e in plog.entries if e.network == options.network and e.text is not None
            and (e.status in BLOCKING or (e.reason or "").startswith(DUPLICATE_TEXT_REASON))
            and (e.photo_id != photo.id or e.state in (PUBLISHED, FAILED))}
    used |= _legacy_texts(options, photo, catalogue, plog)
    for text in compose.compose_post_variants(photo, options.template, options.link):
        if text not in used:
            used.add(text)
            yield text


def _legacy_texts(options: PublishOptions, photo: Photo, catalogue: StoredCatalogue, plog: PublishLog) -> set[str]:
    """Texts of posts logged before pierrot kept the text: recomposed for the photos titled like this one."""
    title = photo.title or None
    texts: set[str] = set()
    legacy = [e for e in plog.entries if e.network == options.network and e.text is None
              and e.status in BLOCKING and e.title == title and e.photo_id != photo.id]
    for entry in legacy[-200:]:
        index = catalogue.index_of(entry.photo_id)
        if index is None:
            continue
        try:
            texts.add(compose.compose_post(catalogue.photo(index), options.template, options.link))
        except (DocumentError, ConfigError):
            continue
    return texts


def publish(
    store: DocumentStore,
    fetcher: ImageFetcher,
    publisher: Callable[[], Publisher] | None,
    options: PublishOptions,
    *,
    now: Clock = utc_now,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishReport:
    """Post one never-posted photo, at most once whatever happens; with ``dry_run`` change nothing."""
    rng = rng or random.SystemRandom()
    run_id = uuid.uuid4().hex
    compose.validate_template(options.template, "PIERROT_PUBLISH_TEMPLATE")
    compose.validate_template(options.alt_template, "PIERROT_PUBLISH_ALT_TEMPLATE")
    warnings: list[str] = []

    # 1. Read the log and the catalogue; a live lease means another run is publishing.
    state = _read_log(store)
    _refuse_handled_event(state.log, options.event_id)
    catalogue = _read_catalogue(store)
    state = _settle_stale(store, state, options, now(), warnings)
    seen = len(state.log.entries)

    # 2. Choose, download, upload: nothing public happens here.
    with tempfile.TemporaryDirectory(prefix="pierrot-") as workdir:
        photo, image = _choose_and_fetch(options, catalogue, state.log, rng, fetcher, Path(workdir), warnings)
        texts = _texts(options, photo, catalogue, state.log)
        text = next(texts)
        alt = compose.compose_alt_text(photo, options.alt_template) if options.alt_text else None
        report = PublishReport(
            photo, image.size_label, image.width, image.height, image.nbytes, text,
            compose.weighted_length(text), alt, options.dry_run, warnings=warnings,
        )
        if options.output_dir is not None:
            report.saved_to = _keep_image(image, options.output_dir)
        if options.dry_run:
            return report
        if publisher is None:
            raise UsageError("no publisher configured")
        network = publisher()
        media_id = network.upload_media(image)
        if alt:
            network.set_alt_text(media_id, alt)

    # 3. Claim the photo with a pending entry (a conditional write).
    moment = iso(now()) or ""
    entry = LogEntry(photo.id, options.network, PENDING, run_id, moment, moment, title=photo.title or None,
                     text=text, event_id=options.event_id)
    state = _append_pending(store, state, entry, seen, options)

    # 4. Post, and record the outcome whatever it is.
    retried = False
    while True:
        try:
            post = network.create_post(text, [media_id])
            break
        except PostRefused as exc:
            _record(store, state, entry, sleep, now, status=FAILED, reason=str(exc), text=text)
            raise
        except DuplicatePost as exc:
            if _may_be_posted(state.log, photo.id, options.network, run_id):
                # This photo's earlier attempt ended unknown and X has this very text: that attempt was posted.
                _record(store, state, entry, sleep, now, status=PUBLISHED, text=text,
                        reason="X answered that this text is already posted: the earlier attempt went through")
                report.notes.append(
                    f"photo {photo.id} was already posted by an earlier attempt (X has its text); now recorded "
                    "as published"
                )
                return report
            nxt = None if retried else next(texts, None)
            if nxt is None:
                _record(store, state, entry, sleep, now, status=FAILED, text=text,
                        reason=f"{DUPLICATE_TEXT_REASON} ({exc}); nothing was posted")
                raise PublishError(
                    f"X refused photo {photo.id} as a duplicate of an earlier post twice, with two different texts; "
                    "nothing was posted and the photo stays eligible. Change [publish] template (add {date_taken} "
                    "or {description}) if this keeps happening"
                ) from exc
            # A definite refusal: nothing was posted, so trying a distinct text is safe.
            report.warnings.append(f"X already has the text {text!r} from a post pierrot does not know of; "
                                   f"posting photo {photo.id} as {nxt!r} instead")
            text, retried = nxt, True
            state = _record(store, state, entry, sleep, now, status=PENDING, text=text)
            report.text, report.text_weight = text, compose.weighted_length(text)
        except PostOutcomeUnknown as exc:
            _record(store, state, entry, sleep, now, status=UNKNOWN, reason=str(exc), text=text)
            raise PublishError(
                f"{exc}; photo {photo.id} may or may not be posted and will not be posted again automatically: "
                f"check your X account, then run `pierrot resolve {photo.id} --posted POST_ID` or `--not-posted`"
            ) from exc
        except BaseException as exc:
            _record(store, state, entry, sleep, now, status=UNKNOWN, text=text,
                    reason=f"unexpected failure while posting: {exc!r}")
            raise
    report.post = post
    _record(store, state, entry, sleep, now, status=PUBLISHED, post_id=post.id, post_url=post.url, reason=None,
            text=text, posted=post)
    return report


def _choose_and_fetch(
    options: PublishOptions,
    catalogue: StoredCatalogue,
    plog: PublishLog,
    rng: random.Random,
    fetcher: ImageFetcher,
    workdir: Path,
    warnings: list[str],
) -> tuple[Photo, FetchedImage]:
    """Choose a photo and download it; a photo gone from Flickr since the last sync gives way to another."""
    gone: set[str] = set()
    for _ in range(MAX_PHOTO_TRIES):
        photo = _choose(options, catalogue, plog, rng, gone)
        try:
            return photo, fetcher.fetch(photo, workdir)
        except PhotoGone as exc:
            if options.photo_id is not None:
                raise
            gone.add(photo.id)
            warnings.append(f"{exc}; skipped it (the next `pierrot sync` drops it from the catalogue)")
    raise ImageError(
        f"{MAX_PHOTO_TRIES} photos in a row are gone from Flickr (deleted or made private since the last sync): "
        "run `pierrot sync`, then publish again"
    )


def _may_be_posted(plog: PublishLog, photo_id: str, network: str, run_id: str) -> bool:
    """True if an earlier attempt at this photo on this network ended unknown (it may have been posted)."""
    return any(e.photo_id == photo_id and e.network == network and e.run_id != run_id and e.state == UNKNOWN
               for e in plog.entries)


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


def _append_pending(
    store: DocumentStore, state: _LogState, entry: LogEntry, seen: int, options: PublishOptions
) -> _LogState:
    """Add our pending entry, unless another run claimed or posted since we read the log."""
    first = True

    def claim(plog: PublishLog) -> PublishLog | None:
        nonlocal first, seen
        if not first:
            newer = plog.entries[seen:]
            if any(e.run_id == entry.run_id for e in newer):
                return None  # our own write landed but its answer was lost (a retried conditional put sees 412)
            _refuse_handled_event(plog, options.event_id)
            for other in newer:
                if other.network != options.network:
                    continue
                if other.status == PENDING:
                    raise AnotherRunActive(f"another publish claimed photo {other.photo_id} first; not posting")
                if other.status == PUBLISHED or other.photo_id == entry.photo_id:
                    raise AnotherRunActive(
                        f"another publish posted photo {other.photo_id} while this one prepared; not posting"
                    )
            seen = len(plog.entries)
        first = False
        return plog.with_entry(entry)

    return _update_log(store, state, claim)


def _record(
    store: DocumentStore,
    state: _LogState,
    entry: LogEntry,
    sleep: Callable[[float], None],
    now: Clock,
    *,
    status: str,
    posted: Post | None = None,
    **changes: Any,
) -> _LogState:
    """Settle our pending entry; retried on conflicts and outages, since losing this record could mean a double post."""
    if changes.get("reason"):
        changes["reason"] = REDACT(str(changes["reason"]))

    def settle(plog: PublishLog) -> PublishLog:
        index = plog.find(entry.run_id, entry.photo_id, entry.network)
        if index is None:
            raise StoreError(f"the pending entry of photo {entry.photo_id} vanished from {LOG_DOCUMENT}")
        return plog.with_update(index, status=status, updated_at=iso(now()), **changes)

    try:
        return _update_log(store, state, settle, attempts=8, sleep=sleep)
    except StoreError as exc:
        if "vanished" in str(exc):
            raise
        where = f" as {posted.url}" if posted else ""
        raise StoreError(
            f"photo {entry.photo_id} was {'posted' + where if posted else 'attempted'} but {LOG_DOCUMENT} could not "
            f"be updated ({exc}); its entry stays pending and will be marked unknown, so it is never posted twice"
        ) from None


# ==== status, history, resolve ==================================================================


@dataclass
class Status:
    """The state at a glance."""

    store: str
    photos: int
    published: int
    remaining: int
    unknown: int
    failed: int
    pending: list[dict[str, Any]]
    last_sync: str | None
    last_publish: str | None
    catalogue_present: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "photos": self.photos,
            "published": self.published,
            "remaining": self.remaining,
            "unknown": self.unknown,
            "failed": self.failed,
            "pending": self.pending,
            "last_sync": self.last_sync,
            "last_publish": self.last_publish,
        }


def status(store: DocumentStore, filters: Filters, *, network: str = "x", now: Clock = utc_now) -> Status:
    """Counts of the catalogue and the publish log."""
    meta_doc, _ = _read_doc(store, META_DOCUMENT)
    meta = Meta.from_doc(meta_doc) if meta_doc is not None else None
    found = store.read_bytes(CATALOGUE_DOCUMENT)
    catalogue = StoredCatalogue.parse(*found) if found is not None else StoredCatalogue(None, [], [])
    plog = _read_log(store).log
    split = eligible_in(catalogue, plog, network, filters)
    states = list(plog.states(network).values())
    moment = now()
    published_times = [e.updated_at for e in plog.entries if e.network == network and e.state == PUBLISHED]
    return Status(
        store=store.location,
        photos=split.photos,
        published=states.count(PUBLISHED),
        remaining=len(split.eligible),
        unknown=states.count(UNKNOWN),
        failed=states.count(FAILED),
        pending=[
            {"photo_id": e.photo_id, "since": e.updated_at, "age_seconds": int(e.age(moment))}
            for e in plog.pending(network)
        ],
        last_sync=meta.last_sync if meta else None,
        last_publish=max(published_times) if published_times else None,
        catalogue_present=found is not None,
    )


@dataclass(frozen=True)
class HistoryItem:
    """One line of the publish log, for people."""

    when: str
    photo_id: str
    title: str
    network: str
    status: str
    post_url: str | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "photo_id": self.photo_id,
            "title": self.title,
            "network": self.network,
            "status": self.status,
            "post_url": self.post_url,
            "reason": self.reason,
        }


def history(store: DocumentStore, *, limit: int | None = None) -> list[HistoryItem]:
    """The publish log, newest first."""
    plog = _read_log(store).log
    catalogue: StoredCatalogue | None = None
    try:
        found = store.read_bytes(CATALOGUE_DOCUMENT) if any(not e.title for e in plog.entries) else None
        catalogue = StoredCatalogue.parse(*found) if found is not None else None
    except DocumentError:
        pass  # titles are a nicety; the log is what matters here

    def title(entry: LogEntry) -> str:
        if entry.title or catalogue is None:
            return entry.title or ""
        index = catalogue.index_of(entry.photo_id)
        try:
            return catalogue.photo(index).title if index is not None else ""
        except DocumentError:
            return ""

    items = [
        HistoryItem(e.updated_at, e.photo_id, title(e), e.network, e.status, e.post_url, e.reason)
        for _, e in sorted(enumerate(plog.entries), key=lambda ie: (ie[1].updated_at, ie[0]), reverse=True)
    ]
    return items[:limit] if limit is not None else items


def resolve(
    store: DocumentStore,
    photo_id: str,
    *,
    posted: str | None,
    network: str = "x",
    lease_seconds: int = 900,
    now: Clock = utc_now,
) -> LogEntry:
    """Settle an unknown (or stale pending) entry: posted as ``posted``, or not posted if None.

    The entry keeps the attempt's time (it is when the post was made, if it was); idempotent: a resolve whose
    write landed but whose answer was lost finds the wanted state on its retry and succeeds."""
    if posted is not None and not posted.isdigit():
        raise UsageError(f"--posted {posted!r} is not a post id: give the digits at the end of the post's URL")
    resolved: LogEntry | None = None

    def settle(plog: PublishLog) -> PublishLog | None:
        nonlocal resolved
        own = [(i, e) for i, e in enumerate(plog.entries) if e.photo_id == photo_id and e.network == network]
        if not own:
            raise UsageError(f"photo {photo_id} has no entry in the publish log for {network}")
        done = [e for _, e in own if e.resolved_at and _is_resolved_as(e, posted)]
        if done:
            resolved = done[-1]
            return None
        moment = now()
        settleable = [(i, e) for i, e in own if e.state in (UNKNOWN, PENDING)]
        if not settleable:
            state = plog.states(network).get(photo_id, own[-1][1].status)
            raise UsageError(f"photo {photo_id} is {state}, not unknown: nothing to resolve")
        index, entry = settleable[-1]
        if entry.status == PENDING and 0 <= entry.age(moment) < lease_seconds:
            raise UsageError(
                f"photo {photo_id} is pending in a publish that may still be running; try again in "
                f"{int(lease_seconds - entry.age(moment))}s"
            )
        if posted is not None:
            changes: dict[str, Any] = {
                "status": PUBLISHED,
                "post_id": posted,
                "post_url": f"https://x.com/i/web/status/{posted}" if network == "x" else None,
                "reason": "resolved by hand: posted",
            }
        else:
            changes = {"status": FAILED, "reason": "resolved by hand: not posted"}
        updated = plog.with_update(index, updated_at=entry.started_at, resolved_at=iso(moment), **changes)
        resolved = updated.entries[index]
        return updated

    _update_log(store, _read_log(store), settle)
    assert resolved is not None
    return resolved


def _is_resolved_as(entry: LogEntry, posted: str | None) -> bool:
    if posted is None:
        return entry.status == FAILED
    return entry.status == PUBLISHED and entry.post_id == posted


# ==== check =====================================================================================


@dataclass(frozen=True)
class CheckResult:
    """One line of ``pierrot check``."""

    name: str
    ok: bool
    detail: str


def run_checks(probes: list[tuple[str, Callable[[], str]]]) -> list[CheckResult]:
    """Run each probe; a PierrotError becomes a failed line, never an abort."""
    results = []
    for name, probe in probes:
        try:
            results.append(CheckResult(name, True, probe()))
        except PierrotError as exc:
            results.append(CheckResult(name, False, str(exc)))
    return results


def check_documents(store: DocumentStore) -> str:
    """Read and validate the three documents; the summary of what is there."""
    store.check()
    parts = []
    meta_doc, _ = _read_doc(store, META_DOCUMENT)
    parts.append(f"{META_DOCUMENT} " + (f"ok ({Meta.from_doc(meta_doc).total} photos)" if meta_doc else "absent"))
    found = store.read_bytes(CATALOGUE_DOCUMENT)
    records = len(StoredCatalogue.parse(*found)) if found is not None else None
    parts.append(f"{CATALOGUE_DOCUMENT} " + (f"ok ({records} records)" if found is not None else
                                             "absent (run `pierrot sync`)"))
    log_doc, _ = _read_doc(store, LOG_DOCUMENT)
    if log_doc is None:
        parts.append(f"{LOG_DOCUMENT} absent (the first publish creates it)")
    else:
        entries = len(PublishLog.from_doc(log_doc).entries)
        parts.append(f"{LOG_DOCUMENT} ok ({_count(entries, 'entry', 'entries')})")
    return f"{store.location}: " + ", ".join(parts)


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def check_flickr(source: PhotoSource, user: str) -> str:
    """Verify the key and the user with one cheap call."""
    before = source.calls
    nsid = source.resolve_user(user)
    if source.calls == before:
        stream = source.summary(nsid)
        return f"key accepted; user {nsid} has {stream.total} public items"
    return f"key accepted; user {user!r} is {nsid}"
