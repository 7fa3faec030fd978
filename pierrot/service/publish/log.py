"""The publish protocol on the log (docs/data-format.md): settle what dead runs left, claim, take back, record.

Every write goes through ``update_log``'s compare-and-swap loop; each change re-checks the log as it now is, so two
runs never both claim a network, and a run never records over an entry another run has taken since."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pierrot.domain import LOG_DOCUMENT, PENDING, PUBLISHED, UNKNOWN, LogEntry, PublishLog, iso
from pierrot.errors import AnotherRunActive, DuplicateEvent, StoreError
from pierrot.logs import REDACT
from pierrot.ports import Attempt, DocumentStore, Post
from pierrot.service._log import Clock, EntryTakenOver, LogState, update_log
from pierrot.service.publish.options import PublishOptions

# After the claim, what posting to one network may take, in answers (a session refresh, the post), and what
# recording its outcome may take (the store's writes and re-reads, retried): the lease must cover both.
POST_ANSWERS = 2
RECORD_SECONDS = 30.0
# A pending entry stamped further ahead than this is a clock-skewed machine's, not a live run's.
FUTURE_TOLERANCE_SECONDS = 300


def longest_hold(networks: int, answer_seconds: float) -> float:
    """The longest a run can hold its claim (post and record on each network in turn): what the lease must cover."""
    return networks * (POST_ANSWERS * answer_seconds + RECORD_SECONDS)


def _refuse_handled_event(plog: PublishLog, event_id: str | None) -> None:
    if event_id is None:
        return
    for entry in plog.entries:
        if entry.event_id == event_id:
            raise DuplicateEvent(
                f"event {event_id} was already handled (photo {entry.photo_id}, {entry.status}): "
                "the scheduler delivered it twice; not publishing again"
            )


def _settle_stale(
    store: DocumentStore, state: LogState, options: PublishOptions, moment: dt.datetime, warnings: list[str]
) -> LogState:
    """Refuse if another publish holds a live lease on a network of this run; mark dead runs' entries unknown."""
    networks = {n.name for n in options.networks}
    lease = options.lease_seconds
    known = len(state.log.entries)

    def settle(plog: PublishLog) -> PublishLog | None:
        _refuse_handled_event(plog, options.event_id)
        pending = [(i, e) for i, e in enumerate(plog.entries) if e.network in networks and e.status == PENDING]
        live = [e for _, e in pending if -FUTURE_TOLERANCE_SECONDS <= e.age(moment) < lease]
        if live:
            entry = live[0]
            raise AnotherRunActive(
                f"another publish is running (photo {entry.photo_id} pending since {entry.updated_at}); "
                f"not posting. If no other run exists, wait {lease}s for its lease to expire"
            )
        # A run started with this one and posted while we settled: as at the claim, one post per start.
        posted = [e for e in plog.entries[known:] if e.network in networks and e.status == PUBLISHED]
        if posted:
            raise AnotherRunActive(
                f"another publish posted photo {posted[0].photo_id} while this one started; not posting"
            )
        if not pending or options.dry_run:
            return None
        updated = plog
        for index, entry in pending:
            if entry.age(moment) < 0:
                warnings.append(
                    f"photo {entry.photo_id} has been pending since {entry.updated_at}, which is in the future "
                    "(a machine sharing this store has its clock wrong?): treating that run as dead"
                )
            # updated_at stays the dead run's last touch: when its post may have been made, and what the wait
            # before asking the network counts from.
            updated = updated.with_update(
                index, status=UNKNOWN,
                reason=f"a publish started at {entry.started_at} never finished; it may have been posted",
            )
        return updated

    return update_log(store, state, settle, attempts=20)




def _append_pending(
    store: DocumentStore, state: LogState, entries: list[LogEntry], seen: int, options: PublishOptions
) -> LogState:
    """Add our pending entries, unless another run claimed or posted on one of our networks since we read."""
    run_id = entries[0].run_id
    networks = {e.network for e in entries}
    photo_ids = {p for e in entries for p in e.photo_ids}

    def claim(plog: PublishLog) -> PublishLog | None:
        # Every attempt, the first too: the log this run holds may have been re-read while it settled.
        newer = plog.entries[seen:]
        if any(e.run_id == run_id for e in newer):
            return None  # our own write landed but its answer was lost (a retried conditional put sees 412)
        _refuse_handled_event(plog, options.event_id)
        for other in newer:
            if other.network not in networks:
                continue
            if other.status == PENDING:
                raise AnotherRunActive(f"another publish claimed photo {other.photo_id} first; not posting")
            if other.status in (PUBLISHED, UNKNOWN) or not photo_ids.isdisjoint(other.photo_ids):
                raise AnotherRunActive(
                    f"another publish posted photo {other.photo_id} while this one prepared; not posting"
                )
        return plog.with_entry(*entries)

    return update_log(store, state, claim)


