"""The sync use case: bring the catalogue in line with the photostream, as cheaply as the information allows."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pierrot.domain import (
    CATALOGUE_DOCUMENT,
    META_DOCUMENT,
    Meta,
    NewerSchemaError,
    Photo,
    StoredCatalogue,
    catalogue_chunks,
    iso,
    newest_first,
    record_bytes,
    utc_now,
)
from pierrot.errors import DocumentError
from pierrot.ports import DocumentStore, Encoded, PhotoSource, ProgressCallback, StreamSummary
from pierrot.service._log import Clock

log = logging.getLogger(__name__)

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
    if base + counted + source.skipped != stream.total:
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
    if len(listed) + source.skipped != stream.total:
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

