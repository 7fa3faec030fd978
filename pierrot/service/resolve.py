"""The resolve use case: settle by hand a post whose outcome pierrot could not know."""

from __future__ import annotations

from pierrot.domain import FAILED, PENDING, PUBLISHED, UNKNOWN, LogEntry, PublishLog, iso, utc_now
from pierrot.errors import UsageError
from pierrot.ports import DocumentStore
from pierrot.service._log import Clock, read_log, update_log


def resolve(
    store: DocumentStore,
    photo_id: str,
    *,
    posted: str | None,
    network: str,
    post_url: str | None = None,
    lease_seconds: int = 900,
    now: Clock = utc_now,
) -> LogEntry:
    """Settle an unknown (or stale pending) entry: posted as ``posted``, or not posted if None.

    The entry keeps the attempt's time (it is when the post was made, if it was); idempotent: a resolve whose
    write landed but whose answer was lost finds the wanted state on its retry and succeeds."""
    if posted is not None and (not posted or not posted.isascii() or any(c.isspace() for c in posted)):
        raise UsageError(f"--posted {posted!r} is not a post id: give the post's URL or the id at its end")
    resolved: LogEntry | None = None

    def settle(plog: PublishLog) -> PublishLog | None:
        nonlocal resolved
        # A post that carried several photos is settled through any of them: it is one post.
        own = [(i, e) for i, e in enumerate(plog.entries) if photo_id in e.photo_ids and e.network == network]
        if not own:
            raise UsageError(f"photo {photo_id} has no entry in the publish log for {network}")
        moment = now()
        # The attempts still open: an earlier attempt settled by hand says nothing of a later one.
        settleable = [(i, e) for i, e in own if e.state in (UNKNOWN, PENDING)]
        if not settleable:
            done = [e for _, e in own if e.resolved_at and _is_resolved_as(e, posted)]
            if done:
                resolved = done[-1]  # a resolve whose write landed but whose answer was lost
                return None
            state = plog.states(network).get(photo_id, own[-1][1].status)
            raise UsageError(f"photo {photo_id} is {state}, not unknown: nothing to resolve")
        live = [e for _, e in settleable if e.status == PENDING and 0 <= e.age(moment) < lease_seconds]
        if live:
            raise UsageError(
                f"photo {photo_id} is pending in a publish that may still be running; try again in "
                f"{int(lease_seconds - live[-1].age(moment))}s"
            )
        updated = plog
        if posted is not None:
            # The latest open attempt is the post; earlier open ones stay as they are (the photo counts as posted).
            index, entry = settleable[-1]
            updated = updated.with_update(index, status=PUBLISHED, post_id=posted, post_url=post_url,
                                          reason="resolved by hand: posted", updated_at=entry.started_at,
                                          resolved_at=iso(moment))
            resolved = updated.entries[index]
            return updated
        # Not posted: none of its open attempts is on the network, or the photo would still count as unknown.
        for index, entry in settleable:
            updated = updated.with_update(index, status=FAILED, reason="resolved by hand: not posted",
                                          updated_at=entry.started_at, resolved_at=iso(moment))
        resolved = updated.entries[settleable[-1][0]]
        return updated

    update_log(store, read_log(store), settle)
    assert resolved is not None
    return resolved


def _is_resolved_as(entry: LogEntry, posted: str | None) -> bool:
    if posted is None:
        return entry.status == FAILED
    return entry.status == PUBLISHED and entry.post_id == posted

