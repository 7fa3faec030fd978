"""The publish log (pierrot-wal.json): one entry per attempt to post a photo to a network, and its states."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pierrot.domain.documents import (
    LOG_DOCUMENT,
    LOG_VERSION,
    _check_version,
)
from pierrot.domain.photos import (
    _opt_str,
    parse_iso,
)
from pierrot.errors import DocumentError

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


def _also(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The other photos an entry's post carried (absent in logs of earlier versions: none)."""
    listed = doc.get("also")
    if listed is not None and not isinstance(listed, list):
        raise ValueError("also is not a list")
    return tuple(str(p) for p in listed or [])


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
    # The other photos the post carried, after ``photo_id`` (PIERROT_PUBLISH_PHOTOS): each counts as posted too.
    also: tuple[str, ...] = ()

    @property
    def photo_ids(self) -> tuple[str, ...]:
        """Every photo the post carried, the first (``photo_id``) first."""
        return (self.photo_id, *self.also)

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
        if self.also:
            doc["also"] = list(self.also)
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
            also=_also(doc),
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
        return {p for e in self.entries if e.network == network and e.status in BLOCKING for p in e.photo_ids}

    def states(self, network: str) -> dict[str, str]:
        """Each photo's one status on ``network``, the rule status, eligibility and resolve share.

        ``published`` if any entry is a post with evidence; else ``unknown`` if any may have been posted;
        else ``pending``; else ``failed`` (nothing was posted: the photo may be chosen again)."""
        states: dict[str, str] = {}
        for e in self.entries:
            if e.network != network:
                continue
            state = e.state
            for photo_id in e.photo_ids:  # every photo the post carried counts as posted there
                current = states.get(photo_id)
                if current is None or _PRECEDENCE[state] > _PRECEDENCE[current]:
                    states[photo_id] = state
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
        """The latest entry of a post that carried the photo on ``network``."""
        for e in reversed(self.entries):
            if photo_id in e.photo_ids and e.network == network:
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
