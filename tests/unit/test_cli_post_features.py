"""The CLI's side of issue 17: check's bot lines and --fix-bot-label's question, status's description count."""

from __future__ import annotations

import pytest

from pierrot.entrypoints import wiring
from pierrot.entrypoints.cli import cli
from tests.fakes import FakePublisher, cli_run
from tests.unit.test_cli import World, world  # noqa: F401 - the fixture


@pytest.fixture
def unflagged(world: World, monkeypatch: pytest.MonkeyPatch) -> FakePublisher:  # noqa: F811
    publisher = world.publisher()
    publisher.bot = False
    monkeypatch.setattr(wiring, "build_publisher", lambda settings, network="x": publisher)
    return publisher


def bot_line(output: str) -> str:
    return next(line for line in output.splitlines() if " x bot " in f" {line} ")


def test_check_warns_of_an_account_that_does_not_say_it_is_automated(unflagged: FakePublisher) -> None:
    result = cli_run("check")

    assert "does not say it is automated" in bot_line(result.output) and bot_line(result.output).startswith("warn")
    assert "set_bot" not in unflagged.calls


def test_fix_bot_label_asks_and_a_no_changes_nothing(unflagged: FakePublisher) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["check", "--fix-bot-label"], input="n\n")

    assert "Mark the X account as automated (a bot)? [y/N]" in result.output
    assert unflagged.bot is False and "set_bot" not in unflagged.calls


def test_fix_bot_label_with_yes_sets_it_without_asking(unflagged: FakePublisher) -> None:
    result = cli_run("check", "--fix-bot-label", "--yes")

    assert "[y/N]" not in result.output
    assert "the account now says it is automated" in bot_line(result.output)
    assert unflagged.bot is True


def test_status_says_how_many_photos_have_no_description(
    world: World, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    assert cli_run("sync").exit_code == 0
    monkeypatch.setenv("PIERROT_PUBLISH_REQUIRE_DESCRIPTION", "true")

    result = cli_run("status")

    assert "remaining:    0  (5 have no description and are not chosen)" in result.output, result.output
    assert "no description" not in cli_run("status", env={"PIERROT_PUBLISH_REQUIRE_DESCRIPTION": "false"}).output
