"""One setting's value read from what the user wrote: converted by its kind, and an API URL checked."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from pierrot.errors import ConfigError
from pierrot.specs import Spec

MAX_SECONDS = 7 * 24 * 3600


# A BCP-47 tag in its common forms: language, then an optional script, region and variants ("sr-Latn-RS").
LANGUAGE_TAG = re.compile(
    r"[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
)
MAX_COUNT = 100


def convert(spec: Spec, raw: Any, origin: str) -> Any:
    """The value ``raw`` (from ``origin``) as its spec's kind, or a ConfigError naming where it came from."""

    def bad(expected: str) -> ConfigError:
        # A secret's value is never repeated back, even a wrong one.
        got = "" if spec.secret else f", got {raw!r}"
        return ConfigError(f"{origin} is malformed: expected {expected}{got}")

    if spec.kind in {"str", "url"}:
        if not isinstance(raw, str):
            raise bad("a string")
        return raw.strip()
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise bad("true or false")
    if spec.kind in {"int", "float"}:
        if isinstance(raw, bool):
            raise bad("a number")
        expected = "a whole number of seconds" if spec.kind == "int" else "a number of seconds"
        try:
            number = int(str(raw).strip()) if spec.kind == "int" else float(str(raw).strip())
        except ValueError:
            raise bad(expected) from None
        if not 0 < number <= MAX_SECONDS:
            raise bad(f"{expected} above 0 and at most {MAX_SECONDS}")
        return number
    if spec.kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise bad("a date as YYYY-MM-DD") from None
    if spec.kind == "duration":
        from pierrot.domain.durations import parse_duration

        if not isinstance(raw, str):
            raise bad("a duration such as 20h or 6d")
        return parse_duration(raw, origin)
    if spec.kind == "choice":
        text = str(raw).strip().lower()
        if text not in spec.choices:
            raise bad(" or ".join(spec.choices))
        return text
    if spec.kind == "networks":
        if isinstance(raw, str):
            names = [x.strip().lower() for x in raw.split(",")]
        elif isinstance(raw, list | tuple):
            names = [str(x).strip().lower() for x in raw]
        else:
            raise bad("network names: " + ", ".join(spec.choices))
        names = [n for n in names if n]
        unknown = [n for n in names if n not in spec.choices]
        if unknown or not names:
            raise bad("one or more of " + ", ".join(spec.choices) + (f" (unknown: {', '.join(unknown)})"
                                                                     if unknown else ""))
        return tuple(dict.fromkeys(names))
    if spec.kind == "count":
        text = str(raw).strip()
        if isinstance(raw, bool) or not text.isdigit() or int(text) > MAX_COUNT:
            raise bad(f"a whole number from 0 to {MAX_COUNT}")
        return int(text)
    if spec.kind == "language":
        text = str(raw).strip()
        if not isinstance(raw, str) or not LANGUAGE_TAG.fullmatch(text):
            raise bad("a BCP-47 language tag such as fr, pt-BR or zh-Hant-TW")
        return text
    if spec.kind == "list":
        if isinstance(raw, list):
            items = [str(x).strip() for x in raw]
        elif isinstance(raw, str):
            items = [x.strip() for x in raw.split(",")]
        else:
            raise bad("a list or a comma-separated string")
        return tuple(x for x in items if x)
    raise AssertionError(spec.kind)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(spec: Spec, url: str, origin: str) -> None:
    """An API URL carries keys and signed requests: https, or plain http to this machine only."""
    name = spec.env if origin in (spec.env, "default") else f"{origin} ({spec.env})"
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{name}={url!r} is not an http(s) URL")
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if not _is_loopback(parts.hostname or ""):
        raise ConfigError(
            f"{name}={url!r} would send credentials in cleartext: use https:// (plain http is allowed only on "
            f"loopback: localhost, 127.0.0.0/8, [::1])"
        )
