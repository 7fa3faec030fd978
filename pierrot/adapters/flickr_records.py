"""Flickr's answers read into catalogue records, each field checked before it goes into a post link or a record."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from flickrapi.exceptions import FlickrError as LibFlickrError

from pierrot.domain import MAX_USEFUL_ORIGINAL_PIXELS, SIZE_LABELS, Photo, Size
from pierrot.errors import FlickrError
from pierrot.logs import scrub

# Logged under the adapter's name, which users read in the line.
log = logging.getLogger("pierrot.adapters.flickr")


# The shapes a listing's fields must have before they go into a post link or a catalogue record.
PHOTO_ID = re.compile(r"[0-9]{1,24}")
OWNER_NSID = re.compile(r"[0-9]{1,24}@N[0-9]{2}")
# Flickr's URL aliases are letters, digits, "_" and "-"; never "/", "?", "#", ".", "%" or a space.
PATH_ALIAS = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _parse(raw: bytes | str) -> Any:
    """The answer as flickrapi's parsed-json would give it, raising its FlickrError for ``stat: fail``."""
    reply = orjson.loads(raw)
    if isinstance(reply, dict) and reply.get("stat") == "fail":
        raise LibFlickrError(f"Error: {reply.get('code')}: {reply.get('message')}", code=_int(reply.get("code")))
    return reply


def _photos_block(reply: Mapping[str, Any]) -> dict[str, Any]:
    block = reply.get("photos")
    if not isinstance(block, dict):
        raise FlickrError('Flickr answered without a "photos" block: check PIERROT_FLICKR_API_URL')
    return block


def _items(block: Mapping[str, Any]) -> list[Any]:
    items = block.get("photo") or []
    if not isinstance(items, list):
        raise FlickrError('Flickr answered a "photos" block whose "photo" is not a list: check PIERROT_FLICKR_API_URL')
    return items


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def photo_id(value: Any) -> str | None:
    """A Flickr photo id (digits) as a string, or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if PHOTO_ID.fullmatch(text) else None


def _checked_nsid(value: Any, method: str) -> str:
    text = str(value)
    if not OWNER_NSID.fullmatch(text):
        raise FlickrError(f"Flickr answered {method} with {_shown(value)}, not an NSID: check PIERROT_FLICKR_API_URL")
    return text


def _shown(value: Any) -> str:
    """A value from an answer, short and on one line, for a log or a message."""
    text = scrub(repr(value))
    return text if len(text) <= 40 else text[:37] + "..."


class _Page:
    """What one page of a listing holds, read in the worker that fetched it."""

    __slots__ = ("dropped", "pages", "photos", "problems", "total")

    def __init__(self, pages: int, total: int) -> None:
        self.pages = pages
        self.total = total
        self.photos: list[Photo] = []
        self.dropped: set[str] = set()
        self.problems: set[str] = set()

    @classmethod
    def read(cls, block: Mapping[str, Any]) -> _Page:
        page = cls(_int(block.get("pages")), _int(block.get("total")))
        for item in _items(block):
            pid = photo_id(item.get("id")) if isinstance(item, Mapping) else None
            if pid is None:
                # Counted by what it was: the same bad item on two overlapping pages is one item.
                shown = _shown(item.get("id") if isinstance(item, Mapping) else item)
                page.dropped.add(shown)
                page.problems.add(f"Flickr listed an item whose id {shown} is not a photo id: it is left out")
                continue
            photo = _photo(item, pid, page.problems)
            if photo is not None:
                page.photos.append(photo)
        return page


# Widths and heights repeat across a photostream: one int object each instead of one per photo.
_SHARED_INTS: dict[int, int] = {}


def _shared(number: int) -> int:
    return _SHARED_INTS.setdefault(number, number)


_SIZE_KEYS = tuple((label, f"url_{label}", f"width_{label}", f"height_{label}") for label in SIZE_LABELS)


def photo_from_item(item: Mapping[str, Any], problems: set[str] | None = None) -> Photo | None:
    """A catalogue record from one ``people.getPhotos`` item (None for a non-public one or one without a valid id).

    Fields of the wrong shape are left out, each noted once in ``problems``."""
    pid = photo_id(item.get("id"))
    return None if pid is None else _photo(item, pid, problems)


def _photo(item: Mapping[str, Any], pid: str, problems: set[str] | None) -> Photo | None:
    if str(item.get("ispublic", "1")) == "0":
        return None
    sizes: list[Size] = []
    for label, url_key, width_key, height_key in _SIZE_KEYS:
        url = item.get(url_key)
        if not url:
            continue
        if not isinstance(url, str):
            _note(problems, f"Flickr listed a {url_key} that is not a string: that size is left out")
            continue
        width, height = _shared(_int(item.get(width_key))), _shared(_int(item.get(height_key)))
        # An original larger than any network takes is never posted: the catalogue keeps only what can be.
        if label == "o" and not (width > 0 and height > 0 and width * height <= MAX_USEFUL_ORIGINAL_PIXELS):
            continue
        sizes.append(Size(label, url, width, height))
    description = item.get("description")
    if isinstance(description, Mapping):
        description = description.get("_content", "")
    taken = item.get("datetaken")
    return Photo(
        id=pid,
        title=str(item.get("title") or ""),
        description=str(description or ""),
        tags=tuple(_split_tags(item.get("tags"))),
        date_taken=str(taken) if taken else None,
        date_taken_unknown=str(item.get("datetakenunknown", "0")) == "1",
        date_uploaded=_int(item.get("dateupload")),
        last_update=_int(item.get("lastupdate")),
        license=str(item.get("license", "")),
        path_alias=_path_alias(item.get("pathalias"), problems),
        owner=_owner(item.get("owner"), problems),
        media=sys.intern(str(item.get("media") or "photo")),
        original_format=sys.intern(str(item["originalformat"])) if item.get("originalformat") else None,
        sizes=tuple(sizes),
        date_taken_granularity=_int(item.get("datetakengranularity")),
        faves=_count(item.get("count_faves")),
        views=_count(item.get("views")),
    )


def _count(value: Any) -> int | None:
    """A count Flickr may send as a string, an int, or not at all."""
    if value is None or value == "":
        return None
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None


def _path_alias(value: Any, problems: set[str] | None) -> str | None:
    """The alias of the photostream's URL; None (the post link then uses the owner's NSID) if it is not one."""
    if not value:
        return None
    if isinstance(value, str) and len(value) <= 100 and _matches(PATH_ALIAS, value):
        return sys.intern(value)
    _note(problems, f"Flickr listed a path alias {_shown(value)} that is not a URL alias: links use the NSID instead")
    return None


def _owner(value: Any, problems: set[str] | None) -> str:
    if not value:
        return ""
    if isinstance(value, str) and len(value) <= 100 and _matches(OWNER_NSID, value):
        return sys.intern(value)
    _note(problems, f"Flickr listed an owner {_shown(value)} that is not an NSID: it is left out")
    return ""


@functools.lru_cache(maxsize=256)
def _matches(pattern: re.Pattern[str], value: str) -> bool:
    """``pattern.fullmatch(value)``, remembered: the owner and alias repeat on every photo of a stream."""
    return pattern.fullmatch(value) is not None


def _note(problems: set[str] | None, problem: str) -> None:
    if problems is not None:
        problems.add(problem)
    else:
        log.warning("%s", problem)


def _split_tags(tags: Any) -> Iterable[str]:
    if isinstance(tags, str):
        return [sys.intern(t) for t in tags.split() if t]  # the same few tags recur on thousands of photos
    return []
