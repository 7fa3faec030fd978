"""The AWS Lambda entry points: the same service calls as ``pierrot sync`` and ``pierrot publish``.

Settings come from the function's environment, as for the CLI. A secret setting may instead name an SSM
Parameter Store parameter in ``<its variable>_SSM`` (``PIERROT_FLICKR_API_KEY_SSM=/pierrot/flickr/api_key``);
those are read together once per cold start and take precedence over a plain variable of the same setting.
An operational failure raises, so Lambda marks the invocation failed and the alarm fires. Two outcomes are
answered instead: nothing left to publish, and a scheduled event that an earlier invocation already handled.
A missing catalogue is a failure here, unlike the CLI's exit code 3: on a schedule nobody reads an answer.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pierrot import service
from pierrot.adapters import networks
from pierrot.config import SPECS, SPECS_BY_ATTR, Settings, load_settings
from pierrot.entrypoints import wiring
from pierrot.errors import (
    CatalogueMissing,
    ConfigError,
    DuplicateEvent,
    NothingToPublish,
    PierrotError,
    PublishError,
    UsageError,
)
from pierrot.logs import REDACT

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

log = logging.getLogger(__name__)

SSM_SUFFIX = "_SSM"
# GetParameters takes at most ten names: more are read ten at a time.
_MAX_NAMES_PER_CALL = 10
# The AWS SDK logs response bodies (the decrypted parameters among them) at debug level: never below WARNING.
_QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "oauthlib", "requests_oauthlib")

# Secrets resolved from SSM, by the (variable, parameter name) pairs that asked for them: one read per cold start.
_secrets_cache: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}


def sync_handler(event: Any, context: Any) -> dict[str, Any]:
    """Bring the catalogue in line with the photostream; event ``{"full": true}`` lists everything again."""
    with _invocation("sync"):
        options = _event_options(event)
        full = _flag(options, "full")
        settings = _settings()
        _require(settings, wiring.FLICKR_SETTINGS)
        report = service.sync(
            wiring.build_store(settings), wiring.build_source(settings), settings.flickr_user, full=full
        )
        for line in report.warnings:
            log.warning("%s", line)
        log.info("%s", report.summary())
        return {"ok": True, **report.to_dict()}


def publish_handler(event: Any, context: Any) -> dict[str, Any]:
    """Post one never-posted photo; event ``{"dry_run": true, "photo": "ID"}`` narrows it."""
    with _invocation("publish"):
        options = _event_options(event)
        dry_run = _flag(options, "dry_run")
        photo_id = _photo_id(options)
        event_id = _event_id(options)
        settings = _settings()
        if not dry_run:
            _require(settings, wiring.publish_settings(settings))
        try:
            report = service.publish(
                wiring.build_store(settings),
                wiring.build_fetcher(settings),
                lambda network: wiring.build_publisher(settings, network, keeper=_ssm_keeper(network)),
                wiring.publish_options(settings, photo_id=photo_id, dry_run=dry_run, event_id=event_id),
            )
        except CatalogueMissing:
            # A sync that never ran or a wrong PIERROT_STORE: no photo would ever be posted, so fail loudly.
            raise
        except NothingToPublish as exc:
            # Not a failure of the function: a schedule that runs out of photos should not page anyone.
            reason = REDACT(str(exc))
            log.info("nothing to publish: %s", reason)
            return {"ok": True, "published": False, "reason": reason, "exit_code": exc.exit_code}
        except DuplicateEvent as exc:
            # EventBridge delivers at least once: the second delivery of a schedule must not post again.
            reason = REDACT(str(exc))
            log.warning("not publishing: %s", reason)
            return {"ok": True, "published": False, "reason": reason, "event_id": event_id}
        failed = report.failed
        if len(report.results) == 1 and failed and failed[0].failure is not None:
            raise failed[0].failure  # one network: its failure as it was raised
        if failed:
            # Several networks: the others did what the log says; the function still fails, naming each failure.
            raise PublishError("; ".join(f"{r.display}: {r.error}" for r in failed))
        for line in report.warnings:
            log.warning("%s", line)
        for line in dict.fromkeys([*report.notes, *(note for r in report.results for note in r.settled)]):
            log.info("%s", line)
        skipped = [r.skipped for r in report.results if r.skipped]
        for line in skipped:
            log.info("%s", line)
        for result in report.posts:
            log.info("posted photo %s on %s as %s", result.photo_id, result.display, result.post.url if result.post
                     else "")
        if report.dry_run and report.photo is not None:
            log.info("dry run: chose photo %s; nothing was posted or written", report.photo.id)
        if report.posts:
            from pierrot.entrypoints import gallery_html

            gallery_html.after_publish(settings, os.environ)  # PIERROT_GALLERY=true; a failure is only a warning
        answer = {"ok": True, "published": bool(report.posts), **report.to_dict()}
        if skipped and not report.posts:
            answer["reason"] = "; ".join(skipped)  # min_interval: a skip is not a failure
        return answer


@contextmanager
def _invocation(command: str) -> Iterator[None]:
    """Set up logging; turn any failure into one log line and an exception that Lambda may show."""
    _configure_logging()
    try:
        yield
    except Exception as exc:
        what = "" if isinstance(exc, PierrotError) else f"unexpected {type(exc).__name__}: "
        log.error("pierrot %s failed: %s%s", command, what, REDACT(str(exc)))
        clean = _without_secrets(exc)
        if clean is exc:
            raise
        raise clean from None


def _without_secrets(exc: Exception) -> Exception:
    """The exception to let Lambda report: its message is printed and returned, so it must hold no secret."""
    message = str(exc)
    clean = REDACT(message)
    if clean == message:
        return exc
    if isinstance(exc, PierrotError):
        exc.args = (clean,)  # the message of pierrot's exceptions is their only argument
        return exc
    return RuntimeError(f"{type(exc).__name__}: {clean}").with_traceback(exc.__traceback__)


# ==== settings and secrets ======================================================================


def _settings() -> Settings:
    env = dict(os.environ)
    env.update(_resolve_secrets(env))
    settings = load_settings(env=env)
    REDACT.add(settings.secrets())
    for line in settings.warnings:
        log.warning("%s", line)
    return settings


def _require(settings: Settings, attrs: tuple[str, ...]) -> None:
    """Like ``Settings.require``, but a missing secret is pointed to its SSM variable, not a config file."""
    for attr in attrs:
        spec = SPECS_BY_ATTR[attr]
        if spec.secret and not settings.values.get(attr):
            raise ConfigError(
                f"{spec.env} is not set: set {spec.env}{SSM_SUFFIX} to the name of an SSM SecureString parameter "
                "that holds it"
            )
    settings.require(*attrs)


def _secret_parameters(env: Mapping[str, str]) -> dict[str, str]:
    """The SSM parameter named for each secret setting: ``{"PIERROT_FLICKR_API_KEY": "/pierrot/flickr/api_key"}``."""
    wanted = {}
    for spec in SPECS:  # pierrot's own and every network's, as the registry declares them
        name = env.get(spec.env + SSM_SUFFIX, "").strip()
        if spec.secret and name:
            wanted[spec.env] = name
    return wanted


def _resolve_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """The secret settings' values from SSM, read with one call the first time and remembered after."""
    wanted = _secret_parameters(env)
    if not wanted:
        return {}
    key = tuple(sorted(wanted.items()))
    if key not in _secrets_cache:
        _secrets_cache[key] = _read_parameters(wanted)
    return _secrets_cache[key]


