"""What every use case shares: reading documents, and the publish log's one compare-and-swap loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pierrot.domain import CATALOGUE_DOCUMENT, LOG_DOCUMENT, PublishLog, StoredCatalogue
from pierrot.errors import CatalogueMissing, ConflictError, PierrotError, StoreError
from pierrot.ports import DocumentStore

Clock = Callable[[], dt.datetime]


class EntryTakenOver(PierrotError):
    """The entry a run meant to record is no longer as it left it: another run has recorded or taken it since."""


def read_doc(store: DocumentStore, name: str) -> tuple[Any | None, str | None]:
    """A JSON document and its token, or (None, None) if it does not exist."""
    found = store.read(name)
    return (None, None) if found is None else (found.doc, found.token)


@dataclass
class LogState:
    """The publish log as last read or written, and the token a conditional write must name."""

    log: PublishLog
    token: str | None


def read_log(store: DocumentStore) -> LogState:
    """The publish log (empty if there is none yet)."""
    doc, token = read_doc(store, LOG_DOCUMENT)
    return LogState(PublishLog() if doc is None else PublishLog.from_doc(doc), token)


def update_log(
    store: DocumentStore,
    state: LogState,
    change: Callable[[PublishLog], PublishLog | None],
    *,
    attempts: int = 10,
    sleep: Callable[[float], None] | None = None,
    now: Clock | None = None,
    deadline: dt.datetime | None = None,
) -> LogState:
    """The publish log's compare-and-swap loop: apply ``change`` to the latest log until the write lands.

    ``change`` sees the log as it now is and returns the new log, or None when nothing is left to write (it
    may also raise to stand down). A conflict re-reads and tries again; with ``sleep``, so does a store outage,
    but never waits past ``deadline`` (by ``now``)."""
    delay = 0.2
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt and deadline is not None and now is not None and now() >= deadline:
            break
        updated = change(state.log)
        if updated is None:
            return state
        try:
            token = store.write(LOG_DOCUMENT, updated.to_doc(), state.token)
            return LogState(updated, token)
        except ConflictError as exc:
            last = exc
        except StoreError as exc:
            if sleep is None:
                raise
            last = exc
            if deadline is not None and now is not None:
                delay = min(delay, max(0.0, (deadline - now()).total_seconds()))
            sleep(delay)
            delay = min(max(delay, 0.2) * 2, 5.0)
        try:
            state = read_log(store)
        except StoreError as exc:
            if sleep is None:
                raise
            last = exc
    raise StoreError(f"{LOG_DOCUMENT} keeps changing under this run ({last}): try again later")


def read_catalogue(store: DocumentStore) -> StoredCatalogue:
    """The catalogue, read a record a line; CatalogueMissing if sync never wrote one here."""
    found = store.read_bytes(CATALOGUE_DOCUMENT)
    if found is None:
        raise CatalogueMissing(f"the catalogue is missing in {store.location}: run `pierrot sync` first")
    return StoredCatalogue.parse(*found)
