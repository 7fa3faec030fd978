"""What a publish run is asked to do (its options, network by network) and what it reports back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pierrot.config import DEFAULT_ALT_TEMPLATE, DEFAULT_TEMPLATE
from pierrot.domain import Filters, Photo
from pierrot.ports import FetchedImage, NetworkRules, Post

TEMPLATE_SETTING = "PIERROT_PUBLISH_TEMPLATE"
ALT_TEMPLATE_SETTING = "PIERROT_PUBLISH_ALT_TEMPLATE"


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
    # What a post says besides its text (issue 17): its language, the warning on a photo with a sensitive tag, and
    # how many of the photo's tags {hashtags} shows.
    language: str | None = None
    sensitive_tags: tuple[str, ...] = ()
    content_warning: str = "Sensitive photo"
    hashtags: int = 5
    # How many photos one post carries (PIERROT_PUBLISH_PHOTOS): each network takes as many as it can.
    photos: int = 1

    def template_for(self, network: NetworkOptions) -> str:
        return network.template or self.template

    def alt_template_for(self, network: NetworkOptions) -> str:
        return network.alt_template or self.alt_template


@dataclass(frozen=True)
class Companion:
    """Another photo a post carries after the chosen one (PIERROT_PUBLISH_PHOTOS), as one network gets it."""

    photo: Photo
    image: FetchedImage
    alt_text: str | None = None


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
    # The network's failure as it was raised: the entry points turn it into the line and the exit code users see.
    failure: BaseException | None = field(default=None, repr=False, compare=False)
    skipped: str | None = None
    settled: list[str] = field(default_factory=list)
    # The language and warning the post carries on this network (None: none, or the network takes none).
    language: str | None = None
    warning: str | None = None
    hashtags: str = ""
    # The photo has a sensitive tag, and how this network carries its warning: "spoiler", "label" or "none".
    sensitive: bool = False
    warning_kind: str = "none"
    # The other photos this network's post carries, and those it cannot take (they stay eligible there).
    also: list[Companion] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    def carried_lines(self) -> list[str]:
        """The dry run's lines on the other photos: how many the network takes, each with its alt text."""
        if not self.also and not self.left_out:
            return []
        offered = 1 + len(self.also) + len(self.left_out)
        taken = 1 + len(self.also)
        left = f" (takes {taken}: {len(self.left_out)} stay eligible)" if self.left_out else ""
        lines = [f"photos:    {offered}{left}"]
        for companion in self.also:
            image = companion.image
            lines.append(f"  + {companion.photo.id}  {companion.photo.title or '(untitled)'}: {image.size_label} "
                         f"({image.width}x{image.height}), {image.nbytes:,} bytes")
            alt = "(switched off)" if companion.alt_text is None else companion.alt_text.replace("\n", " ")
            lines.append(f"    alt text: {alt}")
        lines.extend(f"  - {photo_id}: not taken, stays eligible here" for photo_id in self.left_out)
        return lines

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
            "language": self.language,
            "warning": self.warning,
            "hashtags": self.hashtags,
            **({"also": [{"photo_id": c.photo.id, "alt_text": c.alt_text, "size": c.image.size_label}
                         for c in self.also], "left_out": list(self.left_out)}
               if self.also or self.left_out else {}),
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


    @property
    def failed(self) -> list[NetworkResult]:
        return [r for r in self.results if r.error is not None]

    @property
    def posts(self) -> list[NetworkResult]:
        return [r for r in self.results if r.post is not None]

    def to_dict(self) -> dict[str, Any]:
        # The top-level fields are the first network's: the whole story of a one-network run, as they always were.
        first = next((r for r in self.results if r.skipped is None), self.results[0] if self.results else None)
        image = first.image if first else None
        post = first.post if first else None
        return {
            "photo_id": self.photo.id if self.photo else None,
            "title": self.photo.title if self.photo else None,
            "size": (image.size_label or None) if image else None,
            "bytes": (image.nbytes or None) if image else None,
            "text": first.text if first else "",
            "text_weight": first.length if first else 0,
            "alt_text": first.alt_text if first else None,
            "dry_run": self.dry_run,
            "post_id": post.id if post else None,
            "post_url": post.url if post else None,
            "rule": self.rule,
            "why": self.why,
            "networks": {r.network: r.to_dict() for r in self.results},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }
