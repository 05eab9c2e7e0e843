"""Settled incidents leave the alert worker's state after the retention; open ones stay.

A real Alertmanager, real Kafka and Elasticsearch (noida-db) and the worker as a subprocess.
With LUISTERPOST_STATE_RETENTION_DAYS at 20 seconds, the acknowledged incident (ack notices
delivered, final state indexed) is dropped from the table with a tombstone on its changelog;
the unacknowledged one keeps paging.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from luisterpost.topics import TopicNames
from route.oncall.incidents import conversation_of
from route.rules import load_rules
from tests.test_oncall.conftest import Alertmanager
from tests.test_oncall.test_alerting_end_to_end import (
    eventually,
    metrics,
    oncall_file,
    sample,
    start_worker,
)
from tests.test_pipeline.support import cli, read_topic, write_jsonl

pytestmark = pytest.mark.integration

RETENTION_SECONDS = 20


def test_an_acknowledged_incident_leaves_the_state_after_the_retention(
    pipeline_env: dict[str, str], tmp_path: Path, alertmanager: Alertmanager
) -> None:
    env = {
        **pipeline_env,
        "LUISTERPOST_ONCALL_RULES": str(oncall_file(tmp_path)),
        "LUISTERPOST_ALERTMANAGER_URL": alertmanager.url,
        "LUISTERPOST_ALERT_TICK_SECONDS": "0.3",
        "LUISTERPOST_STATE_RETENTION_DAYS": str(RETENTION_SECONDS / 86400),
    }
    names = TopicNames(env["LUISTERPOST_TOPIC_PREFIX"], tuple(load_rules().departments))
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    texts = {
        "acked": "Gaslucht bij de Kerkstraat, er is een gaslek in de straat bij de wegwerkzaamheden",
        "open": "Gaslek bij de bouwput aan de Molenweg, het sist en je ruikt het overal",
    }
    records = [
        {
            "channel": "twitter",
            "id": pid,
            "author_id": f"user-{pid}",
            "created_at": now,
            "text": text,
        }
        for pid, text in texts.items()
    ]
    write_jsonl(tmp_path / "urgent.jsonl", records)

    workers, port = start_worker(env, tmp_path, names)
    try:
        cli(env, "replay", str(tmp_path / "urgent.jsonl"))

        def raised() -> dict[str, str] | None:
            found = {a["annotations"]["excerpt"][:12]: a for a in alertmanager.alerts()}
            wanted = {pid: found.get(text[:12]) for pid, text in texts.items()}
            if not all(wanted.values()):
                return None
            return {pid: alert["labels"]["incident"] for pid, alert in wanted.items() if alert}

        incidents = eventually("both alerts in Alertmanager", raised)
        acked_at = time.monotonic()  # before the ack: the retention counts from after it
        cli(env, "oncall", "ack", incidents["acked"], "--by", "anouk")

        def tombstoned() -> list[Any] | None:
            records = read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], names.alert_incidents_changelog)
            return [json.loads(r.key) for r in records if r.value is None] or None

        gone = eventually("a tombstone on the changelog", tombstoned, RETENTION_SECONDS + 60)
        waited = time.monotonic() - acked_at
        scraped = metrics(port)
        still_firing = alertmanager.alerts(incident=incidents["open"])
        workers.assert_alive()
    finally:
        workers.stop()

    assert gone == [conversation_of(incidents["acked"])]
    assert waited >= RETENTION_SECONDS  # not before the retention has passed since the ack
    assert sample(scraped, "luisterpost_oncall_incidents_forgotten_total") == 1
    assert still_firing, "the open incident keeps paging"
