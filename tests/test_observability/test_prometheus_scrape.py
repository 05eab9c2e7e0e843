"""A real Prometheus scrapes a real worker (noida-db Kafka + Elasticsearch) and loads our rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from luisterpost.readiness import wait_until_fetching
from route.rules import load_rules
from tests.conftest import free_port
from tests.test_observability.prometheus import PROMETHEUS_RULES, run_prometheus
from tests.test_pipeline.support import Workers, cli, write_jsonl

pytestmark = pytest.mark.integration

RECORDS = [
    {"channel": "twitter", "id": "p1", "author_id": "u1",
     "text": "Er ligt een boom over de weg op de Molenweg!! auto's kunnen er niet langs",
     "created_at": "2026-10-24T23:10:00+02:00"},
    {"channel": "facebook", "id": "p2", "author_id": "u2",
     "text": "Wanneer wordt het grofvuil opgehaald in Beekdal?",
     "created_at": "2026-10-26T10:00:00+01:00"},
    {"channel": "whatsapp", "id": "p3", "author_id": "u3",
     "text": "Mijn paspoort is verlopen, kan ik online een afspraak maken?",
     "created_at": "2026-10-27T14:00:00+01:00"},
]  # fmt: skip


def test_prometheus_scrapes_worker_metrics_and_evaluates_the_shipped_rules(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    metrics_port = free_port()
    target = f"127.0.0.1:{metrics_port}"
    workers = Workers(env, tmp_path)
    workers.start(["all"], metrics_port)
    try:
        wait_until_fetching(metrics_port, f"{prefix}.raw", 90, workers.assert_alive)
        with run_prometheus([target], tmp_path / "prometheus") as prom:
            cli(env, "replay", str(tmp_path / "in.jsonl"))
            cli(env, "wait", "--timeout", "150")
            workers.assert_alive()

            # The routing counter arrives with all its labels and the real departments.
            departments = set(load_rules().departments)

            def routed() -> list[dict[str, object]]:
                result = prom.get("/api/v1/query", query="luisterpost_routed_total")["result"]
                return result if sum(float(r["value"][1]) for r in result) >= 3 else []

            series = prom.wait_for("luisterpost_routed_total summing to 3", routed)
            for s in series:
                labels = s["metric"]
                assert {"department", "topic", "urgency", "channel"} <= labels.keys(), labels
                assert labels["department"] in departments
                assert labels["job"] == "luisterpost" and labels["instance"] == target
                assert float(s["value"][1]) > 0
            assert {s["metric"]["channel"] for s in series} == {"twitter", "facebook", "whatsapp"}

            # Every stage passed the three messages on, as counted by the stage counter.
            by_stage = prom.get(
                "/api/v1/query", query="sum by (stage) (luisterpost_stage_messages_total)"
            )["result"]
            counts = {s["metric"]["stage"]: float(s["value"][1]) for s in by_stage}
            pipeline = ("normalise", "enrich", "route", "index")
            assert {stage: counts.get(stage) for stage in pipeline} == dict.fromkeys(pipeline, 3)
            lag = prom.get("/api/v1/query", query="luisterpost_consumer_lag")["result"]
            assert {"topic", "partition"} <= lag[0]["metric"].keys()

            # The shipped rule file is loaded, every rule evaluates without error, and with a
            # healthy worker nothing fires.
            shipped = yaml.safe_load(PROMETHEUS_RULES.read_text())["groups"]
            groups = prom.wait_for(
                "rule groups evaluated",
                lambda: [
                    g
                    for g in prom.get("/api/v1/rules")["groups"]
                    if all(r.get("lastEvaluation", "0001").startswith("20") for r in g["rules"])
                ],
            )
            assert {g["name"] for g in groups} == {g["name"] for g in shipped}
            loaded = {r["name"]: r for g in groups for r in g["rules"]}
            assert set(loaded) == {r["alert"] for g in shipped for r in g["rules"]}
            assert all(r["health"] == "ok" for r in loaded.values()), loaded

            # The tree across the road (spoed, stadswerken) has no reply: the urgent-backlog
            # rule goes pending on the route stage's gauge. The pipeline itself is healthy.
            def urgent() -> list[dict[str, object]]:
                alerts = prom.get("/api/v1/alerts")["alerts"]
                return [
                    a for a in alerts if a["labels"]["alertname"] == "LuisterpostUrgentUnanswered"
                ]

            [pending] = prom.wait_for("LuisterpostUrgentUnanswered", urgent, timeout=40)
            assert pending["labels"]["department"] == "stadswerken", pending
            assert pending["state"] == "pending"  # `for: 15m`

            # No pipeline alert once the lag gauge (refreshed every 5 s) shows the drained
            # backlog. (A burst processed between two scrapes may make LuisterpostPipelineStalled
            # pending for a moment: the counter's first sample already holds the burst.)
            def pipeline_alerts() -> list[dict[str, object]]:
                alerts = prom.get("/api/v1/alerts")["alerts"]
                return [a for a in alerts if a["labels"]["team"] == "beheer"]

            prom.wait_for("no pipeline alert", lambda: not pipeline_alerts(), timeout=30)

            # A stopped worker is noticed: LuisterpostWorkerDown goes pending for that target.
            workers.stop()

            def worker_down() -> list[dict[str, object]]:
                alerts = prom.get("/api/v1/alerts")["alerts"]
                return [a for a in alerts if a["labels"]["alertname"] == "LuisterpostWorkerDown"]

            [alert] = prom.wait_for("LuisterpostWorkerDown", worker_down, timeout=30)
            assert alert["labels"]["instance"] == target
            assert alert["state"] == "pending"  # `for: 2m`: it would page after two minutes
    finally:
        workers.stop()
