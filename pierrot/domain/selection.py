"""Choosing which eligible photo to post: at random, on its anniversary, in its season, or by popularity.

Plain functions over parsed photos and a seeded ``random.Random``; no I/O.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from pierrot.domain import Photo
from pierrot.errors import ConfigError, NothingToPublish

RANDOM = "random"
ANNIVERSARY = "anniversary"
SEASON = "season"
POPULAR = "popular"
MODES = (RANDOM, ANNIVERSARY, SEASON, POPULAR)

# Flickr's datetakengranularity: how much of the date taken the owner actually knows.
GRANULARITY_EXACT = 0
GRANULARITY_MONTH = 4
GRANULARITY_YEAR = 6
GRANULARITY_CIRCA = 8

NEAR_DAYS = 3

# English month names, fixed: calendar.month_name follows the process locale, and the post text must not.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """The photo chosen (its position in the catalogue), the rule that chose it, and why, for ``--dry-run``."""

    index: int
    rule: str
    why: str


def check_mode(text: str, setting: str) -> str:
    """``text`` as a selection mode, or a ConfigError naming ``setting`` and the modes."""
    mode = text.strip().lower()
    if mode not in MODES:
        raise ConfigError(f"{setting} is malformed: expected one of {', '.join(MODES)}, got {text!r}")
    return mode


def choose(
    photos: Sequence[tuple[int, Photo]],
    mode: str,
    today: dt.date,
    rng: random.Random,
    *,
    near_days: int = NEAR_DAYS,
) -> Choice:
    """One of the eligible ``(index, photo)`` pairs, chosen the way ``mode`` asks.

    - ``random``: uniform.
    - ``anniversary``: a photo taken on today's month and day in an earlier year (a 29 February counts on
      28 February in other years); else the photos whose anniversary is nearest to today, if within
      ``near_days`` either side (across the year end too); uniform among the equally near; else uniform.
    - ``season``: a photo taken in today's month of an earlier year, uniform; else uniform.
    - ``popular``: weighted by :func:`popularity`, so every photo keeps a chance.

    Photos whose date taken is unknown are skipped by anniversary and season; a date Flickr knows only to the
    month counts for season, not anniversary; one known only to the year, or circa, counts for neither.
    """
    if not photos:
        raise NothingToPublish("no photo is eligible for publishing")
    if mode == RANDOM:
        return _uniform(photos, rng, RANDOM)
    if mode == ANNIVERSARY:
        return _anniversary(photos, today, rng, near_days)
    if mode == SEASON:
        return _season(photos, today, rng)
    if mode == POPULAR:
        return _popular(photos, rng)
    raise ValueError(f"unknown selection mode {mode!r}; expected one of {', '.join(MODES)}")


def popularity(photo: Photo) -> float:
    """The weight of ``photo`` in ``popular`` mode: ``1 + ln(1 + faves) + 0.25 * ln(1 + views)``.

    Unknown counts count as 0, so the weight is at least 1: popular photos come up more often, none never.
    Logarithms keep one viral photo from drowning the rest: 100 faves weigh about 5.6, 10 faves about 3.4.
    """
    return 1.0 + math.log1p(_count(photo, "faves")) + 0.25 * math.log1p(_count(photo, "views"))


def years_ago(photo: Photo, today: dt.date) -> int | None:
    """Whole years since the photo was taken (as birthdays count), or None if its date taken is unknown.

    A date known only to the year (or circa) counts in calendar years: today's year minus its year.
    None too for a photo taken after ``today`` (a wrong camera clock).
    """
    taken = photo.taken
    granularity = _granularity(photo)
    if taken is None or granularity not in (GRANULARITY_EXACT, GRANULARITY_MONTH, GRANULARITY_YEAR, GRANULARITY_CIRCA):
        return None
    if granularity in (GRANULARITY_YEAR, GRANULARITY_CIRCA):
        years = today.year - taken.year
    else:
        years = today.year - taken.year - (today < _anniversary_in(taken, today.year))
    return years if years >= 0 else None


def years_ago_text(photo: Photo, today: dt.date) -> str:
    """``{years_ago}`` for a post: "10 years ago today" on the exact anniversary, else "10 years ago".

    "1 year ago today" in the singular, "less than a year ago" within the year, "about 10 years ago" for a
    circa date, and "" when the date taken is unknown.
    """
    years = years_ago(photo, today)
    taken = photo.taken
    if years is None or taken is None:
        return ""
    if years == 0:
        return "less than a year ago"
    text = f"{years} year{'s' if years != 1 else ''} ago"
    granularity = _granularity(photo)
    if granularity == GRANULARITY_CIRCA:
        return f"about {text}"
    if granularity == GRANULARITY_EXACT and _anniversary_in(taken, today.year) == today:
        return f"{text} today"
    return text


def month_name(date: dt.date) -> str:
    """``{month}`` for a post: the English name of the date's month, "November"."""
    return MONTHS[date.month - 1]


# --- the modes ---------------------------------------------------------------------------------


