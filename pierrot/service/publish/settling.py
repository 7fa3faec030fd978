"""Settling what an interrupted run left: ask the network whether the post exists; send an absent one again."""

from __future__ import annotations

from typing import Any

from pierrot.domain import FAILED, PUBLISHED, UNKNOWN, LogEntry, Photo, StoredCatalogue
from pierrot.errors import PhotoGone, PierrotError, PublishError
from pierrot.ports import FetchedImage, Settled
from pierrot.service._log import EntryTakenOver, LogState, read_log
from pierrot.service.publish.images import _Images
from pierrot.service.publish.log import _attempt, _created_at, _record, _take_back
from pierrot.service.publish.options import Companion
from pierrot.service.publish.posting import Posting, _send_images
from pierrot.service.publish.texts import post_options

# An interrupted post is looked up only this long after it was last touched: the request may still be in flight
# (a network may keep an idempotency key only once the post is saved).
SETTLE_AFTER_SECONDS = 120


class _NetworkDown(Exception):
    """One network failed in a step that concerns it alone; its result says why."""


class Settling(Posting):
    """The run's step before choosing: settle the unknown entries of the networks that can."""

    def _settle_unknown(
        self, state: LogState, catalogue: StoredCatalogue, active: list[str]
    ) -> tuple[LogState, list[str]]:
        """Ask each network that can whether its interrupted posts exist; send an absent one again with its key.

        A network whose interrupted post this run sends again (or tries to) posts nothing else in this run."""
        remaining = []
        for name in active:
            rules = self.rules[name]
            moment = self.now()
            unsettled = [e for e in state.log.entries if e.network == name and e.status == UNKNOWN and e.key
                         and e.age(moment) >= SETTLE_AFTER_SECONDS]
            if not rules.settles_unknown or not unsettled:
                remaining.append(name)
                continue
            resume: tuple[LogEntry, Settled] | None = None
            try:
                for entry in unsettled:
                    state, settled = self._settle_one(state, name, entry)
                    if settled is not None and resume is None:
                        resume = entry, settled
            except _NetworkDown:
                continue
            if resume is None:
                remaining.append(name)
                continue
            # This run's post on this network is the interrupted one, sent again with the same key.
            state, done = self._repost(state, catalogue, name, *resume)
            if not done:
                remaining.append(name)  # definitely never posted, and it cannot be sent again: a new photo instead
        return state, remaining

    def _settle_one(self, state: LogState, name: str, entry: LogEntry) -> tuple[LogState, Settled | None]:
        """Settle one interrupted post by asking its network; the answer if it is to be sent again, else None."""
        publisher, result, display = self.publishers[name], self.results[name], self.rules[name].display
        try:
            account = self._account(name)
            if entry.account is not None and account != entry.account:
                # Another account's answer says nothing about this post: it is never settled against it.
                self.report.warnings.append(
                    f"photo {entry.photo_id} on {display}: the interrupted post was made by account {entry.account}, "
                    f"and the credentials are now account {account or 'unknown'}'s; not asking that account. Check "
                    f"the first account, then `pierrot resolve {entry.photo_id} --network {name}`"
                )
                return state, None
            settled = publisher.settle(_attempt(entry), entry.text or "", entry.started_at)
        except PierrotError as exc:
            # The look-up itself failed (credentials refused, login limit): this network's failure, no other's.
            self._fail(name, exc)
            raise _NetworkDown from exc
        note = f" ({settled.reason})" if settled.reason else ""
        if settled.posted is True:
            post = settled.post
            state, kept = self._settle_record(state, entry, status=PUBLISHED, post_id=post.id if post else None,
                                              post_url=post.url if post else None, updated_at=entry.started_at,
                                              reason=f"settled: {display} has the interrupted post{note}")
            if kept:
                result.settled.append(f"photo {entry.photo_id}: the interrupted post exists on {display}"
                                      + (f" ({post.url})" if post else "") + "; recorded as published")
            return state, None
        if settled.same_key:
            return state, settled
        if settled.posted is False:
            state, kept = self._settle_record(state, entry, status=FAILED,
                                              reason=f"settled: {display} has no such post{note}")
            if kept:
                result.settled.append(f"photo {entry.photo_id}: the interrupted post never reached {display}; "
                                      "it may be chosen again")
            return state, None
        self.report.warnings.append(
            f"photo {entry.photo_id} on {display}: could not learn whether the interrupted post exists "
            f"({settled.reason or 'no answer'}); the next run asks again"
        )
        return state, None

    def _settle_record(self, state: LogState, entry: LogEntry, **changes: Any) -> tuple[LogState, bool]:
        """Record what a network said of an unknown entry, unless another run has settled or taken it since."""
        try:
            return _record(self.store, state, entry, self.sleep, self.now, expect=UNKNOWN, **changes), True
        except EntryTakenOver:
            self.report.warnings.append(f"photo {entry.photo_id} on {entry.network}: another run settled the "
                                        "interrupted post first; leaving it to that run")
            return read_log(self.store), False

    def _repost(
        self, state: LogState, catalogue: StoredCatalogue, name: str, entry: LogEntry, settled: Settled
    ) -> tuple[LogState, bool]:
        """Send an interrupted post again with its key (the network keeps one post per key); True if this network's
        turn in the run is spent on it.

        Only a definite answer of absence is evidence: when the network said the post is not there, a photo that
        can no longer be sent is recorded failed; otherwise anything short of success leaves the entry unknown.
        The image is uploaded first (nothing public), then the entry is taken back to pending by a conditional
        write, with this run's id, time and event: two runs never send it together, and a run that outlived its
        lease can no longer record over this one."""
        result, rules = self.results[name], self.rules[name]
        absent = settled.posted is False
        index = catalogue.index_of(entry.photo_id)
        try:
            if index is None:
                raise PhotoGone(f"photo {entry.photo_id} is no longer in the catalogue")
            photo = catalogue.photo(index)
            if settled.staged is not None:
                # The network still holds this very post staged (a container): publish it as it is. A new
                # upload would stage a second post beside it.
                result.photo_id, result.text = photo.id, entry.text or ""
                media_ids: tuple[str, ...] = (settled.staged,)
            else:
                # The same post again: every photo it carried, each uploaded anew with its own alt text.
                carried = [photo, *(_carried(catalogue, pid) for pid in entry.also)]
                network = next(n for n in self.options.networks if n.name == name)
                uploads: list[tuple[FetchedImage, str | None]] = []
                extra = post_options(self.options, rules, *carried)
                for number, each in enumerate(carried):
                    images = _Images(self.fetcher, each, self.workdir, [rules], self.options.keep_location)
                    image = images.for_network(rules)
                    alt = self._alt(each, network, rules, image)
                    if number == 0:
                        result.photo_id, result.text, result.image, result.alt_text = (
                            photo.id, entry.text or "", image, alt)
                    else:
                        result.also.append(Companion(each, image, alt))
                    uploads.append((image, alt))
                # Staged anew as one post where the network stages them (a carousel container).
                media_ids = _send_images(self.publishers[name], uploads, text=entry.text or "", options=extra)
        except PierrotError as exc:
            if absent:
                state, kept = self._settle_record(
                    state, entry, status=FAILED, reason=f"settled: {rules.display} has no such post, and it "
                    f"cannot be sent again ({exc})")
                if kept:
                    result.settled.append(f"photo {entry.photo_id}: the interrupted post never reached "
                                          f"{rules.display} and cannot be sent again ({exc})")
                return state, False
            self._fail(name, PublishError(
                f"{rules.display}: the interrupted post of photo {entry.photo_id} may exist and could not be sent "
                f"again with its key ({exc}); it stays unknown, and the next `pierrot publish` settles it"
            ))
            return state, True
        try:
            state, entry = _take_back(self.store, state, entry, self.now, self.run_id, self.options.event_id,
                                      media_ids=media_ids,
                                      # The key alone makes it one post; a fresh time keeps it from reading as
                                      # backdated.
                                      created_at=_created_at(self.now()) if entry.created_at else None)
        except PierrotError as exc:
            self._fail(name, exc)
            return state, True
        result.settled.append(f"photo {entry.photo_id}: the interrupted post is sent again to {rules.display} "
                              "with the same key, which keeps it to one post")
        return self._post(state, photo, entry, catalogue, resumed=True, absent=absent, sending=media_ids), True


def _carried(catalogue: StoredCatalogue, photo_id: str) -> Photo:
    """Another photo an interrupted post carried, from the catalogue (PhotoGone if it is no longer there)."""
    index = catalogue.index_of(photo_id)
    if index is None:
        raise PhotoGone(f"photo {photo_id}, carried by the same post, is no longer in the catalogue")
    return catalogue.photo(index)
