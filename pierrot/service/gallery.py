"""The gallery's use case: what a page of the posted photos shows, read from the three documents.

A plain data model, no markup: the entry points render it (``pierrot.entrypoints.gallery_html``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pierrot.domain import (
    CATALOGUE_DOCUMENT,
    FAILED,
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
    parse_iso,
    selection,
    utc_now,
)
from pierrot.errors import ConfigError, DocumentError
from pierrot.ports import DocumentStore, Versioned
from pierrot.service._log import Clock, read_log
from pierrot.service.queries import NetworkStatus, status

# The newest posts a page shows; the counts cover every post. 500 thumbnails of 320 px load lazily and keep the
# page under half a megabyte; `pierrot history` lists the rest.
DEFAULT_LIMIT = 500
# How many upcoming anniversaries the page names.
ANNIVERSARIES = 10
# The longest edge of Flickr's "n" size (Small 320), the thumbnail the page asks for.
SMALL_EDGE = 320
ALT_LIMIT = 1000
ALT_SETTING = "PIERROT_PUBLISH_ALT_TEMPLATE"
FALLBACK_ALT_TEMPLATE = "{title}. {description}"
# A fixed size's URL on Flickr's static hosts: the photo's own secret, so its smaller sizes share the stem.
_STATIC = re.compile(r"^(https://(?:live|farm\d+)\.staticflickr\.com/\d+/\d+_[0-9a-f]+)(?:_[bcz])?\.jpg$")
_LINKABLE = re.compile(r"^https?://[^\s\"'<>`]+$", re.IGNORECASE)


@dataclass(frozen=True)
class PostLink:
    """A photo's one state on one network, with its post's address when it has one worth linking."""

    network: str
    state: str
    url: str | None  # an http(s) URL, safe to link
    shown: str | None  # what the log holds that is not a link (a post id, a malformed URL), shown as text
    reason: str | None
    when: str


@dataclass(frozen=True)
class Thumbnail:
    """The image a page shows for a photo."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class GalleryItem:
    """One posted photo."""

    photo_id: str
    title: str
    date_taken: str | None
    alt: str
    thumbnail: Thumbnail | None  # None: the photo is no longer in the catalogue, or has no usable size
    posted_at: str
    links: tuple[PostLink, ...]


@dataclass(frozen=True)
class Anniversary:
    """A photo not yet posted whose date taken comes round soon."""

    date: dt.date
    photo_id: str
    title: str
    years: int


@dataclass
class Gallery:
    """Everything the page shows."""

    store: str
    generated_at: str
    photos: int
    posted: int
    left: int
    networks: dict[str, NetworkStatus]
    last_sync: str | None
    last_publish: str | None
    items: list[GalleryItem] = field(default_factory=list)
    older: int = 0  # posted photos beyond the page's limit
    anniversaries: list[Anniversary] | None = None  # None: prefer is not anniversary


def gallery(
    store: DocumentStore,
    networks: Sequence[str],
    *,
    filters: Filters | None = None,
    alt_template: str = FALLBACK_ALT_TEMPLATE,
    prefer: str = selection.RANDOM,
    limit: int = DEFAULT_LIMIT,
    now: Clock = utc_now,
) -> Gallery:
    """The posted photos, newest post first (at most ``limit``), with the counts of ``pierrot status`` over
    ``networks`` and any other network the log names."""
    once = _ReadOnce(store)
    filters = filters or Filters()
    plog = read_log(once).log
    # The configured networks first, then any other the log names: a post stays on the page after its network left.
    every = tuple(dict.fromkeys([*networks, *(e.network for e in plog.entries)]))
    figures = status(once, filters, networks=every, now=now)
    found = once.read_bytes(CATALOGUE_DOCUMENT)
    catalogue = StoredCatalogue.parse(*found) if found is not None else StoredCatalogue(None, [], [])
    names = tuple(figures.networks)
    posted = _posted(plog, names)
    moment = now()
    result = Gallery(
        store=store.location,
        generated_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        photos=figures.photos,
        posted=figures.published,
        left=figures.remaining,
        networks=figures.networks,
        last_sync=figures.last_sync,
        last_publish=figures.last_publish,
        older=max(0, len(posted) - limit),
    )
    for photo_id, when, links in posted[:limit]:
        result.items.append(_item(photo_id, when, links, catalogue, alt_template))
    if prefer == selection.ANNIVERSARY:
        result.anniversaries = _anniversaries(catalogue, plog, names, filters, moment.date())
    return result


