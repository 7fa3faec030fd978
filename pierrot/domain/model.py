"""The domain: photo records, the catalogue, the publish log and selection. Plain Python, no I/O."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from pierrot.errors import DocumentError

META_DOCUMENT = "pierrot-meta.json"
CATALOGUE_DOCUMENT = "pierrot-db.json"
LOG_DOCUMENT = "pierrot-wal.json"

REBUILD_ADVICE = "run `pierrot sync --full` to rebuild it"

META_VERSION = 1
CATALOGUE_VERSION = 1
LOG_VERSION = 1

# Flickr size suffixes we keep, largest first, with their nominal longest edge.
SIZE_LABELS: tuple[str, ...] = ("o", "k", "h", "l", "c", "z")
NOMINAL_EDGE = {"k": 2048, "h": 1600, "l": 1024, "c": 800, "z": 640}


def utc_now() -> dt.datetime:
    """The current time in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> dt.datetime | None:
    """Parse what :func:`iso` wrote (and any ISO 8601 with an offset)."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


@dataclass(frozen=True, slots=True)
class Size:
    """One downloadable rendition of a photo."""

    label: str
    url: str
    width: int
    height: int

    @property
    def edge(self) -> int:
        return max(self.width, self.height)


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo (or video) of the photostream, as the catalogue keeps it."""

    id: str
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    date_taken: str | None = None
    date_taken_unknown: bool = False
    date_uploaded: int = 0
    last_update: int = 0
    license: str = ""
    path_alias: str | None = None
    owner: str = ""
    media: str = "photo"
    original_format: str | None = None
    sizes: tuple[Size, ...] = ()
    # Flickr's datetakengranularity: 0 exact, 4 month, 6 year, 8 circa (anniversaries need an exact date).
    date_taken_granularity: int = 0
    # Favourites and views as of the last listing that carried them (None: not known).
    faves: int | None = None
    views: int | None = None

    @property
    def page_url(self) -> str:
        """The photo's page on Flickr."""
        who = self.path_alias or self.owner
        return f"https://www.flickr.com/photos/{who}/{self.id}/"

    @property
    def is_photo(self) -> bool:
        return self.media == "photo"

    @property
    def taken(self) -> dt.date | None:
        if not self.date_taken or self.date_taken_unknown:
            return None
        try:
            return dt.date.fromisoformat(self.date_taken[:10])
        except ValueError:
            return None

    @property
    def uploaded(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.date_uploaded, dt.UTC)

    def size(self, label: str) -> Size | None:
        for size in self.sizes:
            if size.label == label:
                return size
        return None

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "date_taken": self.date_taken,
            "date_taken_unknown": self.date_taken_unknown,
            "date_uploaded": self.date_uploaded,
            "last_update": self.last_update,
            "license": self.license,
            "path_alias": self.path_alias,
            "owner": self.owner,
            "media": self.media,
            "original_format": self.original_format,
            "sizes": {s.label: {"url": s.url, "width": s.width, "height": s.height} for s in self.sizes},
            **({"date_taken_granularity": self.date_taken_granularity} if self.date_taken_granularity else {}),
            **({"faves": self.faves} if self.faves is not None else {}),
            **({"views": self.views} if self.views is not None else {}),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Photo:
        sizes = tuple(
            Size(label, str(s["url"]), int(s["width"]), int(s["height"]))
            for label, s in dict(doc.get("sizes") or {}).items()
        )
        return cls(
            id=str(doc["id"]),
            title=str(doc.get("title") or ""),
            description=str(doc.get("description") or ""),
            tags=_tags(doc.get("tags")),
            date_taken=_opt_str(doc.get("date_taken")),
            date_taken_unknown=bool(doc.get("date_taken_unknown", False)),
            date_uploaded=int(doc.get("date_uploaded") or 0),
            last_update=int(doc.get("last_update") or 0),
            license=str(doc.get("license") or ""),
            path_alias=_opt_str(doc.get("path_alias")),
            owner=str(doc.get("owner") or ""),
            media=str(doc.get("media") or "photo"),
            original_format=_opt_str(doc.get("original_format")),
            sizes=sizes,
            date_taken_granularity=int(doc.get("date_taken_granularity") or 0),
            faves=_opt_int(doc.get("faves")),
            views=_opt_int(doc.get("views")),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError('"tags" must be a list of strings')
    return tuple(value)


# The largest original any supported network keeps (Mastodon scales every image to 8.3 MP, 3840x2160; X and
# Bluesky take 2048 px at most): larger ones are never posted, so the catalogue does not keep them.
MAX_USEFUL_ORIGINAL_PIXELS = 8_294_400


def sizes_for(photo: Photo, *, max_edge: int | None = None, max_pixels: int | None = None) -> list[Size]:
    """The sizes of ``photo`` worth trying for a network with these limits, largest first.

    The original only when its dimensions are known and within the limits; the fixed sizes whenever they are."""
    sizes = []
    for size in photo.sizes:
        if size.label not in SIZE_LABELS:
            continue
        edge = size.edge or NOMINAL_EDGE.get(size.label, 0)
        if size.label == "o" and not (size.width > 0 and size.height > 0):
            continue
        if max_edge is not None and edge > max_edge:
            continue
        if max_pixels is not None and size.width * size.height > max_pixels:
            continue
        sizes.append(size)
    return sorted(sizes, key=lambda s: (-(s.edge or NOMINAL_EDGE.get(s.label, 0)), SIZE_LABELS.index(s.label)))


def newest_first(photos: Iterable[Photo]) -> list[Photo]:
    """Order photos as Flickr lists them: newest upload first."""
    return sorted(photos, key=lambda p: (p.date_uploaded, int(p.id) if p.id.isdigit() else 0), reverse=True)


# --- pierrot-meta.json -------------------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """What sync needs to decide cheaply whether anything changed."""

    total: int = 0
    flickr_total: int = 0
    nsid: str | None = None
    user: str | None = None
    newest_id: str | None = None
    newest_upload: int | None = None
    last_sync: str | None = None
    last_full_sync: str | None = None
    # The version token of the pierrot-db.json this meta describes: a no-change sync checks it
    # instead of downloading the whole catalogue.
    catalogue_token: str | None = None
    # The newest photo of that catalogue (Flickr's newest item may be a video, which the catalogue leaves out):
    # with ``total`` and ``nsid``, how sync recognises its catalogue when the token alone does not match.
    catalogue_newest: str | None = None

    def describes(self, catalogue: StoredCatalogue, token: str | None) -> bool:
        """True if ``catalogue`` is the one this meta was written for: its token, or its owner, size and newest."""
        if token is not None and token == self.catalogue_token:
            return True
        if catalogue.nsid not in (None, self.nsid) or len(catalogue) != self.total:
            return False
        newest = catalogue.ids[0] if catalogue.ids else None
        return newest == (self.catalogue_newest if self.catalogue_newest is not None else self.newest_id)

    def to_doc(self) -> dict[str, Any]:
        return {
            "version": META_VERSION,
            "total": self.total,
            "flickr_total": self.flickr_total,
            "nsid": self.nsid,
            "user": self.user,
            "newest_id": self.newest_id,
            "newest_upload": self.newest_upload,
            "last_sync": self.last_sync,
            "last_full_sync": self.last_full_sync,
            "catalogue_token": self.catalogue_token,
            "catalogue_newest": self.catalogue_newest,
        }

    @classmethod
    def parse(cls, data: bytes, token: str | None = None) -> Meta:
        """pierrot-meta.json from its bytes; a DocumentError carries the token so sync may rebuild over it."""
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise DocumentError(META_DOCUMENT, f"not valid JSON ({exc})", REBUILD_ADVICE, token=token) from None
        try:
            return cls.from_doc(doc)
        except DocumentError as exc:
            exc.token = token
            raise

    @classmethod
    def from_doc(cls, doc: Any) -> Meta:
        _check_version(META_DOCUMENT, doc, META_VERSION)
        try:
            return cls(
                total=int(doc["total"]),
                flickr_total=int(doc.get("flickr_total", doc["total"])),
                nsid=_opt_str(doc.get("nsid")),
                user=_opt_str(doc.get("user")),
                newest_id=_opt_str(doc.get("newest_id")),
                newest_upload=None if doc.get("newest_upload") is None else int(doc["newest_upload"]),
                last_sync=_opt_str(doc.get("last_sync")),
                last_full_sync=_opt_str(doc.get("last_full_sync")),
                catalogue_token=_opt_str(doc.get("catalogue_token")),
                catalogue_newest=_opt_str(doc.get("catalogue_newest")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DocumentError(META_DOCUMENT, f"bad field {exc}", REBUILD_ADVICE) from exc


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _media_ids(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Every media id an entry used: ``media_ids``, and the one ``media_id`` that earlier logs kept."""
    listed = doc.get("media_ids")
    if listed is not None and not isinstance(listed, list):
        raise ValueError("media_ids is not a list")
    ids = [str(m) for m in listed or []]
    legacy = doc.get("media_id")
    if legacy is not None and str(legacy) not in ids:
        ids.insert(0, str(legacy))
    return tuple(ids)


class NewerSchemaError(DocumentError):
    """A document written by a newer pierrot: refused, never rebuilt over, since that would downgrade it."""


def _check_version(name: str, doc: Any, supported: int) -> None:
    if not isinstance(doc, dict):
        raise DocumentError(name, "expected a JSON object")
    version = doc.get("version")
    if not isinstance(version, int):
        raise DocumentError(name, 'no integer "version" field')
    if version > supported:
        raise NewerSchemaError(
            name, f"schema version {version} is newer than this pierrot understands", "upgrade pierrot"
        )


# --- pierrot-db.json ---------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Every public photo of one photostream, newest upload first."""

    nsid: str | None = None
    photos: list[Photo] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.photos)

    def to_doc(self) -> dict[str, Any]:
        return {"version": CATALOGUE_VERSION, "nsid": self.nsid, "photos": [p.to_doc() for p in self.photos]}

    def json_chunks(self, batch: int = 1000) -> Iterator[bytes]:
        """The document as UTF-8 JSON, one photo a line, a batch at a time (never whole in memory)."""
        return catalogue_chunks(self.nsid, (record_bytes(p) for p in self.photos), batch)

    @classmethod
    def from_doc(cls, doc: Any) -> Catalogue:
        _check_version(CATALOGUE_DOCUMENT, doc, CATALOGUE_VERSION)
        records = doc.get("photos")
        if not isinstance(records, list):
            raise DocumentError(CATALOGUE_DOCUMENT, 'no "photos" list', REBUILD_ADVICE)
        try:
            photos = [Photo.from_doc(r) for r in records]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DocumentError(
                CATALOGUE_DOCUMENT, f"a photo record is malformed ({exc!r})", REBUILD_ADVICE
            ) from exc
        return cls(nsid=_opt_str(doc.get("nsid")), photos=photos)


def record_bytes(photo: Photo) -> bytes:
    """One catalogue record as the line pierrot writes for it (compact UTF-8 JSON; a newline is always escaped)."""
    return orjson.dumps(photo.to_doc())


_FOOTER = b"\n]}\n"
_HEAD = re.compile(rb'\{"version":(\d+),"nsid":(null|"[^"\\\n]*"),"photos":\[\n')


def catalogue_chunks(nsid: str | None, records: Iterable[bytes], batch: int = 1000) -> Iterator[bytes]:
    """pierrot-db.json in pierrot's layout: valid JSON with one record a line, so it can be read a line at a time."""
    head = json.dumps({"version": CATALOGUE_VERSION, "nsid": nsid}, ensure_ascii=False, separators=(",", ":"))
    yield (head[:-1] + ',"photos":[\n').encode()
    pending: list[bytes] = []
    first = True
    for record in records:
        pending.append(record)
        if len(pending) >= batch:
            yield (b"" if first else b",\n") + b",\n".join(pending)
            pending, first = [], False
    if pending:
        yield (b"" if first else b",\n") + b",\n".join(pending)
    yield _FOOTER


class StoredCatalogue:
    """pierrot-db.json as read: each record kept as its line of JSON and parsed only when needed.

    At 100,000 photos the parsed document would take half a gigabyte; the lines take what the file takes."""

    def __init__(
        self, nsid: str | None, ids: list[str], records: list[bytes | memoryview], videos: set[int] | None = None
    ) -> None:
        self.nsid = nsid
        self.ids = ids
        self.videos = videos or set()  # positions of videos: sync writes none, a hand-made catalogue may
        self._records = records
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_photos(cls, nsid: str | None, photos: Sequence[Photo]) -> StoredCatalogue:
        videos = {i for i, p in enumerate(photos) if not p.is_photo}
        return cls(nsid, [p.id for p in photos], [record_bytes(p) for p in photos], videos)

    @classmethod
    def parse(cls, data: bytes, token: str | None = None) -> StoredCatalogue:
        """Read pierrot's one-record-a-line layout, or any valid catalogue JSON the slow way."""
        head = _HEAD.match(data)
        if head is None or not data.endswith(_FOOTER):
            try:
                doc = json.loads(data)
            except (ValueError, RecursionError) as exc:
                problem = f"not valid JSON ({exc})"
                raise DocumentError(CATALOGUE_DOCUMENT, problem, REBUILD_ADVICE, token=token) from None
            try:
                catalogue = Catalogue.from_doc(doc)
            except DocumentError as exc:
                exc.token = token
                raise
            return cls.from_photos(catalogue.nsid, catalogue.photos)
        version = int(head.group(1))
        _check_version(CATALOGUE_DOCUMENT, {"version": version}, CATALOGUE_VERSION)
        nsid = json.loads(head.group(2))
        view = memoryview(data)
        ids: list[str] = []
        records: list[bytes | memoryview] = []
        videos: set[int] = set()
        pos, end = head.end(), len(data) - len(_FOOTER)
        while pos < end:
            newline = data.find(b"\n", pos, end)
            stop = end if newline == -1 else newline
            last = stop if data[stop - 1] != 0x2C else stop - 1  # the comma between records
            try:
                record = orjson.loads(view[pos:last])
                ids.append(str(record["id"]))
                if record.get("media", "photo") != "photo":
                    videos.add(len(ids) - 1)
            except (ValueError, KeyError, TypeError) as exc:
                line = data.count(b"\n", 0, pos) + 1
                raise DocumentError(
                    CATALOGUE_DOCUMENT, f"record on line {line} is malformed ({exc})", REBUILD_ADVICE, token=token
                ) from None
            records.append(view[pos:last])
            pos = stop + 1
        return cls(nsid, ids, records, videos)

    def record(self, index: int) -> bytes:
        return bytes(self._records[index])

    def records(self) -> Iterator[bytes | memoryview]:
        return iter(self._records)

    def photo(self, index: int) -> Photo:
        """The photo at ``index``, parsed now (DocumentError if its record is malformed)."""
        try:
            return Photo.from_doc(orjson.loads(self._records[index]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DocumentError(
                CATALOGUE_DOCUMENT, f"the record of photo {self.ids[index]} is malformed ({exc!r})", REBUILD_ADVICE
            ) from exc

    def photos(self) -> Iterator[Photo]:
        return (self.photo(i) for i in range(len(self.ids)))

    def index_of(self, photo_id: str) -> int | None:
        if self._index is None:
            self._index = {pid: i for i, pid in enumerate(self.ids)}
        return self._index.get(photo_id)



# --- pierrot-wal.json --------------------------------------------------------------------------

PENDING = "pending"
PUBLISHED = "published"
FAILED = "failed"
UNKNOWN = "unknown"
STATUSES = (PENDING, PUBLISHED, FAILED, UNKNOWN)
# A photo with an entry in one of these states for a network is never chosen again for it.
BLOCKING = frozenset({PENDING, PUBLISHED, UNKNOWN})
# What pierrot 0.x wrote when X refused a post as duplicate content, recording it published with no proof.
LEGACY_DUPLICATE_REASON = "X refused it as duplicate content"
# Which status a photo has on a network when it has several entries: the strongest evidence wins.
_PRECEDENCE = {PUBLISHED: 3, UNKNOWN: 2, PENDING: 1, FAILED: 0}


@dataclass(frozen=True)
class LogEntry:
    """One attempt to publish one photo on one network."""

    photo_id: str
    network: str
    status: str
    run_id: str
    started_at: str
    updated_at: str
    post_id: str | None = None
    post_url: str | None = None
    reason: str | None = None
    title: str | None = None
    # The text posted (or attempted): X refuses a text it has seen before, so the next post must differ.
    text: str | None = None
    # The scheduler's event that started the run (Lambda), so a second delivery of it is refused.
    event_id: str | None = None
    # When an unknown outcome was settled by hand; the entry keeps the attempt's own time.
    resolved_at: str | None = None
    # What makes the post exactly-once where the network allows it (see pierrot.ports.Attempt): the record
    # key or Idempotency-Key chosen before posting, the time the post says it was made, every media uploaded
    # for it by any attempt (0.x logs kept one, as media_id), and the account (DID, account id) it was made with.
    key: str | None = None
    created_at: str | None = None
    media_ids: tuple[str, ...] = ()
    account: str | None = None

    @property
    def unconfirmed(self) -> bool:
        """A post recorded published with no evidence (pierrot 0.x took X's duplicate answer as proof)."""
        return self.status == PUBLISHED and self.post_id is None and (self.reason or "").startswith(
            LEGACY_DUPLICATE_REASON
        )

    @property
    def state(self) -> str:
        """The status this entry counts as: an unconfirmed post counts as unknown."""
        return UNKNOWN if self.unconfirmed else self.status

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "photo_id": self.photo_id,
            "network": self.network,
            "status": self.status,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "post_id": self.post_id,
            "post_url": self.post_url,
            "reason": self.reason,
            "title": self.title,
        }
        for key in ("text", "event_id", "resolved_at", "key", "created_at", "account"):
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        if self.media_ids:
            doc["media_ids"] = list(self.media_ids)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> LogEntry:
        status = str(doc["status"])
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        for stamp in ("started_at", "updated_at"):
            if doc.get(stamp) is not None and parse_iso(str(doc[stamp])) is None:
                raise ValueError(f"{stamp} is not an ISO 8601 time")
        return cls(
            photo_id=str(doc["photo_id"]),
            network=str(doc["network"]),
            status=status,
            run_id=str(doc.get("run_id") or ""),
            started_at=str(doc["started_at"]),
            updated_at=str(doc.get("updated_at") or doc["started_at"]),
            post_id=_opt_str(doc.get("post_id")),
            post_url=_opt_str(doc.get("post_url")),
            reason=_opt_str(doc.get("reason")),
            title=_opt_str(doc.get("title")),
            text=_opt_str(doc.get("text")),
            event_id=_opt_str(doc.get("event_id")),
            resolved_at=_opt_str(doc.get("resolved_at")),
            key=_opt_str(doc.get("key")),
            created_at=_opt_str(doc.get("created_at")),
            media_ids=_media_ids(doc),
            account=_opt_str(doc.get("account")),
        )

    def age(self, now: dt.datetime) -> float:
        started = parse_iso(self.updated_at) or now
        return (now - started).total_seconds()


@dataclass
class PublishLog:
    """Every publish attempt, oldest first; entries are appended and updated, never removed."""

    entries: list[LogEntry] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return {"version": LOG_VERSION, "entries": [e.to_doc() for e in self.entries]}

    @classmethod
    def from_doc(cls, doc: Any) -> PublishLog:
        _check_version(LOG_DOCUMENT, doc, LOG_VERSION)
        records = doc.get("entries")
        if not isinstance(records, list):
            raise DocumentError(LOG_DOCUMENT, 'no "entries" list', "restore it from a backup or fix it by hand")
        try:
            return cls([LogEntry.from_doc(r) for r in records])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DocumentError(
                LOG_DOCUMENT, f"an entry is malformed ({exc})", "restore it from a backup or fix it by hand"
            ) from exc

    def blocked_ids(self, network: str) -> set[str]:
        """Photos that must not be chosen again for this network."""
        return {e.photo_id for e in self.entries if e.network == network and e.status in BLOCKING}

    def states(self, network: str) -> dict[str, str]:
        """Each photo's one status on ``network``, the rule status, eligibility and resolve share.

        ``published`` if any entry is a post with evidence; else ``unknown`` if any may have been posted;
        else ``pending``; else ``failed`` (nothing was posted: the photo may be chosen again)."""
        states: dict[str, str] = {}
        for e in self.entries:
            if e.network != network:
                continue
            state = e.state
            current = states.get(e.photo_id)
            if current is None or _PRECEDENCE[state] > _PRECEDENCE[current]:
                states[e.photo_id] = state
        return states

    def pending(self, network: str) -> list[LogEntry]:
        return [e for e in self.entries if e.network == network and e.status == PENDING]

    def find(self, run_id: str, photo_id: str, network: str) -> int | None:
        for index in range(len(self.entries) - 1, -1, -1):
            e = self.entries[index]
            if e.run_id == run_id and e.photo_id == photo_id and e.network == network:
                return index
        return None

    def latest_for(self, photo_id: str, network: str) -> LogEntry | None:
        for e in reversed(self.entries):
            if e.photo_id == photo_id and e.network == network:
                return e
        return None

    def with_entry(self, *entries: LogEntry) -> PublishLog:
        return PublishLog([*self.entries, *entries])

    def last_posted(self, network: str) -> str | None:
        """When the last post with evidence was made on ``network`` (ISO 8601), or None."""
        times = [e.updated_at for e in self.entries if e.network == network and e.state == PUBLISHED]
        return max(times) if times else None

    def with_update(self, index: int, **changes: Any) -> PublishLog:
        entries = list(self.entries)
        entries[index] = replace(entries[index], **changes)
        return PublishLog(entries)


# --- choosing a photo --------------------------------------------------------------------------

_TAG_CLEAN = re.compile(r"[^0-9a-z\u00c0-\uffff]+")


def normalise_tag(tag: str) -> str:
    """Flickr's machine form of a tag: lower case, no spaces or punctuation."""
    return _TAG_CLEAN.sub("", tag.lower())


@dataclass(frozen=True)
class Filters:
    """Which photos may be published; empty means no restriction."""

    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    taken_after: dt.date | None = None
    taken_before: dt.date | None = None
    uploaded_after: dt.date | None = None
    licenses: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(
            self.include_tags
            or self.exclude_tags
            or self.taken_after
            or self.taken_before
            or self.uploaded_after
            or self.licenses
        )

    def matches(self, photo: Photo) -> bool:
        tags = {normalise_tag(t) for t in photo.tags}
        if self.include_tags and not tags.intersection(normalise_tag(t) for t in self.include_tags):
            return False
        if self.exclude_tags and tags.intersection(normalise_tag(t) for t in self.exclude_tags):
            return False
        if self.taken_after or self.taken_before:
            taken = photo.taken
            if taken is None:
                return False
            if self.taken_after and taken < self.taken_after:
                return False
            if self.taken_before and taken > self.taken_before:
                return False
        if self.uploaded_after and photo.uploaded.date() < self.uploaded_after:
            return False
        return not (self.licenses and photo.license not in self.licenses)


@dataclass(frozen=True)
class Eligibility:
    """How a catalogue splits: the positions of the photos that may be chosen, and why the others may not."""

    eligible: list[int]
    photos: int
    published: int
    filtered_out: int


def eligible_in(
    catalogue: StoredCatalogue, log: PublishLog, network: str | Sequence[str], filters: Filters
) -> Eligibility:
    """The photos that may be chosen now (on every one of ``network``); records are parsed only for filters."""
    networks = (network,) if isinstance(network, str) else tuple(network)
    blocked = set().union(*(log.blocked_ids(n) for n in networks)) if networks else set()
    if not filters.active:
        videos = catalogue.videos
        eligible = [i for i, pid in enumerate(catalogue.ids) if pid not in blocked and i not in videos]
        photos = len(catalogue) - len(videos)
        return Eligibility(eligible, photos, photos - len(eligible), 0)
    chosen: list[int] = []
    photos = published = filtered = 0
    for index, photo in enumerate(catalogue.photos()):
        if not photo.is_photo:
            continue
        photos += 1
        if photo.id in blocked:
            published += 1
        elif not filters.matches(photo):
            filtered += 1
        else:
            chosen.append(index)
    return Eligibility(chosen, photos, published, filtered)

