"""The commands with several networks, through click's CliRunner, with fakes behind the ports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from pierrot import service
from pierrot.domain import LOG_DOCUMENT, PUBLISHED, UNKNOWN, LogEntry, iso
from pierrot.entrypoints import wiring
from pierrot.errors import PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import Post, Settled
from tests.fakes import RULES, FakeFetcher, FakeFlickr, NetworkPublisher, isolated_settings, make_photo
from tests.fakes import cli_run as run

SECRETS = {
    "PIERROT_FLICKR_API_KEY": "flickr-key-SECRET-1111",
    "PIERROT_FLICKR_API_SECRET": "flickr-secret-SECRET-2222",
    "PIERROT_X_API_KEY": "x-key-SECRET-3333",
    "PIERROT_X_API_SECRET": "x-secret-SECRET-4444",
    "PIERROT_X_ACCESS_TOKEN": "x-token-SECRET-5555",
    "PIERROT_X_ACCESS_TOKEN_SECRET": "x-token-secret-SECRET-6666",
    "PIERROT_BLUESKY_APP_PASSWORD": "bsky-app-SECRET-7777",
    "PIERROT_MASTODON_ACCESS_TOKEN": "masto-token-SECRET-8888",
}
BLUESKY_POST = "https://bsky.app/profile/x/post/3kabcdefghij2"


class World:
    """The fakes one CLI test talks to, a publisher per network, and a folder store."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = tmp_path / "store"
        self.flickr = FakeFlickr([make_photo(n) for n in range(1, 6)])
        self.fetcher = FakeFetcher()
        self.accepted: dict[str, list[tuple[str, str]]] = {name: [] for name in RULES}
        self.made: list[str] = []
        self.setup: dict[str, dict[str, BaseException]] = {}  # network -> FakePublisher.fail_at
        self.answers: dict[str, list[Settled]] = {}  # network -> what settle says

    def publisher(self, network: str) -> NetworkPublisher:
        self.made.append(network)
        publisher = NetworkPublisher(RULES[network], accepted=self.accepted[network],
                                     answers=self.answers.get(network, []))
        publisher.fail_at.update(self.setup.get(network, {}))
        return publisher

    def log(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = json.loads((self.store / LOG_DOCUMENT).read_text())["entries"]
        return entries

    def write_log(self, *entries: LogEntry) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        (self.store / LOG_DOCUMENT).write_text(json.dumps({"version": 1, "entries": [e.to_doc() for e in entries]}))

    def snapshot(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.store.iterdir()}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(tmp_path)
    isolated_settings(monkeypatch, tmp_path, {
        "PIERROT_STORE": str(w.store), "PIERROT_FLICKR_USER": "12345678@N00",
        "PIERROT_BLUESKY_HANDLE": "someone.bsky.social", "PIERROT_MASTODON_URL": "https://mastodon.example",
        **SECRETS,
    })
    monkeypatch.setattr(wiring, "build_source", lambda settings: w.flickr)
    monkeypatch.setattr(wiring, "build_fetcher", lambda settings: w.fetcher)
    monkeypatch.setattr(wiring, "build_publisher", lambda settings, network="x": w.publisher(network))
    return w


def synced(world: World) -> None:
    assert run("sync").exit_code == 0


def errors(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("pierrot: error: ")]


def ago(seconds: float) -> str:
    return iso(dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=seconds)) or ""


def logged(photo_id: str, network: str, status: str, seconds: float, **fields: Any) -> LogEntry:
    return LogEntry(photo_id, network, status, f"run-{network}", ago(seconds), ago(seconds), **fields)


