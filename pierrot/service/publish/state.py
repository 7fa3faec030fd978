"""What one publish run holds across its steps: the options, the ports, each network's rules and result."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from pierrot.ports import DocumentStore, ImageFetcher, Publisher
from pierrot.service._log import Clock
from pierrot.service.publish.options import NetworkResult, PublishOptions, PublishReport

PublisherFactory = Callable[[str], Publisher]


class RunState:
    """One publish run's state; each step of the run (composing, choosing, posting, settling) is a subclass."""

    def __init__(
        self,
        store: DocumentStore,
        fetcher: ImageFetcher,
        publishers: PublisherFactory | None,
        options: PublishOptions,
        now: Clock,
        rng: random.Random,
        sleep: Callable[[float], None],
    ) -> None:
        self.store, self.fetcher, self.factory, self.options = store, fetcher, publishers, options
        self.now, self.rng, self.sleep = now, rng, sleep
        self.run_id = uuid.uuid4().hex
        self.workdir = Path()
        self.report = PublishReport(None, options.dry_run)
        self.results = {n.name: NetworkResult(n.name, n.rules.display) for n in options.networks}
        self.report.results = list(self.results.values())
        self.rules = {n.name: n.rules for n in options.networks}
        self.publishers: dict[str, Publisher] = {}
        self._texts: dict[str, Iterator[str]] = {}
        self._dropped: set[str] = set()
        self._accounts: dict[str, str | None] = {}

    def drop(self, name: str, exc: BaseException) -> None:
        """Leave a network out of this run before it starts (its settings or limits cannot work)."""
        self._fail(name, exc)
        self._dropped.add(name)

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    def _fail(self, name: str, exc: BaseException) -> None:
        """Record a network's failure in its result: the run goes on for the others, and reports it."""
        self.results[name].error = str(exc)
        self.results[name].failure = exc

    def _account(self, name: str) -> str | None:
        """The account the network's credentials are for (asked once per run)."""
        if name not in self._accounts:
            self._accounts[name] = self.publishers[name].account()
        return self._accounts[name]

    def _today(self) -> dt.date:
        """Today in the user's time zone (TZ, else the system's): anniversaries are local dates."""
        return self.now().astimezone().date()

