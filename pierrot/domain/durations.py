"""Durations as people write them in settings ("20h", "6d", "1h30m") and as pierrot shows them ("2 d 4 h")."""

from __future__ import annotations

import datetime as dt
import re

from pierrot.errors import ConfigError

# Seconds in each unit a setting may use. A year is 365 days: schedules need a fixed length, not a calendar.
UNIT_SECONDS: dict[str, int] = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
EXAMPLES = '"20h", "6d", "2y" or "1h30m"'
UNITS_HELP = "units s, m (or min), h, d, w, y; a year is 365 days"

# Units shown to people, largest first; weeks are left out so "15 d" never reads as "2 w 1 d".
_DISPLAY_UNITS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 86400),
    ("d", 86400),
    ("h", 3600),
    ("min", 60),
    ("s", 1),
)

# "min" before "m", so that "45min" is not read as 45 m followed by "in".
_PART = re.compile(r"(\d+)(min|[smhdwy])")
_WHOLE = re.compile(r"(?:\d+(?:min|[smhdwy]))+")


def parse_duration(text: str, setting: str) -> dt.timedelta:
    """A positive duration from text such as "20h", "6d", "90m" or "1h 30m"; ConfigError naming ``setting``."""
    if not isinstance(text, str):
        raise ConfigError(f"{setting} is malformed: expected a duration such as {EXAMPLES}, got {text!r}")
    compact = "".join(text.split()).lower()
    if compact.isdigit():
        raise ConfigError(
            f'{setting} is malformed: {text.strip()!r} has no unit; write "{compact}s" for seconds, '
            f"or a duration such as {EXAMPLES} ({UNITS_HELP})"
        )
    if compact.startswith("-"):
        raise ConfigError(f"{setting} must be longer than zero, got {text!r}: use a duration such as {EXAMPLES}")
    if not _WHOLE.fullmatch(compact):
        raise ConfigError(
            f"{setting} is malformed: expected a duration such as {EXAMPLES} ({UNITS_HELP}), got {text!r}"
        )
    seconds = 0
    seen: set[int] = set()
    for amount, unit in _PART.findall(compact):
        size = UNIT_SECONDS[unit]
        if size in seen:
            # "1h2h" is more likely a typo than a sum.
            raise ConfigError(
                f'{setting} is malformed: {text!r} gives the unit {unit!r} twice; write each unit once, e.g. "1h30m"'
            )
        seen.add(size)
        seconds += int(amount) * size
    if seconds == 0:
        raise ConfigError(f"{setting} must be longer than zero, got {text!r}: use a duration such as {EXAMPLES}")
    try:
        return dt.timedelta(seconds=seconds)
    except OverflowError:
        raise ConfigError(f'{setting} is too long ({text!r}): give at most a few years, e.g. "2y"') from None


def format_duration(duration: dt.timedelta) -> str:
    """A duration for people, in its two largest units: "3 h", "2 d 4 h", "45 min", "1 y 20 d"."""
    return format_age(duration.total_seconds())


def format_age(seconds: float) -> str:
    """A number of seconds for people, like :func:`format_duration`; negative ages get a minus sign."""
    if seconds < 0:
        return "-" + format_age(-seconds)
    # Truncated, never rounded up: 23 h 59 min must not read "1 d" beside a one-day minimum interval.
    total = int(seconds)
    parts: list[str] = []
    for label, size in _DISPLAY_UNITS:
        count, total = divmod(total, size)
        if parts:
            # Only the unit right below the largest: "1 y 3 h" would suggest a precision the days lack.
            if count:
                parts.append(f"{count} {label}")
            break
        if count:
            parts.append(f"{count} {label}")
    return " ".join(parts) if parts else "0 s"
