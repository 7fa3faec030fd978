"""Choosing a photo: at random, on its anniversary, in its season, or by popularity."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

import pytest

from pierrot.domain import Photo
from pierrot.domain.selection import (
    MODES,
    Choice,
    check_mode,
    choose,
    month_name,
    popularity,
    years_ago,
    years_ago_text,
)
from pierrot.errors import ConfigError, NothingToPublish

TODAY = dt.date(2026, 11, 30)
DRAWS = 2000


@dataclass(frozen=True, slots=True)
class _PhotoWithCounts(Photo):
    """Photo with the fields the catalogue is about to gain, for as long as Photo itself lacks them."""

    date_taken_granularity: int = 0
    faves: int | None = None
    views: int | None = None


_NEW_FIELDS = {"date_taken_granularity", "faves", "views"}
_PHOTO: type[Photo] = Photo if {f.name for f in fields(Photo)} >= _NEW_FIELDS else _PhotoWithCounts


def photo(pid: str, taken: str | None = None, **extra: Any) -> Photo:
    date_taken = f"{taken} 12:00:00" if taken else None
    return _PHOTO(id=pid, date_taken=date_taken, **extra)


def draw(
    photos: list[tuple[int, Photo]], mode: str, today: dt.date = TODAY, draws: int = DRAWS, seed: int = 7
) -> tuple[Counter[int], set[str]]:
    """How often each index is chosen over many draws, and the rules that chose."""
    rng = random.Random(seed)
    chosen: Counter[int] = Counter()
    rules: set[str] = set()
    for _ in range(draws):
        choice = choose(photos, mode, today, rng)
        chosen[choice.index] += 1
        rules.add(choice.rule)
    return chosen, rules


def one(photos: list[tuple[int, Photo]], mode: str, today: dt.date = TODAY) -> Choice:
    return choose(photos, mode, today, random.Random(1))


def chi_square(observed: Counter[int], expected: dict[int, float]) -> float:
    return sum((observed[k] - e) ** 2 / e for k, e in expected.items())


# Upper 0.1% points of the chi-square distribution: a fair draw exceeds them once in a thousand seeds.
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47}


# --- random ------------------------------------------------------------------------------------


def test_random_is_uniform_over_the_eligible_photos_and_returns_catalogue_positions() -> None:
    photos = [(10, photo("a", "2016-11-30")), (42, photo("b")), (7, photo("c", "2020-03-01"))]
    chosen, rules = draw(photos, "random", draws=3000)
    assert rules == {"random"}
    assert set(chosen) == {10, 42, 7}
    assert chi_square(chosen, {i: 1000.0 for i in (10, 42, 7)}) < CHI2_999[2]
    assert one(photos, "random").why == "uniform among 3 eligible photos"


def test_the_same_seed_chooses_the_same_photo() -> None:
    photos = [(i, photo(str(i), f"{2000 + i}-05-05")) for i in range(20)]
    for mode in MODES:
        assert choose(photos, mode, TODAY, random.Random(99)) == choose(photos, mode, TODAY, random.Random(99))


def test_nothing_eligible_is_nothing_to_publish() -> None:
    with pytest.raises(NothingToPublish):
        choose([], "random", TODAY, random.Random(1))


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="anniversary"):
        choose([(0, photo("a"))], "newest", TODAY, random.Random(1))


def test_check_mode_names_the_setting_and_the_modes() -> None:
    assert check_mode(" Anniversary ", "PIERROT_PREFER") == "anniversary"
    with pytest.raises(ConfigError) as caught:
        check_mode("newest", "PIERROT_PREFER")
    assert str(caught.value) == (
        "PIERROT_PREFER is malformed: expected one of random, anniversary, season, popular, got 'newest'"
    )


# --- anniversary -------------------------------------------------------------------------------


def test_two_photos_taken_on_this_day_are_equally_likely() -> None:
    photos = [
        (0, photo("2016", "2016-11-30")),
        (1, photo("2019", "2019-11-30")),
        (2, photo("yesterday", "2020-11-29")),
        (3, photo("summer", "2018-06-01")),
        (4, photo("this year", "2026-11-30")),  # taken today: no anniversary yet
    ]
    chosen, rules = draw(photos, "anniversary")
    assert rules == {"anniversary"}
    assert set(chosen) == {0, 1}
    assert abs(chosen[0] - DRAWS / 2) < 0.05 * DRAWS  # about 4.5 standard deviations
    assert chi_square(chosen, {0: DRAWS / 2, 1: DRAWS / 2}) < CHI2_999[1]


def test_an_exact_anniversary_says_how_many_years_ago_today() -> None:
    single = one([(5, photo("a", "2016-11-30")), (6, photo("b", "2019-06-01"))], "anniversary")
    assert single == Choice(5, "anniversary", "taken 2016-11-30: 10 years ago today")
    last_year = one([(5, photo("a", "2025-11-30"))], "anniversary")
    assert last_year.why == "taken 2025-11-30: 1 year ago today"
    pair = one([(5, photo("a", "2016-11-30")), (6, photo("b", "2019-11-30"))], "anniversary")
    assert pair.why.endswith("ago today (one of 2 photos taken on this day)")


def test_a_near_anniversary_when_none_is_exact() -> None:
    photos = [
        (0, photo("two days after", "2019-12-02")),
        (1, photo("four days before", "2018-11-26")),
        (2, photo("summer", "2017-06-01")),
    ]
    chosen, rules = draw(photos, "anniversary", draws=200)
    assert rules == {"anniversary (near)"}
    assert set(chosen) == {0}
    assert one(photos, "anniversary").why == "taken 2019-12-02: 2 days after this day, 7 years ago"


def test_the_nearest_anniversary_wins_and_both_sides_count_alike() -> None:
    photos = [
        (0, photo("two days after", "2019-12-02")),
        (1, photo("two days before", "2015-11-28")),
        (2, photo("three days before", "2014-11-27")),
    ]
    chosen, rules = draw(photos, "anniversary")
    assert rules == {"anniversary (near)"}
    assert set(chosen) == {0, 1}
    assert chi_square(chosen, {0: DRAWS / 2, 1: DRAWS / 2}) < CHI2_999[1]
    before = choose(photos[1:], "anniversary", TODAY, random.Random(1))
    assert before.why == "taken 2015-11-28: 2 days before this day, 11 years ago"


def test_near_days_sets_the_window() -> None:
    photos = [(0, photo("four days before", "2018-11-26")), (1, photo("summer", "2017-06-01"))]
    assert choose(photos, "anniversary", TODAY, random.Random(1), near_days=4).rule == "anniversary (near)"
    assert choose(photos, "anniversary", TODAY, random.Random(1), near_days=3).rule.startswith("random")
    exact_only = [(0, photo("a day after", "2019-12-01")), (1, photo("summer", "2017-06-01"))]
    assert choose(exact_only, "anniversary", TODAY, random.Random(1), near_days=0).rule.startswith("random")


def test_no_anniversary_falls_back_to_uniform_and_says_so() -> None:
    photos = [(i, photo(str(i), f"20{10 + i}-0{1 + i}-15")) for i in range(4)]
    chosen, rules = draw(photos, "anniversary", draws=4000)
    assert rules == {"random (no anniversary today)"}
    assert chi_square(chosen, {i: 1000.0 for i in range(4)}) < CHI2_999[3]
    assert one(photos, "anniversary").why == "uniform among 4 eligible photos"


def test_a_leap_day_photo_is_remembered_on_28_february_in_other_years() -> None:
    leap = (0, photo("leap", "2016-02-29"))
    other = (1, photo("other", "2016-02-28"))
    summer = (2, photo("summer", "2018-07-01"))
    choice = one([leap, summer], "anniversary", dt.date(2027, 2, 28))
    assert choice.rule == "anniversary"
    assert choice.why == "taken 2016-02-29: 11 years ago today (a 29 February, remembered on the 28th)"
    chosen, rules = draw([leap, other, summer], "anniversary", dt.date(2027, 2, 28))
    assert rules == {"anniversary"}
    assert set(chosen) == {0, 1}
    # In a leap year it has its own day, and the 28th is another photo's day.
    on_29 = one([leap, other, summer], "anniversary", dt.date(2028, 2, 29))
    assert (on_29.index, on_29.rule) == (0, "anniversary")
    on_28 = one([leap, summer], "anniversary", dt.date(2028, 2, 28))
    assert on_28.rule == "anniversary (near)"
    assert on_28.why == "taken 2016-02-29: 1 day after this day, 12 years ago"


def test_anniversaries_are_near_across_the_year_end() -> None:
    new_year = one([(0, photo("eve", "2016-12-31")), (1, photo("summer", "2018-07-01"))], "anniversary",
                   dt.date(2026, 1, 1))  # fmt: skip
    assert (new_year.index, new_year.rule) == (0, "anniversary (near)")
    assert new_year.why == "taken 2016-12-31: 1 day before this day, 9 years ago"
    eve = one([(0, photo("new year", "2017-01-01")), (1, photo("summer", "2018-07-01"))], "anniversary",
              dt.date(2026, 12, 31))  # fmt: skip
    assert (eve.index, eve.rule) == (0, "anniversary (near)")
    assert eve.why == "taken 2017-01-01: 1 day after this day, 10 years ago"


def test_a_photo_taken_days_ago_is_no_anniversary() -> None:
    photos = [(0, photo("yesterday", "2025-12-31")), (1, photo("future", "2027-01-01"))]
    assert one(photos, "anniversary", dt.date(2026, 1, 1)).rule == "random (no anniversary today)"


@pytest.mark.parametrize(
    "unsure",
    [
        {"date_taken_unknown": True},
        {"date_taken_granularity": 4},
        {"date_taken_granularity": 6},
        {"date_taken_granularity": 8},
    ],
    ids=["unknown", "month", "year", "circa"],
)
def test_anniversary_skips_dates_flickr_does_not_know_to_the_day(unsure: dict[str, Any]) -> None:
    photos = [(0, photo("unsure", "2016-11-30", **unsure)), (1, photo("summer", "2018-07-01"))]
    chosen, rules = draw(photos, "anniversary", draws=400)
    assert rules == {"random (no anniversary today)"}
    assert set(chosen) == {0, 1}  # still eligible, just not an anniversary


def test_a_photo_with_no_date_is_skipped() -> None:
    photos = [(0, photo("undated")), (1, photo("match", "2016-11-30"))]
    assert one(photos, "anniversary").index == 1
    assert one(photos, "season").index == 1


# --- season ------------------------------------------------------------------------------------


def test_season_chooses_a_photo_taken_this_month_in_an_earlier_year() -> None:
    photos = [
        (0, photo("november", "2018-11-01", date_taken_granularity=4)),
        (1, photo("this november", "2026-11-02")),
        (2, photo("october", "2018-10-31")),
        (3, photo("november, year only", "2015-11-01", date_taken_granularity=6)),
        (4, photo("november, circa", "2014-11-01", date_taken_granularity=8)),
        (5, photo("november, unknown", "2013-11-05", date_taken_unknown=True)),
    ]
    chosen, rules = draw(photos, "season", draws=200)
    assert rules == {"season"}
    assert set(chosen) == {0}
    assert one(photos, "season").why == "taken in November 2018"


def test_season_is_uniform_among_the_month_and_falls_back_to_uniform() -> None:
    photos = [(0, photo("a", "2018-11-03")), (1, photo("b", "2021-11-25")), (2, photo("c", "2018-05-03"))]
    chosen, rules = draw(photos, "season")
    assert rules == {"season"}
    assert chi_square(chosen, {0: DRAWS / 2, 1: DRAWS / 2}) < CHI2_999[1]
    assert one(photos, "season").why.endswith("(one of 2 photos taken in November)")
    elsewhere = [(0, photo("a", "2018-05-03")), (1, photo("b", "2026-11-03"))]
    fallback = one(elsewhere, "season")
    assert fallback.rule == "random (no photo from November of an earlier year)"
    assert fallback.why == "uniform among 2 eligible photos"


# --- popular -----------------------------------------------------------------------------------


def test_popularity_is_the_documented_formula_and_never_below_one() -> None:
    assert popularity(photo("a", faves=12, views=340)) == pytest.approx(1 + math.log(13) + 0.25 * math.log(341))
    assert popularity(photo("b", faves=0, views=0)) == 1.0
    assert popularity(photo("c")) == 1.0
    assert popularity(photo("d", views=1000)) == pytest.approx(1 + 0.25 * math.log(1001))


def test_popular_draws_in_proportion_to_the_weights() -> None:
    photos = [
        (0, photo("nobody", faves=0, views=0)),
        (1, photo("some", faves=3, views=120)),
        (2, photo("liked", faves=40, views=5000)),
        (3, photo("viral", faves=900, views=250000)),
        (4, photo("no counts")),
    ]
    weights = {i: popularity(p) for i, p in photos}
    total = sum(weights.values())
    draws = 20000
    chosen, rules = draw(photos, "popular", draws=draws)
    assert rules == {"popular"}
    expected = {i: draws * w / total for i, w in weights.items()}
    assert chi_square(chosen, expected) < CHI2_999[4]
    assert chosen[3] > chosen[2] > chosen[1] > chosen[0]


def test_popular_says_the_counts_and_the_weight() -> None:
    photos = [(0, photo("a", faves=12, views=340)), (1, photo("b", faves=1))]
    total = popularity(photos[0][1]) + popularity(photos[1][1])
    counts = {0: "12 faves, 340 views", 1: "1 fave, views unknown"}
    seen = set()
    for seed in range(20):
        choice = choose(photos, "popular", TODAY, random.Random(seed))
        weight = popularity(photos[choice.index][1])
        assert (
            choice.why
            == f"{counts[choice.index]}: weight {weight:.2f} of {total:.2f} total ({weight / total:.2%} chance)"
        )
        seen.add(choice.index)
    assert seen == {0, 1}


def test_popular_without_any_counts_is_uniform_and_says_so() -> None:
    photos = [(0, photo("a")), (1, photo("b")), (2, photo("c"))]
    chosen, rules = draw(photos, "popular", draws=3000)
    assert rules == {"random (no faves or views known)"}
    assert chi_square(chosen, {i: 1000.0 for i in range(3)}) < CHI2_999[2]


# --- template placeholders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "extra", "today", "years", "text"),
    [
        ("2016-11-30", {}, TODAY, 10, "10 years ago today"),
        ("2025-11-30", {}, TODAY, 1, "1 year ago today"),
        ("2016-12-02", {}, TODAY, 9, "9 years ago"),
        ("2016-11-29", {}, TODAY, 10, "10 years ago"),
        ("2026-03-01", {}, TODAY, 0, "less than a year ago"),
        ("2016-02-29", {}, dt.date(2027, 2, 28), 11, "11 years ago today"),
        ("2016-02-29", {}, dt.date(2027, 2, 27), 10, "10 years ago"),
        ("2018-11-01", {"date_taken_granularity": 4}, TODAY, 8, "8 years ago"),
        ("2016-12-31", {"date_taken_granularity": 6}, TODAY, 10, "10 years ago"),
        ("2016-01-01", {"date_taken_granularity": 8}, TODAY, 10, "about 10 years ago"),
        ("2016-11-30", {"date_taken_unknown": True}, TODAY, None, ""),
        ("2027-01-01", {}, TODAY, None, ""),
        (None, {}, TODAY, None, ""),
    ],
)
def test_years_ago(taken: str | None, extra: dict[str, Any], today: dt.date, years: int | None, text: str) -> None:
    subject = photo("p", taken, **extra)
    assert years_ago(subject, today) == years
    assert years_ago_text(subject, today) == text


def test_month_name_is_english_whatever_the_locale() -> None:
    assert month_name(TODAY) == "November"
    assert [month_name(dt.date(2026, m, 1)) for m in (1, 12)] == ["January", "December"]