def _read_parameters(wanted: dict[str, str]) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    every = sorted(set(wanted.values()))
    client = _ssm_client()
    found: dict[str, str] = {}
    for start in range(0, len(every), _MAX_NAMES_PER_CALL):
        names = every[start:start + _MAX_NAMES_PER_CALL]
        try:
            response = client.get_parameters(Names=names, WithDecryption=True)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ConfigError(
                f"cannot read the SSM parameters {', '.join(names)} ({code}): the function's role needs "
                "ssm:GetParameters on them, and kms:Decrypt on their key if it is not aws/ssm"
            ) from None
        except BotoCoreError as exc:
            raise PierrotError(f"cannot read the SSM parameters {', '.join(names)}: {exc}") from None
        for parameter in response.get("Parameters", []):
            value = parameter.get("Value", "")
            # A parameter may be named by its name or its ARN.
            for ref in (parameter.get("Name"), parameter.get("ARN")):
                if ref:
                    found[ref] = value
        REDACT.add(found.values())
    missing = [f"{name} (from {env}{SSM_SUFFIX})" for env, name in sorted(wanted.items()) if name not in found]
    if missing:
        several = len(missing) > 1
        raise ConfigError(
            f"SSM parameter{'s' if several else ''} not found: {', '.join(missing)}; create "
            f"{'them' if several else 'it'} with `aws ssm put-parameter --type SecureString` or fix the "
            f"variable{'s' if several else ''}"
        )
    return {env: found[name] for env, name in wanted.items()}


