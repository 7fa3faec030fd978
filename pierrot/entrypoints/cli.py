"""The command line: parse options, build settings, call the service, render the result."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pierrot import __version__
from pierrot.adapters.networks import names
from pierrot.entrypoints.post_lines import post_extras
from pierrot.entrypoints.terminal import App, _clean, _paint
from pierrot.errors import EXIT_FAILURE, PierrotError

if TYPE_CHECKING:
    from pierrot.adapters.networks import Network
    from pierrot.config import Settings

# The service, the settings and logging are imported by the commands that use them, not here:
# `pierrot --help` should cost little more than starting click (its list of settings imports config.py alone).


class PierrotGroup(click.Group):
    """Turns pierrot's exceptions into one clear line and the documented exit code."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Written only when help is shown; config.py is cheap to import, the service is never imported here.
        from pierrot.config import LOCATION_SETTINGS, SPECS

        rows = [(s.env, f"[{s.section}] {s.key}: {s.help}" + (" (secret)" if s.secret else "")) for s in SPECS]
        rows += LOCATION_SETTINGS
        with formatter.section("Settings (option, else environment variable, else config file [section] key)"):
            formatter.write_dl(rows)
        formatter.write_paragraph()
        formatter.write_text(
            "Defaults and details: the Settings section of README.md. Options that take a value more than "
            "once: publish --include-tag, --exclude-tag and --license (repeat the option). NO_COLOR set: no colour."
        )

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PierrotError as exc:
            click.echo(f"pierrot: error: {_clean(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("pierrot: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`pierrot history | head`): nothing left to say to anyone.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_FAILURE)
        except Exception as exc:  # an unexpected failure still gets one line, not a traceback
            verbose = isinstance(ctx.obj, App) and ctx.obj.verbose
            if verbose:
                import traceback

                click.echo(_clean(traceback.format_exc(), multiline=True), err=True)
            click.echo(
                f"pierrot: error: unexpected {type(exc).__name__}: {_clean(str(exc))}"
                + ("" if verbose else " (run with -v for details)"),
                err=True,
            )
            ctx.exit(EXIT_FAILURE)


pass_app = click.make_pass_decorator(App)


