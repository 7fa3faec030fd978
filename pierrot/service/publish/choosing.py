"""Choosing the photo: the one --photo names, else an eligible one by the run's rule, else the longest-ago post."""

from __future__ import annotations

import datetime as dt
import time

from pierrot.domain import PENDING, PUBLISHED, UNKNOWN, Photo, PublishLog, StoredCatalogue, eligible_in, parse_iso
from pierrot.errors import ImageError, NothingToPublish, PhotoGone, UsageError
from pierrot.ports import FetchedImage
from pierrot.service.publish.images import _Images
from pierrot.service.publish.options import Companion, PublishOptions
from pierrot.service.publish.texts import Composing

# How many photos, and for how long, one run tries when the chosen ones turn out to be gone from Flickr: a 404 is
# quick, and a stream where most photos were deleted since the last sync must still get its post.
MAX_PHOTO_TRIES = 50
MAX_PHOTO_SEARCH_SECONDS = 30.0
GONE_WARNINGS = 3  # one line each for the first few; then one line for the rest


def _the_photo(options: PublishOptions, catalogue: StoredCatalogue, plog: PublishLog, active: list[str]) -> Photo:
    """The photo ``--photo`` names, if it may be posted."""
    assert options.photo_id is not None
    index = catalogue.index_of(options.photo_id)
    if index is None:
        raise UsageError(
            f"photo {options.photo_id} is not in the catalogue: check the id, or run `pierrot sync` if it is new"
        )
    photo = catalogue.photo(index)
    if not photo.is_photo:
        raise UsageError(f"{options.photo_id} is a video: only photos can be published")
    for name in active:
        state = plog.states(name).get(photo.id)
        if state in (PUBLISHED, UNKNOWN) and not options.force:
            latest = plog.latest_for(photo.id, name)
            raise UsageError(
                f"photo {photo.id} is already {state} on {name}"
                f"{' (' + latest.post_url + ')' if latest and latest.post_url else ''}: add --force to post it again"
            )
    return photo


def _taken_at(photo: Photo) -> dt.datetime | None:
    """When the photo was taken, to the second (the camera's local time); None without an exact date."""
    day = photo.taken
    if day is None or photo.date_taken_granularity:  # a month or a year only: no day to share, no time to compare
        return None
    try:
        return dt.datetime.fromisoformat(str(photo.date_taken)[:19])
    except ValueError:
        return dt.datetime.combine(day, dt.time())


