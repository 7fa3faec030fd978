"""The SAM template's per-network parts, written from the network registry.

``python -m pierrot.entrypoints.deploy_template`` rewrites the parts of docs/deploy/template.yaml between its
``# >>> generated`` and ``# <<< generated`` lines (``--check``: exit 1 if they are not up to date). Everything
else in the template is written by hand. Adding a network is adding it to the registry, then running this.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pierrot.adapters.networks import Network, networks
from pierrot.specs import Spec

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "template.yaml"
COMMAND = "python -m pierrot.entrypoints.deploy_template"
_BEGIN = re.compile(r"^(?P<indent> *)# >>> generated: (?P<part>[a-z-]+)\b.*$")
_END = "# <<< generated"
SSM_PATTERN = "^/[A-Za-z0-9_.\\-/]+$"
HTTPS_PATTERN = "^https://[^\\s]+$"
OPTIONAL_HTTPS_PATTERN = "^(https://[^\\s]+)?$"
NO_SPACE_PATTERN = "^[^\\s]*$"
# Fn::Or takes two to ten conditions.
_MAX_OR = 10


def _camel(text: str) -> str:
    return "".join(word.capitalize() for word in text.split("_"))


def _q(text: str) -> str:
    """A YAML scalar, quoted (JSON's double-quoted strings are YAML's)."""
    return json.dumps(text)


def _uses(network: Network) -> str:
    return f"Uses{_camel(network.name)}"


def _stack_specs(network: Network) -> list[Spec]:
    """The network's settings that the stack sets: its secrets (by SSM parameter), and those marked deploy."""
    return [s for s in network.specs if s.secret or s.deploy]


def _parameter(spec: Spec) -> str:
    return _camel(spec.attr) + ("Parameter" if spec.secret else "")


def _combinations() -> list[tuple[str, ...]]:
    """Every non-empty set of networks, smallest first, in the registry's order."""
    names = [n.name for n in networks()]
    return [c for size in range(1, len(names) + 1) for c in itertools.combinations(names, size)]


def _with(network: Network) -> list[str]:
    return [",".join(c) for c in _combinations() if network.name in c]


def parameters() -> Iterator[str]:
    combinations = [",".join(c) for c in _combinations()]
    yield "PublishNetworks:"
    yield "  Type: String"
    yield f"  Default: {_q(combinations[0])}"
    yield "  AllowedValues:"
    yield from (f"    - {_q(c)}" for c in combinations)
    yield "  Description: >-"
    yield ("    The networks each publish posts to (PIERROT_PUBLISH_NETWORKS). The publish function gets the settings"
           " and")
    yield "    may read the SSM parameters of these networks only; the others' parameters below are ignored."
    for network in networks():
        for spec in _stack_specs(network):
            yield f"{_parameter(spec)}:"
            yield "  Type: String"
            if spec.secret:
                yield f"  Default: {_q(f'/pierrot/{network.name}/{spec.key}')}"
                yield f"  AllowedPattern: {_q(SSM_PATTERN)}"
                yield f"  Description: {_q(f'SSM SecureString parameter holding {spec.env}: {spec.help}.')}"
                continue
            yield f"  Default: {_q(str(spec.default or ''))}"
            if spec.choices:
                yield "  AllowedValues:"
                yield from (f"    - {_q(c)}" for c in spec.choices)
            elif spec.kind == "url":
                yield f"  AllowedPattern: {_q(HTTPS_PATTERN if spec.default else OPTIONAL_HTTPS_PATTERN)}"
            else:
                yield f"  AllowedPattern: {_q(NO_SPACE_PATTERN)}"
            needed = f"; required with {network.name}" if spec.attr in network.required else ""
            yield f"  Description: {_q(f'{spec.help[:1].upper()}{spec.help[1:]} ({spec.env}){needed}.')}"


