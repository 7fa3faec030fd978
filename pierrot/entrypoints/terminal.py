"""What every command shares at the terminal: the settings, loaded when first needed, and clean, coloured output."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pierrot.config import Settings


def _clean(text: str, *, multiline: bool = False) -> str:
    """What may reach the terminal: no secret, and no control character left to act on."""
    from pierrot.logs import REDACT as redactor
    from pierrot.logs import printable

    return printable(redactor(text), multiline=multiline)


def _paint(text: str, **style: Any) -> str:
    # https://no-color.org: any non-empty NO_COLOR means no colour, even on a terminal.
    return text if os.environ.get("NO_COLOR") or not style else click.style(text, **style)


class App:
    """What every command needs: the settings (loaded when first needed, so `--help` always works)."""

    def __init__(self, load: Callable[[], Settings], *, verbose: bool, quiet: bool) -> None:
        self._load = load
        self._settings: Settings | None = None
        self.verbose = verbose
        self.quiet = quiet
        # `check` reports the settings' problems as its own lines instead.
        self.warn_about_settings = True

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            settings = self._load()
            settings.verbose, settings.quiet = self.verbose, self.quiet
            from pierrot.logs import REDACT as redactor

            redactor.add(settings.secrets())
            self._settings = settings
            if self.warn_about_settings:
                for line in settings.warnings:
                    self.warn(line)
        return self._settings

    def say(self, text: str = "", **style: Any) -> None:
        """Success output: -q silences it."""
        if not self.quiet:
            click.echo(_paint(_clean(text), **style))

    def warn(self, text: str) -> None:
        """A warning goes to stderr even with -q: under cron it is the only notice anyone gets."""
        click.echo(f"pierrot: warning: {_clean(text)}", err=True)
