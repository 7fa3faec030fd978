"""Photo records and their sizes, as the catalogue keeps them, and the time format they are written in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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


# The largest original any network's rules take (8.3 MP, 3840x2160, is the most a network keeps; others take
# 2048 px at most): larger ones are never posted, so the catalogue does not keep them.
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


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