def _uniform(photos: Sequence[tuple[int, Photo]], rng: random.Random, rule: str) -> Choice:
    index, _ = rng.choice(photos)
    count = len(photos)
    return Choice(index, rule, f"uniform among {count:,} eligible photo{'s' if count != 1 else ''}")


def _anniversary(photos: Sequence[tuple[int, Photo]], today: dt.date, rng: random.Random, near_days: int) -> Choice:
    if near_days < 0:
        raise ValueError("near_days must not be negative")
    # The photos at the smallest distance (in days) between their nearest anniversary and today.
    nearest: list[tuple[int, dt.date, dt.date, int]] = []
    best = near_days + 1
    for index, photo in photos:
        taken = photo.taken
        if taken is None or _granularity(photo) != GRANULARITY_EXACT:
            continue
        anniversary = _nearest_anniversary(taken, today)
        if anniversary.year <= taken.year:
            # Its anniversary is this year's own date, or it was taken after today: not an earlier year.
            continue
        distance = abs((anniversary - today).days)
        if distance > near_days:
            continue
        if distance < best:
            best, nearest = distance, []
        if distance == best:
            nearest.append((index, taken, anniversary, distance))
    if not nearest:
        return _uniform(photos, rng, "random (no anniversary today)")
    index, taken, anniversary, distance = rng.choice(nearest)
    years = anniversary.year - taken.year
    ago = f"{years} year{'s' if years != 1 else ''} ago"
    if distance == 0:
        why = f"taken {taken.isoformat()}: {ago} today"
        if (taken.month, taken.day) == (2, 29) and (today.month, today.day) != (2, 29):
            why += " (a 29 February, remembered on the 28th)"
        others = "taken on this day"
        rule = ANNIVERSARY
    else:
        side = "after" if anniversary > today else "before"
        days = f"{distance} day{'s' if distance != 1 else ''}"
        why = f"taken {taken.isoformat()}: {days} {side} this day, {ago}"
        others = f"{days} from this day"
        rule = f"{ANNIVERSARY} (near)"
    if len(nearest) > 1:
        why += f" (one of {len(nearest):,} photos {others})"
    return Choice(index, rule, why)


def _season(photos: Sequence[tuple[int, Photo]], today: dt.date, rng: random.Random) -> Choice:
    matching: list[tuple[int, dt.date]] = []
    for index, photo in photos:
        taken = photo.taken
        if taken is None or _granularity(photo) not in (GRANULARITY_EXACT, GRANULARITY_MONTH):
            continue
        if taken.month == today.month and taken.year < today.year:
            matching.append((index, taken))
    month = month_name(today)
    if not matching:
        return _uniform(photos, rng, f"random (no photo from {month} of an earlier year)")
    index, taken = rng.choice(matching)
    why = f"taken in {month_name(taken)} {taken.year}"
    if len(matching) > 1:
        why += f" (one of {len(matching):,} photos taken in {month})"
    return Choice(index, SEASON, why)


def _popular(photos: Sequence[tuple[int, Photo]], rng: random.Random) -> Choice:
    if all(_raw_count(p, "faves") is None and _raw_count(p, "views") is None for _, p in photos):
        return _uniform(photos, rng, "random (no faves or views known)")
    weights = [popularity(p) for _, p in photos]
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    position = rng.choices(range(len(photos)), cum_weights=cumulative)[0]
    index, photo = photos[position]
    weight = weights[position]
    faves, views = _raw_count(photo, "faves"), _raw_count(photo, "views")
    counts = ", ".join(
        _plural(n, noun) if n is not None else f"{noun}s unknown" for n, noun in ((faves, "fave"), (views, "view"))
    )
    why = f"{counts}: weight {weight:,.2f} of {total:,.2f} total ({weight / total:.2%} chance)"
    return Choice(index, POPULAR, why)


# --- dates and counts --------------------------------------------------------------------------


def _anniversary_in(taken: dt.date, year: int) -> dt.date:
    """The photo's anniversary in ``year``: a 29 February falls on the 28th in other years."""
    if (taken.month, taken.day) == (2, 29) and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return taken.replace(year=year)


def _nearest_anniversary(taken: dt.date, today: dt.date) -> dt.date:
    # Last year's or next year's when nearer, so 31 December is one day from 1 January.
    anniversary = _anniversary_in(taken, today.year)
    offset = (anniversary - today).days
    if offset > 182 and today.year > dt.MINYEAR:
        return _anniversary_in(taken, today.year - 1)
    if offset < -182 and today.year < dt.MAXYEAR:
        return _anniversary_in(taken, today.year + 1)
    return anniversary


def _granularity(photo: Photo) -> int:
    # Catalogues written before the field existed have no granularity: take their dates as exact.
    value = getattr(photo, "date_taken_granularity", GRANULARITY_EXACT)
    if value is None:
        return GRANULARITY_EXACT
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _raw_count(photo: Photo, name: str) -> int | None:
    value = getattr(photo, name, None)
    if value is None:
        return None
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None


def _count(photo: Photo, name: str) -> int:
    return _raw_count(photo, name) or 0


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' if count != 1 else ''}"
