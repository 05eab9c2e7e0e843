"""The shipped Prometheus config and alert rules: valid for promtool, and unit-tested by it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.test_observability.prometheus import PROMETHEUS_RULES, require_tool

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PACKAGES = ("luisterpost", "ingest", "enrich", "route")


def promtool(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [require_tool("promtool"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_promtool_accepts_the_rules_and_the_config_that_loads_them() -> None:
    assert "SUCCESS: 8 rules found" in promtool("check", "rules", str(PROMETHEUS_RULES), cwd=ROOT)
    output = promtool("check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert "SUCCESS: 1 rule files found" in output


def test_promtool_rule_unit_tests_pass() -> None:
    output = promtool("test", "rules", "luisterpost.test.yml", cwd=PROMETHEUS_RULES.parent)
    assert "SUCCESS" in output


def test_every_rule_is_unit_tested_labelled_and_uses_metrics_the_code_exports() -> None:
    rules = [r for g in yaml.safe_load(PROMETHEUS_RULES.read_text())["groups"] for r in g["rules"]]
    tests = yaml.safe_load((PROMETHEUS_RULES.parent / "luisterpost.test.yml").read_text())
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert {r["alert"] for r in rules} == tested, "every rule needs a test in which it fires"

    source = "\n".join(
        path.read_text() for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    )
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["labels"]["team"] in {"webcare", "beheer"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        for metric in re.findall(r"\bluisterpost_[a-z_]+", rule["expr"]):
            assert f'"{metric}"' in source, (
                f"{rule['alert']} uses {metric}, which no module exports"
            )