def _posted(plog: PublishLog, names: Sequence[str]) -> list[tuple[str, str, tuple[PostLink, ...]]]:
    """Each photo that is or may be on a network, with its one state per network, newest post first."""
    chosen: dict[tuple[str, str], LogEntry] = {}
    for name in names:
        states = plog.states(name)
        for entry in plog.entries:
            for photo_id in entry.photo_ids if entry.network == name else ():
                if entry.state == states.get(photo_id):
                    chosen[(photo_id, name)] = entry  # the latest entry in the photo's state wins
    by_photo: dict[str, list[LogEntry]] = {}
    for (photo_id, _), entry in chosen.items():
        by_photo.setdefault(photo_id, []).append(entry)
    rows = []
    for photo_id, entries in by_photo.items():
        live = [e for e in entries if e.state in (PUBLISHED, UNKNOWN, PENDING)]
        if not live:
            continue  # failed everywhere: nothing was posted
        when = max(e.updated_at for e in live)
        order = {name: i for i, name in enumerate(names)}
        links = tuple(_link(e) for e in sorted(entries, key=lambda e: order[e.network]))
        rows.append((photo_id, when, links))
    rows.sort(key=lambda row: (parse_iso(row[1]) or dt.datetime.min.replace(tzinfo=dt.UTC), row[0]), reverse=True)
    return rows


def _link(entry: LogEntry) -> PostLink:
    url = entry.post_url if entry.post_url and _LINKABLE.match(entry.post_url) else None
    shown = None if url else (entry.post_url or entry.post_id)
    reason = entry.reason if entry.state in (FAILED, UNKNOWN) else None
    return PostLink(entry.network, entry.state, url, shown, reason, entry.updated_at)


def _item(
    photo_id: str, when: str, links: tuple[PostLink, ...], catalogue: StoredCatalogue, alt_template: str
) -> GalleryItem:
    index = catalogue.index_of(photo_id)
    photo: Photo | None = None
    if index is not None:
        try:
            photo = catalogue.photo(index)
        except DocumentError:
            photo = None  # one bad record costs its thumbnail, not the page
    if photo is None:
        return GalleryItem(photo_id, "", None, f"Photo {photo_id}", None, when, links)
    taken = photo.date_taken[:10] if photo.date_taken and not photo.date_taken_unknown else None
    return GalleryItem(photo.id, photo.title, taken, _alt(photo, alt_template, when), thumbnail(photo), when, links)


def _alt(photo: Photo, template: str, when: str) -> str:
    """The alt text as composed for posting, with the configured template, on the day the photo was posted."""
    day = (parse_iso(when) or utc_now()).date()
    context = {"years_ago": selection.years_ago_text(photo, day), "month": selection.month_name(day)}
    for candidate in (template, FALLBACK_ALT_TEMPLATE):
        try:
            text = compose.compose_alt_text(photo, candidate, limit=ALT_LIMIT, setting=ALT_SETTING, context=context)
        except ConfigError:
            continue  # a template the networks refuse is `pierrot check`'s to report, not the page's
        if text.strip():
            return text
    return f"Photo {photo.id}"


def thumbnail(photo: Photo) -> Thumbnail | None:
    """Flickr's Small 320 of the photo when a kept size gives its address, else the smallest kept size."""
    kept = [s for s in photo.sizes if s.width > 0 and s.height > 0 and _LINKABLE.match(s.url)]
    if not kept:
        return None
    for size in sorted(kept, key=lambda s: s.edge):
        stem = _STATIC.match(size.url)
        if stem and size.label != "o":
            scale = min(1.0, SMALL_EDGE / size.edge)
            return Thumbnail(f"{stem.group(1)}_n.jpg", max(1, round(size.width * scale)),
                             max(1, round(size.height * scale)))
    smallest: Size = min(kept, key=lambda s: s.edge)
    return Thumbnail(smallest.url, smallest.width, smallest.height)


def _anniversaries(
    catalogue: StoredCatalogue, plog: PublishLog, names: Sequence[str], filters: Filters, today: dt.date
) -> list[Anniversary]:
    """The next anniversaries, today included, of photos a run may still choose (an exact date taken)."""
    found: list[Anniversary] = []
    for index in eligible_in(catalogue, plog, names, filters).eligible:
        try:
            photo = catalogue.photo(index)
        except DocumentError:
            continue
        taken = photo.taken
        if taken is None or photo.date_taken_granularity != selection.GRANULARITY_EXACT:
            continue
        # selection's own rule for the day, a 29 February falling on the 28th in other years.
        date = selection._anniversary_in(taken, today.year)
        if date < today:
            date = selection._anniversary_in(taken, today.year + 1)
        if date.year <= taken.year:
            continue  # taken this year or later: not an anniversary yet
        found.append(Anniversary(date, photo.id, photo.title, date.year - taken.year))
    found.sort(key=lambda a: (a.date, a.photo_id))
    return found[:ANNIVERSARIES]


class _ReadOnce(DocumentStore):
    """The store, each document read at most once in one use case (status and the page read the same ones)."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.location = store.location
        self._bytes: dict[str, tuple[bytes, str] | None] = {}
        self._docs: dict[str, Versioned | None] = {}

    def read(self, name: str) -> Versioned | None:
        if name not in self._docs:
            self._docs[name] = self.store.read(name)
        return self._docs[name]

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        if name not in self._bytes:
            self._bytes[name] = self.store.read_bytes(name)
        return self._bytes[name]

    def write(self, name: str, doc: object, expected: str | None) -> str:
        raise NotImplementedError("the gallery only reads")
