"""Choosing well and posting on time: anniversaries in the user's time zone, a minimum interval between posts,
an alarm for a schedule that stopped, and a random delay before posting."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from tests.e2e.conftest import LOG, Pierrot
from tests.e2e.servers import FakeServers, FlickrFake, XFake

pytestmark = pytest.mark.e2e

ALL = ("--network", "x", "--network", "bluesky", "--network", "mastodon")
ANNIVERSARY = {"PIERROT_PUBLISH_PREFER": "anniversary"}
# POSIX time zones need no time zone database: 14 hours east of UTC, and 12 hours west. At any moment their
# dates differ, so one of them is not the UTC date.
EAST, WEST = "<+14>-14", "<-12>+12"
OFFSETS = {EAST: 14, WEST: -12}


def local_date(zone: str) -> dt.date:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=OFFSETS[zone])).date()


def taken(day: dt.date, year: int) -> str:
    """A Flickr date taken on ``day``'s month and day in ``year`` (a leap year, so 29 February exists)."""
    return f"{year}-{day.month:02d}-{day.day:02d} 09:30:00"


def photostream_with_anniversaries(flickr: FlickrFake) -> tuple[str, str]:
    """Forty photos far from today's date, and one taken on today's date in each zone: (east's id, west's id)."""
    today = dt.datetime.now(dt.UTC).date()
    for number in range(40):
        # 10 to 127 days away, either side: never within the three days that count as near an anniversary
        offset = (10 + 3 * number) * (1 if number % 2 else -1)
        flickr.add(1, taken=taken(today + dt.timedelta(days=offset), 2008 + number % 12))
    (east,) = flickr.add(1, title="East", taken=taken(local_date(EAST), 2012))
    (west,) = flickr.add(1, title="West", taken=taken(local_date(WEST), 2016))
    flickr.add(5, taken=taken(today + dt.timedelta(days=60), 2020))
    return east.id, west.id


def fresh_store(pierrot: Pierrot, name: str) -> None:
    pierrot.env["PIERROT_STORE"] = str(pierrot.home / name)
    assert pierrot("sync").returncode == 0


# ==== anniversaries ===============================================================================


def test_the_photo_taken_this_day_in_an_earlier_year_is_chosen_in_the_users_time_zone(
    pierrot: Pierrot, flickr: FlickrFake, x: XFake
) -> None:
    east, west = photostream_with_anniversaries(flickr)
    fresh_store(pierrot, "store-0")
    for zone, photo_id, year in ((EAST, east, 2012), (WEST, west, 2016)):
        dry = pierrot("publish", "--dry-run", env={**ANNIVERSARY, "TZ": zone})
        assert dry.returncode == 0, dry
        assert re.search(rf"^photo:\s+{photo_id}\s", dry.stdout, re.M), dry.stdout
        years = local_date(zone).year - year
        chosen = re.search(r"^chosen:\s+(.*)$", dry.stdout, re.M)
        assert chosen and chosen.group(1).startswith("anniversary: "), dry.stdout
        assert f"{years} years ago today" in chosen.group(1), chosen.group(1)

    for run, zone, expected in ((1, EAST, east), (2, EAST, east), (3, EAST, east), (4, WEST, west)):
        fresh_store(pierrot, f"store-{run}")
        x.reset()  # a new account each time: X would refuse the same text twice
        result = pierrot("publish", env={**ANNIVERSARY, "TZ": zone})
        assert result.returncode == 0, result
        assert x.posts[-1].photo_ids == [expected], f"run {run} ({zone}): not the photo taken on the user's day"


def test_without_an_anniversary_today_the_dry_run_says_so(pierrot: Pierrot, flickr: FlickrFake) -> None:
    today = dt.datetime.now(dt.UTC).date()
    for number in range(5):
        flickr.add(1, taken=taken(today + dt.timedelta(days=40 + number), 2015))
    assert pierrot("sync").returncode == 0

    dry = pierrot("publish", "--dry-run", "--prefer", "anniversary")

    assert dry.returncode == 0, dry
    chosen = re.search(r"^chosen:\s+(.*)$", dry.stdout, re.M)
    assert chosen and chosen.group(1).startswith("random (no anniversary today)"), dry.stdout


