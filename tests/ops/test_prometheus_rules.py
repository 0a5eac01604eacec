"""ops/prometheus/, checked by promtool: the config and rules load, every alert's unit tests pass,
and every alert is tested both firing and not firing."""

import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.prometheus import CONFIG_TEMPLATE, OPS_PROMETHEUS, RULES_DIR, ensure_prometheus_installed

RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted((OPS_PROMETHEUS / "tests").glob("*.yml"))


@pytest.fixture(scope="module", autouse=True)
def promtool() -> None:
    ensure_prometheus_installed()


def _promtool(*args: str | Path) -> None:
    result = subprocess.run(["promtool", *map(str, args)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _alerts() -> dict[str, dict[str, Any]]:
    return {
        rule["alert"]: rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_the_scrape_config_and_the_rules_it_loads_are_valid() -> None:
    _promtool("check", "config", CONFIG_TEMPLATE)


def test_every_rule_file_is_valid() -> None:
    _promtool("check", "rules", *RULE_FILES)


def test_the_alert_unit_tests_pass() -> None:
    _promtool("test", "rules", *TEST_FILES)


def test_every_alert_has_a_summary_a_description_and_a_runbook_section() -> None:
    runbooks = (OPS_PROMETHEUS.parent / "runbooks.md").read_text()
    for name, rule in _alerts().items():
        annotations = rule.get("annotations", {})
        assert {"summary", "description", "runbook"} <= annotations.keys(), name
        anchor = annotations["runbook"].removeprefix("ops/runbooks.md#")
        assert f"\n## {anchor}\n" in runbooks, f"{name}: no runbook section {anchor}"


def test_every_alert_is_tested_both_firing_and_not_firing() -> None:
    seen: dict[str, set[bool]] = defaultdict(set)
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                seen[check["alertname"]].add(bool(check.get("exp_alerts")))
    assert {name: {True, False} for name in _alerts()} == {name: seen[name] for name in _alerts()}
