"""deploy/alertmanager/alertmanager.yml: valid for amtool, and routes what Luisterpost sends."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from route.oncall.config import load_oncall, parse_duration
from route.oncall.delivery import alertmanager_alerts
from route.oncall.policy import on_message
from route.rules import load_rules
from tests.test_observability.prometheus import PROMETHEUS_RULES, require_tool
from tests.test_oncall.support import urgent

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"
ONCALL = load_oncall()
RULE_TEAMS = sorted(
    {r["labels"]["team"] for g in yaml.safe_load(PROMETHEUS_RULES.read_text())["groups"] for r in g["rules"]}
)  # fmt: skip
TEAMS = sorted({*ONCALL.teams, *RULE_TEAMS})


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("amtool"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def routed_to(labels: dict[str, str]) -> str:
    """The receivers (comma-separated) Alertmanager picks for ``labels``."""
    result = amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", *(f"{k}={v}" for k, v in labels.items())
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_accepts_the_config() -> None:
    result = amtool("check-config", str(CONFIG))
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "SUCCESS" in output, output
    assert "2 inhibit rules" in output and f"{len(TEAMS) + 1} receivers" in output


def luisterpost_labels(department: str, severity: str) -> dict[str, str]:
    """The labels of the alert the worker posts for an urgent message of ``department``."""
    now = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    message = urgent("1", now, department=department, severity=severity)
    incident, _ = on_message(
        None, message, ONCALL, load_rules().calendar, now=now, partition=0, receivers=["am"]
    )
    assert incident is not None
    [alert] = alertmanager_alerts(incident, incident.deliveries[0], ONCALL)
    return dict(alert["labels"])


@pytest.mark.parametrize("severity", ["critical", "warning"])
@pytest.mark.parametrize("team", sorted(ONCALL.teams))
def test_every_on_call_team_gets_its_own_alerts(team: str, severity: str) -> None:
    department = next(iter(ONCALL.teams[team].departments))
    labels = luisterpost_labels(department, severity)
    assert labels["team"] == team and labels["severity"] == severity
    expected = [team] if labels["responder"] != ONCALL.fallback else ["piket", team]
    assert routed_to(labels).split(",") == expected


def test_the_fallback_contact_is_paged_besides_the_team_and_unknown_teams_reach_beheer() -> None:
    labels = {**luisterpost_labels("stadswerken", "critical"), "responder": "piket"}
    assert routed_to(labels) == "piket,buitendienst"
    assert routed_to({"alertname": "Something", "team": "nobody"}) == "beheer"
    for team in RULE_TEAMS:  # the Prometheus rules' teams
        assert routed_to({"alertname": "X", "team": team, "severity": "warning"}) == team


def test_critical_alerts_wait_less_and_repeat_every_30_minutes() -> None:
    route = yaml.safe_load(CONFIG.read_text())["route"]
    teams = {r["receiver"]: r for r in route["routes"] if r["receiver"] != "piket"}
    assert sorted(teams) == TEAMS
    for team, branch in teams.items():
        by_severity = {r["matchers"][0].split("=")[1].strip('"'): r for r in branch["routes"]}
        critical, warning = by_severity["critical"], by_severity["warning"]
        assert parse_duration(critical["repeat_interval"]).total_seconds() == 30 * 60, team
        for key in ("group_wait", "repeat_interval"):
            assert parse_duration(critical[key]) < parse_duration(warning[key]), (team, key)
    assert "escalation_level" in route["group_by"] and "incident" in route["group_by"]
