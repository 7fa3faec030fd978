"""Which photos may be posted: the user's filters and each photo's eligibility against them and the log."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pierrot.domain.documents import (
    StoredCatalogue,
)
from pierrot.domain.photos import (
    Photo,
)
from pierrot.domain.publish_log import (
    PublishLog,
)

# --- choosing a photo --------------------------------------------------------------------------

_TAG_CLEAN = re.compile(r"[^0-9a-z\u00c0-\uffff]+")


def normalise_tag(tag: str) -> str:
    """Flickr's machine form of a tag: lower case, no spaces or punctuation."""
    return _TAG_CLEAN.sub("", tag.lower())


def has_description(photo: Photo) -> bool:
    """Whether the photo's Flickr description has any text once its HTML is gone."""
    from pierrot.domain.compose import strip_html

    return bool(strip_html(photo.description))


@dataclass(frozen=True)
class Filters:
    """Which photos may be published; empty means no restriction."""

    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    taken_after: dt.date | None = None
    taken_before: dt.date | None = None
    uploaded_after: dt.date | None = None
    licenses: tuple[str, ...] = ()
    # Alt text made from a title alone is often useless: such photos may be left out.
    require_description: bool = False

    @property
    def active(self) -> bool:
        return bool(
            self.require_description
            or self.include_tags
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
        if self.require_description and not has_description(photo):
            return False
        return not (self.licenses and photo.license not in self.licenses)


@dataclass(frozen=True)
class Eligibility:
    """How a catalogue splits: the positions of the photos that may be chosen, and why the others may not."""

    eligible: list[int]
    photos: int
    published: int
    filtered_out: int
    # Of those filtered out, the photos left out for having no description (PIERROT_PUBLISH_REQUIRE_DESCRIPTION).
    undescribed: int = 0


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
    photos = published = filtered = undescribed = 0
    for index, photo in enumerate(catalogue.photos()):
        if not photo.is_photo:
            continue
        photos += 1
        if photo.id in blocked:
            published += 1
        elif not filters.matches(photo):
            filtered += 1
            undescribed += filters.require_description and not has_description(photo)
        else:
            chosen.append(index)
    return Eligibility(chosen, photos, published, filtered, undescribed)
