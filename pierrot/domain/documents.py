"""The store's documents: their names and versions, pierrot-meta.json and the catalogue (pierrot-db.json)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pierrot.domain.photos import (
    Photo,
    _opt_str,
)
from pierrot.errors import DocumentError

META_DOCUMENT = "pierrot-meta.json"
CATALOGUE_DOCUMENT = "pierrot-db.json"
LOG_DOCUMENT = "pierrot-wal.json"

REBUILD_ADVICE = "run `pierrot sync --full` to rebuild it"

META_VERSION = 1
CATALOGUE_VERSION = 1
LOG_VERSION = 1


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
