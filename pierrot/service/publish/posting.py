"""Uploading, claiming and posting: each network's post made once, and its outcome recorded whatever it is."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from pierrot.domain import FAILED, PENDING, PUBLISHED, UNKNOWN, LogEntry, Photo, StoredCatalogue, iso, parse_iso
from pierrot.errors import DuplicatePost, PierrotError, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import FetchedImage, Post, PostOptions, Publisher
from pierrot.service._log import EntryTakenOver, LogState, read_log
from pierrot.service.publish.choosing import Choosing
from pierrot.service.publish.log import _attempt, _created_at, _find, _may_be_posted, _record
from pierrot.service.publish.texts import DUPLICATE_TEXT_REASON, post_options


class Posting(Choosing):
    """The run's steps after the choice: upload (nothing public), claim, post, record."""

    def _upload(self, photo: Photo, images: dict[str, FetchedImage], active: list[str]) -> dict[str, tuple[str, ...]]:
        """Upload each network's images, the chosen photo's first, each with its own alt text (nothing public)."""
        media: dict[str, tuple[str, ...]] = {}
        for name in active:
            result = self.results[name]
            publisher = self.publishers[name]
            try:
                # A network that stages the whole post takes them with the image.
                extra = post_options(self.options, self.rules[name], photo, *(c.photo for c in result.also))
                carried = [(images[name], result.alt_text), *((c.image, c.alt_text) for c in result.also)]
                media_ids = _send_images(publisher, carried, text=result.text, options=extra)
                self._account(name)  # kept with the claim: the post is only ever settled against this account
                media[name] = media_ids
            except PierrotError as exc:
                self._fail(name, exc)
        return media

    def _claim_entries(self, photo: Photo, media: dict[str, tuple[str, ...]]) -> list[LogEntry]:
        moment = iso(self.now()) or ""
        entries = []
        for name, media_ids in media.items():
            attempt = self.publishers[name].new_attempt(_created_at(self.now()))
            entries.append(LogEntry(
                photo.id, name, PENDING, self.run_id, moment, moment, title=photo.title or None,
                text=self.results[name].text, event_id=self.options.event_id,
                key=attempt.key or None, created_at=attempt.created_at if attempt.key else None,
                media_ids=media_ids, account=self._accounts.get(name),
                also=tuple(c.photo.id for c in self.results[name].also),
            ))
        return entries

    def _post(
        self, state: LogState, photo: Photo, entry: LogEntry, catalogue: StoredCatalogue, *, resumed: bool = False,
        absent: bool = False, sending: tuple[str, ...] | None = None,
    ) -> LogState:
        """Post one network's claimed entry; record what happened. Never raises for a network's own failure.

        ``resumed``: the entry is an interrupted post sent again with its key; then a refusal is evidence of nothing
        (the first attempt may be the post) unless the network said it is ``absent``: the entry stays unknown.
        ``sending``: this attempt's media ids, when an earlier attempt's are attached to the entry too."""
        name = entry.network
        publisher, rules, result = self.publishers[name], self.rules[name], self.results[name]
        text = entry.text or result.text
        attempt = _attempt(entry)
        # This attempt's uploads: one per photo carried, or one staged post (a carousel container).
        media_ids = list(entry.media_ids if sending is None else sending)
        undecided = UNKNOWN if resumed and not absent else FAILED
        if not self._still_held(state, entry):
            reason = (f"not attempted: the run's lease ({self.options.lease_seconds}s) ran out before it could post, "
                      "and another run may have taken the entry")
            state, _ = self._outcome(state, entry, status=undecided, reason=reason)
            self._fail(name, PublishError(
                f"{rules.display}: photo {photo.id} {reason}; raise PIERROT_PUBLISH_LEASE_SECONDS (`pierrot check` "
                "says how long a run can take)"))
            return state
        retried = False
        while True:
            try:
                extra = post_options(self.options, rules, photo, *(c.photo for c in result.also))
                post = publisher.create_post(text, media_ids, attempt, extra)
            except PostRefused as exc:
                reason = str(exc) if undecided == FAILED else (
                    f"sending the interrupted post again was refused ({exc}); the first attempt may have been posted")
                state, _ = self._outcome(state, entry, status=undecided, reason=reason, text=text)
                self._fail(name, exc if undecided == FAILED else PublishError(
                    f"{exc}; photo {photo.id} stays unknown on {rules.display}: the next `pierrot publish` settles it"))
                return state
            except DuplicatePost as exc:
                if not rules.refuses_repeated_text or resumed or _may_be_posted(state.log, entry):
                    # The network says this post (its key, its media or its very text) already exists.
                    state, kept = self._outcome(state, entry, status=PUBLISHED, text=text,
                                                reason=f"{rules.display} answered that it already has this post: an "
                                                f"earlier attempt went through ({exc})")
                    if kept:
                        result.settled.append(f"photo {photo.id} was already posted on {rules.display} by an "
                                              "earlier attempt; now recorded as published")
                        self.report.notes.extend(result.settled[-1:])
                    return state
                nxt = None if retried else next(self._texts.get(name, iter(())), None)
                if nxt is None:
                    state, kept = self._outcome(state, entry, status=FAILED, text=text,
                                                reason=f"{DUPLICATE_TEXT_REASON} ({exc}); nothing was posted")
                    tried = "twice, with two different texts" if retried else "and no other text could be made"
                    if kept:
                        self._fail(name, PublishError(
                            f"{rules.display} refused photo {photo.id} as a duplicate of an earlier post {tried}; "
                            "nothing was posted and the photo stays eligible. Change [publish] template (add "
                            "{date_taken} or {description}) if this keeps happening"
                        ))
                    return state
                # A definite refusal: nothing was posted, so trying a distinct text is safe.
                self.report.warnings.append(
                    f"{rules.display} already has the text {text!r} from a post pierrot does not know of; "
                    f"posting photo {photo.id} as {nxt!r} instead"
                )
                text, retried = nxt, True
                state, kept = self._outcome(state, entry, status=PENDING, text=text)
                if not kept:
                    return state
                result.text, result.length = text, rules.measure(text)
            except PostOutcomeUnknown as exc:
                state, _ = self._outcome(state, entry, status=UNKNOWN, reason=str(exc), text=text)
                if rules.settles_unknown:
                    advice = f"the next `pierrot publish` asks {rules.display} and settles it"
                else:
                    advice = (f"check your {rules.display} account, then run `pierrot resolve {photo.id} "
                              "--posted POST_ID` or `--not-posted`")
                self._fail(name, PublishError(
                    f"{exc}; photo {photo.id} may or may not be posted on {rules.display} and will not be posted "
                    f"there again automatically: {advice}"
                ))
                return state
            except Exception as exc:
                # A fault pierrot did not foresee: the post may or may not exist. That network's failure alone.
                state, _ = self._outcome(state, entry, status=UNKNOWN, text=text,
                                         reason=f"unexpected failure while posting: {exc!r}")
                self._fail(name, exc)
                return state
            except BaseException as exc:
                with contextlib.suppress(PierrotError):
                    _record(self.store, state, entry, self.sleep, self.now, status=UNKNOWN, text=text,
                            reason=f"interrupted while posting: {exc!r}")
                raise
            else:
                break
        result.post = post
        state, _ = self._outcome(state, entry, status=PUBLISHED, post_id=post.id, post_url=post.url, reason=None,
                                 text=text, posted=post)
        return state

    def _still_held(self, state: LogState, entry: LogEntry) -> bool:
        """Whether the entry's lease still runs: past it, another run may mark the claim unknown and settle it."""
        current = _find(state.log, entry) or entry
        touched = parse_iso(current.updated_at)
        return touched is None or (self.now() - touched).total_seconds() < self.options.lease_seconds

    def _outcome(
        self, state: LogState, entry: LogEntry, *, status: str, posted: Post | None = None, **changes: Any
    ) -> tuple[LogState, bool]:
        """Record a post's outcome if the entry is still this run's pending one; False (and why) if it is not.

        A run that outlived its lease must not write over what another run has recorded since."""
        current = _find(state.log, entry) or entry
        touched = parse_iso(current.updated_at)
        deadline = None if touched is None else touched + dt.timedelta(seconds=self.options.lease_seconds)
        try:
            return _record(self.store, state, entry, self.sleep, self.now, status=status, posted=posted,
                           deadline=deadline, **changes), True
        except EntryTakenOver:
            display = self.rules[entry.network].display
            what = f"was posted as {posted.url}" if posted else f"ended {status}"
            self._fail(entry.network, PublishError(
                f"photo {entry.photo_id} {what} on {display}, but this run outlived its lease and another run has "
                f"taken the entry over: not recording over it. Check `pierrot history`"
                + (f"; if it does not show the post, `pierrot resolve {entry.photo_id} --network {entry.network} "
                   f"--posted {posted.url}`" if posted else "")
            ))
            return read_log(self.store), False


def _send_images(
    publisher: Publisher, images: list[tuple[FetchedImage, str | None]], *, text: str, options: PostOptions
) -> tuple[str, ...]:
    """Upload a post's images, each with its alt text (nothing public): one media id each, or, on a network that
    stages a post of several as one (a carousel container), that one id."""
    if len(images) > 1:
        staged = publisher.stage_post(images, text=text, options=options)
        if staged is not None:
            return (staged,)
    return tuple(publisher.upload_media(image, alt, text=text, options=options) for image, alt in images)