class Choosing(Composing):
    """The run's step that chooses the photo and downloads it for each network."""

    def _choose_and_fetch(
        self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str]
    ) -> tuple[Photo, dict[str, FetchedImage]]:
        """Choose a photo and download it for each network; a photo gone from Flickr gives way to another."""
        gone: set[str] = set()
        rules = [self.rules[name] for name in active]
        give_up = time.monotonic() + MAX_PHOTO_SEARCH_SECONDS
        while len(gone) < MAX_PHOTO_TRIES and (not gone or time.monotonic() < give_up):
            photo = self._choose(catalogue, plog, active, gone)
            images = _Images(self.fetcher, photo, self.workdir, rules, self.options.keep_location)
            try:
                found: dict[str, FetchedImage] = {}
                failures: dict[str, ImageError] = {}
                for name in sorted(active, key=lambda n: -self.rules[n].max_image_bytes):
                    try:
                        found[name] = images.for_network(self.rules[name])
                    except PhotoGone:
                        raise
                    except ImageError as exc:
                        failures[name] = exc
            except PhotoGone as exc:
                if self.options.photo_id is not None:
                    raise
                gone.add(photo.id)
                if len(gone) <= GONE_WARNINGS:
                    self.report.warnings.append(
                        f"{exc}; skipped it (the next `pierrot sync` drops it from the catalogue)")
                continue
            if len(gone) > GONE_WARNINGS:
                self.report.warnings.append(f"{len(gone) - GONE_WARNINGS} more photos are gone from Flickr and were "
                                            "skipped too: run `pierrot sync`")
            if not found:
                raise next(iter(failures.values()))
            # No size of this photo fits one network (say all over its byte cap): that network fails, not all.
            for name, failure in failures.items():
                self._fail(name, failure)
                active.remove(name)
            return photo, found
        raise ImageError(
            f"{len(gone)} photos in a row are gone from Flickr (deleted or made private since the last sync): "
            "run `pierrot sync`, then publish again"
        )

    def _companions(
        self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str], first: Photo
    ) -> list[tuple[Photo, dict[str, FetchedImage]]]:
        """The other photos of a post (PIERROT_PUBLISH_PHOTOS), each with its image for the networks it fits.

        Eligible on every network of the run; taken the same day as the first, else the nearest in time; a first
        photo with no taken date has none. One gone from Flickr, or fitting no network, gives way to the next."""
        wanted = self.options.photos - 1
        when = _taken_at(first)
        if wanted <= 0 or when is None:
            return []
        split = eligible_in(catalogue, plog, active, self.options.filters)
        ranked: list[tuple[bool, float, str, Photo]] = []
        for index in split.eligible:
            if index in catalogue.videos or catalogue.ids[index] == first.id:
                continue
            photo = catalogue.photo(index)
            taken = _taken_at(photo)
            if taken is not None:
                ranked.append((photo.taken != first.taken, abs((taken - when).total_seconds()), photo.id, photo))
        ranked.sort(key=lambda r: r[:3])
        chosen: list[tuple[Photo, dict[str, FetchedImage]]] = []
        order = sorted(active, key=lambda n: -self.rules[n].max_image_bytes)
        for *_, photo in ranked[:MAX_PHOTO_TRIES]:
            images = _Images(self.fetcher, photo, self.workdir, [self.rules[n] for n in active],
                             self.options.keep_location)
            found: dict[str, FetchedImage] = {}
            try:
                for name in order:
                    try:
                        found[name] = images.for_network(self.rules[name])
                    except PhotoGone:
                        raise
                    except ImageError:
                        continue  # no size fits this network: it leaves the photo out, the others take it
            except PhotoGone as exc:
                self.report.warnings.append(f"{exc}; not carried (the next `pierrot sync` drops it)")
                continue
            if found:
                chosen.append((photo, found))
            if len(chosen) == wanted:
                break
        return chosen

    def _carry(self, name: str, companions: list[tuple[Photo, dict[str, FetchedImage]]]) -> None:
        """Give a network the first companions it can take (its ``max_images``); the rest stay eligible there."""
        network = next(n for n in self.options.networks if n.name == name)
        rules, result = self.rules[name], self.results[name]
        result.also, result.left_out = [], []
        for photo, images in companions:
            if name in images and len(result.also) < rules.max_images - 1:
                result.also.append(Companion(photo, images[name], self._alt(photo, network, rules, images[name])))
            else:
                result.left_out.append(photo.id)

    def _choose(self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str], skip: set[str]) -> Photo:
        options = self.options
        if options.photo_id is not None:
            return _the_photo(options, catalogue, plog, active)
        if not len(catalogue):
            raise NothingToPublish("the catalogue is empty: run `pierrot sync` first")
        split = eligible_in(catalogue, plog, active, options.filters)
        candidates = [i for i in split.eligible if catalogue.ids[i] not in skip and i not in catalogue.videos]
        if candidates:
            return self._pick(catalogue, candidates)
        if options.repost_after is not None:
            again = self._repost_candidates(catalogue, plog, active, skip)
            if again:
                return again
        if skip and split.eligible:
            raise NothingToPublish(
                f"every remaining photo that was tried ({len(skip)}) is gone from Flickr: run `pierrot sync` to "
                "drop them from the catalogue"
            )
        if split.eligible or split.photos == 0:
            raise NothingToPublish("the catalogue holds no photos (only videos): nothing to publish")
        where = " and ".join(self.rules[name].display for name in active)
        states = [plog.states(name) for name in active]
        unknown = sum(1 for pid in catalogue.ids if any(s.get(pid) == UNKNOWN for s in states))
        if split.published >= split.photos:
            if unknown:
                raise NothingToPublish(
                    f"no photo is left to post on {where}: {unknown} of the {split.photos} may or may not have "
                    "been posted (unknown); check your account and settle them with `pierrot resolve` "
                    "(`pierrot history` lists them)"
                )
            hint = "" if options.repost_after is not None else " (set [publish] repost_after to post them again)"
            raise NothingToPublish(
                f"every photo in the catalogue ({split.photos}) has been published on {where}: nothing left "
                f"to post{hint}"
            )
        raise NothingToPublish(
            f"the filters exclude all {split.filtered_out} unpublished photos "
            f"({split.published} of {split.photos} already published): loosen the [publish] filters or options"
        )

    def _pick(self, catalogue: StoredCatalogue, candidates: list[int]) -> Photo:
        """One of the eligible photos, by the run's ``prefer`` rule; uniform without parsing for ``random``."""
        if self.options.prefer == "random":
            index = candidates[self.rng.randrange(len(candidates))]
            self.report.rule, self.report.why = "random", f"uniform among {len(candidates):,} eligible photos"
            return catalogue.photo(index)
        from pierrot.domain import selection

        pairs = [(i, catalogue.photo(i)) for i in candidates]
        choice = selection.choose(pairs, self.options.prefer, self._today(), self.rng)
        self.report.rule, self.report.why = choice.rule, choice.why
        return catalogue.photo(choice.index)

    def _repost_candidates(
        self, catalogue: StoredCatalogue, plog: PublishLog, active: list[str], skip: set[str]
    ) -> Photo | None:
        """With repost_after: the photo whose last post is the longest ago, if older than that."""
        assert self.options.repost_after is not None
        cutoff = self.now() - self.options.repost_after
        last: dict[str, str] = {}
        held: set[str] = set()
        for entry in plog.entries:
            if entry.network not in active:
                continue
            for photo_id in entry.photo_ids:
                if entry.state in (PENDING, UNKNOWN):
                    held.add(photo_id)
                elif entry.state == PUBLISHED:
                    last[photo_id] = max(last.get(photo_id, ""), entry.updated_at)
        ready = [(when, pid) for pid, when in last.items()
                 if pid not in held and pid not in skip and (parse_iso(when) or cutoff) < cutoff]
        if not ready:
            return None
        ready.sort()
        oldest = [pid for when, pid in ready if when == ready[0][0]]
        for pid in self.rng.sample(oldest, len(oldest)) + [pid for _, pid in ready[len(oldest):]]:
            index = catalogue.index_of(pid)
            if index is None or index in catalogue.videos:
                continue
            photo = catalogue.photo(index)
            if not self.options.filters.matches(photo):
                continue
            self.report.rule = "repost"
            self.report.why = f"every photo has been posted; last posted {last[pid]}, the longest ago"
            return photo
        return None