def _ssm_keeper(name: str) -> Callable[[str, str], None]:
    """Where a network's renewed secret goes on Lambda: back into the SSM parameter it is read from."""
    from pierrot.adapters.secrets import SsmSecretKeeper

    keeper = SsmSecretKeeper.from_env(os.environ, {spec.attr: spec.env for spec in networks.get(name).secrets})

    def keep(attr: str, value: str) -> None:
        keeper.keep(attr, value)
        _secrets_cache.clear()  # a warm function must read the renewed value, not the one it cached
        REDACT.add([value])

    return keep


def _ssm_client() -> SSMClient:
    # Imported here: without an _SSM variable the function never pays for loading the AWS SDK for this.
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=10, read_timeout=10)
    return boto3.session.Session().client("ssm", config=config)


# ==== the event and logging =====================================================================


def _event_options(event: Any) -> Mapping[str, Any]:
    # A scheduled event carries EventBridge's own fields: only the options below are read from it.
    if event is None:
        return {}
    if not isinstance(event, Mapping):
        raise UsageError(f"the event must be a JSON object, not {type(event).__name__}")
    return event


def _flag(options: Mapping[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if not isinstance(value, bool):
        raise UsageError(f"event field {name!r} must be true or false, not {value!r}")
    return value


def _photo_id(options: Mapping[str, Any]) -> str | None:
    value = options.get("photo")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise UsageError(f"event field 'photo' must be a Flickr photo id, not {value!r}")
    return str(value).strip()


def _event_id(options: Mapping[str, Any]) -> str | None:
    """EventBridge's id of a scheduled event, the same on every delivery of it; None for a hand-made event."""
    value = options.get("id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"event field 'id' must be the scheduler's event id (a string), not {value!r}")
    return value.strip()


class _RedactSecrets(logging.Filter):
    """Rewrites every record with each known secret replaced, before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = REDACT(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None  # formatters then use the redacted exc_text
        if record.exc_text:
            record.exc_text = REDACT(record.exc_text)
        if record.stack_info:
            record.stack_info = REDACT(record.stack_info)
        return True


_REDACTING = _RedactSecrets()


def _configure_logging() -> None:
    """Redact every root handler (Lambda's own included), log pierrot at INFO; idempotent."""
    root = logging.getLogger()
    if not root.handlers:  # run outside Lambda, whose runtime installs a handler before importing us
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
    for handler in root.handlers:
        if _REDACTING not in handler.filters:
            handler.addFilter(_REDACTING)
    if not os.environ.get("AWS_LAMBDA_LOG_LEVEL"):  # the function's own log level setting, if any, decides
        logging.getLogger("pierrot").setLevel(logging.INFO)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
