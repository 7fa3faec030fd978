"""The read-only use cases: status, history and the checks of ``pierrot check``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pierrot.domain import (
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
    PublishLog,
    StoredCatalogue,
    eligible_in,
    parse_iso,
    utc_now,
)
from pierrot.errors import DocumentError, PierrotError
from pierrot.ports import DocumentStore, PhotoSource, Publisher
from pierrot.service._log import Clock, read_doc, read_log


@dataclass
class NetworkStatus:
    """One network's figures."""

    published: int
    remaining: int
    unknown: int
    failed: int
    pending: int
    last_publish: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "remaining": self.remaining,
            "unknown": self.unknown,
            "failed": self.failed,
            "pending": self.pending,
            "last_publish": self.last_publish,
        }


@dataclass
class Status:
    """The state at a glance: over the configured networks, and network by network."""

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
    last_publish_age: int | None = None
    networks: dict[str, NetworkStatus] = field(default_factory=dict)
    # Photos never chosen because they have no description (PIERROT_PUBLISH_REQUIRE_DESCRIPTION).
    undescribed: int = 0

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
            "last_publish_age_seconds": self.last_publish_age,
            "networks": {name: figures.to_dict() for name, figures in self.networks.items()},
            "undescribed": self.undescribed,
        }


def status(
    store: DocumentStore,
    filters: Filters,
    *,
    network: str | None = None,
    networks: Sequence[str] = (),
    now: Clock = utc_now,
) -> Status:
    """Counts of the catalogue and the publish log, over ``networks`` (or the one ``network``; by default every
    network the log names) and each of them.

    Over several networks a photo counts by its strongest state on any of them (published, unknown, pending,
    failed), and remains if a run would still choose it: not posted, pending or unknown on any."""
    meta_doc, _ = read_doc(store, META_DOCUMENT)
    meta = Meta.from_doc(meta_doc) if meta_doc is not None else None
    found = store.read_bytes(CATALOGUE_DOCUMENT)
    catalogue = StoredCatalogue.parse(*found) if found is not None else StoredCatalogue(None, [], [])
    plog = read_log(store).log
    names = (network,) if network is not None else tuple(networks) or tuple(
        dict.fromkeys(e.network for e in plog.entries))
    moment = now()
    split = eligible_in(catalogue, plog, names, filters)
    combined: dict[str, str] = {}
    per_network: dict[str, NetworkStatus] = {}
    for name in names:
        states = plog.states(name)
        for pid, state in states.items():
            if _PRECEDENCE[state] > _PRECEDENCE.get(combined.get(pid, ""), -1):
                combined[pid] = state
        values = list(states.values())
        per_network[name] = NetworkStatus(
            published=values.count(PUBLISHED),
            remaining=len(eligible_in(catalogue, plog, name, filters).eligible),
            unknown=values.count(UNKNOWN),
            failed=values.count(FAILED),
            pending=values.count(PENDING),
            last_publish=plog.last_posted(name),
        )
    lasts = [n.last_publish for n in per_network.values() if n.last_publish]
    last = max(lasts) if lasts else None
    when = parse_iso(last)
    figures = list(combined.values())
    return Status(
        store=store.location,
        photos=split.photos,
        published=figures.count(PUBLISHED),
        remaining=len(split.eligible),
        unknown=figures.count(UNKNOWN),
        failed=figures.count(FAILED),
        pending=[
            {"photo_id": e.photo_id, "network": e.network, "since": e.updated_at, "age_seconds": int(e.age(moment))}
            for name in names for e in plog.pending(name)
        ],
        last_sync=meta.last_sync if meta else None,
        last_publish=last,
        catalogue_present=found is not None,
        last_publish_age=int((moment - when).total_seconds()) if when else None,
        networks=per_network,
        undescribed=split.undescribed,
    )


_PRECEDENCE = {PUBLISHED: 3, UNKNOWN: 2, PENDING: 1, FAILED: 0}


