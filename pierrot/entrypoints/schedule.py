"""The schedule `pierrot init` offers: crontab lines with this pierrot's full path, or systemd user timers."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click

from pierrot.config import default_config_path

TIMERS = ("pierrot-sync.timer", "pierrot-publish.timer")


def executable() -> str:
    """The absolute path of the running pierrot (cron's PATH is only /usr/bin:/bin)."""
    argv0 = Path(sys.argv[0])
    if argv0.name.startswith("pierrot") and argv0.exists():
        return os.path.abspath(argv0)
    return shutil.which("pierrot") or os.path.abspath(argv0)


def _command(config_path: Path) -> str:
    command = shlex.quote(executable())
    if config_path != default_config_path(os.environ):
        command += f" --config {shlex.quote(str(config_path))}"
    return command


def crontab_lines(config_path: Path) -> str:
    """What to add with `crontab -e`: a daily sync, a weekly full sync, a weekly publish, a daily check."""
    pierrot = _command(config_path)
    log = '"$HOME/.local/state/pierrot/cron.log"'
    return "\n".join([
        f"17 4 * * * {pierrot} -q sync 2>&1 | tee -a {log}",
        f"47 4 * * 0 {pierrot} -q sync --full 2>&1 | tee -a {log}",
        f"0 9 * * 1 {pierrot} -q publish --jitter 45m 2>&1 | tee -a {log}",
        "# After the first publish (until then it fails with `no post ever`): a daily check that says when posts stop.",
        f"# 0 12 * * * {pierrot} -q check --max-silence 8d 2>&1 | tee -a {log}",
    ])


def units(config_path: Path) -> dict[str, str]:
    """The systemd user units docs/operations.md recommends, with this pierrot's path (no env file needed)."""
    pierrot = _command(config_path)

    def timer(what: str, calendar: str, extra: str = "") -> str:
        return (f"[Unit]\nDescription=pierrot {what}\n\n[Timer]\nOnCalendar={calendar}\n{extra}Persistent=true\n\n"
                "[Install]\nWantedBy=timers.target\n")

    return {
        "pierrot-sync.service": "[Unit]\nDescription=pierrot: bring the Flickr catalogue up to date\n\n"
                                f"[Service]\nType=oneshot\nExecStart={pierrot} -q sync\n",
        "pierrot-sync.timer": timer("sync, daily", "*-*-* 04:17:00"),
        "pierrot-publish.service": "[Unit]\nDescription=pierrot: post one never-posted photo to each network\n\n"
                                   f"[Service]\nType=oneshot\nExecStart={pierrot} -q publish\n"
                                   "# No Restart=: a retry after a failure on one network would post a second photo "
                                   "on the others.\n",
        "pierrot-publish.timer": timer("publish, weekly", "Mon *-*-* 09:00:00", "RandomizedDelaySec=45m\n"),
    }


def install_units(config_path: Path) -> None:
    """Write the units and enable their timers; without systemctl, say what to run (a warning, not a failure)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    base.mkdir(parents=True, exist_ok=True)
    for name, text in units(config_path).items():
        (base / name).write_text(text, encoding="utf-8")
    click.echo(f"wrote {', '.join(units(config_path))} in {base}")
    commands = [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", *TIMERS]]
    for command in commands:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            failure = str(exc)
        else:
            if done.returncode == 0:
                continue
            failure = ((done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"])[-1]
        click.echo(f"pierrot: warning: `{shlex.join(command)}` failed ({failure}); run yourself: "
                   + " && ".join(shlex.join(c) for c in commands), err=True)
        return
    click.echo("enabled " + " and ".join(TIMERS) + " (`loginctl enable-linger $USER` runs them while logged out)")


def offer(*, systemd: bool, config_path: Path) -> None:
    """Print the crontab lines, or with ``systemd`` write and enable the timers."""
    if systemd:
        install_units(config_path)
        return
    click.echo("\nThe schedule: add these lines with `crontab -e` (after `mkdir -p ~/.local/state/pierrot`),\n"
               "or run `pierrot init --systemd` for systemd user timers:\n")
    click.echo(crontab_lines(config_path) + "\n")
