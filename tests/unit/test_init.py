"""`pierrot init` through CliRunner: answers from PIERROT_* with --yes or typed at prompts, verified, then written."""

from __future__ import annotations

import dataclasses
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pierrot.adapters.flickr
import pierrot.adapters.networks.x as x_module
from pierrot.config import load_settings
from pierrot.entrypoints.cli import cli
from pierrot.errors import FlickrError, PublishError
from pierrot.ports import StreamSummary
from tests.fakes import isolated_settings

FLICKR = {"PIERROT_FLICKR_API_KEY": "flickr-key-SECRET-1111", "PIERROT_FLICKR_API_SECRET": "flickr-secret-SECRET-2222",
          "PIERROT_FLICKR_USER": "someone"}
X = {"PIERROT_X_API_KEY": "x-key-SECRET-3333", "PIERROT_X_API_SECRET": "x-secret-SECRET-4444",
     "PIERROT_X_ACCESS_TOKEN": "x-token-SECRET-5555", "PIERROT_X_ACCESS_TOKEN_SECRET": "x-token-secret-SECRET-6666"}


class FakeSource:
    refuse = False

    def __init__(self, key: str, secret: str, **kwargs: Any) -> None:
        self.key = key

    def resolve_user(self, user: str) -> str:
        if FakeSource.refuse or self.key != FLICKR["PIERROT_FLICKR_API_KEY"]:
            raise FlickrError("Flickr refused the API key (error 100): check PIERROT_FLICKR_API_KEY")
        return "12345678@N00"

    def summary(self, nsid: str) -> StreamSummary:
        return StreamSummary(42, None, None)


class FakeX:
    def __init__(self, values: dict[str, Any], refuse: bool) -> None:
        self.values, self.refuse = values, refuse

    def whoami(self) -> str:
        if self.refuse or self.values["x_access_token"] != X["PIERROT_X_ACCESS_TOKEN"]:
            raise PublishError("X refused the credentials (HTTP 401): check PIERROT_X_ACCESS_TOKEN")
        return "someone"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolated_settings(monkeypatch, tmp_path, {})
    FakeSource.refuse = False
    monkeypatch.setattr(pierrot.adapters.flickr, "FlickrPhotoSource", FakeSource)
    return tmp_path / "config" / "pierrot" / "config.toml"


def refuse_x(monkeypatch: pytest.MonkeyPatch, refuse: bool = False) -> None:
    monkeypatch.setattr(x_module, "NETWORK", dataclasses.replace(
        x_module.NETWORK, build=lambda values, context: FakeX(dict(values), refuse)))


def init(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["init", "--no-check", *args], env=env, input=input, catch_exceptions=False)


def test_yes_without_a_value_is_exit_2_naming_its_variable(config: Path) -> None:
    result = init("--yes")
    assert result.exit_code == 2
    assert "PIERROT_FLICKR_API_KEY is not set" in result.output
    assert not config.exists()


def test_yes_writes_every_answer_0600_and_pierrot_reads_it_without_the_variables(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_x(monkeypatch)
    result = init("--yes", env={**FLICKR, **X, "PIERROT_PUBLISH_NETWORKS": "x"})
    assert result.exit_code == 0, result.output
    assert "user someone (12345678@N00) has 42 public photos" in result.output
    assert "credentials accepted for @someone" in result.output
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert tomllib.loads(config.read_text())["x"]["access_token"] == X["PIERROT_X_ACCESS_TOKEN"]
    for secret in (*X.values(), FLICKR["PIERROT_FLICKR_API_KEY"]):
        assert secret not in result.output
    assert "[x] access_token" in result.output
    settings = load_settings(env={"XDG_CONFIG_HOME": str(config.parent.parent)})
    assert settings.flickr_user == "someone" and settings.networks == ("x",)
    assert settings.x_api_key == X["PIERROT_X_API_KEY"]


def test_a_refused_credential_leaves_the_config_untouched(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.parent.mkdir(parents=True)
    config.write_text('[publish]\ntemplate = "{title} #photo"\n')
    refuse_x(monkeypatch, refuse=True)
    result = init("--yes", env={**FLICKR, **X, "PIERROT_PUBLISH_NETWORKS": "x"})
    assert result.exit_code == 2
    assert "X refused" in result.output and "PIERROT_X_ACCESS_TOKEN" in result.output
    assert config.read_text() == '[publish]\ntemplate = "{title} #photo"\n'


def test_a_rerun_keeps_what_it_does_not_change_and_names_what_changed(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_x(monkeypatch)
    assert init("--yes", env={**FLICKR, **X, "PIERROT_PUBLISH_NETWORKS": "x"}).exit_code == 0
    config.write_text(config.read_text() + '\n[mastodon]\nvisibility = "unlisted"\n')
    result = init("--yes", env={**FLICKR, "PIERROT_FLICKR_USER": "other"})  # X's answers now come from the file
    assert result.exit_code == 0, result.output
    assert "changed [flickr] user" in result.output.replace(": ", " changed ")  # names only
    document = tomllib.loads(config.read_text())
    assert document["flickr"]["user"] == "other"
    assert document["mastodon"] == {"visibility": "unlisted"}
    assert document["x"]["api_key"] == X["PIERROT_X_API_KEY"]


def test_at_the_prompts_secrets_are_not_echoed_and_a_refusal_is_asked_again(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_x(monkeypatch)
    answers = ["wrong-key", "flickr-secret-SECRET-2222", "someone",  # refused: asked again
               *FLICKR.values(),
               "x", *X.values()]
    result = init(input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Flickr refused" in result.output
    for secret in (*X.values(), FLICKR["PIERROT_FLICKR_API_KEY"], "wrong-key"):
        assert secret not in result.output
    assert tomllib.loads(config.read_text())["flickr"]["api_secret"] == FLICKR["PIERROT_FLICKR_API_SECRET"]


def test_interrupted_prompts_write_nothing(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_x(monkeypatch)
    result = init(input="\n".join(FLICKR.values()) + "\nx\n" + X["PIERROT_X_API_KEY"] + "\n")  # then EOF, like ^D
    assert result.exit_code == 1
    assert not config.exists()


def test_systemd_writes_the_units_and_says_what_to_run_when_systemctl_fails(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from pierrot.entrypoints import schedule

    def no_systemctl(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError(2, "No such file or directory", "systemctl")

    monkeypatch.setattr(subprocess, "run", no_systemctl)
    refuse_x(monkeypatch)
    result = init("--yes", "--systemd", env={**FLICKR, **X, "PIERROT_PUBLISH_NETWORKS": "x"})
    assert result.exit_code == 0, result.output
    units = config.parent.parent / "systemd" / "user"
    service = (units / "pierrot-publish.service").read_text()
    assert f"ExecStart={schedule.executable()} -q publish" in service
    assert "RandomizedDelaySec=45m" in (units / "pierrot-publish.timer").read_text()
    assert sorted(p.name for p in units.iterdir()) == ["pierrot-publish.service", "pierrot-publish.timer",
                                                        "pierrot-sync.service", "pierrot-sync.timer"]
    assert "warning: `systemctl --user daemon-reload` failed" in result.output
    assert "systemctl --user enable --now pierrot-sync.timer pierrot-publish.timer" in result.output


def test_the_crontab_lines_name_this_pierrot_and_a_config_given_elsewhere(tmp_path: Path) -> None:
    from pierrot.entrypoints import schedule

    lines = schedule.crontab_lines(tmp_path / "my config.toml")
    assert f"{schedule.executable()} --config '{tmp_path}/my config.toml' -q sync" in lines
    assert Path(schedule.executable()).is_absolute()