def _take_back(
    store: DocumentStore, state: LogState, entry: LogEntry, now: Clock, run_id: str, event_id: str | None, *,
    media_ids: tuple[str, ...], created_at: str | None,
) -> tuple[LogState, LogEntry]:
    """Take an interrupted (unknown) entry back to pending for this run, unless another run has just done so.

    The entry becomes this run's (its run id), so a run that took it before and outlived its lease cannot record
    over it; it keeps every media id it ever used, since any of them may be the one posted."""

    def take(plog: PublishLog) -> PublishLog | None:
        mine = plog.find(run_id, entry.photo_id, entry.network)
        if mine is not None and plog.entries[mine].status == PENDING and set(media_ids) <= set(
                plog.entries[mine].media_ids):
            return None  # our own write landed but its answer was lost
        index = plog.find(entry.run_id, entry.photo_id, entry.network)
        if index is None or plog.entries[index].status != UNKNOWN:
            raise AnotherRunActive(
                f"another publish is settling photo {entry.photo_id} on {entry.network}; not sending it again"
            )
        current = plog.entries[index]
        # This attempt's uploads go last, one per photo carried: the post is sent with the last ones.
        kept = tuple(m for m in current.media_ids if m not in media_ids)
        changes: dict[str, Any] = {"status": PENDING, "updated_at": iso(now()), "run_id": run_id,
                                   "media_ids": (*kept, *media_ids)}
        if event_id is not None:
            changes["event_id"] = event_id
        if created_at is not None:
            changes["created_at"] = created_at
        return plog.with_update(index, **changes)

    state = update_log(store, state, take)
    taken = _find(state.log, replace(entry, run_id=run_id))
    if taken is None:  # cannot be: the write above put it there
        raise EntryTakenOver(f"the entry of photo {entry.photo_id} on {entry.network} is no longer this run's")
    return state, taken


def _record(
    store: DocumentStore,
    state: LogState,
    entry: LogEntry,
    sleep: Callable[[float], None],
    now: Clock,
    *,
    status: str,
    posted: Post | None = None,
    expect: str = PENDING,
    deadline: dt.datetime | None = None,
    **changes: Any,
) -> LogState:
    """Settle an entry that is still as this run left it (``expect``); retried on conflicts and outages until
    ``deadline``, since losing this record could mean a double post.

    EntryTakenOver if another run has recorded or taken it since: its record is never overwritten."""
    if changes.get("reason"):
        changes["reason"] = REDACT(str(changes["reason"]))
    changes.setdefault("updated_at", iso(now()))
    wanted = {"status": status, **changes}

    def settle(plog: PublishLog) -> PublishLog | None:
        index = plog.find(entry.run_id, entry.photo_id, entry.network)
        if index is None:
            raise EntryTakenOver(f"the entry of photo {entry.photo_id} on {entry.network} is no longer this run's")
        current = plog.entries[index]
        if all(getattr(current, key) == value for key, value in wanted.items()):
            return None  # our own write landed but its answer was lost
        if current.status != expect:
            raise EntryTakenOver(f"the entry of photo {entry.photo_id} on {entry.network} is {current.status} now")
        return plog.with_update(index, **wanted)

    try:
        return update_log(store, state, settle, attempts=8, sleep=sleep, now=now, deadline=deadline)
    except EntryTakenOver:
        raise
    except StoreError as exc:
        where = f" as {posted.url}" if posted else ""
        raise StoreError(
            f"photo {entry.photo_id} was {'posted' + where if posted else 'attempted'} but {LOG_DOCUMENT} could not "
            f"be updated ({exc}); its entry stays pending and will be marked unknown, so it is never posted twice"
        ) from None


def _find(plog: PublishLog, entry: LogEntry) -> LogEntry | None:
    index = plog.find(entry.run_id, entry.photo_id, entry.network)
    return plog.entries[index] if index is not None else None


def _attempt(entry: LogEntry) -> Attempt:
    """What the network needs to make or find the entry's post exactly once."""
    return Attempt(entry.key or "", entry.created_at or entry.started_at, entry.media_ids, entry.account)


def _created_at(moment: dt.datetime) -> str:
    """The time a post says it was made: UTC, to the millisecond, with a Z (ISO 8601 as record keys want it)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _may_be_posted(plog: PublishLog, entry: LogEntry) -> bool:
    """True if an earlier attempt at this photo on this network ended unknown (it may have been posted)."""
    return any(e.photo_id == entry.photo_id and e.network == entry.network and e.run_id != entry.run_id
               and e.state == UNKNOWN for e in plog.entries)

