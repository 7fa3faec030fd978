"""The network registry: every network declares itself the same way, and nothing else names one."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from pierrot.adapters import networks
from pierrot.adapters.networks import PostRef
from pierrot.config import CORE_SPECS, SPECS
from pierrot.errors import EXIT_USAGE, UsageError

NETWORKS = networks.names()
# The checkout: pierrot/adapters/networks/__init__.py is three folders below it.
PACKAGE = Path(networks.__file__).resolve().parents[3]


def test_an_unknown_network_is_a_usage_error_naming_the_known_ones() -> None:
    with pytest.raises(UsageError) as raised:
        networks.get("myspace")

    assert raised.value.exit_code == EXIT_USAGE
    assert "myspace" in str(raised.value) and all(name in str(raised.value) for name in NETWORKS)


@pytest.mark.parametrize("name", NETWORKS)
def test_each_network_declares_itself_under_its_own_name(name: str) -> None:
    network = networks.get(name)

    assert network.name == name == network.rules.name
    assert network.display and network.display == network.rules.display


@pytest.mark.parametrize("name", NETWORKS)
def test_a_networks_settings_are_its_own(name: str) -> None:
    network = networks.get(name)
    prefix = f"PIERROT_{name.upper()}_"

    for spec in network.specs:
        assert spec.env.startswith(prefix) and spec.section == name and spec.attr.startswith(f"{name}_"), spec
    assert {s.key for s in network.specs} >= {"template", "alt_template"}
    assert set(network.required) <= {s.attr for s in network.specs}


def test_no_two_settings_share_a_name() -> None:
    for field in ("attr", "env"):
        values = [getattr(s, field) for s in SPECS]
        assert len(values) == len(set(values)), field
    assert len({(s.section, s.key) for s in SPECS}) == len(SPECS)
    assert not {s.section for s in CORE_SPECS} & set(NETWORKS)


@pytest.mark.parametrize("name", NETWORKS)
def test_credentials_are_flagged_secret_and_required(name: str) -> None:
    network = networks.get(name)
    looks_secret = re.compile(r"password|token|secret|api_key")

    assert network.secrets, "a network with no credential"
    for spec in network.specs:
        assert spec.secret == bool(looks_secret.search(spec.key)), spec
    assert {s.attr for s in network.secrets} <= set(network.required)


def test_api_urls_are_checked_as_urls() -> None:
    for spec in (s for network in networks.networks() for s in network.specs):
        if re.search(r"url|service", spec.key):
            assert spec.kind == "url", spec


# The URLs each network's publisher records for a post, and what people copy from their browser.
POSTS = {
    "x": [
        ("1234567890", {}, PostRef("1234567890", "https://x.com/i/web/status/1234567890")),
        ("https://x.com/i/web/status/1234567890", {}, PostRef("1234567890", "https://x.com/i/web/status/1234567890")),
        ("https://twitter.com/someone/status/42?s=20", {}, PostRef("42", "https://x.com/i/web/status/42")),
        ("x.com/someone/status/42/photo/1", {}, PostRef("42", "https://x.com/i/web/status/42")),
    ],
    "bluesky": [
        ("https://bsky.app/profile/someone.bsky.social/post/3kabcdefgh2zz", {},
         PostRef("3kabcdefgh2zz", "https://bsky.app/profile/someone.bsky.social/post/3kabcdefgh2zz")),
        ("https://bsky.app/profile/did:plc:abc/post/3kabcdefgh2zz", {},
         PostRef("3kabcdefgh2zz", "https://bsky.app/profile/did:plc:abc/post/3kabcdefgh2zz")),
        ("at://did:plc:abc/app.bsky.feed.post/3kabcdefgh2zz", {},
         PostRef("3kabcdefgh2zz", "at://did:plc:abc/app.bsky.feed.post/3kabcdefgh2zz")),
        ("3kabcdefgh2zz", {"bluesky_handle": "someone.bsky.social"},
         PostRef("3kabcdefgh2zz", "https://bsky.app/profile/someone.bsky.social/post/3kabcdefgh2zz")),
        ("3kabcdefgh2zz", {}, PostRef("3kabcdefgh2zz", None)),
    ],
    "mastodon": [
        ("https://mastodon.social/@someone/110000000000000001", {},
         PostRef("110000000000000001", "https://mastodon.social/@someone/110000000000000001")),
        ("https://mastodon.social/users/someone/statuses/110000000000000001", {},
         PostRef("110000000000000001", "https://mastodon.social/users/someone/statuses/110000000000000001")),
        ("110000000000000001", {}, PostRef("110000000000000001", None)),
    ],
    "threads": [
        ("18012345678901234", {}, PostRef("18012345678901234", None)),
        ("https://www.threads.com/@someone/post/DAbC123xyz_-", {},
         PostRef("DAbC123xyz_-", "https://www.threads.com/@someone/post/DAbC123xyz_-")),
        ("https://www.threads.net/@someone/post/DAbC123xyz", {},
         PostRef("DAbC123xyz", "https://www.threads.net/@someone/post/DAbC123xyz")),
    ],
}


def test_every_network_has_post_forms_here() -> None:
    assert set(POSTS) == set(NETWORKS)


@pytest.mark.parametrize(("name", "given", "settings", "expected"),
                         [(name, *case) for name, cases in POSTS.items() for case in cases])
def test_read_post_reads_the_forms_a_post_is_named_by(name: str, given: str, settings: dict[str, str],
                                                      expected: PostRef) -> None:
    ref = networks.get(name).read_post(given, settings)

    assert ref == expected
    if ref.url and ref.url.startswith("https://"):
        assert networks.get(name).read_post(ref.url, settings) == ref  # the URL recorded reads back the same


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("given", ["", "not a post", "https://example.com/post/1", "12ab!"])
def test_read_post_refuses_what_is_not_a_post_in_one_line(name: str, given: str) -> None:
    with pytest.raises(ValueError) as raised:
        networks.get(name).read_post(given, {})

    assert "\n" not in str(raised.value)


# ==== nothing outside the networks' folder names a network ======================================

NAMING = re.compile(r"^[\"'](?:" + "|".join(map(re.escape, NETWORKS)) + r")[\"']$"
                    r"|(?:" + "|".join(re.escape(n) + "_" for n in NETWORKS if n != "x") + r"|\bx_api)")


def _code_outside_the_networks() -> list[Path]:
    folder = PACKAGE / "pierrot" / "adapters" / "networks"
    found = [p for p in sorted((PACKAGE / "pierrot").rglob("*.py"))
             if folder not in p.parents and "_twitter_text" not in p.parts]
    assert len(found) > 40, "the package's modules were not found: this test would prove nothing"
    return found


def test_no_module_outside_the_networks_folder_names_a_network() -> None:
    found = []
    for path in _code_outside_the_networks():
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for token in tokens:
            # Comments may mention a network; code, strings and docstrings may not.
            if token.type in (tokenize.STRING, tokenize.NAME) and NAMING.search(token.string):
                found.append(f"{path.relative_to(PACKAGE)}:{token.start[0]}: {token.string[:60]}")
    assert found == []


def test_a_network_is_named_only_in_its_own_package_and_the_registry_line() -> None:
    """Not even a comment elsewhere says a network's name: a newcomer finds all of it in one folder."""
    folder = PACKAGE / "pierrot" / "adapters" / "networks"
    found = []
    scanned: set[Path] = set()
    for name in (n for n in NETWORKS if len(n) > 1):  # "x" is a letter as much as a network
        word = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
        for path in sorted((PACKAGE / "pierrot").rglob("*.py")):
            if "_twitter_text" in path.parts or folder / name in path.parents:
                continue
            scanned.add(path)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if word.search(line) and not line.startswith("NAMES:"):
                    found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()[:80]}")
    assert len(scanned) > 40, "the package's modules were not found: this test would prove nothing"
    assert found == []
