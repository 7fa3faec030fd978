"""Durations in settings ("20h", "6d", "1h30m") and as pierrot shows them ("2 d 4 h")."""

from __future__ import annotations

import datetime as dt

import pytest

from pierrot.domain.durations import format_age, format_duration, parse_duration
from pierrot.errors import ConfigError

SETTING = "PIERROT_MIN_INTERVAL"
H = 3600
D = 86400


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("90m", 90 * 60),
        ("45min", 45 * 60),
        ("20h", 20 * H),
        ("6d", 6 * D),
        ("2w", 14 * D),
        ("1y", 365 * D),
        ("2y", 730 * D),
        ("1h30m", H + 30 * 60),
        ("1h 30m", H + 30 * 60),
        ("  1 h 30 m  ", H + 30 * 60),
        ("30m1h", H + 30 * 60),
        ("1y20d", 385 * D),
        ("2 d 4 h", 2 * D + 4 * H),
        ("20H", 20 * H),
    ],
)
def test_parse_duration_accepts_units_and_combinations(text: str, seconds: int) -> None:
    assert parse_duration(text, SETTING) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("3600", 'write "3600s" for seconds'),
        ("", "expected a duration"),
        ("   ", "expected a duration"),
        ("h", "expected a duration"),
        ("1.5h", "expected a duration"),
        ("6x", "expected a duration"),
        ("1h 30", "expected a duration"),
        ("one hour", "expected a duration"),
        ("0h", "must be longer than zero"),
        ("0d0h", "must be longer than zero"),
        ("-1h", "must be longer than zero"),
        ("1h2h", "gives the unit 'h' twice"),
        ("30m30min", "twice"),
        ("99999999999999y", "too long"),
    ],
)
def test_parse_duration_refuses_with_the_setting_and_an_example(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_duration(text, SETTING)
    message = str(caught.value)
    assert message.startswith(SETTING)
    assert says in message
    assert '"20h"' in message or '"1h30m"' in message or '"2y"' in message


def test_format_duration_reads_back_as_the_same_setting() -> None:
    for text in ("20h", "6d", "1h30m", "45min", "1y20d", "2d4h", "30s"):
        shown = format_duration(parse_duration(text, SETTING))
        assert parse_duration(shown, SETTING) == parse_duration(text, SETTING)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (0.7, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (89, "1 min 29 s"),
        (45 * 60, "45 min"),
        (3 * H, "3 h"),
        (H + 30 * 60 + 59, "1 h 30 min"),
        (2 * D + 4 * H + 59 * 60, "2 d 4 h"),
        (D - 1, "23 h 59 min"),
        (14 * D, "14 d"),
        (365 * D + 20 * D + 5 * H, "1 y 20 d"),
        (365 * D + 5 * H, "1 y"),
        (800 * D, "2 y 70 d"),
        (-2 * H, "-2 h"),
    ],
)
def test_format_age_shows_the_two_largest_units_truncated(seconds: float, shown: str) -> None:
    assert format_age(seconds) == shown
    assert format_duration(dt.timedelta(seconds=seconds)) == shown
