"""A resident deletes the urgent message that raised an incident: its words leave the alert.

Real Kafka and Elasticsearch (noida-db) and the worker as a subprocess. Two Meta page-feed
deliveries go onto the raw topic, as the webhook service stores them: an urgent comment, then
its removal. The incident stays (its times and status are counted, not personal), but its
excerpt and places leave the alerts index, as the message's text leaves the messages index.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, NotFoundError
from kafka import KafkaProducer

from ingest.raw import RawRecord
from luisterpost.topics import TopicNames
from route.oncall.policy import DELETED_EXCERPT
from route.rules import load_rules
from tests.test_oncall.test_alerting_end_to_end import eventually, start_worker
from tests.test_pipeline.support import cli

pytestmark = pytest.mark.integration

PAYLOADS = Path(__file__).resolve().parent.parent / "test_ingest" / "payloads" / "meta"
TEXT = "Gaslek bij de werkzaamheden in de Kerkstraat, het sist en je ruikt het overal!"


def deliveries(now: int) -> list[dict[str, Any]]:
    """The comment (made urgent and recent) and its removal, a minute later."""
    comment = json.loads((PAYLOADS / "page_feed_comment_add.json").read_text())
    comment["entry"][0]["time"] = now
    change = comment["entry"][0]["changes"][0]["value"]
    change["message"], change["created_time"] = TEXT, now
    removal = json.loads((PAYLOADS / "page_feed_comment_remove.json").read_text())
    removal["entry"][0]["time"] = now + 60
    assert removal["entry"][0]["changes"][0]["value"]["comment_id"] == change["comment_id"]
    return [comment, copy.deepcopy(removal)]


def test_a_deleted_message_leaves_the_incident_that_quotes_it(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    names = TopicNames(prefix, tuple(load_rules().departments))
    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    comment, removal = deliveries(int(time.time()))

    def incident() -> dict[str, Any] | None:
        try:
            es.indices.refresh(index=f"{prefix}-alerts")
            hits = es.search(index=f"{prefix}-alerts", query={"match_all": {}})["hits"]["hits"]
        except NotFoundError:  # no incident indexed yet
            return None
        assert len(hits) <= 1, "one conversation, one incident"
        return hits[0]["_source"] if hits else None

    def store(payload: dict[str, Any]) -> None:
        record = RawRecord(
            source="meta/v1", received_at=datetime.now(UTC), body=json.dumps(payload), origin="test"
        )
        producer = KafkaProducer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
        producer.send(names.raw, record.to_json(), key=record.delivery_id.encode()).get(30)
        producer.close()

    workers, _ = start_worker(env, tmp_path, names)
    try:
        store(comment)
        raised = eventually("the incident in the alerts index", incident, 90)
        store(removal)
        cli(env, "wait", "--timeout", "120")
        redacted = eventually(
            "the incident without the deleted words",
            lambda: (doc := incident()) and doc["excerpt"] == DELETED_EXCERPT and doc,
            60,
        )
        workers.assert_alive()
    finally:
        workers.stop()
    assert raised["excerpt"].startswith("Gaslek bij de werkzaamheden")
    assert raised["location"] == "Kerkstraat"
    assert redacted["location"] is None
    assert redacted["incident_id"] == raised["incident_id"]
    assert redacted["raised_at"] == raised["raised_at"] and redacted["team"] == raised["team"]
    assert "Kerkstraat" not in json.dumps(redacted)