@click.group(cls=PierrotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", metavar="URL", help="s3://bucket[/prefix], file:///dir or a folder  [env: PIERROT_STORE]")
@click.option("--config", "config_path", metavar="PATH", help="TOML config file  [env: PIERROT_CONFIG]")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, including HTTP calls (secrets redacted).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success; warnings and errors still go to stderr.")
@click.version_option(__version__, "-V", "--version", prog_name="pierrot")
@click.pass_context
def cli(ctx: click.Context, store: str | None, config_path: str | None, verbose: bool, quiet: bool) -> None:
    """Keep a catalogue of a Flickr photostream and post never-posted photos to social networks.

    Exit codes: 0 success, 1 operational failure, 2 usage or configuration error, 3 nothing left to publish.
    """
    from pierrot.logs import setup_logging

    def load() -> Settings:
        # Imported when a command needs its settings: config.py imports every network's module (for their specs).
        from pierrot.config import load_settings

        return load_settings(cli={"store": store}, config_path=config_path)

    setup_logging(verbose=verbose)
    ctx.obj = App(load, verbose=verbose, quiet=quiet)


@contextmanager
def _progress(app: App, label: str) -> Iterator[Callable[[int, int], None] | None]:
    if app.quiet or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:
        def update(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        yield update


@cli.command()
@click.option("--full", is_flag=True, help="List every photo again (catches edited titles and tags).")
@pass_app
def sync(app: App, full: bool) -> None:
    """Mirror the photostream into the catalogue; only what changed, unless --full."""
    from pierrot import service
    from pierrot.entrypoints import wiring

    app.settings.require(*wiring.FLICKR_SETTINGS)
    store = wiring.build_store(app.settings)
    source = wiring.build_source(app.settings)
    with _progress(app, "listing Flickr") as progress:
        report = service.sync(store, source, app.settings.flickr_user, full=full, progress=progress)
    for line in report.warnings:
        app.warn(line)
    app.say(report.summary())


@cli.command()
@click.option("--dry-run", is_flag=True, help="Choose, download and compose, but post and write nothing.")
@click.option("--photo", "photo_id", metavar="ID", help="Publish this photo rather than a random one.")
@click.option("--force", is_flag=True, help="With --photo: post it even if it was published before.")
@click.option("--output", "output_dir", type=click.Path(file_okay=False, path_type=Path), help="Keep the image here.")
@click.option("--include-tag", "include_tags", multiple=True, metavar="TAG",
              help="Only photos with any such tag; repeatable.")
@click.option("--exclude-tag", "exclude_tags", multiple=True, metavar="TAG",
              help="Never photos with such a tag; repeatable.")
@click.option("--taken-after", metavar="YYYY-MM-DD", help="Only photos taken on or after this date.")
@click.option("--taken-before", metavar="YYYY-MM-DD", help="Only photos taken on or before this date.")
@click.option("--uploaded-after", metavar="YYYY-MM-DD", help="Only photos uploaded on or after this date.")
@click.option("--license", "licenses", multiple=True, metavar="ID",
              help="Only photos under this Flickr license id; repeatable.")
@click.option("--link/--no-link", default=None, help="Add the Flickr page link to the post (costs more on X).")
@click.option("--network", "networks", multiple=True, metavar="NAME",
              help=f"Post to this network ({', '.join(names())}) instead of [publish] networks; repeatable.")
@click.option("--prefer", metavar="MODE", type=click.Choice(["random", "anniversary", "season", "popular"]),
              help="How to choose: random, anniversary, season or popular (instead of [publish] prefer).")
@click.option("--jitter", metavar="DURATION",
              help="Wait a random time up to DURATION (e.g. 45m) before choosing; a dry run never waits.")
@pass_app
def publish(app: App, /, dry_run: bool, photo_id: str | None, force: bool, output_dir: Path | None,
            jitter: str | None, **overrides: Any) -> None:
    """Post one never-posted photo to each network with alt text, and print the posts' URLs."""
    from pierrot import service
    from pierrot.domain.durations import parse_duration
    from pierrot.entrypoints import wiring

    if force and not photo_id:
        raise click.UsageError("--force only applies with --photo ID")
    for name in overrides["networks"]:
        _network(name, "--network")
    settings = app.settings.with_cli_overrides(overrides)
    if not dry_run:
        settings.require(*wiring.publish_settings(settings))
    run = {"photo_id": photo_id, "force": force, "dry_run": dry_run, "output_dir": output_dir,
           "jitter": parse_duration(jitter, "--jitter") if jitter else None}
    report = service.publish(
        wiring.build_store(settings),
        wiring.build_fetcher(settings),
        lambda network: wiring.build_publisher(settings, network),
        wiring.publish_options(settings, **run),
    )
    _answer_publish(app, report)


def _answer_publish(app: App, report: Any) -> None:
    """The report as lines and an exit code: a one-network run's failure as any error; several, a line each, exit 1."""
    failed = report.failed
    if len(report.results) == 1 and failed and failed[0].failure is not None:
        raise failed[0].failure  # its own line and exit code (2 for its settings), through PierrotGroup
    _show_publish(app, report)
    for result in failed:
        click.echo(f"pierrot: error: {_clean(f'{result.display}: {result.error}')}", err=True)
    if failed:
        raise click.exceptions.Exit(EXIT_FAILURE)


def _show_publish(app: App, report: Any) -> None:
    """What a publish did: the posts' URLs, or in a dry run what each network would get."""
    for line in report.warnings:
        app.warn(line)
    for note in dict.fromkeys([*report.notes, *(line for r in report.results for line in r.settled)]):
        app.say(note)
    for result in report.results:
        if result.skipped:
            app.say(result.skipped)
    if not report.dry_run:
        for result in report.results:
            if result.post is not None:
                app.say(result.post.url if len(report.results) == 1 else f"{result.display}: {result.post.url}")
        return
    photo = report.photo
    app.say(f"photo:     {photo.id}  {photo.title or '(untitled)'}")
    app.say(f"page:      {photo.page_url}")
    app.say(f"chosen:    {report.rule}: {report.why}")
    shown = [r for r in report.results if not r.skipped and r.image is not None]
    # One network: its lines at the top level, as they always were; several: a block each.
    indent = "  " if len(shown) > 1 else ""
    for result in shown:
        image = result.image
        if indent:
            app.say(f"{result.display}:")
        else:
            app.say(f"network:   {result.display}")
        app.say(f"{indent}size:      {image.size_label} ({image.width}x{image.height}), {image.nbytes:,} bytes")
        app.say(f"{indent}text:      {result.length}/{result.limit} {result.unit}")
        for line in result.text.split("\n"):
            app.say(f"{indent}  {line}")
        if result.alt_text is None:
            app.say(f"{indent}alt text:  (switched off)")
        else:
            app.say(f"{indent}alt text:  {len(result.alt_text)}/{result.alt_limit} characters")
            for line in result.alt_text.split("\n"):
                app.say(f"{indent}  {line}")
        for line in [*post_extras(result), *result.carried_lines()]:  # and the post's other photos
            app.say(f"{indent}{line}")
    if report.saved_to:
        app.say(f"saved to:  {report.saved_to}")
    app.say("dry run: nothing was posted or written")


def _when(text: str | None) -> str:
    return text or "never"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """Photos in the catalogue, published, remaining, and what needs a look, over each network."""
    from pierrot import service
    from pierrot.entrypoints import wiring

    state = service.status(wiring.build_store(app.settings), app.settings.filters, networks=app.settings.networks)
    if as_json:
        click.echo(json.dumps(state.to_dict(), indent=2))
        return
    several = len(state.networks) > 1

    def by_network(figure: str) -> str:
        total = str(getattr(state, figure))
        if not several:
            return total
        return total + "  (" + ", ".join(f"{name} {getattr(n, figure)}" for name, n in state.networks.items()) + ")"

    last = _when(state.last_publish) + (f"  ({_age(state.last_publish_age)} ago)" if state.last_publish_age else "")
    rows = [
        ("store", state.store),
        ("networks", ", ".join(state.networks)),
        ("photos", f"{state.photos}" + ("" if state.catalogue_present else "  (no catalogue: run `pierrot sync`)")),
        ("published", by_network("published")),
        ("remaining", by_network("remaining") + (f"  ({state.undescribed} have no description and are not chosen)"
                                                 if state.undescribed else "")),
        ("unknown", by_network("unknown") + ("  (see `pierrot history`, then `pierrot resolve`)" if state.unknown
                                             else "")),
        ("failed", by_network("failed")),
        ("pending", ", ".join(f"{p['photo_id']} on {p['network']} ({p['age_seconds']}s)" for p in state.pending)
         or "none"),
        ("last sync", _when(state.last_sync)),
        ("last publish", last),
    ]
    for key, value in rows:
        click.echo(f"{key + ':':<14}{_clean(value)}")


def _age(seconds: int | None) -> str:
    from pierrot.domain.durations import format_age

    return format_age(seconds or 0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the newest N entries.")
@pass_app
def history(app: App, as_json: bool, limit: int | None) -> None:
    """The publish log, newest first."""
    from pierrot import service
    from pierrot.entrypoints import wiring

    items = service.history(wiring.build_store(app.settings), limit=limit)
    if as_json:
        from pierrot.logs import printable_json

        click.echo(printable_json(json.dumps([i.to_dict() for i in items], indent=2, ensure_ascii=False)))
        return
    if not items:
        click.echo("the publish log is empty")
        return
    colours = {"published": "green", "failed": "yellow", "unknown": "red", "pending": "cyan"}
    for item in items:
        title = _clean(item.title or "(untitled)")[:40 - 10 * bool(item.also)] + (
            f" +{len(item.also)} photos" if item.also else "")
        where = _clean(item.post_url or (item.reason or ""))
        status_cell = _paint(f"{_clean(item.status):<10}", fg=colours.get(item.status))
        click.echo(f"{_clean(item.when):<21}{_clean(item.photo_id):<14}{_clean(item.network):<9}{status_cell}"
                   f"{title:<42}{where}")


def _network(name: str, option: str) -> Network:
    """The network an option names; an unknown one is one line and exit code 2."""
    from pierrot.adapters import networks

    try:
        return networks.get(name)
    except PierrotError as exc:
        raise type(exc)(f"{option}: {exc}") from None


def _skip_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--no-NAME`` for each network, the older spelling of ``--skip NAME`` (``check --no-x`` in scripts)."""
    for name in names():
        command = click.option(f"--no-{name}", f"no_{name}", is_flag=True, hidden=True)(command)
    return command


@cli.command()
@click.option("--skip", "skip", multiple=True, metavar="NAME",
              help="Skip this network's credentials check; repeatable (--no-NAME is the same).")
@_skip_flags
@click.option("--max-silence", metavar="DURATION",
              help="Also fail when no post succeeded within DURATION (e.g. 8d): an alarm for a stopped schedule.")
@click.option("--fix-bot-label", is_flag=True, help="Mark each account as automated where the API allows (asks).")
@click.option("--yes", is_flag=True, help="With --fix-bot-label: do not ask.")
@pass_app
def check(app: App, /, skip: tuple[str, ...], max_silence: str | None, fix_bot_label: bool, yes: bool,
          **no_flags: bool) -> None:
    """Verify the setup without changing anything; exit 0 only if every check passes."""
    skip = (*skip, *(name for name in names() if no_flags[f"no_{name}"]))
    for name in skip:
        _network(name, "--skip")
    from pierrot import service
    from pierrot.domain.durations import parse_duration
    from pierrot.entrypoints import wiring

    silence = parse_duration(max_silence, "--max-silence") if max_silence else None
    app.warn_about_settings = False
    fix = (lambda question: yes or click.confirm(question, err=True)) if fix_bot_label else None
    results = service.run_checks(wiring.build_checks(app.settings, skip=skip, max_silence=silence, fix_bot=fix))
    width = max(len(r.name) for r in results) + 2
    for result in results:
        mark = (_paint("warn", fg="yellow") if result.warning else _paint("ok  ", fg="green") if result.ok
                else _paint("FAIL", fg="red", bold=True))
        click.echo(f"{mark} {_clean(result.name):<{width}}{_clean(result.detail)}")
    if not all(r.ok for r in results):
        raise click.exceptions.Exit(EXIT_FAILURE)


@cli.command()
@click.argument("photo_id")
@click.option("--posted", "post", metavar="POST_ID|URL", help="It was posted, as this post (its id or its URL).")
@click.option("--not-posted", is_flag=True, help="It was not posted: make the photo eligible again.")
@click.option("--network", metavar="NAME", default=names()[0], show_default=True,
              help=f"The network whose entry to settle: {', '.join(names())}.")
@pass_app
def resolve(app: App, photo_id: str, post: str | None, not_posted: bool, network: str) -> None:
    """Settle an unknown (or stale pending) publish after checking your account."""
    from pierrot import service
    from pierrot.entrypoints import wiring

    if bool(post) == not_posted:
        raise click.UsageError("give exactly one of --posted POST_ID or --not-posted")
    known = _network(network, "--network")
    try:
        ref = known.read_post(post, app.settings.values) if post else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--posted") from None
    entry = service.resolve(wiring.build_store(app.settings), photo_id, posted=ref.id if ref else None,
                            network=network, post_url=ref.url if ref else None,
                            lease_seconds=app.settings.lease_seconds)
    app.say(f"photo {photo_id} is now {entry.status} on {network}" + (f" ({entry.post_url})" if entry.post_url
                                                                       else ""))


@cli.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default="pierrot-gallery.html",
              show_default=True, help="Write the page here.")
@click.option("--upload", is_flag=True, help="Put the page next to the documents in S3; print a link valid a day.")
@pass_app
def gallery(app: App, output: Path, upload: bool) -> None:
    """Write one web page of the posted photos, newest first, with a link to each post."""
    from pierrot.entrypoints import gallery_html, wiring

    store = wiring.build_store(app.settings)
    if upload and not isinstance(store, gallery_html.PageHost):
        raise click.UsageError(f"--upload needs an S3 store; {store.location} is a folder: open the file instead")
    page = gallery_html.build(store, app.settings)
    app.say(gallery_html.upload(store, page) if upload else str(gallery_html.write_file(output, page)))


@cli.command()
@click.option("--yes", is_flag=True, help="Ask nothing: each answer from its PIERROT_* variable (exit 2 if missing).")
@click.option("--networks", "networks_option", metavar="NAMES", help=f"The networks to set up: {', '.join(names())}.")
@click.option("--systemd", is_flag=True, help="Write and enable systemd user timers instead of printing crontab lines.")
@click.option("--no-check", is_flag=True, help="Do not run `pierrot check` afterwards.")
@click.pass_context
def init(ctx: click.Context, yes: bool, networks_option: str | None, systemd: bool, no_check: bool) -> None:
    """Ask for each setting, verify it live, write the config file; then the schedule and a check."""
    from pierrot.entrypoints import init as setup
    from pierrot.entrypoints import schedule

    path = setup.run(config_path=ctx.find_root().params["config_path"], yes=yes, networks_option=networks_option)
    schedule.offer(systemd=systemd, config_path=path)
    if not no_check:
        ctx.invoke(check, skip=(), max_silence=None, **{f"no_{name}": False for name in names()})
