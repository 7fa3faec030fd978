"""Settings from one place: command-line option, then environment variable, then the TOML file, then the default."""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pierrot.adapters.networks import names, networks
from pierrot.config_values import check_api_url, convert
from pierrot.errors import ConfigError
from pierrot.specs import Spec as Spec  # it lives in pierrot.specs (networks declare theirs); importable here too

if TYPE_CHECKING:
    from pierrot.domain import Filters

# This module is imported by `pierrot --help` (for the list of settings): keep its imports cheap. The networks'
# modules come with it, since they declare their settings.

DEFAULT_FLICKR_API_URL = "https://api.flickr.com/services/rest/"
DEFAULT_TEMPLATE = "{title}"
DEFAULT_ALT_TEMPLATE = "{title}. {description}"
DEFAULT_LEASE_SECONDS = 900
DEFAULT_CONTENT_WARNING = "Sensitive photo"
DEFAULT_TIMEOUT_SECONDS = 30.0

NETWORKS = names()

# [store] url has these other names too: people write what the value is.
STORE_KEY_ALIASES = ("path", "location", "uri")

NSID = re.compile(r"^\d+@[A-Z]\d{2}$")


def _flickr_rest_url(url: str) -> str:
    # A bare Flickr host means its REST path.
    return url.rstrip("/") + "/services/rest/" if re.fullmatch(r"https?://[^/]+/?", url) else url