def _any_of(conditions: Sequence[str], indent: str) -> Iterator[str]:
    """``- <condition>`` list items that hold when any of ``conditions`` does, nesting Fn::Or by tens."""
    if len(conditions) <= _MAX_OR:
        yield from (f"{indent}- {c}" for c in conditions)
        return
    for start in range(0, len(conditions), _MAX_OR):
        chunk = conditions[start:start + _MAX_OR]
        if len(chunk) == 1:  # an Fn::Or of one condition is refused
            yield f"{indent}- {chunk[0]}"
            continue
        yield f"{indent}- !Or"
        yield from _any_of(chunk, indent + "  ")


def conditions() -> Iterator[str]:
    for network in networks():
        equals = [f"!Equals [!Ref PublishNetworks, {_q(c)}]" for c in _with(network)]
        if len(equals) == 1:
            yield f"{_uses(network)}: {equals[0]}"
            continue
        yield f"{_uses(network)}: !Or"
        yield from _any_of(equals, "  ")


def rules() -> Iterator[str]:
    for network in networks():
        for spec in _stack_specs(network):
            if spec.secret or spec.default or spec.attr not in network.required:
                continue
            yield f"{_camel(network.name)}Needs{_camel(spec.key)}:"
            yield "  RuleCondition: !Contains"
            yield "    -"
            yield from (f"      - {_q(c)}" for c in _with(network))
            yield "    - !Ref PublishNetworks"
            yield "  Assertions:"
            yield f"    - Assert: !Not [!Equals [!Ref {_parameter(spec)}, \"\"]]"
            why = f"PublishNetworks includes {network.name}, so {_parameter(spec)} ({spec.env}) must be set."
            yield f"      AssertDescription: {_q(why)}"


def secret_arns() -> Iterator[str]:
    for network in networks():
        for spec in network.secrets:
            yield "- !If"
            yield f"  - {_uses(network)}"
            arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${" + _parameter(spec) + "}"
            yield f"  - !Sub {_q(arn)}"
            yield "  - !Ref AWS::NoValue"


def renewed_secrets() -> Iterator[str]:
    """One statement per secret a network renews itself: ssm:PutParameter on that one parameter."""
    for network in networks():
        for spec in network.secrets:
            if not spec.renewed:
                continue
            arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${" + _parameter(spec) + "}"
            yield "- !If"
            yield f"  - {_uses(network)}"
            yield f"  - Sid: Renew{_camel(spec.attr)}"
            yield "    Effect: Allow"
            yield "    Action: ssm:PutParameter"
            yield f"    Resource: !Sub {_q(arn)}"
            yield "  - !Ref AWS::NoValue"


def environment() -> Iterator[str]:
    for network in networks():
        for spec in _stack_specs(network):
            name = spec.env + ("_SSM" if spec.secret else "")
            yield f"{name}: !If [{_uses(network)}, !Ref {_parameter(spec)}, !Ref AWS::NoValue]"


PARTS: dict[str, Callable[[], Iterator[str]]] = {
    "parameters": parameters,
    "conditions": conditions,
    "rules": rules,
    "secret-arns": secret_arns,
    "renewed-secrets": renewed_secrets,
    "environment": environment,
}


def render(template: str) -> str:
    """``template`` with every generated part written anew from the registry."""
    out: list[str] = []
    lines = iter(template.splitlines())
    for line in lines:
        out.append(line)
        begin = _BEGIN.match(line)
        if not begin:
            continue
        indent, part = begin["indent"], begin["part"]
        if part not in PARTS:
            raise ValueError(f"unknown generated part {part!r} in the template")
        out.extend(indent + generated for generated in PARTS[part]())
        for rest in lines:
            if rest.strip().startswith(_END):
                out.append(rest)
                break
        else:
            raise ValueError(f"generated part {part!r} has no {_END!r} line")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str]) -> int:
    """Rewrite the template (or with ``--check``, only say whether it is up to date); argv without the program."""
    paths = [a for a in argv if a != "--check"]
    path = Path(paths[0]) if paths else TEMPLATE
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print(f"{path} is not up to date with the network registry: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
