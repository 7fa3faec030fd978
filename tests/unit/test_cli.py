"""The commands as a user runs them, through click's CliRunner, with fakes behind the ports."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pierrot import wiring
from pierrot.cli import cli
from pierrot.domain import LOG_DOCUMENT
from pierrot.errors import PostOutcomeUnknown, PostRefused
from tests.fakes import FakeFetcher, FakeFlickr, FakePublisher, make_photo

SECRETS = {
    "PIERROT_FLICKR_API_KEY": "flickr-key-SECRET-1111",
    "PIERROT_FLICKR_API_SECRET": "flickr-secret-SECRET-2222",
    "PIERROT_X_API_KEY": "x-key-SECRET-3333",
    "PIERROT_X_API_SECRET": "x-secret-SECRET-4444",
    "PIERROT_X_ACCESS_TOKEN": "x-token-SECRET-5555",
    "PIERROT_X_ACCESS_TOKEN_SECRET": "x-token-secret-SECRET-6666",
}


class World:
    """The fakes one CLI test talks to, and a folder store."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = tmp_path / "store"
        self.flickr = FakeFlickr([make_photo(n) for n in range(1, 6)])
        self.fetcher = FakeFetcher()
        self.accepted: list[tuple[str, str]] = []
        self.publishers: list[FakePublisher] = []
        self.publisher_setup: dict[str, Any] = {}

    def publisher(self) -> FakePublisher:
        pub = FakePublisher(self.accepted)
        pub.fail_at.update(self.publisher_setup)
        self.publishers.append(pub)
        return pub

    def log(self) -> dict[str, Any]:
        return json.loads((self.store / LOG_DOCUMENT).read_text())


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(tmp_path)
    for name in list(os.environ):
        if name.startswith("PIERROT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PIERROT_STORE", str(w.store))
    monkeypatch.setenv("PIERROT_FLICKR_USER", "12345678@N00")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(wiring, "build_source", lambda settings: w.flickr)
    monkeypatch.setattr(wiring, "build_fetcher", lambda settings: w.fetcher)
    monkeypatch.setattr(wiring, "build_publisher", lambda settings: w.publisher())
    return w


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_sync_prints_one_summary_line_and_nothing_with_quiet(world: World) -> None:
    first = run("sync")
    assert first.exit_code == 0, first.output
    assert "5 photos" in first.stdout and "5 added" in first.stdout
    assert len(first.stdout.strip().splitlines()) == 1
    quiet = run("-q", "sync")
    assert quiet.exit_code == 0
    assert quiet.stdout == "" and quiet.stderr == ""


def test_no_change_sync_reports_one_flickr_call(world: World) -> None:
    run("sync")
    result = run("sync")
    assert result.exit_code == 0
    assert "no change" in result.stdout and "1 Flickr call" in result.stdout


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("PIERROT_FLICKR_API_KEY", "PIERROT_FLICKR_API_KEY"),
        ("PIERROT_FLICKR_API_SECRET", "PIERROT_FLICKR_API_SECRET"),
        ("PIERROT_FLICKR_USER", "PIERROT_FLICKR_USER"),
    ],
)
def test_sync_without_a_required_setting_exits_2_naming_it(
    world: World, monkeypatch: pytest.MonkeyPatch, missing: str, named: str
) -> None:
    monkeypatch.delenv(missing)
    result = run("sync")
    assert result.exit_code == 2
    assert named in result.stderr and "config.toml" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PIERROT_STORE": "ftp://host/x"}, "PIERROT_STORE"),
        ({"PIERROT_STORE": "s3://"}, "PIERROT_STORE"),
        ({"PIERROT_PUBLISH_LINK": "perhaps"}, "PIERROT_PUBLISH_LINK"),
        ({"PIERROT_PUBLISH_LEASE_SECONDS": "soon"}, "PIERROT_PUBLISH_LEASE_SECONDS"),
        ({"PIERROT_PUBLISH_LEASE_SECONDS": "-5"}, "PIERROT_PUBLISH_LEASE_SECONDS"),
        ({"PIERROT_PUBLISH_TAKEN_AFTER": "last year"}, "PIERROT_PUBLISH_TAKEN_AFTER"),
        ({"PIERROT_HTTP_TIMEOUT": "0"}, "PIERROT_HTTP_TIMEOUT"),
        ({"PIERROT_FLICKR_API_URL": "not a url"}, "PIERROT_FLICKR_API_URL"),
        ({"PIERROT_CONFIG": "/nonexistent/pierrot.toml"}, "/nonexistent/pierrot.toml"),
    ],
)
def test_malformed_setting_exits_2_naming_it(world: World, env: dict[str, str], named: str) -> None:
    result = run("sync", env=env)
    assert result.exit_code == 2, result.output
    assert named in result.stderr
    assert "Traceback" not in result.output