CORE_SPECS: tuple[Spec, ...] = (
    Spec("store", "PIERROT_STORE", "store", "url", help="where the documents live: s3://bucket[/prefix], a folder"),
    Spec("flickr_api_key", "PIERROT_FLICKR_API_KEY", "flickr", "api_key", secret=True, help="Flickr API key"),
    Spec("flickr_api_secret", "PIERROT_FLICKR_API_SECRET", "flickr", "api_secret", secret=True,
         help="Flickr API secret"),
    Spec("flickr_user", "PIERROT_FLICKR_USER", "flickr", "user",
         help="the photostream: an NSID, a username or the path alias of its URL"),
    Spec("flickr_api_url", "PIERROT_FLICKR_API_URL", "flickr", "api_url", kind="url", default=DEFAULT_FLICKR_API_URL,
         normalise=_flickr_rest_url,
         help="Flickr REST endpoint; https, or http on loopback only (for testing against a fake)"),
    Spec("image_hosts", "PIERROT_FLICKR_IMAGE_HOSTS", "flickr", "image_hosts", kind="list",
         help="image hosts allowed besides Flickr's own (host or scheme://host:port; for testing)"),
    Spec("template", "PIERROT_PUBLISH_TEMPLATE", "publish", "template", default=DEFAULT_TEMPLATE,
         help="post text: {title} {description} {url} {date_taken} {year} {tags} {hashtags} {camera} {lens} "
              "{exposure}"),
    Spec("alt_template", "PIERROT_PUBLISH_ALT_TEMPLATE", "publish", "alt_template", default=DEFAULT_ALT_TEMPLATE,
         help="alt text, same placeholders"),
    Spec("link", "PIERROT_PUBLISH_LINK", "publish", "link", kind="bool", default=False,
         help="add the photo's Flickr page to the post (costs more on X)"),
    Spec("alt_text", "PIERROT_PUBLISH_ALT_TEXT", "publish", "alt_text", kind="bool", default=True,
         help="set alt text on every image"),
    Spec("include_tags", "PIERROT_PUBLISH_INCLUDE_TAGS", "publish", "include_tags", kind="list",
         help="only photos with any of these tags"),
    Spec("exclude_tags", "PIERROT_PUBLISH_EXCLUDE_TAGS", "publish", "exclude_tags", kind="list",
         help="never photos with any of these tags"),
    Spec("taken_after", "PIERROT_PUBLISH_TAKEN_AFTER", "publish", "taken_after", kind="date",
         help="only photos taken on or after this date (YYYY-MM-DD)"),
    Spec("taken_before", "PIERROT_PUBLISH_TAKEN_BEFORE", "publish", "taken_before", kind="date",
         help="only photos taken on or before this date"),
    Spec("uploaded_after", "PIERROT_PUBLISH_UPLOADED_AFTER", "publish", "uploaded_after", kind="date",
         help="only photos uploaded on or after this date"),
    Spec("licenses", "PIERROT_PUBLISH_LICENSES", "publish", "licenses", kind="list",
         help="only photos under these Flickr license ids"),
    Spec("networks", "PIERROT_PUBLISH_NETWORKS", "publish", "networks", kind="networks", default=NETWORKS[:1],
         choices=NETWORKS, help=f"networks a run posts to: {', '.join(NETWORKS)} (comma-separated or a TOML list)"),
    Spec("keep_location", "PIERROT_PUBLISH_KEEP_LOCATION", "publish", "keep_location", kind="bool", default=False,
         help="keep the images' EXIF GPS location (removed before every upload unless true)"),
    Spec("prefer", "PIERROT_PUBLISH_PREFER", "publish", "prefer", kind="choice", default="random",
         choices=("random", "anniversary", "season", "popular"),
         help="how to choose: random, anniversary (taken this day in an earlier year), season (this month), "
              "popular (weighted by favourites and views)"),
    Spec("photos", "PIERROT_PUBLISH_PHOTOS", "publish", "photos", kind="choice", default="1",
         choices=("1", "2", "3", "4"),
         help="photos in one post: the chosen one, then others taken the same day (else the nearest in time)"),
    Spec("min_interval", "PIERROT_PUBLISH_MIN_INTERVAL", "publish", "min_interval", kind="duration",
         help="skip a publish that starts sooner than this after the last post (e.g. 20h, 6d)"),
    Spec("repost_after", "PIERROT_PUBLISH_REPOST_AFTER", "publish", "repost_after", kind="duration",
         help="once every photo is posted, post again those last posted longer ago than this (e.g. 2y)"),
    Spec("lease_seconds", "PIERROT_PUBLISH_LEASE_SECONDS", "publish", "lease_seconds", kind="int",
         default=DEFAULT_LEASE_SECONDS, help="how long a pending publish blocks others"),
    Spec("timeout", "PIERROT_HTTP_TIMEOUT", "store", "http_timeout", kind="float", default=DEFAULT_TIMEOUT_SECONDS,
         help="seconds before a network call is given up"),
    Spec("language", "PIERROT_PUBLISH_LANGUAGE", "publish", "language", kind="language",
         help="the posts' language, a BCP-47 tag (fr, pt-BR), for the networks that take one"),
    Spec("sensitive_tags", "PIERROT_PUBLISH_SENSITIVE_TAGS", "publish", "sensitive_tags", kind="list",
         help="a photo with any of these Flickr tags is posted behind a content warning (e.g. nsfw,nude)"),
    Spec("content_warning", "PIERROT_PUBLISH_CONTENT_WARNING", "publish", "content_warning",
         default=DEFAULT_CONTENT_WARNING, help="the warning a sensitive photo is posted behind"),
    Spec("hashtags", "PIERROT_PUBLISH_HASHTAGS", "publish", "hashtags", kind="count", default=5,
         help="at most this many of the photo's tags in {hashtags}"),
    Spec("require_description", "PIERROT_PUBLISH_REQUIRE_DESCRIPTION", "publish", "require_description",
         kind="bool", default=False, help="never choose a photo without a Flickr description"),
    Spec("gallery", "PIERROT_GALLERY", "publish", "gallery", kind="bool", default=False,
         help="after each post, the publish function rewrites pierrot-gallery.html next to the documents (S3)"),
)
# Every setting: pierrot's own, then each network's (its module declares them; see pierrot.adapters.networks).
SPECS: tuple[Spec, ...] = CORE_SPECS + tuple(spec for network in networks() for spec in network.specs)
SPECS_BY_ATTR = {s.attr: s for s in SPECS}

