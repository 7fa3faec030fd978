"""What a setting is: the one shape config, `--help`, `check`, the networks and the deploy template read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    """One setting: its attribute, environment variable, config-file place, kind and default."""

    attr: str
    env: str
    section: str
    key: str
    # str, bool, int, count (0 or more), language (BCP-47), float, date, list, duration, choice, networks,
    # or url: an API base URL (https, or plain http on a loopback host only), its trailing "/" dropped unless
    # `normalise` says how to write it.
    kind: str = "str"
    secret: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    # How a value is written once checked: X's api_url drops a trailing "/2".
    normalise: Callable[[str], str] | None = None
    # A stack parameter of the SAM template (secrets are always there, as the name of an SSM parameter).
    deploy: bool = False
    # A secret pierrot renews itself (a token that expires): on Lambda it is written back to its SSM parameter.
    renewed: bool = False
