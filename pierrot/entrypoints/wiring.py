"""Builds the adapters from settings: the one place that knows which adapter serves which port."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pierrot.adapters import networks
from pierrot.config import SPECS_BY_ATTR, Settings
from pierrot.errors import ConfigError
from pierrot.ports import DocumentStore, ImageFetcher, NetworkRules, PhotoSource, Publisher
from pierrot.service import NetworkOptions, PublishOptions

if TYPE_CHECKING:
    SecretKeeper = Callable[[str, str], None]


def build_store(settings: Settings) -> DocumentStore:
    from pierrot.adapters.stores import open_store

    return open_store(settings.store_location, timeout=settings.timeout)


def build_source(settings: Settings) -> PhotoSource:
    settings.require("flickr_api_key", "flickr_api_secret")
    from pierrot.adapters.flickr import FlickrPhotoSource

    return FlickrPhotoSource(
        settings.flickr_api_key, settings.flickr_api_secret, api_url=settings.flickr_api_url, timeout=settings.timeout
    )


def build_fetcher(settings: Settings) -> ImageFetcher:
    from pierrot.adapters.images.fetcher import HttpImageFetcher

    return HttpImageFetcher(extra_hosts=settings.image_hosts or (), timeout=settings.timeout)


def build_publisher(settings: Settings, name: str, *, keeper: SecretKeeper | None = None) -> Publisher:
    """The publisher of one network, from its settings (ConfigError naming what is missing).

    ``keeper`` keeps a secret the network renews (a token): by default a 0600 file in pierrot's config folder, whose
    value is used instead of the configured one for as long as the configuration still holds the value it renewed."""
    from pierrot.adapters.images.hosting import LazyImageHost, image_host_for
    from pierrot.adapters.secrets import FileSecretKeeper
    from pierrot.logs import REDACT

    network = networks.get(name)
    values = dict(settings.values)
    if keeper is None:
        secrets = {spec.attr: str(values.get(spec.attr) or "") for spec in network.secrets}
        files = FileSecretKeeper.in_config_folder(os.environ, secrets)
        for attr in secrets:
            kept = files.current(attr)
            if kept:
                values[attr] = kept
                REDACT.add([kept])
        keeper = files
    settings.with_values(**values).require(*network.required)
    context = networks.Context(timeout=settings.timeout, keep_secret=keeper,
                               image_host=LazyImageHost(lambda: image_host_for(build_store(settings))))
    return network.build(values, context)


def network_rules(name: str) -> NetworkRules:
    """A network's rules without credentials or a network call (an instance's own limits come at prepare)."""
    return networks.get(name).rules


def network_settings(name: str) -> tuple[str, ...]:
    """The settings a real publish to this network needs."""
    return networks.get(name).required


FLICKR_SETTINGS = ("flickr_api_key", "flickr_api_secret", "flickr_user")


def publish_settings(settings: Settings) -> tuple[str, ...]:
    """Every setting a real publish needs, for the networks the settings select."""
    return tuple(attr for name in settings.networks for attr in network_settings(name))


def _network_options(settings: Settings, name: str) -> NetworkOptions:
    """One network's rules and templates: its own template settings where set, else [publish]'s."""
    own = {spec.key: spec for spec in networks.get(name).specs if spec.section == name}

    def template(key: str) -> tuple[str | None, str]:
        spec = own.get(key)
        value = settings.values.get(spec.attr) if spec else None
        return (value, spec.env) if spec and value else (None, SPECS_BY_ATTR[key].env)

    (text, text_setting), (alt, alt_setting) = template("template"), template("alt_template")
    return NetworkOptions(network_rules(name), template=text, alt_template=alt, template_setting=text_setting,
                          alt_template_setting=alt_setting)


def publish_options(settings: Settings, **run: Any) -> PublishOptions:
    """The publish options the settings give, with this run's own (photo, force, dry run, output, event id)."""
    return PublishOptions(
        networks=tuple(_network_options(settings, name) for name in settings.networks),
        filters=settings.filters,
        template=settings.template,
        alt_template=settings.alt_template,
        link=settings.link,
        alt_text=settings.alt_text,
        lease_seconds=settings.lease_seconds,
        keep_location=settings.keep_location,
        prefer=settings.prefer,
        min_interval=settings.min_interval,
        repost_after=settings.repost_after,
        language=settings.language,
        sensitive_tags=tuple(settings.sensitive_tags or ()),
        content_warning=settings.content_warning,
        hashtags=settings.hashtags,
        photos=int(settings.photos),
        **run,
    )


