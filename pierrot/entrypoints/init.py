"""`pierrot init`: ask for each setting, verify it live, then write the config file (all of it or nothing)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from pierrot.adapters import networks
from pierrot.adapters.networks import Asker, Context, Network
from pierrot.config import SPECS, SPECS_BY_ATTR, default_config_path, load_settings
from pierrot.config_values import check_api_url, convert
from pierrot.entrypoints import config_file
from pierrot.errors import ConfigError, PierrotError

T = TypeVar("T")
TRIES = 3  # at a terminal, a refused answer is asked again this many times in all


class ClickAsker:
    """Asks at the terminal; the default is the answer given before (a refusal asks again), else a PIERROT_*
    variable given at init, else the current value. A secret's answer is never a default."""

    interactive = True

    def __init__(self, given: Mapping[str, str]) -> None:
        self._given = given
        self._answered: dict[str, str] = {}

    def text(self, setting: str, prompt: str, current: str | None = None) -> str:
        default = self._answered.get(setting) or self._given.get(setting) or current or None
        self._answered[setting] = str(click.prompt(prompt, default=default)).strip()
        return self._answered[setting]

    def secret(self, setting: str, prompt: str, current: str | None = None) -> str:
        kept = self._given.get(setting) or current
        if not kept:
            return str(click.prompt(f"{prompt} (hidden)", hide_input=True)).strip()
        answer = str(click.prompt(f"{prompt} (hidden; Enter keeps the current one)", hide_input=True, default="",
                                  show_default=False)).strip()
        return answer or kept

    def choice(self, setting: str, prompt: str, choices: tuple[str, ...], current: str) -> str:
        default = self._answered.get(setting) or self._given.get(setting) or current
        self._answered[setting] = str(click.prompt(prompt, type=click.Choice(choices), default=default))
        return self._answered[setting]

    def confirm(self, prompt: str, default: bool) -> bool:
        return click.confirm(prompt, default=default)

    def echo(self, text: str) -> None:
        click.echo(text)


class GivenAsker:
    """``--yes``: every answer from a PIERROT_* variable, else the current value; none is a ConfigError naming it."""

    interactive = False

    def __init__(self, given: Mapping[str, str]) -> None:
        self._given = given

    def text(self, setting: str, prompt: str, current: str | None = None) -> str:
        value = (self._given.get(setting) or current or "").strip()
        if not value:
            raise ConfigError(f"{setting} is not set: `pierrot init --yes` takes every answer from the environment "
                              f"(export {setting}=...)")
        return value

    def secret(self, setting: str, prompt: str, current: str | None = None) -> str:
        return self.text(setting, prompt, current)

    def choice(self, setting: str, prompt: str, choices: tuple[str, ...], current: str) -> str:
        value = self.text(setting, prompt, current).lower()
        if value not in choices:
            raise ConfigError(f"{setting}={value!r} is not one of {', '.join(choices)}")
        return value

    def confirm(self, prompt: str, default: bool) -> bool:
        return default

    def echo(self, text: str) -> None:
        click.echo(text)


def _verified(ask: Asker, what: str, step: Callable[[], T]) -> T:
    """``step`` (which asks, then verifies live); at a terminal a refusal is said and asked again."""
    for attempt in range(1, TRIES + 1):
        try:
            return step()
        except PierrotError as exc:
            # The adapters' lines mostly name their network already ("X refused the credentials ...").
            line = str(exc) if str(exc).lower().startswith(what.lower()) else f"{what}: {exc}"
            if not ask.interactive:
                raise ConfigError(line) from None
            click.echo(f"  {line}", err=True)
            if attempt == TRIES:
                raise ConfigError(f"{what} refused {TRIES} times; nothing was written") from None
    raise AssertionError


def _given(env: Mapping[str, str], networks_option: str | None) -> dict[str, str]:
    given = {k: v for k, v in env.items() if k.startswith("PIERROT_") and v != ""}
    if networks_option:
        given["PIERROT_PUBLISH_NETWORKS"] = networks_option
    return given