# ==== a minimum interval between posts ============================================================


def test_a_publish_within_min_interval_of_the_last_post_posts_nothing(
    pierrot: Pierrot, flickr: FlickrFake, x: XFake
) -> None:
    flickr.populate(3)
    assert pierrot("sync").returncode == 0
    interval = {"PIERROT_PUBLISH_MIN_INTERVAL": "20h"}
    assert pierrot("publish", env=interval).returncode == 0
    log = (pierrot.store / LOG).read_bytes()

    again = pierrot("publish", env=interval)

    assert again.returncode == 0, again
    assert len(x.posts) == 1 and len(x.attempts) == 1
    (line,) = again.output.splitlines()
    assert "min_interval" in line and "20 h" in line, line
    assert (pierrot.store / LOG).read_bytes() == log, "a skipped run writes nothing"
    pierrot.age_log(21 * 3600)
    later = pierrot("publish", env=interval)
    assert later.returncode == 0 and len(x.posts) == 2, later


def test_min_interval_holds_on_every_network(pierrot: Pierrot, fakes: FakeServers) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0
    interval = {"PIERROT_PUBLISH_MIN_INTERVAL": "20h"}
    assert pierrot("publish", *ALL, env=interval).returncode == 0

    again = pierrot("publish", *ALL, env=interval)

    assert again.returncode == 0, again
    assert (len(fakes.x.posts), len(fakes.bluesky.posts), len(fakes.mastodon.statuses)) == (1, 1, 1)
    lines = again.output.splitlines()
    assert [line.split(":")[0] for line in lines] == ["X", "Bluesky", "Mastodon"], again
    assert all("min_interval" in line for line in lines), again


# ==== an alarm for a schedule that stopped ========================================================


def test_check_max_silence_passes_after_a_post_and_fails_once_it_is_old(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    assert pierrot("publish").returncode == 0

    fresh = pierrot("check", "--max-silence", "1h")

    assert fresh.returncode == 0, fresh
    (line,) = [line for line in fresh.stdout.splitlines() if "last post" in line]
    assert line.startswith("ok") and "last post on x" in line, line

    pierrot.age_log(2 * 3600)
    (entry,) = pierrot.log_entries()
    old = pierrot("check", "--max-silence", "1h")

    assert old.returncode == 1, old
    (line,) = [line for line in old.stdout.splitlines() if "last post" in line]
    assert line.startswith("FAIL"), line
    assert f"last post on x 2 h ago ({entry['updated_at']})" in line and "1 h" in line, line
    others = [line for line in old.stdout.splitlines() if "last post" not in line]
    assert all(line.startswith("ok") for line in others), old


def test_check_max_silence_fails_when_nothing_was_ever_posted(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0

    result = pierrot("check", "--max-silence", "8d")

    assert result.returncode == 1, result
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert "no post ever on x" in line and "8 d" in line, line


# ==== a random delay ==============================================================================


def test_jitter_waits_before_anything_and_a_dry_run_never_waits(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, x: XFake
) -> None:
    flickr.populate(3)
    assert pierrot("sync").returncode == 0
    before = pierrot.snapshot()
    flickr.calls.clear()

    # Up to an hour: the chance it waits less than the 2.5 s watched here is 1 in 1,440.
    waiting = pierrot.start("publish", "--jitter", "1h")
    time.sleep(2.5)
    assert waiting.proc.poll() is None, "it did not wait"
    assert x.calls == [] and fakes.images.requests == [] and flickr.calls == []
    assert pierrot.snapshot() == before, "it waits before it reads or claims anything"
    pierrot.kill(waiting)

    dry = pierrot("publish", "--dry-run", "--jitter", "1h", timeout=30)
    assert dry.returncode == 0, dry
    assert dry.seconds < 10, "a dry run never waits"
    assert x.calls == []

    short = pierrot("publish", "--jitter", "2s")
    assert short.returncode == 0 and len(x.posts) == 1, short
    assert short.seconds < 2 + 8, "it waits at most the jitter, then runs"
