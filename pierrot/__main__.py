"""Entry point: ``pierrot`` and ``python -m pierrot``."""

from __future__ import annotations

from pierrot.entrypoints.cli import cli


def main() -> None:
    """Run the CLI; exit codes are part of the interface (see ``pierrot --help``)."""
    cli.main(prog_name="pierrot")


if __name__ == "__main__":
    main()
