"""Urgent message in -> alert in a real Alertmanager and a flaky webhook -> escalation -> ack.

Real noida-db Kafka + Elasticsearch (session fixtures), a real Alertmanager binary and a real
HTTP webhook receiver; the worker runs as a subprocess, stopped and restarted half-way so the
incident must survive in the table's changelog. The escalation walks the rotation (the next
person) and then the fallback; every step is also published as a record on the events topic.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from elasticsearch import Elasticsearch
from prometheus_client.parser import text_string_to_metric_families

from luisterpost.readiness import wait_until_fetching
from luisterpost.topics import TopicNames
from route.oncall.config import DEFAULT_ONCALL, load_oncall
from route.oncall.delivery import receivers_from
from route.oncall.incidents import INFO_KINDS
from route.oncall.roster import on_call
from route.rules import load_rules
from tests.conftest import free_port
from tests.test_oncall.conftest import Alertmanager, Webhook
from tests.test_pipeline.support import Workers, cli, read_topic, write_jsonl

pytestmark = pytest.mark.integration
T = TypeVar("T")


def eventually(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


# A gas leak at road works: topic wegen-verkeer -> department stadswerken -> team buitendienst;
# "gaslek" makes it spoed (severity critical) by the urgency rules, whatever the hour.
TEAM, SEVERITY = "buitendienst", "critical"
FIRST = "Gaslucht bij de Kerkstraat, er is een gaslek in de straat bij de wegwerkzaamheden"
FOLLOW_UP = "Het gaslek bij de wegwerkzaamheden in de Kerkstraat is er nog steeds, overal gaslucht!"


def oncall_file(tmp_path: Path) -> Path:
    """The shipped roster with a two-person rotation in both shifts: responder, next, fallback."""
    data = yaml.safe_load(DEFAULT_ONCALL.read_text())
    for team in data["teams"].values():
        team["office_hours"] = team["out_of_hours"] = ["anouk", "bram"]
    data["overrides"] = []
    data["escalation"] = {"critical": "4s", "warning": "4s"}
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def start_worker(env: dict[str, str], tmp_path: Path, names: TopicNames) -> tuple[Workers, int]:
    workers = Workers(env, tmp_path)
    port = free_port()
    workers.start(["all"], port)
    wait_until_fetching(port, names.raw, 90, workers.assert_alive)
    wait_until_fetching(port, names.alerts, 90, workers.assert_alive)
    return workers, port


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def sample(scraped: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        s.value
        for family in text_string_to_metric_families(scraped)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def test_urgent_message_is_delivered_escalated_and_acknowledged(
    pipeline_env: dict[str, str], tmp_path: Path, alertmanager: Alertmanager, webhook: Webhook
) -> None:
    env = {
        **pipeline_env,
        "LUISTERPOST_ONCALL_RULES": str(oncall_file(tmp_path)),
        "LUISTERPOST_ALERTMANAGER_URL": alertmanager.url,
        "LUISTERPOST_ALERT_WEBHOOKS": webhook.url,
        "LUISTERPOST_ALERT_RETRY_SECONDS": "0.5",
        "LUISTERPOST_ALERT_TICK_SECONDS": "0.3",
    }
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    names = TopicNames(prefix, tuple(load_rules().departments))
    now = datetime.now(UTC).replace(microsecond=0)
    records: list[Any] = [
        {"channel": "twitter", "id": "g1", "author_id": "user-g", "created_at": (now - timedelta(seconds=30)).isoformat(),
         "text": FIRST},
        {"channel": "twitter", "id": "g2", "conversation_id": "g1", "in_reply_to": "g1", "author_id": "user-g",
         "created_at": now.isoformat(), "text": FOLLOW_UP},
    ]  # fmt: skip
    # Who is on call for the team now: the alert goes to chain[0], then chain[1] (the next
    # person of the rotation), then the fallback.
    oncall = load_oncall(Path(env["LUISTERPOST_ONCALL_RULES"]))
    chain = on_call(oncall, load_rules().calendar, TEAM, datetime.now(UTC)).chain
    assert len(chain) == 3 and chain[2] == oncall.fallback == "piket"
    [hook] = [r.name for r in receivers_from(None, [webhook.url])]
    # One delivery at a time: raw records of one replay may be normalised in any order, and
    # the incident's text comes from the message that raised it.
    write_jsonl(tmp_path / "first.jsonl", records[:1])
    write_jsonl(tmp_path / "follow-up.jsonl", records[1:])

    workers, port = start_worker(env, tmp_path, names)
    try:
        cli(env, "replay", str(tmp_path / "first.jsonl"))
        [raised] = eventually(
            "the alert in Alertmanager", lambda: alertmanager.alerts(escalation_level="0")
        )
        cli(env, "replay", str(tmp_path / "follow-up.jsonl"))  # joins the incident
        labels = raised["labels"]
        assert labels["alertname"] == "LuisterpostUrgentMessage"
        assert (labels["team"], labels["severity"]) == (TEAM, SEVERITY)
        assert labels["responder"] == chain[0]
        incident_id = labels["incident"]
        eventually("the webhook's delivery after two failures", lambda: webhook.accepted("raise"))
        [escalated] = eventually(
            "escalation to the next person", lambda: alertmanager.alerts(escalation_level="1")
        )
        assert escalated["labels"]["responder"] == chain[1]
        assert escalated["labels"]["incident"] == incident_id
        assert escalated["labels"]["team"] == TEAM
        eventually("the escalation on the webhook", lambda: webhook.accepted("escalate-1"))
        eventually(
            "the follow-up joined",
            lambda: sample(metrics(port), "luisterpost_oncall_alerts_total", outcome="joined"),
        )
        first = metrics(port)
    finally:
        workers.stop()

    alerts = "luisterpost_oncall_alerts_total"
    assert sample(first, alerts, team=TEAM, severity=SEVERITY, outcome="raised") == 1
    assert sample(first, alerts, team=TEAM, severity=SEVERITY, outcome="joined") == 1
    assert sample(first, alerts) == 2
    deliveries, failures = (
        "luisterpost_oncall_deliveries_total",
        "luisterpost_oncall_delivery_failures_total",
    )
    assert sample(first, deliveries, receiver="alertmanager", kind="raise") >= 1
    assert sample(first, deliveries, receiver=hook, kind="raise") == 1
    assert sample(first, failures, receiver=hook, kind="raise") == 2  # the webhook's two 503s
    assert sample(first, failures, receiver="alertmanager") == 0
    assert sample(first, "luisterpost_oncall_escalated_total", team=TEAM, level="1") == 1

    # A new worker must find the incident in the table's changelog: it escalates to the
    # fallback, then applies the ack.
    workers, port = start_worker(env, tmp_path, names)
    try:
        [fallback] = eventually(
            "escalation to the fallback", lambda: alertmanager.alerts(escalation_level="2")
        )
        assert fallback["labels"]["responder"] == "piket"
        assert fallback["labels"]["incident"] == incident_id
        firing = alertmanager.alerts(incident=incident_id)
        assert sorted(a["labels"]["escalation_level"] for a in firing) == ["0", "1", "2"]
        cli(env, "oncall", "ack", incident_id, "--by", "piket")
        es = Elasticsearch(env["ELASTICSEARCH_URL"])

        def acknowledged() -> dict[str, Any] | None:
            es.indices.refresh(index=f"{prefix}-alerts")
            hits = es.search(index=f"{prefix}-alerts", query={"match_all": {}})["hits"]["hits"]
            docs = {h["_id"]: h["_source"] for h in hits}
            assert set(docs) <= {incident_id}, "one incident per conversation"
            doc = docs.get(incident_id)
            return doc if doc and doc["acknowledged_at"] and doc["deliveries"] and all(
                d["state"] != "pending" for d in doc["deliveries"]
            ) else None  # fmt: skip

        doc = eventually("the acknowledged incident in the index", acknowledged)
        scraped = metrics(port)
    finally:
        workers.stop()

    assert doc["acknowledged_by"] == "piket" and doc["escalation_level"] == 2
    assert doc["responder"] == "piket" and doc["severity"] == SEVERITY and doc["team"] == TEAM
    assert doc["responders"] == list(chain) and doc["status"] == "acknowledged"
    assert doc["raised_at"] <= doc["delivered_at"] <= doc["escalated_at"] <= doc["acknowledged_at"]
    assert doc["minutes_to_ack"] > 4 / 60
    on_topic = {
        json.loads(r.value)["message_id"]
        for r in read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], names.alerts)
    }
    assert on_topic and on_topic <= set(doc["message_ids"])
    assert len(doc["message_ids"]) == len(on_topic) == 2  # the follow-up joined the incident

    # The webhook failed twice, then got each notice, always under one key per notice (a notice
    # in flight while the first worker stopped may be repeated, under the same key).
    assert [r["status"] for r in webhook.requests[:2]] == [503, 503]
    kinds = list(dict.fromkeys(r["kind"] for r in webhook.accepted()))
    assert kinds == ["raise", "escalate-1", "escalate-2", "ack"]
    assert len(webhook.accepted("raise")) == 1
    for kind in kinds:
        assert {r["key"] for r in webhook.requests if r["kind"] == kind} == {
            f"{incident_id}:{kind}"
        }
    assert "Kerkstraat" in webhook.accepted("raise")[0]["text"]

    # Every raise, escalation and ack is on the alert-events topic, keyed by conversation.
    conversation = doc["conversation_id"]
    published = [
        (r.key.decode(), json.loads(r.value))
        for r in read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], names.alert_events)
    ]
    info = {
        (v["kind"], v["level"], v["responder"]): v for k, v in published if v["kind"] in INFO_KINDS
    }
    assert set(info) == {
        ("raised", 0, chain[0]),
        ("escalated", 1, chain[1]),
        ("escalated", 2, "piket"),
        ("acknowledged", 2, "piket"),
    }
    assert {k for k, v in published if v["kind"] in INFO_KINDS} == {conversation}
    assert all(v["team"] == TEAM and v["severity"] == SEVERITY for v in info.values())
    assert "Kerkstraat" in info["raised", 0, chain[0]]["text"]

    # The ack resolved every level in Alertmanager (resolved alerts are no longer listed).
    eventually("resolved alerts", lambda: not alertmanager.alerts(incident=incident_id), 15)
    assert sample(scraped, "luisterpost_oncall_acknowledged_total", team=TEAM) == 1
    assert sample(scraped, "luisterpost_oncall_time_to_ack_seconds_count", team=TEAM) == 1
    assert sample(scraped, deliveries, receiver="alertmanager", kind="ack") >= 1
    assert sample(scraped, deliveries, receiver=hook, kind="ack") == 1
    assert sample(first, "luisterpost_oncall_open_incidents") == 1
    assert sample(scraped, "luisterpost_oncall_open_incidents") == 0