def check_silence(store: DocumentStore, networks: Sequence[str], max_silence: dt.timedelta,
                  now: Clock = utc_now) -> str:
    """Fail (PierrotError) when no post succeeded within ``max_silence`` on a network: a stopped schedule."""
    from pierrot.domain.durations import format_duration

    plog = read_log(store).log
    moment = now()
    lines: list[str] = []
    silent: list[str] = []
    for name in networks:
        last = plog.last_posted(name)
        when = parse_iso(last)
        if when is None:
            silent.append(f"no post ever on {name}")
            continue
        age = moment - when
        line = f"last post on {name} {format_duration(age)} ago ({last})"
        (silent if age > max_silence else lines).append(line)
    if silent:
        raise PierrotError(f"{'; '.join(silent)}: longer than --max-silence {format_duration(max_silence)}; "
                           "check the cron line or the schedule, and `pierrot history`")
    return "; ".join(lines)


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
    also: tuple[str, ...] = ()  # the other photos the post carried

    def to_dict(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "photo_id": self.photo_id,
            **({"also": list(self.also)} if self.also else {}),
            "title": self.title,
            "network": self.network,
            "status": self.status,
            "post_url": self.post_url,
            "reason": self.reason,
        }


def history(store: DocumentStore, *, limit: int | None = None) -> list[HistoryItem]:
    """The publish log, newest first."""
    plog = read_log(store).log
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
        HistoryItem(e.updated_at, e.photo_id, title(e), e.network, e.status, e.post_url, e.reason, e.also)
        for _, e in sorted(enumerate(plog.entries), key=lambda ie: (ie[1].updated_at, ie[0]), reverse=True)
    ]
    return items[:limit] if limit is not None else items


# ==== check =====================================================================================


@dataclass(frozen=True)
class CheckResult:
    """One line of ``pierrot check``."""

    name: str
    ok: bool
    detail: str
    warning: bool = False


class CheckWarning(Exception):
    """What a probe raises for something that works but deserves a look: a warning line, not a failure."""


def check_bot(publisher: Publisher, confirm: Callable[[str], bool] | None = None) -> str:
    """Whether the account says it is automated; with ``confirm``, mark it so where the API allows, if confirmed."""
    display = publisher.rules.display
    flag = publisher.bot_flag()
    if flag.is_bot:
        return "the account says it is automated"
    if flag.is_bot is None:
        return f"pierrot cannot tell: {flag.how}"
    if flag.settable and confirm is not None and confirm(f"Mark the {display} account as automated (a bot)?"):
        publisher.set_bot_flag()
        return "the account now says it is automated"
    fix = " or run `pierrot check --fix-bot-label`" if flag.settable else ""
    raise CheckWarning(f"the account does not say it is automated: set it in {flag.how}{fix}")


def run_checks(probes: list[tuple[str, Callable[[], str]]]) -> list[CheckResult]:
    """Run each probe; a PierrotError becomes a failed line, never an abort."""
    results = []
    for name, probe in probes:
        try:
            results.append(CheckResult(name, True, probe()))
        except CheckWarning as exc:
            results.append(CheckResult(name, True, str(exc), warning=True))
        except PierrotError as exc:
            results.append(CheckResult(name, False, str(exc)))
    return results


def check_documents(store: DocumentStore) -> str:
    """Read and validate the three documents; the summary of what is there."""
    store.check()
    parts = []
    meta_doc, _ = read_doc(store, META_DOCUMENT)
    parts.append(f"{META_DOCUMENT} " + (f"ok ({Meta.from_doc(meta_doc).total} photos)" if meta_doc else "absent"))
    found = store.read_bytes(CATALOGUE_DOCUMENT)
    records = len(StoredCatalogue.parse(*found)) if found is not None else None
    parts.append(f"{CATALOGUE_DOCUMENT} " + (f"ok ({records} records)" if found is not None else
                                             "absent (run `pierrot sync`)"))
    log_doc, _ = read_doc(store, LOG_DOCUMENT)
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
