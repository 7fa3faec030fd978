"""The network registry: a MINIMAL STAND-IN with the types of /work/notes/registry-spec.md, for the Threads module
to type-check on its own branch. The real registry (names(), get(), networks()) replaces this file at merge."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pierrot.config import Spec
from pierrot.ports import ImageHost, NetworkRules, Publisher

NAMES: tuple[str, ...] = ("x", "bluesky", "mastodon", "threads")


@dataclass(frozen=True)
class PostRef:
    """A post as a person names it for `pierrot resolve --posted`: its id, and its URL when known."""

    id: str
    url: str | None


@dataclass(frozen=True)
class Context:
    """What building a publisher may need besides its settings; the entry point gives it."""

    timeout: float
    keep_secret: Callable[[str, str], None] | None = None  # store a renewed secret: (setting attr, new value)
    image_host: ImageHost | None = None  # for a network that fetches the image from a URL


@dataclass(frozen=True)
class Network:
    """One network as pierrot knows it: everything config, --help, check, the CLI, the Lambda and docs read."""

    name: str
    display: str
    specs: tuple[Spec, ...]
    required: tuple[str, ...]
    rules: NetworkRules
    build: Callable[[Mapping[str, Any], Context], Publisher]
    read_post: Callable[[str, Mapping[str, Any]], PostRef]


def template_specs(name: str, display: str) -> tuple[Spec, Spec]:
    """The [name] template and alt_template settings, PIERROT_<NAME>_TEMPLATE and _ALT_TEMPLATE."""
    upper = name.upper()
    return (
        Spec(f"{name}_template", f"PIERROT_{upper}_TEMPLATE", name, "template",
             help=f"the text of a {display} post (default: [publish] template)"),
        Spec(f"{name}_alt_template", f"PIERROT_{upper}_ALT_TEMPLATE", name, "alt_template",
             help=f"the alt text of a {display} image (default: [publish] alt_template)"),
    )