def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait of the publish runs the CLI starts (instead of sleeping for real)."""
    waits: list[float] = []
    real: Callable[..., service.PublishReport] = service.publish

    def publish(*args: Any, **kwargs: Any) -> service.PublishReport:
        return real(*args, sleep=waits.append, **kwargs)

    monkeypatch.setattr(service, "publish", publish)
    return waits


# ==== which networks ====================================================================================


def test_network_options_override_the_setting_and_print_one_url_line_each(world: World) -> None:
    synced(world)
    # Mastodon is the setting, and its token is missing: the options replace it, so nothing asks for it.
    env = {"PIERROT_PUBLISH_NETWORKS": "mastodon", "PIERROT_MASTODON_ACCESS_TOKEN": ""}

    result = run("publish", "--network", "bluesky", "--network", "x", env=env)

    assert result.exit_code == 0, result.output
    assert world.made == ["bluesky", "x"]
    bluesky, x = result.stdout.splitlines()
    assert bluesky.startswith("Bluesky: https://bsky.app/profile/")
    assert x.startswith("X: https://x.com/i/web/status/")
    entries = world.log()
    assert [(e["network"], e["status"]) for e in entries] == [("bluesky", PUBLISHED), ("x", PUBLISHED)]
    assert entries[0]["photo_id"] == entries[1]["photo_id"]
    assert [e["post_url"] for e in entries] == [bluesky.split(": ", 1)[1], x.split(": ", 1)[1]]


def test_the_networks_setting_chooses_the_networks(world: World) -> None:
    synced(world)

    result = run("publish", env={"PIERROT_PUBLISH_NETWORKS": "x, mastodon"})

    assert result.exit_code == 0, result.output
    assert world.made == ["x", "mastodon"]
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == ["X", "Mastodon"]


def test_an_unknown_network_exits_2_before_anything_happens(world: World) -> None:
    synced(world)

    option = run("publish", "--network", "myspace")
    setting = run("publish", env={"PIERROT_PUBLISH_NETWORKS": "x,myspace"})

    assert option.exit_code == 2 and "--network" in option.stderr and "myspace" in option.stderr
    assert setting.exit_code == 2, setting.output
    assert "PIERROT_PUBLISH_NETWORKS" in setting.stderr and "myspace" in setting.stderr
    assert world.made == [] and world.fetcher.calls == 0
    assert not (world.store / LOG_DOCUMENT).exists()


def test_an_unknown_network_is_one_line_and_exit_2_in_every_command(world: World) -> None:
    synced(world)

    for args in (("resolve", "123", "--posted", "1", "--network", "myspace"), ("check", "--skip", "myspace"),
                 ("publish", "--dry-run", "--network", "myspace")):
        result = run(*args)

        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and "myspace" in result.stderr, result.stderr
        assert "x, bluesky, mastodon" in result.stderr
    assert not (world.store / LOG_DOCUMENT).exists()


def test_check_skip_leaves_out_that_networks_line_and_no_x_is_the_same(world: World) -> None:
    env = {"PIERROT_PUBLISH_NETWORKS": "x,bluesky"}

    skipped = run("check", "--skip", "x", "--skip", "bluesky", env=env)
    older = run("check", "--no-x", "--no-bluesky", env=env)

    for result in (skipped, older):
        lines = [line.split()[1] for line in result.stdout.splitlines()]
        assert "x" not in lines and "bluesky" not in lines and "flickr" in lines, result.stdout


def test_a_network_whose_credentials_are_missing_exits_2_naming_them(world: World) -> None:
    synced(world)

    result = run("publish", "--network", "x", "--network", "bluesky", env={"PIERROT_BLUESKY_APP_PASSWORD": ""})

    assert result.exit_code == 2
    assert "PIERROT_BLUESKY_APP_PASSWORD" in result.stderr
    assert world.made == [] and world.fetcher.calls == 0


# ==== output of a run of several networks ===============================================================


def test_failures_get_one_error_line_each_the_posts_their_url_and_exit_1(world: World) -> None:
    synced(world)
    world.setup = {"bluesky": {"post": PostRefused("Bluesky rate limit reached: resets at 13:00", status=429)},
                   "mastodon": {"prepare": PublishError("Mastodon refused the access token (401)")}}

    result = run("publish", env={"PIERROT_PUBLISH_NETWORKS": "x,bluesky,mastodon"})

    assert result.exit_code == 1
    (url,) = result.stdout.splitlines()
    assert url.startswith("X: https://x.com/i/web/status/")
    assert errors(result) == ["pierrot: error: Bluesky: Bluesky rate limit reached: resets at 13:00",
                              "pierrot: error: Mastodon: Mastodon refused the access token (401)"]
    assert "Traceback" not in result.output
    assert [(e["network"], e["status"]) for e in world.log()] == [("x", PUBLISHED), ("bluesky", "failed")]
    assert len(world.accepted["x"]) == 1 and world.accepted["bluesky"] == world.accepted["mastodon"] == []


def test_an_unclear_outcome_on_one_network_says_what_happens_next(world: World) -> None:
    synced(world)
    world.setup = {"bluesky": {"post": PostOutcomeUnknown("Bluesky answered 502")}}

    result = run("publish", env={"PIERROT_PUBLISH_NETWORKS": "x,bluesky"})

    assert result.exit_code == 1
    (line,) = errors(result)
    assert line.startswith("pierrot: error: Bluesky: Bluesky answered 502") and "settles it" in line
    assert len(result.stdout.splitlines()) == 1


def test_a_settled_interrupted_post_is_reported_before_the_new_posts(world: World) -> None:
    world.flickr.items = [make_photo(1), make_photo(2)]
    synced(world)
    interrupted = make_photo(1).id
    world.write_log(logged(interrupted, "bluesky", UNKNOWN, 3600, key="3kabcdefghij2",
                           created_at="2025-06-01T10:00:00.123Z", media_ids=("blob-1",), text="Photo 1"))
    world.answers["bluesky"] = [Settled(posted=True, post=Post("at://did:plc:x/app.bsky.feed.post/3kabcdefghij2",
                                                                 BLUESKY_POST))]

    result = run("publish", "--network", "bluesky")

    assert result.exit_code == 0, result.output
    settled, url = result.stdout.splitlines()
    assert interrupted in settled and BLUESKY_POST in settled and "recorded as published" in settled
    assert url.startswith("https://bsky.app/profile/")
    assert [(e["photo_id"], e["status"]) for e in world.log()] == [(interrupted, PUBLISHED),
                                                                   (make_photo(2).id, PUBLISHED)]


def test_a_dry_run_shows_a_block_per_network_and_needs_no_credentials(world: World) -> None:
    synced(world)
    before = world.snapshot()
    env = {name: "" for name in SECRETS if not name.startswith("PIERROT_FLICKR_")}
    env["PIERROT_PUBLISH_NETWORKS"] = "x,bluesky,mastodon"

    result = run("publish", "--dry-run", env=env)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line for line in lines if line in ("X:", "Bluesky:", "Mastodon:")] == ["X:", "Bluesky:", "Mastodon:"]
    text = result.stdout
    assert "/280 weighted characters" in text and "/300 graphemes" in text and "/500 characters" in text
    assert "/1000 characters" in text and "/2000 characters" in text and "/1500 characters" in text
    assert lines[-1] == "dry run: nothing was posted or written"
    assert world.made == []
    assert world.snapshot() == before


# ==== prefer, jitter, min_interval ===========================================================================


def anniversary_stream(world: World) -> str:
    """A photostream with one photo taken on this day of 2012 (a leap year: any day exists in it)."""
    today = dt.date.today()
    world.flickr.items = [make_photo(1, date_taken=f"{today.replace(year=2012).isoformat()} 10:00:00"),
                          make_photo(2, date_taken="2001-01-01 10:00:00" if today.month != 1 else
                                     "2001-07-01 10:00:00")]
    synced(world)
    return today.replace(year=2012).isoformat()


def test_prefer_option_and_setting_choose_the_anniversary(world: World) -> None:
    taken = anniversary_stream(world)

    option = run("publish", "--dry-run", "--prefer", "anniversary")
    setting = run("publish", "--dry-run", env={"PIERROT_PUBLISH_PREFER": "anniversary"})

    for result in (option, setting):
        assert result.exit_code == 0, result.output
        assert f"chosen:    anniversary: taken {taken}: " in result.stdout
        assert make_photo(1).id in result.stdout


def test_prefer_random_says_so(world: World) -> None:
    synced(world)

    result = run("publish", "--dry-run", "--prefer", "random")

    assert "chosen:    random: uniform among 5 eligible photos" in result.stdout


def test_a_bad_prefer_exits_2_naming_it(world: World) -> None:
    synced(world)

    option = run("publish", "--dry-run", "--prefer", "newest")
    setting = run("publish", "--dry-run", env={"PIERROT_PUBLISH_PREFER": "newest"})

    assert option.exit_code == 2 and "--prefer" in option.stderr and "newest" in option.stderr
    assert setting.exit_code == 2 and "PIERROT_PUBLISH_PREFER" in setting.stderr
    assert world.fetcher.calls == 0


@pytest.mark.parametrize("value", ["soon", "45", "-5m", "0s", "1h2h"])
def test_a_bad_jitter_exits_2_naming_it(world: World, value: str) -> None:
    synced(world)

    result = run("publish", "--jitter", value)

    assert result.exit_code == 2, result.output
    assert "--jitter" in result.stderr
    assert "Traceback" not in result.output
    assert world.made == [] and world.fetcher.calls == 0


def test_jitter_waits_up_to_its_duration_and_a_dry_run_never_waits(world: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    synced(world)
    waits = recorded_sleeps(monkeypatch)

    dry = run("publish", "--dry-run", "--jitter", "45m")
    assert dry.exit_code == 0, dry.output
    assert waits == []

    real = run("publish", "--jitter", "45m")
    assert real.exit_code == 0, real.output
    (wait,) = waits
    assert 0 <= wait <= 45 * 60


@pytest.mark.parametrize("value", ["soon", "20", "0h"])
def test_a_malformed_min_interval_exits_2_naming_it(world: World, value: str) -> None:
    synced(world)

    result = run("publish", env={"PIERROT_PUBLISH_MIN_INTERVAL": value})

    assert result.exit_code == 2, result.output
    assert "PIERROT_PUBLISH_MIN_INTERVAL" in result.stderr
    assert world.made == []


def test_min_interval_skips_the_network_posted_to_lately_and_the_others_post(world: World) -> None:
    synced(world)
    env = {"PIERROT_PUBLISH_MIN_INTERVAL": "20h"}
    assert run("publish", "--network", "x", env=env).exit_code == 0

    result = run("publish", "--network", "x", "--network", "bluesky", env=env)

    assert result.exit_code == 0, result.output
    skipped, url = result.stdout.splitlines()
    assert skipped.startswith("X: last post ") and skipped.endswith(" ago; min_interval 20 h: not posting")
    assert url.startswith("Bluesky: https://bsky.app/profile/")
    assert len(world.accepted["x"]) == 1 and len(world.accepted["bluesky"]) == 1
    assert world.made == ["x", "bluesky"]  # the first run's X, then this run's Bluesky alone


# ==== check --max-silence, status, resolve ================================================================


def test_check_max_silence_passes_after_a_recent_post(world: World) -> None:
    synced(world)
    assert run("publish").exit_code == 0

    result = run("check", "--max-silence", "1d")

    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.stdout.splitlines() if "last post" in ln]
    assert line.startswith("ok") and "last post on x " in line


def test_check_max_silence_fails_on_a_network_silent_too_long(world: World) -> None:
    synced(world)
    world.write_log(logged(make_photo(1).id, "x", PUBLISHED, 2 * 86400 + 60, post_id="1"),
                    logged(make_photo(2).id, "bluesky", PUBLISHED, 3600, post_id="at://b"))

    result = run("check", "--max-silence", "1d", env={"PIERROT_PUBLISH_NETWORKS": "x,bluesky,mastodon"})

    assert result.exit_code == 1
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL") and "last post" in ln]
    assert "last post on x 2 d ago" in line and "no post ever on mastodon" in line
    assert "longer than --max-silence 1 d" in line
    assert "bluesky" not in line


def test_check_without_max_silence_does_not_look_at_the_last_post(world: World) -> None:
    synced(world)

    assert "last post" not in run("check").stdout
    bad = run("check", "--max-silence", "soon")
    assert bad.exit_code == 2 and "--max-silence" in bad.stderr


def test_status_json_has_each_network_and_the_age_of_the_last_post(world: World) -> None:
    synced(world)
    env = {"PIERROT_PUBLISH_NETWORKS": "x,bluesky"}
    before = json.loads(run("status", "--json", env=env).stdout)
    assert before["last_publish_age_seconds"] is None
    assert before["networks"]["x"]["published"] == before["networks"]["bluesky"]["published"] == 0

    assert run("publish", env=env).exit_code == 0
    state = json.loads(run("status", "--json", env=env).stdout)

    assert list(state["networks"]) == ["x", "bluesky"]
    for figures in state["networks"].values():
        assert (figures["published"], figures["remaining"]) == (1, 4)
        assert figures["last_publish"].endswith("Z")
    assert (state["published"], state["remaining"]) == (1, 4)
    assert isinstance(state["last_publish_age_seconds"], int) and 0 <= state["last_publish_age_seconds"] < 60


def test_status_text_shows_the_figures_of_each_network(world: World) -> None:
    synced(world)
    assert run("publish", "--network", "x").exit_code == 0

    result = run("status", env={"PIERROT_PUBLISH_NETWORKS": "x,bluesky"})

    assert result.exit_code == 0
    rows = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert rows["networks"].strip() == "x, bluesky"
    assert rows["published"].strip() == "1  (x 1, bluesky 0)"
    assert rows["remaining"].strip() == "4  (x 4, bluesky 5)"


def test_resolve_network_bluesky_takes_the_posts_url(world: World) -> None:
    synced(world)
    world.setup = {"bluesky": {"post": PostOutcomeUnknown("Bluesky answered 502")}}
    assert run("publish", "--network", "bluesky").exit_code == 1
    (entry,) = world.log()
    assert entry["status"] == UNKNOWN
    photo = entry["photo_id"]

    wrong = run("resolve", photo, "--network", "bluesky", "--posted", "https://x.com/i/web/status/123")
    assert wrong.exit_code == 2 and "Bluesky" in wrong.stderr
    elsewhere = run("resolve", photo, "--network", "mastodon", "--posted", "123")
    assert elsewhere.exit_code == 2 and "mastodon" in elsewhere.stderr

    result = run("resolve", photo, "--network", "bluesky", "--posted", BLUESKY_POST)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"photo {photo} is now published on bluesky ({BLUESKY_POST})"
    (entry,) = world.log()
    assert (entry["status"], entry["post_id"], entry["post_url"]) == (PUBLISHED, "3kabcdefghij2", BLUESKY_POST)


def test_resolve_network_bluesky_with_the_record_key_alone_builds_the_posts_url(world: World) -> None:
    synced(world)
    world.setup = {"bluesky": {"post": PostOutcomeUnknown("Bluesky answered 502")}}
    assert run("publish", "--network", "bluesky").exit_code == 1
    photo = world.log()[0]["photo_id"]

    result = run("resolve", photo, "--network", "bluesky", "--posted", "3kabcdefghij2",
                 env={"PIERROT_BLUESKY_HANDLE": "someone.bsky.social"})

    assert result.exit_code == 0, result.output
    (entry,) = world.log()
    assert entry["post_url"] == "https://bsky.app/profile/someone.bsky.social/post/3kabcdefghij2"