CONFIG_ENV = "PIERROT_CONFIG"
ENV_FILE_ENV = "PIERROT_ENV_FILE"
# Settings that say where the others are, so they have no place in the config file.
LOCATION_SETTINGS: tuple[tuple[str, str], ...] = (
    (CONFIG_ENV, "the config file (default ~/.config/pierrot/config.toml)"),
    (ENV_FILE_ENV, "the env file your cron line or unit reads, checked by `check` (default ~/.config/pierrot/env)"),
)
# Names whose value in an env file is a secret: the file must then be readable by its owner alone.
SECRET_ENV_NAMES = frozenset({s.env for s in SPECS if s.secret} | {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


def default_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pierrot" / "config.toml"


def default_env_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pierrot" / "env"


def default_store(env: Mapping[str, str]) -> str:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "pierrot")


@dataclass(frozen=True)
class StoreLocation:
    """A parsed ``PIERROT_STORE``."""

    kind: str  # "local" or "s3"
    path: Path | None = None
    bucket: str | None = None
    prefix: str = ""

    def __str__(self) -> str:
        if self.kind == "s3":
            return f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return str(self.path)


def parse_store(url: str, origin: str = "PIERROT_STORE") -> StoreLocation:
    """Parse ``s3://bucket[/prefix]``, ``file:///dir`` or a folder path."""
    text = url.strip()
    if not text:
        raise ConfigError(f"{origin} is empty: give s3://bucket[/prefix] or a folder path")
    if text.startswith("s3://"):
        rest = text[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
            raise ConfigError(f"{origin}={text!r} does not name a valid S3 bucket: use s3://bucket or s3://bucket/prefix")
        return StoreLocation("s3", bucket=bucket, prefix=prefix.strip("/"))
    if text.startswith("file://"):
        path = text[len("file://"):]
        if not path.startswith("/"):
            raise ConfigError(f"{origin}={text!r} is not an absolute file URL: use file:///absolute/folder")
        return StoreLocation("local", path=Path(path))
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", text):
        raise ConfigError(f"{origin}={text!r} has an unsupported scheme: use s3://bucket[/prefix] or a folder path")
    return StoreLocation("local", path=Path(text).expanduser())


@dataclass
class Settings:
    """Every setting pierrot has, resolved, plus where each value came from."""

    values: dict[str, Any]
    origins: dict[str, str]
    config_path: Path
    config_loaded: bool = False
    warnings: list[str] = field(default_factory=list)
    verbose: bool = False
    quiet: bool = False
    # What `pierrot check` fails on (each also among the warnings): unknown keys, secrets open to others.
    config_problems: list[str] = field(default_factory=list)
    env_file: Path | None = None
    env_file_problems: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def store_location(self) -> StoreLocation:
        return parse_store(str(self.values["store"]), self.origins.get("store", "PIERROT_STORE"))

    def missing(self, *attrs: str) -> list[str]:
        """The settings among ``attrs`` that have no value, in the order given."""
        return [attr for attr in dict.fromkeys(attrs) if not self.values.get(attr)]

    def require(self, *attrs: str) -> None:
        """Fail with exit code 2 naming every missing setting among ``attrs`` and how to set it."""
        missing = [SPECS_BY_ATTR[attr] for attr in self.missing(*attrs)]
        if len(missing) == 1:
            (spec,) = missing
            raise ConfigError(
                f"{spec.env} is not set: export {spec.env}=... or set {spec.key} in the [{spec.section}] "
                f"section of {self.config_path}"
            )
        if missing:
            each = ", ".join(f"{s.env} (or {s.key} in [{s.section}])" for s in missing)
            raise ConfigError(
                f"{len(missing)} settings are not set: {each}; set each in the environment (NAME=value in the "
                f"env file) or in the config file {self.config_path}"
            )

    def secrets(self) -> list[str]:
        """The secret values in use, for redaction."""
        return [str(self.values[s.attr]) for s in SPECS if s.secret and self.values.get(s.attr)]

    @property
    def filters(self) -> Filters:
        from pierrot.domain import Filters

        return Filters(
            include_tags=tuple(self.values.get("include_tags") or ()),
            exclude_tags=tuple(self.values.get("exclude_tags") or ()),
            taken_after=self.values.get("taken_after"),
            taken_before=self.values.get("taken_before"),
            uploaded_after=self.values.get("uploaded_after"),
            licenses=tuple(str(x) for x in self.values.get("licenses") or ()),
            require_description=bool(self.values.get("require_description")),
        )

    def with_cli_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """These settings with a command's own options on top (None or empty means not given)."""
        changes = {}
        for attr, raw in overrides.items():
            if raw is None or raw == ():
                continue
            spec = SPECS_BY_ATTR[attr]
            changes[attr] = convert(spec, list(raw) if isinstance(raw, tuple) else raw,
                                     f"--{attr.replace('_', '-')}")
        return self.with_values(**changes)

    def with_values(self, **changes: Any) -> Settings:
        values = dict(self.values)
        origins = dict(self.origins)
        for attr, value in changes.items():
            values[attr] = value
            origins[attr] = f"--{attr.replace('_', '-')}"
        return replace(self, values=values, origins=origins)


def _read_config(path: Path, explicit: bool) -> tuple[dict[str, Any], bool]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist: create it or fix --config/PIERROT_CONFIG") from None
        return {}, False
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8")), True
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _normalise_store_keys(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """Accept a top-level ``store = "..."`` and ``[store] path/location/uri`` as ``[store] url``."""
    config = dict(config)
    if isinstance(config.get("store"), str):
        config["store"] = {"url": config["store"]}
    table = config.get("store")
    if isinstance(table, dict) and "url" not in table:
        for alias in STORE_KEY_ALIASES:
            if alias in table:
                table = dict(table)
                table["url"] = table.pop(alias)
                config["store"] = table
                break
    return config


def _unknown_keys(config: Mapping[str, Any], path: Path) -> list[str]:
    """One line per key of the config file that names no setting, with the likely meant one."""
    sections = {s.section for s in SPECS}
    problems = []
    for section, table in config.items():
        if not isinstance(table, dict):
            raise ConfigError(f"config file {path}: {section!r} must be a [section], not a bare value")
        if section not in sections:
            close = difflib.get_close_matches(section, sections, n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            problems.append(f"config file {path}: unknown section [{section}]{hint}; its settings are ignored")
            continue
        keys = [s.key for s in SPECS if s.section == section]
        for key in table:
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"config file {path}: unknown setting {key!r} in [{section}]{hint}; it is ignored")
    return problems


def _open_to_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def _env_file_problems(path: Path, explicit: bool) -> list[str]:
    """Why the env file a cron line sources is unsafe: it holds secrets and others may read it."""
    if not path.exists():
        return [f"env file {path} ({ENV_FILE_ENV}) does not exist"] if explicit else []
    if not _open_to_others(path):
        return []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return [f"env file {path} cannot be read: {exc.strerror}"]
    names = []
    for line in lines:
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and name.strip() in SECRET_ENV_NAMES and value.strip().strip("'\"") and name.strip() not in names:
            names.append(name.strip())
    if not names:
        return []
    return [f"env file {path} holds secrets ({', '.join(names)}) and is readable by others: run `chmod 600 {path}`"]


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> Settings:
    """Resolve every setting by precedence: option, environment, config file, default."""
    env = os.environ if env is None else env
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    explicit = config_path is not None or bool(env.get(CONFIG_ENV))
    path = Path(config_path or env.get(CONFIG_ENV) or default_config_path(env)).expanduser()
    config, loaded = _read_config(path, explicit)

    config = _normalise_store_keys(config, path)
    config_problems = _unknown_keys(config, path)

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for spec in SPECS:
        if spec.attr in cli:
            raw, origin = cli[spec.attr], f"--{spec.attr.replace('_', '-')}"
        elif env.get(spec.env, "") != "":
            raw, origin = env[spec.env], spec.env
        elif spec.key in config.get(spec.section, {}):
            raw, origin = config[spec.section][spec.key], f"{spec.key} in [{spec.section}] of {path}"
        else:
            values[spec.attr] = default_store(env) if spec.attr == "store" else spec.default
            origins[spec.attr] = "default"
            continue
        values[spec.attr] = convert(spec, raw, origin)
        origins[spec.attr] = origin

    if (loaded and any(config.get(s.section, {}).get(s.key) for s in SPECS if s.secret)
            and _open_to_others(path)):
        config_problems.append(f"config file {path} holds secrets and is readable by others: run `chmod 600 {path}`")
    env_file = Path(env.get(ENV_FILE_ENV) or default_env_file(env)).expanduser()
    env_file_problems = _env_file_problems(env_file, explicit=bool(env.get(ENV_FILE_ENV)))

    settings = Settings(values, origins, path, loaded, config_problems + env_file_problems,
                        config_problems=config_problems, env_file=env_file, env_file_problems=env_file_problems)
    parse_store(str(values["store"]), origins["store"] if origins["store"] != "default" else "PIERROT_STORE")
    for spec in SPECS:
        if spec.kind == "url" and values[spec.attr]:
            url = str(values[spec.attr])
            check_api_url(spec, url, origins[spec.attr])
            values[spec.attr] = spec.normalise(url) if spec.normalise else url.rstrip("/")
    if warn is not None:
        for line in settings.warnings:
            warn(line)
    return settings


def is_nsid(user: str) -> bool:
    return bool(NSID.match(user))
