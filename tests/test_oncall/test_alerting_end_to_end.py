"""Urgent message in -> alert in a real Alertmanager and a flaky webhook -> escalation -> ack.

Real noida-db Kafka + Elasticsearch (session fixtures), a real Alertmanager binary and a real
HTTP webhook receiver; the worker runs as a subprocess, stopped and restarted half-way so the
incident must survive in the table's changelog.
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

from luisterpost.readiness import wait_until_fetching
from luisterpost.topics import TopicNames
from route.oncall.config import DEFAULT_ONCALL
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


def oncall_file(tmp_path: Path) -> Path:
    """The shipped roster with one responder per shift (so: responder, then the fallback)."""
    data = yaml.safe_load(DEFAULT_ONCALL.read_text())
    for team in data["teams"].values():
        team["office_hours"] = team["out_of_hours"] = ["anouk"]
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
         "text": "Ik ruik gas in het trappenhuis van de flat aan de Kerkstraat"},
        {"channel": "twitter", "id": "g2", "conversation_id": "g1", "in_reply_to": "g1", "author_id": "user-g",
         "created_at": now.isoformat(), "text": "Nog steeds een sterke gaslucht in het trappenhuis, ik ruik gas!"},
    ]  # fmt: skip
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
        assert labels["severity"] == "critical" and labels["responder"] == "anouk"
        assert labels["team"] in (
            "webcare",
            "buitendienst",
            "handhaving",
            "openbare-orde",
            "sociaal-domein",
        )
        incident_id = labels["incident"]
        eventually("the webhook's delivery after two failures", lambda: webhook.accepted("raise"))
        [escalated] = eventually(
            "escalation to the fallback", lambda: alertmanager.alerts(escalation_level="1")
        )
        assert escalated["labels"]["responder"] == "piket"
        assert escalated["labels"]["incident"] == incident_id
        eventually("the escalation on the webhook", lambda: webhook.accepted("escalate-1"))
    finally:
        workers.stop()

    # A new worker must find the incident in the table's changelog to apply the ack.
    workers, port = start_worker(env, tmp_path, names)
    try:
        cli(env, "oncall", "ack", incident_id, "--by", "anouk")
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

    assert doc["acknowledged_by"] == "anouk" and doc["escalation_level"] == 1
    assert doc["responder"] == "piket" and doc["severity"] == "critical"
    assert doc["raised_at"] <= doc["delivered_at"] <= doc["escalated_at"] <= doc["acknowledged_at"]
    assert doc["minutes_to_ack"] > 4 / 60
    on_topic = {
        json.loads(r.value)["message_id"]
        for r in read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], names.alerts)
    }
    assert on_topic and on_topic <= set(doc["message_ids"])
    assert len(doc["message_ids"]) == len(on_topic) == 2  # the follow-up joined the incident

    # The webhook failed twice, then got each notice exactly once, always under one key per notice.
    assert [r["status"] for r in webhook.requests[:2]] == [503, 503]
    assert [r["kind"] for r in webhook.accepted()] == ["raise", "escalate-1", "ack"]
    raise_keys = {r["key"] for r in webhook.requests if r["kind"] == "raise"}
    assert raise_keys == {f"{incident_id}:raise"}
    assert "Kerkstraat" in webhook.accepted("raise")[0]["text"]

    # The ack resolved both levels in Alertmanager.
    def resolved() -> bool:
        firing = alertmanager.alerts(incident=incident_id)
        return all(a["endsAt"] <= datetime.now(UTC).isoformat() for a in firing)

    eventually("resolved alerts", resolved, 15)
    assert 'luisterpost_oncall_acknowledged_total{team="' in scraped
    assert "luisterpost_oncall_time_to_ack_seconds_count" in scraped
