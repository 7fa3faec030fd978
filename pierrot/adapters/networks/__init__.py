"""The social networks, one module each, and the registry that config, the CLI, the Lambda and the docs read."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pierrot.errors import UsageError
from pierrot.specs import Spec

if TYPE_CHECKING:
    from pierrot.ports import ImageHost, NetworkRules, Publisher

# Adding a network: its module (ending with `NETWORK = Network(...)`), and its name here.
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


class Asker(Protocol):
    """How `pierrot init` asks a question: at a terminal, or from the given values (``--yes``).

    ``setting`` is the PIERROT_* variable that answers it without a prompt; ``current`` the value kept when the
    answer is empty. The non-interactive asker raises a ConfigError naming ``setting`` when nothing answers."""

    interactive: bool

    def text(self, setting: str, prompt: str, current: str | None = None) -> str: ...

    def secret(self, setting: str, prompt: str, current: str | None = None) -> str: ...

    def choice(self, setting: str, prompt: str, choices: tuple[str, ...], current: str) -> str: ...

    def confirm(self, prompt: str, default: bool) -> bool: ...

    def echo(self, text: str) -> None: ...


# A network's own `pierrot init` step: asks for its credentials, verifies them live, returns the settings to save
# (attr -> value). A network without one is asked for its `required` settings, then verified by `whoami`.
Setup = Callable[[Asker, Mapping[str, Any], "Context"], dict[str, Any]]


@dataclass(frozen=True)
class Network:
    """One network as pierrot knows it: everything config, --help, check, the CLI, the Lambda and docs read."""

    name: str  # as settings say it: "x"
    display: str  # as people say it: "X"
    specs: tuple[Spec, ...]  # its settings, template and alt_template included (use template_specs())
    required: tuple[str, ...]  # the setting attrs a real publish needs (secrets among them)
    rules: NetworkRules  # static rules, before prepare(); prepare() returns the rules in force
    build: Callable[[Mapping[str, Any], Context], Publisher]  # settings.values -> a publisher
    # `resolve --posted VALUE`: ValueError (one line) if VALUE is not a post of this network (id or URL forms).
    read_post: Callable[[str, Mapping[str, Any]], PostRef]
    setup: Setup | None = None

    @property
    def secrets(self) -> tuple[Spec, ...]:
        """Its secret settings: those the Lambda reads from SSM."""
        return tuple(s for s in self.specs if s.secret)


def template_specs(name: str, display: str) -> tuple[Spec, Spec]:
    """The network's own post text and alt text templates: [name] template / alt_template."""
    prefix = f"PIERROT_{name.upper()}_"
    return (
        Spec(f"{name}_template", prefix + "TEMPLATE", name, "template",
             help=f"post text on {display} (default: [publish] template)"),
        Spec(f"{name}_alt_template", prefix + "ALT_TEMPLATE", name, "alt_template",
             help=f"alt text on {display} (default: [publish] alt_template)"),
    )


def names() -> tuple[str, ...]:
    """The networks pierrot can post to, as settings name them (imports none of them)."""
    return NAMES


def get(name: str) -> Network:
    """The network called ``name``; a UsageError (exit 2) naming the known ones if there is none."""
    if name not in NAMES:
        raise UsageError(f"unknown network {name!r}: pierrot knows {', '.join(NAMES)}")
    module = importlib.import_module(f"{__name__}.{name}")
    network: Network = module.NETWORK
    return network


def networks() -> tuple[Network, ...]:
    """Every network, in the registry's order."""
    return tuple(get(name) for name in NAMES)
