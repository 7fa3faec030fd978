"""The publish use case: choose one photo and post it to every selected network, at most once whatever happens.

Exactly once where the network allows it: on a network that can settle (``NetworkRules.settles_unknown``), an
interrupted post is looked up by the key pierrot chose before posting, at the start of the next run.

One error contract: the run returns a report whatever happens on each network (each result carries its failure);
it raises only for what stops the whole run (nothing to publish, no catalogue, another run, a duplicate event, the
store, a usage error, an interrupt)."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pierrot.domain import FAILED, PublishLog, parse_iso, utc_now
from pierrot.errors import ConfigError, PierrotError, PublishError, UsageError
from pierrot.ports import DocumentStore, ImageFetcher
from pierrot.service._log import Clock, read_catalogue, read_log
from pierrot.service.publish.images import _keep_image
from pierrot.service.publish.log import _append_pending, _record, _refuse_handled_event, _settle_stale
from pierrot.service.publish.options import PublishOptions, PublishReport
from pierrot.service.publish.settling import Settling
from pierrot.service.publish.state import PublisherFactory
from pierrot.service.publish.texts import _invalid_templates


def publish(
    store: DocumentStore,
    fetcher: ImageFetcher,
    publishers: PublisherFactory | None,
    options: PublishOptions,
    *,
    now: Clock = utc_now,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishReport:
    """Post one never-posted photo to each network of the run, at most once whatever happens.

    With ``dry_run``: no network call, no write. A network's failure is in its result (``report.failed``); what
    raises is what stops the whole run, before or apart from any network."""
    if not options.networks:
        raise UsageError("no network to publish to: set PIERROT_PUBLISH_NETWORKS")
    rng = rng or random.SystemRandom()
    # A template that no network of the run can take is a usage error before anything (and before the jitter);
    # one that only some cannot take drops those networks alone, in the run.
    invalid = _invalid_templates(options, {n.name: n.rules for n in options.networks})
    if len(invalid) == len(options.networks):
        raise next(iter(invalid.values()))
    if options.jitter is not None and not options.dry_run:
        sleep(rng.uniform(0, options.jitter.total_seconds()))
    run = _Run(store, fetcher, publishers, options, now, rng, sleep)
    for name, exc in invalid.items():
        run.drop(name, exc)
    with tempfile.TemporaryDirectory(prefix="pierrot-") as workdir:
        run.workdir = Path(workdir)
        return run.go()



class _Run(Settling):
    """One publish run, step by step: each step is a short method of this class or of the step it builds on."""

    def go(self) -> PublishReport:
        # 1. Read the log and the catalogue; a live lease means another run is publishing.
        state = read_log(self.store)
        # Entries are only ever appended: what a claim must check is everything appended since this first read.
        seen = len(state.log.entries)
        _refuse_handled_event(state.log, self.options.event_id)
        catalogue = read_catalogue(self.store)
        state = _settle_stale(self.store, state, self.options, self.now(), self.report.warnings)
        active = [name for name in self._due(state.log) if name not in self._dropped]
        if not active:
            return self.report
        if not self.dry_run:
            active = self._prepare(active)
            state, active = self._settle_unknown(state, catalogue, active)
        if not active:
            return self.report

        # 2. Choose and download (each size once), compose for each network: nothing public happens here.
        photo, images = self._choose_and_fetch(catalogue, state.log, active)
        self.report.photo = photo
        companions = self._companions(catalogue, state.log, active, photo)
        for name in list(active):
            try:
                self._carry(name, companions)  # first: a companion's sensitive tag is the whole post's warning
                self._compose(name, photo, catalogue, state.log, images[name])
            except (PublishError, ConfigError) as exc:
                self._fail(name, exc)
                active.remove(name)
        if not active:
            return self.report
        if self.options.output_dir is not None:
            first = images[active[0]]
            self.report.saved_to = _keep_image(first, self.options.output_dir)
        if self.dry_run:
            return self.report

        # 3. Upload to each network (still nothing public); a network that fails here is out of this run.
        media = self._upload(photo, images, active)
        if not media:
            return self.report

        # 4. Claim the photo on every network at once with pending entries (one conditional write).
        entries = self._claim_entries(photo, media)
        state = _append_pending(self.store, state, entries, seen, self.options)

        # 5. Post to each network, and record each outcome whatever it is.
        for position, entry in enumerate(entries):
            try:
                state = self._post(state, photo, entry, catalogue)
            except BaseException:
                # Stopped (interrupted, or a fault pierrot did not foresee): the networks not yet tried were claimed
                # but never sent anything. Best effort: record that, so they are not left pending then unknown.
                for untried in entries[position + 1:]:
                    try:
                        state = _record(self.store, state, untried, self.sleep, self.now, status=FAILED,
                                        reason="not attempted: the run stopped before posting it")
                    except BaseException:  # the run is stopping; the lease covers what is left
                        break
                raise
        return self.report

    # ---- which networks are due ------------------------------------------------------------------

    def _due(self, plog: PublishLog) -> list[str]:
        """The networks of the run, less those posted to within ``min_interval``."""
        due = []
        interval = self.options.min_interval
        moment = self.now()
        for name in self.results:
            last = plog.last_posted(name)
            since = parse_iso(last) if last else None
            if interval is not None and since is not None and moment - since < interval:
                age = moment - since
                result = self.results[name]
                result.skipped = (
                    f"{result.display}: last post {_duration(age)} ago; min_interval {_duration(interval)}: "
                    "not posting"
                )
                continue
            due.append(name)
        return due

    # ---- publishers ------------------------------------------------------------------------------

    def _prepare(self, active: list[str]) -> list[str]:
        """Make and prepare each network's publisher (a login, an instance's limits); a failure drops it."""
        if self.factory is None:
            raise UsageError("no publisher configured")
        ready = []
        for name in active:
            try:
                publisher = self.factory(name)
                rules = publisher.prepare()
                # The limits in force (an instance's own): a template they cannot take drops this network alone.
                problem = _invalid_templates(self.options, {name: rules}).get(name)
                if problem is not None:
                    raise problem
                self.rules[name] = rules
            except PierrotError as exc:
                self._fail(name, exc)
                continue
            self.publishers[name] = publisher
            ready.append(name)
        return ready



def _duration(delta: dt.timedelta) -> str:
    from pierrot.domain.durations import format_duration

    return format_duration(delta)