def _current(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The settings as the config file alone gives them (no PIERROT_* variable), defaults elsewhere."""
    if not path.exists():
        return {s.attr: s.default for s in SPECS}
    quiet = {k: v for k, v in env.items() if not k.startswith("PIERROT_")}
    return load_settings(env=quiet, config_path=path).values


def _given_settings(given: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as PIERROT_* variables at init (an API URL, the store...), checked; saved as given."""
    saved = {}
    for spec in SPECS:
        raw = given.get(spec.env)
        if raw is None or spec.secret:
            continue
        value = convert(spec, raw, spec.env)
        if spec.kind == "url":
            check_api_url(spec, value, spec.env)
            value = spec.normalise(value) if spec.normalise else value.rstrip("/")
            saved[spec.attr] = value
        else:
            saved[spec.attr] = raw
    return saved


def _flickr(ask: Asker, values: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    from pierrot.adapters.flickr import FlickrPhotoSource

    def step() -> dict[str, Any]:
        key = ask.secret("PIERROT_FLICKR_API_KEY", "Flickr API key", values.get("flickr_api_key"))
        secret = ask.secret("PIERROT_FLICKR_API_SECRET", "Flickr API secret", values.get("flickr_api_secret"))
        user = ask.text("PIERROT_FLICKR_USER", "Flickr user (NSID, username or the name in your photostream's URL)",
                        values.get("flickr_user"))
        source = FlickrPhotoSource(key, secret, api_url=values["flickr_api_url"], timeout=timeout)
        nsid = source.resolve_user(user)
        total = source.summary(nsid).total
        ask.echo(f"Flickr: user {user}{'' if nsid == user else f' ({nsid})'} has {total} public photos")
        return {"flickr_api_key": key, "flickr_api_secret": secret, "flickr_user": user}

    return _verified(ask, "Flickr", step)


def _networks(ask: Asker, values: Mapping[str, Any]) -> tuple[str, ...]:
    spec = SPECS_BY_ATTR["networks"]

    def step() -> tuple[str, ...]:
        answer = ask.text(spec.env, f"Networks to post to ({', '.join(networks.names())}; comma-separated)",
                          ",".join(values.get("networks") or ()))
        chosen: tuple[str, ...] = convert(spec, answer, spec.env)
        return chosen

    return _verified(ask, "networks", step)


def ask_required(network: Network, ask: Asker, current: Mapping[str, Any], context: Context) -> dict[str, Any]:
    """The generic setup: each required setting, then the credentials verified by the publisher's `whoami`."""
    answers: dict[str, Any] = {}
    for attr in network.required:
        spec = SPECS_BY_ATTR[attr]
        prompt = f"{network.display} {spec.key.replace('_', ' ')}"
        now = str(current.get(attr) or "") or None
        answers[attr] = ask.secret(spec.env, prompt, now) if spec.secret else ask.text(spec.env, prompt, now)
    who = network.build({**current, **answers}, context).whoami()
    ask.echo(f"{network.display}: credentials accepted for {who if who.startswith('@') or '.' in who else '@' + who}")
    return answers


def _network(network: Network, ask: Asker, values: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    # A token the network renews while being verified is the one to save (as `publish` would keep it).
    renewed: dict[str, str] = {}
    context = Context(timeout=timeout, keep_secret=renewed.__setitem__)

    def step() -> dict[str, Any]:
        if network.setup is not None:
            return network.setup(ask, values, context) | renewed
        return ask_required(network, ask, values, context) | renewed

    return _verified(ask, network.display, step)


def _redacting(values: Mapping[str, Any]) -> None:
    from pierrot.logs import REDACT

    REDACT.add([str(values[s.attr]) for s in SPECS if s.secret and values.get(s.attr)])


def run(*, config_path: str | None, yes: bool, networks_option: str | None,
        env: Mapping[str, str] | None = None) -> Path:
    """Ask, verify, and write the config file; returns its path. Nothing is written unless every answer passed."""
    env = os.environ if env is None else env
    path = Path(config_path or env.get("PIERROT_CONFIG") or default_config_path(env)).expanduser()
    given = _given(env, networks_option)
    ask: Asker = GivenAsker(given) if yes else ClickAsker(given)
    document = config_file.read(path)
    current = _current(path, env)
    answers: dict[str, Any] = _given_settings(given)
    values = {**current, **{a: convert(SPECS_BY_ATTR[a], v, SPECS_BY_ATTR[a].env) for a, v in answers.items()}}
    timeout = float(values.get("timeout") or 30.0)
    click.echo(f"Settings go to {path}" + (" (kept where you change nothing)" if path.exists() else ""))

    answers |= _flickr(ask, values, timeout)
    _redacting(answers)
    chosen = _networks(ask, values)
    answers["networks"] = list(chosen)
    for name in chosen:
        found = _network(networks.get(name), ask, {**values, **answers}, timeout)
        _redacting(found)
        answers |= found

    changes = {(SPECS_BY_ATTR[a].section, SPECS_BY_ATTR[a].key): list(v) if isinstance(v, tuple) else v
               for a, v in answers.items()}
    merged, changed = config_file.merge(document, changes)
    if not changed and path.exists():
        click.echo(f"{path}: nothing changed")
        return path
    config_file.write(path, merged)
    click.echo(f"wrote {path} (mode 600): " + (", ".join(changed) if changed else "nothing changed"))
    return path