def build_checks(
    settings: Settings, *, skip: tuple[str, ...] = (), max_silence: dt.timedelta | None = None,
    fix_bot: Callable[[str], bool] | None = None,
) -> list[tuple[str, Callable[[], str]]]:
    """The probes of ``pierrot check``, in the order a user would fix them; ``skip`` names networks not probed."""
    from pierrot import service

    for name in skip:
        networks.get(name)  # an unknown name is a usage error, not a silent no-op
    chosen = [n for n in settings.networks if n not in skip]

    def required() -> str:
        # Every missing setting in one line: a first run should not be a fix-one-rerun loop.
        settings.require(*FLICKR_SETTINGS, *(a for n in chosen for a in network_settings(n)))
        return "every required setting is present"

    def config_file() -> str:
        # An unknown key is most often a typo, and a typo means a setting silently not applied.
        if settings.config_problems:
            raise ConfigError("; ".join(settings.config_problems))
        if not settings.config_loaded:
            return f"{settings.config_path} absent (settings from the environment)"
        return f"{settings.config_path} has only known settings, and no secret others can read"

    def env_file() -> str:
        if settings.env_file_problems:
            raise ConfigError("; ".join(settings.env_file_problems))
        if settings.env_file is None or not settings.env_file.exists():
            return f"{settings.env_file} absent (nothing to check)"
        return f"{settings.env_file} holds no secret others can read"

    def untried(attrs: tuple[str, ...]) -> None:
        # The "settings" line already names what is missing and how to set it: say so once.
        missing = settings.missing(*attrs)
        if missing:
            raise ConfigError(f"not tried without {', '.join(SPECS_BY_ATTR[a].env for a in missing)}")

    def flickr() -> str:
        untried(FLICKR_SETTINGS)
        return service.check_flickr(build_source(settings), settings.flickr_user)

    def store() -> str:
        return service.check_documents(build_store(settings))

    built: dict[str, Publisher] = {}

    def publisher(name: str) -> Publisher:
        # One publisher per network for all its lines: a network that logs in does so once (logins are rate limited).
        if name not in built:
            built[name] = build_publisher(settings, name)
        return built[name]

    def network_probe(name: str) -> Callable[[], str]:
        def probe() -> str:
            untried(network_settings(name))
            who = publisher(name).whoami()
            return f"credentials accepted for {who if who.startswith('@') or '.' in who else '@' + who}"

        return probe

    probes: list[tuple[str, Callable[[], str]]] = [
        ("settings", required),
        ("config file", config_file),
        ("env file", env_file),
        ("flickr", flickr),
        ("store", store),
    ]
    probes += [(name, network_probe(name)) for name in chosen]

    def bot_probe(name: str) -> Callable[[], str]:
        def probe() -> str:
            untried(network_settings(name))
            return service.check_bot(publisher(name), fix_bot)

        return probe

    # Whether each account says it is automated; `--fix-bot-label` (fix_bot asks first) sets it where it can.
    probes += [(f"{name} bot", bot_probe(name)) for name in chosen]

    def lease() -> str:
        longest = service.longest_hold(len(settings.networks), 2 * settings.timeout)
        covers = (f"{settings.lease_seconds}s, for the longest a publish to {len(settings.networks)} network(s) can "
                  f"hold its claim with PIERROT_HTTP_TIMEOUT {settings.timeout:g}s ({longest:.0f}s)")
        if settings.lease_seconds < longest:
            raise service.CheckWarning(
                f"PIERROT_PUBLISH_LEASE_SECONDS is {covers}: too short, a slow run can outlive its claim "
                f"(another run then settles it, and that network fails); set it to at least {longest:.0f}"
            )
        return f"PIERROT_PUBLISH_LEASE_SECONDS is {covers}: enough"

    probes.append(("lease", lease))
    if max_silence is not None:
        silence = max_silence

        def silent() -> str:
            return service.check_silence(build_store(settings), chosen, silence)

        probes.append(("last post", silent))
    return probes
