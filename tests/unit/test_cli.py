"""The commands as a user runs them, through click's CliRunner, with fakes behind the ports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pierrot.domain import LOG_DOCUMENT
from pierrot.entrypoints import wiring
from pierrot.entrypoints.cli import cli
from pierrot.errors import PostOutcomeUnknown, PostRefused
from tests.fakes import FakeFetcher, FakeFlickr, FakePublisher, isolated_settings, make_photo
from tests.fakes import cli_run as run

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
    isolated_settings(monkeypatch, tmp_path,
                      {"PIERROT_STORE": str(w.store), "PIERROT_FLICKR_USER": "12345678@N00", **SECRETS})
    monkeypatch.setattr(wiring, "build_source", lambda settings: w.flickr)
    monkeypatch.setattr(wiring, "build_fetcher", lambda settings: w.fetcher)
    monkeypatch.setattr(wiring, "build_publisher", lambda settings, network="x": w.publisher())
    return w


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


# ---- API URLs: https only ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["PIERROT_FLICKR_API_URL", "PIERROT_X_API_URL"])
def test_a_plain_http_api_url_off_this_machine_exits_2_naming_the_setting(world: World, name: str) -> None:
    result = run("status", env={name: "http://api.example.com/"})
    assert result.exit_code == 2
    assert name in result.stderr and "https" in result.stderr
    assert "Traceback" not in result.output


# ---- nothing printed acts on the terminal --------------------------------------------------------

HOSTILE = "Boats\x1b]0;owned\x07\x1b[2J\u202eevil\x9b\x7f"


def assert_inert(text: str) -> None:
    for char in ("\x1b", "\x07", "\u202e", "\x9b", "\x7f"):
        assert char not in text, repr(text)


def test_titles_with_terminal_escapes_are_shown_escaped(world: World) -> None:
    world.flickr.items = [make_photo(1, title=HOSTILE)]
    run("sync")
    dry = run("publish", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert_inert(dry.output)
    assert "\\x1b]0;owned\\x07" in dry.stdout and "\\u202e" in dry.stdout
    assert run("publish").exit_code == 0
    history = run("history")
    assert_inert(history.output)
    assert "Boats\\x1b" in history.stdout
    as_json = run("history", "--json")
    assert_inert(as_json.output)
    assert json.loads(as_json.stdout)[0]["title"] == HOSTILE, "the JSON still carries the exact title"


def test_an_error_line_from_flickr_cannot_clear_the_screen(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from pierrot.errors import FlickrError

    def refuse(nsid: str) -> Any:
        raise FlickrError(f"Flickr said: {HOSTILE}\nsecond line")

    monkeypatch.setattr(world.flickr, "summary", refuse)
    result = run("sync")
    assert result.exit_code == 1
    assert_inert(result.output)
    assert result.stderr.count("\n") == 1, "one error, one line"
    assert "\\x1b[2J" in result.stderr


def test_status_and_check_show_a_hostile_store_path_escaped(world: World, tmp_path: Path) -> None:
    store = tmp_path / "st\x1b[2Jore"
    assert run("--store", str(store), "sync").exit_code == 0
    for args in (("status",), ("check", "--no-x")):
        result = run("--store", str(store), *args)
        assert result.exit_code == 0, result.output
        assert_inert(result.output)
        assert "st\\x1b[2Jore" in result.stdout


# ---- -q hides success, never warnings; check fails on what would go unnoticed --------------------


def test_quiet_still_prints_warnings(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "pierrot.toml"
    key = SECRETS["PIERROT_FLICKR_API_KEY"]
    config.write_text(f'[publish]\ntempalte = "{{title}} ({{year}})"\n[flickr]\napi_key = "{key}"\n')
    config.chmod(0o644)
    monkeypatch.delenv("PIERROT_FLICKR_API_KEY")
    result = run("-q", "--config", str(config), "sync")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "'tempalte'" in result.stderr and "did you mean 'template'" in result.stderr
    assert "chmod 600" in result.stderr
    assert SECRETS["PIERROT_FLICKR_API_KEY"] not in result.output


def test_check_fails_on_an_unknown_key_in_the_config_file(world: World, tmp_path: Path) -> None:
    run("sync")
    config = tmp_path / "pierrot.toml"
    config.write_text('[publish]\ntempalte = "{title}"\n')
    config.chmod(0o600)
    result = run("--config", str(config), "check", "--no-x")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "'tempalte'" in result.stdout and "'template'" in result.stdout
    assert result.stderr == "", "check says it once, as a FAIL line"


def env_file(path: Path, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# pierrot\nPIERROT_FLICKR_USER=someone\nexport PIERROT_X_API_KEY=x-key-SECRET-3333\n")
    path.chmod(mode)
    return path


def test_check_fails_on_an_env_file_with_secrets_others_can_read(world: World, tmp_path: Path) -> None:
    run("sync")
    path = env_file(tmp_path / "config" / "pierrot" / "env", 0o644)
    result = run("check", "--no-x")
    assert result.exit_code == 1
    assert str(path) in result.stdout and "PIERROT_X_API_KEY" in result.stdout and "chmod 600" in result.stdout
    assert "x-key-SECRET-3333" not in result.output
    quiet_sync = run("-q", "sync")
    assert quiet_sync.exit_code == 0 and "chmod 600" in quiet_sync.stderr, "every run warns, -q or not"
    path.chmod(0o600)
    assert run("check", "--no-x").exit_code == 0
    assert run("-q", "sync").stderr == ""


def test_check_reads_the_env_file_pierrot_env_file_names(world: World, tmp_path: Path) -> None:
    run("sync")
    path = env_file(tmp_path / "elsewhere.env", 0o640)
    result = run("check", "--no-x", env={"PIERROT_ENV_FILE": str(path)})
    assert result.exit_code == 1 and str(path) in result.stdout
    missing = run("check", "--no-x", env={"PIERROT_ENV_FILE": str(tmp_path / "nope.env")})
    assert missing.exit_code == 1 and "nope.env" in missing.stdout


# ---- --help, -V, NO_COLOR ------------------------------------------------------------------------


def test_help_lists_every_setting_and_the_repeatable_options() -> None:
    from pierrot.config import SPECS

    text = run("--help").stdout
    for spec in SPECS:
        assert spec.env in text, spec.env
    assert "PIERROT_CONFIG" in text and "PIERROT_ENV_FILE" in text
    assert "--include-tag" in text and "--license" in text
    assert "repeatable" in run("publish", "--help").stdout


def test_dash_capital_v_prints_the_version() -> None:
    from pierrot import __version__

    result = run("-V")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_does_not_import_the_service() -> None:
    # The list of settings needs the networks' modules (each declares its settings), never the service.
    import subprocess
    import sys

    code = (
        "import sys\nfrom pierrot.entrypoints.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pierrot.service', 'pierrot.adapters.stores', "
        "'pierrot.adapters.flickr', 'pierrot.adapters.images'))), "
        "'boto3' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "PIERROT_PUBLISH_TEMPLATE" in done.stdout and "PIERROT_MASTODON_URL" in done.stdout
    assert done.stderr.strip() == "[] False", done.stderr


def test_no_color_means_no_colour_even_on_a_terminal(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    run("sync")
    run("publish")
    for args in (("history",), ("check", "--no-x")):
        coloured = CliRunner().invoke(cli, list(args), color=True)
        assert "\x1b[" in coloured.stdout, "the test's terminal does take colour"
        plain = CliRunner().invoke(cli, list(args), color=True, env={"NO_COLOR": "1"})
        assert plain.exit_code == 0
        assert "\x1b[" not in plain.stdout


# ---- check names every missing setting at once ---------------------------------------------------


def test_check_names_every_missing_setting_in_one_line(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIERROT_FLICKR_USER", "PIERROT_X_API_KEY", "PIERROT_X_ACCESS_TOKEN_SECRET"):
        monkeypatch.delenv(name)
    result = run("check")
    assert result.exit_code == 1
    (line,) = [ln for ln in result.stdout.splitlines() if " settings " in ln]
    assert "FAIL" in line
    for name, key in (("PIERROT_FLICKR_USER", "user in [flickr]"), ("PIERROT_X_API_KEY", "api_key in [x]"),
                      ("PIERROT_X_ACCESS_TOKEN_SECRET", "access_token_secret in [x]")):
        assert name in line and key in line


# ---- resolve takes the post's URL too ------------------------------------------------------------


@pytest.fixture
def unknown_photo(world: World) -> str:
    run("sync")
    world.publisher_setup = {"post": PostOutcomeUnknown("X answered 503")}
    run("publish")
    return str(world.log()["entries"][0]["photo_id"])


@pytest.mark.parametrize(
    "given",
    [
        "1234567890123456789",
        "https://x.com/i/web/status/1234567890123456789",
        "https://x.com/someone_photos/status/1234567890123456789?s=20",
        "https://twitter.com/someone/status/1234567890123456789",
        "https://mobile.twitter.com/someone/status/1234567890123456789/photo/1",
        "x.com/someone/status/1234567890123456789",
    ],
)
def test_resolve_takes_the_post_id_or_its_url(world: World, unknown_photo: str, given: str) -> None:
    result = run("resolve", unknown_photo, "--posted", given)
    assert result.exit_code == 0, result.output
    entry = world.log()["entries"][0]
    assert entry["status"] == "published" and entry["post_id"] == "1234567890123456789"


@pytest.mark.parametrize(
    "given",
    [
        "https://example.com/someone/status/123",
        "https://x.com/someone",
        "https://x.com/someone/status/abc",
        "ftp://x.com/i/web/status/123",
        "https://x.com.evil.example/i/web/status/123",
        "١٢٣",
    ],
)
def test_resolve_refuses_anything_else_with_exit_2(world: World, unknown_photo: str, given: str) -> None:
    result = run("resolve", unknown_photo, "--posted", given)
    assert result.exit_code == 2
    assert "post id" in result.stderr and "URL" in result.stderr
    assert world.log()["entries"][0]["status"] == "unknown"


def test_quiet_still_shows_a_logged_warning_escaped(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    summary = world.flickr.summary

    def warn_then_answer(nsid: str) -> Any:
        logging.getLogger("pierrot.adapters.flickr").warning("odd answer: %s", "\x1b[2J")
        return summary(nsid)

    monkeypatch.setattr(world.flickr, "summary", warn_then_answer)
    result = run("-q", "sync")
    assert result.exit_code == 0 and result.stdout == ""
    assert "odd answer: \\x1b[2J" in result.stderr
    assert_inert(result.stderr)


def test_check_warns_when_the_lease_is_shorter_than_the_longest_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("sync")
    enough = run("check")
    assert enough.exit_code == 0 and "lease" in enough.stdout
    assert not [line for line in enough.stdout.splitlines() if line.startswith("warn")]
    monkeypatch.setenv("PIERROT_HTTP_TIMEOUT", "120")
    monkeypatch.setenv("PIERROT_PUBLISH_LEASE_SECONDS", "300")
    short = run("check")
    assert short.exit_code == 0, "a warning, not a failure"
    (line,) = [line for line in short.stdout.splitlines() if line.startswith("warn")]
    assert "PIERROT_PUBLISH_LEASE_SECONDS" in line and "at least 510" in line
