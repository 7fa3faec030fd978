"""The SAM template's per-network parts are written from the network registry, never by hand."""

from __future__ import annotations

from pierrot.adapters.networks import networks
from pierrot.entrypoints import deploy_template


def test_the_committed_template_is_the_one_the_registry_gives() -> None:
    committed = deploy_template.TEMPLATE.read_text(encoding="utf-8")

    assert deploy_template.render(committed) == committed, (
        "docs/deploy/template.yaml is not up to date: run python -m pierrot.entrypoints.deploy_template"
    )


def test_every_secret_of_every_network_is_an_ssm_variable_of_the_publish_function() -> None:
    committed = deploy_template.TEMPLATE.read_text(encoding="utf-8")

    for network in networks():
        for spec in network.secrets:
            assert f"{spec.env}_SSM: !If [Uses" in committed


def test_many_combinations_nest_fn_or_by_tens() -> None:
    # Fn::Or takes two to ten conditions: five networks put each in sixteen combinations.
    for count in (4, 11, 16):
        lines = list(deploy_template._any_of([f"c{i}" for i in range(count)], ""))

        assert sum(line.strip().startswith("- c") for line in lines) == count
        assert sum(not line.startswith(" ") for line in lines) <= 10
        assert lines.count("- !Or") == (0 if count <= 10 else 1 if count == 11 else 2)
