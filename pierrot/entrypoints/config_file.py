"""Writing the config file: merge new settings into it, and replace it whole (0600) or not at all."""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pierrot.errors import ConfigError
from pierrot.files import replace_file

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    """One TOML value: pierrot's kinds (strings, booleans, numbers, dates, lists) and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def dumps(document: Mapping[str, Mapping[str, Any]]) -> str:
    """The TOML text of a document of [section] tables (tomllib reads it back equal)."""
    parts = []
    for section, table in document.items():
        if not isinstance(table, Mapping):
            raise TypeError(f"{section!r} must be a table")
        lines = [f"[{_key(section)}]"] + [f"{_key(str(k))} = {_value(v)}" for k, v in table.items()]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def read(path: Path) -> dict[str, Any]:
    """The config file's document ({} when it does not exist)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read as TOML ({exc}): fix or move it, then run init again") \
            from None


def merge(document: Mapping[str, Any], changes: Mapping[tuple[str, str], Any]) -> tuple[dict[str, Any], list[str]]:
    """``document`` with ``changes`` ((section, key) -> value) applied; and the changed "[section] key" names."""
    merged: dict[str, Any] = {s: dict(t) if isinstance(t, Mapping) else t for s, t in document.items()}
    changed = []
    for (section, key), value in changes.items():
        table = merged.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"config file: {section!r} is a bare value, not a [{section}] table: fix it first")
        if table.get(key) != value:
            table[key] = value
            changed.append(f"[{section}] {key}")
    return merged, changed


def write(path: Path, document: Mapping[str, Mapping[str, Any]]) -> None:
    """Replace the file at ``path`` with ``document``: 0600, by a temporary file and a rename (never half written)."""
    text = dumps(document)
    tomllib.loads(text)  # what pierrot writes, pierrot must read back
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    replace_file(path, text.encode())