def test_malformed_template_exits_2(world: World) -> None:
    run("sync")
    result = run("publish", "--dry-run", env={"PIERROT_PUBLISH_TEMPLATE": "{title} {nope}"})
    assert result.exit_code == 2
    assert "PIERROT_PUBLISH_TEMPLATE" in result.stderr


def test_config_file_is_read_in_sections_and_env_wins(world: World, tmp_path: Path) -> None:
    config = tmp_path / "pierrot.toml"
    config.write_text(
        '[store]\nurl = "/nowhere/else"\n[flickr]\nuser = "someone"\n[publish]\nlink = true\n'
        'include_tags = ["harbour"]\n'
    )
    config.chmod(0o600)
    result = run("--config", str(config), "sync")
    assert result.exit_code == 0, result.output
    assert (world.store / "pierrot-db.json").exists(), "PIERROT_STORE beats [store] url"


def test_option_beats_environment(world: World, tmp_path: Path) -> None:
    other = tmp_path / "other"
    result = run("--store", str(other), "sync")
    assert result.exit_code == 0
    assert (other / "pierrot-db.json").exists()
    assert not world.store.exists()


def test_config_file_with_secrets_readable_by_others_warns_once(world: World, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIERROT_FLICKR_API_KEY")
    config = tmp_path / "pierrot.toml"
    config.write_text(f'[flickr]\napi_key = "{SECRETS["PIERROT_FLICKR_API_KEY"]}"\n')
    config.chmod(0o644)
    result = run("--config", str(config), "sync")
    assert result.exit_code == 0
    assert result.stderr.count("chmod 600") == 1
    assert SECRETS["PIERROT_FLICKR_API_KEY"] not in result.output


def test_unreadable_toml_exits_2(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[flickr\nuser=")
    result = run("--config", str(config), "status")
    assert result.exit_code == 2
    assert "bad.toml" in result.stderr and "TOML" in result.stderr


def test_publish_prints_the_post_url_and_records_it(world: World) -> None:
    run("sync")
    result = run("publish")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("https://x.com/i/web/status/")
    entries = world.log()["entries"]
    assert [e["status"] for e in entries] == ["published"]
    assert len(world.accepted) == 1


def test_publish_without_x_credentials_exits_2_before_downloading(world: World,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    run("sync")
    monkeypatch.delenv("PIERROT_X_ACCESS_TOKEN")
    result = run("publish")
    assert result.exit_code == 2
    assert "PIERROT_X_ACCESS_TOKEN" in result.stderr
    assert world.fetcher.calls == 0


def test_dry_run_needs_no_x_credentials_and_writes_nothing(world: World, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    run("sync")
    for key in [k for k in SECRETS if k.startswith("PIERROT_X_")]:
        monkeypatch.delenv(key)
    before = {p.name: p.read_bytes() for p in world.store.iterdir()}
    out = tmp_path / "out"
    result = run("publish", "--dry-run", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "weighted" in result.stdout and "alt text" in result.stdout and "bytes" in result.stdout
    assert {p.name: p.read_bytes() for p in world.store.iterdir()} == before
    assert world.publishers == []
    assert len(list(out.iterdir())) == 1


def test_exhausted_archive_exits_3(world: World) -> None:
    world.flickr.items = [make_photo(1), make_photo(2)]
    run("sync")
    assert run("publish").exit_code == 0
    assert run("publish").exit_code == 0
    result = run("publish")
    assert result.exit_code == 3
    assert "published" in result.stderr
    assert len(world.accepted) == 2


def test_publish_before_any_sync_exits_3_and_says_run_sync(world: World) -> None:
    result = run("publish")
    assert result.exit_code == 3
    assert "pierrot sync" in result.stderr


def test_filters_that_exclude_everything_exit_3(world: World) -> None:
    run("sync")
    result = run("publish", "--include-tag", "nosuchtag")
    assert result.exit_code == 3
    assert "filter" in result.stderr


def test_photo_option_and_force(world: World) -> None:
    run("sync")
    pid = world.flickr.items[0].id
    assert run("publish", "--photo", pid).exit_code == 0
    again = run("publish", "--photo", pid)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert run("publish", "--photo", pid, "--force").exit_code == 0
    assert run("publish", "--photo", "999").exit_code == 2
    assert run("publish", "--force").exit_code == 2


def test_rate_limited_post_exits_1_and_the_next_run_posts(world: World) -> None:
    run("sync")
    world.publisher_setup = {"post": PostRefused("X rate limit reached: resets at 10:00", status=429)}
    result = run("publish")
    assert result.exit_code == 1
    assert "resets at" in result.stderr
    assert world.log()["entries"][0]["status"] == "failed"
    world.publisher_setup = {}
    assert run("publish").exit_code == 0


def test_unclear_outcome_is_unknown_then_resolved(world: World) -> None:
    run("sync")
    world.publisher_setup = {"post": PostOutcomeUnknown("X answered 503")}
    result = run("publish")
    assert result.exit_code == 1
    assert "pierrot resolve" in result.stderr
    entry = world.log()["entries"][0]
    assert entry["status"] == "unknown"
    status = json.loads(run("status", "--json").stdout)
    assert status["unknown"] == 1
    resolved = run("resolve", entry["photo_id"], "--posted", "123")
    assert resolved.exit_code == 0
    assert world.log()["entries"][0]["status"] == "published"
    assert run("resolve", entry["photo_id"], "--posted", "1", "--not-posted").exit_code == 2


def test_status_json_has_the_documented_keys(world: World) -> None:
    run("sync")
    run("publish")
    state = json.loads(run("status", "--json").stdout)
    for key in ("photos", "published", "remaining", "unknown", "failed", "last_sync", "last_publish"):
        assert key in state
    assert state["photos"] == 5 and state["published"] == 1 and state["remaining"] == 4
    assert state["last_sync"].endswith("Z") and state["last_publish"].endswith("Z")


def test_history_newest_first(world: World) -> None:
    run("sync")
    run("publish")
    run("publish")
    items = json.loads(run("history", "--json").stdout)
    assert len(items) == 2 and items[0]["when"] >= items[1]["when"]
    assert len(json.loads(run("history", "--json", "--limit", "1").stdout)) == 1
    text = run("history").stdout
    assert "\x1b[" not in text, "no colour when stdout is not a terminal"
    assert "published" in text


def test_check_passes_with_good_setup_and_fails_with_a_reason(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    run("sync")
    ok = run("check")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.count("ok") >= 5
    monkeypatch.delenv("PIERROT_X_API_KEY")
    bad = run("check")
    assert bad.exit_code == 1
    assert "PIERROT_X_API_KEY" in bad.stdout
    assert run("check", "--no-x").exit_code == 0


def test_corrupt_publish_log_is_named_and_never_overwritten(world: World) -> None:
    run("sync")
    world.store.joinpath(LOG_DOCUMENT).write_text("{not json")
    result = run("publish")
    assert result.exit_code == 1
    assert LOG_DOCUMENT in result.stderr
    assert world.store.joinpath(LOG_DOCUMENT).read_text() == "{not json"
    assert world.accepted == []


def test_verbose_output_never_shows_a_secret(world: World) -> None:
    result = run("-v", "sync")
    result2 = run("-v", "publish")
    for res in (result, result2):
        for secret in SECRETS.values():
            assert secret not in res.output


def test_version_and_help() -> None:
    assert run("--version").exit_code == 0
    assert "publish" in run("--help").stdout


def test_readme_lists_every_setting() -> None:
    from pierrot.config import SPECS

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for spec in SPECS:
        assert f"`{spec.env}`" in readme, spec.env
        assert f"[{spec.section}] {spec.key}" in readme, spec.key


def test_a_wrongly_typed_secret_is_not_repeated_back(world: World, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIERROT_FLICKR_API_SECRET")
    config = tmp_path / "c.toml"
    config.write_text("[flickr]\napi_secret = 98765432101234\n")
    config.chmod(0o600)
    result = run("--config", str(config), "sync")
    assert result.exit_code == 2
    assert "api_secret" in result.stderr and "98765432101234" not in result.output


def test_help_works_even_with_a_broken_config_file(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[flickr\n")
    assert run("--config", str(config), "sync", "--help").exit_code == 0
    assert run("--config", str(config), "sync").exit_code == 2


@pytest.mark.parametrize("text", ['store = "{path}"\n', '[store]\npath = "{path}"\n', '[store]\nurl = "{path}"\n'])
def test_the_store_may_be_named_in_the_config_file_as_people_write_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.delenv("PIERROT_STORE")
    target = tmp_path / "from-config"
    config = tmp_path / "c.toml"
    config.write_text(text.format(path=target))
    assert run("--config", str(config), "sync").exit_code == 0
    assert (target / "pierrot-db.json").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "0", "1.5"])
def test_odd_numbers_are_refused_with_the_setting_named(world: World, value: str) -> None:
    env = {"PIERROT_HTTP_TIMEOUT": value} if value != "1.5" else {"PIERROT_PUBLISH_LEASE_SECONDS": value}
    result = run("sync", env=env)
    assert result.exit_code == 2
    assert next(iter(env)) in result.stderr


def test_resolve_wants_a_post_id_of_digits(world: World) -> None:
    run("sync")
    world.publisher_setup = {"post": PostOutcomeUnknown("X answered 503")}
    run("publish")
    pid = world.log()["entries"][0]["photo_id"]
    result = run("resolve", pid, "--posted", "abc def")
    assert result.exit_code == 2 and "post id" in result.stderr
    assert world.log()["entries"][0]["status"] == "unknown"
