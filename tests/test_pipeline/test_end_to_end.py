"""The whole pipeline on a real Kafka broker and Elasticsearch API (noida-db, started by the fixtures)."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from luisterpost.readiness import wait_until_fetching
from luisterpost.topics import TopicNames
from route.rules import load_rules
from tests.conftest import free_port
from tests.test_pipeline.support import (
    Workers,
    cli,
    expected_routing,
    indexed,
    read_topic,
    wait_until_flagged_overdue,
    write_jsonl,
)

pytestmark = pytest.mark.integration

OWN_TWITTER = "1400000000000000001"  # from ingest/config/own_accounts.yaml


def record(pid: str, text: str, at: str, channel: str = "twitter", **extra: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "id": pid,
        "author_id": f"user-{pid}",
        "text": text,
        "created_at": at,
        **extra,
    }


RECORDS: list[Any] = [
    record(
        "1",
        "@gem_vennebroek er ligt een boom over de weg op de Molenweg!! auto's kunnen er niet langs",
        "2026-10-24T23:10:00+02:00",
    ),
    {
        "channel": "twitter",
        "id": "2",
        "conversation_id": "1",
        "in_reply_to": "1",
        "author_id": OWN_TWITTER,
        "text": "Dank je, de storingsdienst is onderweg. ^AK",
        "created_at": "2026-10-24T23:31:00+02:00",
    },
    record(
        "3",
        "Wanneer wordt het grofvuil opgehaald in Beekdal?",
        "2026-10-26T10:00:00+01:00",
        "facebook",
    ),
    record(
        "4",
        "Mijn paspoort is verlopen, kan ik online een afspraak maken?",
        "2026-10-27T14:00:00+01:00",
        "whatsapp",
    ),
    record(
        "5",
        "Ik ruik gas in het trappenhuis van de flat aan de Kerkstraat",
        "2026-10-31T03:20:00+01:00",
        "app",
    ),
    record(
        "6",
        "Al 3 weken geen reactie op mijn bezwaar tegen de WOZ aanslag. Schandalig.",
        "2026-11-02T09:00:00+01:00",
        "webform",
    ),
    record(
        "7",
        "Hangjongeren maken elke avond herrie bij het Stationsplein",
        "2026-11-03T22:45:00+01:00",
        "instagram",
    ),
    record(
        "8",
        "Er zitten ratten bij de containers achter de Albert Heijn",
        "2026-11-04T11:00:00+01:00",
        "facebook",
    ),
    record(
        "9", "Is er een inloopavond over het nieuwe bestemmingsplan?", "2026-11-05T19:30:00+01:00"
    ),
    record(
        "10",
        "Hoe vraag ik een kapvergunning aan voor de eik in mijn tuin?",
        "2026-11-06T08:40:00+01:00",
        "webform",
    ),
    record(
        "11", "When is the Sinterklaas intocht this year?", "2026-11-07T12:00:00+01:00", "instagram"
    ),
    record("12", "", "2026-11-07T16:00:00+01:00", "whatsapp", attachments=["image"]),
    record(
        "13", "Asbest platen gedumpt in de berm bij De Vaart", "2026-11-08T07:00:00+01:00", "app"
    ),
    record(
        "14",
        "Wij hebben een Wmo aanvraag gedaan voor mijn moeder, hoe lang duurt dat?",
        "2026-11-09T10:15:00+01:00",
        "facebook",
    ),
    # a platform retry: the same message delivered twice
    record(
        "3",
        "Wanneer wordt het grofvuil opgehaald in Beekdal?",
        "2026-10-26T10:00:00+01:00",
        "facebook",
    ),
    # an edit of message 8: same id, new text; the index keeps the newest
    record(
        "8",
        "Er zitten ratten bij de containers achter de Albert Heijn, ook overdag",
        "2026-11-04T11:00:00+01:00",
        "facebook",
    ),
    # malformed input: each must land on the dead-letter topic with a reason
    "dit is geen json",
    record("15", "hallo", "2026-11-09T10:15:00+01:00", "fax"),
    record("16", "geen tijdzone", "2026-11-09T10:15:00"),
]
INPUT_TOPIC = {
    "normalise": "raw",
    "enrich": "messages.normalised",
    "route": "messages.enriched",
    "index": "messages.routed",
}
BAD_REASONS = ["malformed JSON", "unknown channel 'fax'", "has no UTC offset"]


def _run_pipeline(
    env: dict[str, str], tmp_path: Path, file: Path, stage_groups: list[list[str]]
) -> None:
    workers = Workers(env, tmp_path)
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    for stages in stage_groups:
        first = "normalise" if stages == ["all"] else stages[0]
        workers.start_ready(stages, f"{prefix}.{INPUT_TOPIC[first]}")
    try:
        cli(env, "replay", str(file))
        cli(env, "wait", "--timeout", "150")
        workers.assert_alive()
    finally:
        workers.stop()


def _departments_on_kafka(servers: str, names: TopicNames) -> dict[str, Counter[str]]:
    seen: dict[str, Counter[str]] = {}
    for department in names.departments:
        records = read_topic(servers, names.department(department))
        seen[department] = Counter(json.loads(r.value)["message_id"] for r in records)
        for r in records:  # keyed by conversation: a conversation stays on one partition
            assert r.key.decode() == json.loads(r.value)["conversation_id"]
    return seen


def test_replayed_messages_are_indexed_once_routed_alerted_and_dead_lettered(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    servers, prefix = env["KAFKA_BOOTSTRAP_SERVERS"], env["LUISTERPOST_TOPIC_PREFIX"]
    names = TopicNames(prefix, tuple(load_rules().departments))
    lines = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    expected = expected_routing(lines, env["LUISTERPOST_PSEUDONYM_KEY"])
    assert len(expected) == 14  # 16 valid deliveries: one platform retry, one edit of an earlier id

    alias = f"{prefix}-messages"
    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    metrics_port = free_port()
    workers = Workers(env, tmp_path)
    workers.start(["all"], metrics_port)
    wait_until_fetching(metrics_port, names.raw, 90, workers.assert_alive)
    try:
        cli(env, "replay", str(tmp_path / "in.jsonl"))
        cli(env, "wait", "--timeout", "150")
        # The messages are weeks old: the backlog timer flags every unanswered one overdue, once.
        # Its tick must come before the replay below, or the replay would see its late write.
        wait_until_flagged_overdue(es, alias)
        cli(env, "wait", "--timeout", "60")
        workers.assert_alive()
        with urllib.request.urlopen(
            f"http://127.0.0.1:{metrics_port}/metrics", timeout=5
        ) as response:
            metrics = response.read().decode()
    finally:
        workers.stop()

    # Every valid message indexed exactly once, with the newest content of an edited one.
    docs = indexed(es, alias)
    assert set(docs) == set(expected)
    assert docs[expected_id(expected, "8")]["text"].endswith("ook overdag")
    assert docs[expected_id(expected, "5")]["response"]["overdue"] is True  # unanswered for weeks
    assert "overdue" not in docs[expected_id(expected, "1")]["response"]  # answered in 21 minutes
    for message_id, message in expected.items():
        doc = docs[message_id]
        assert doc["direction"] == message.direction.value
        assert doc["local"] == message.local.model_dump()
        assert "user-" not in json.dumps(doc), "raw author ids must never reach the index"
        if message.routing is not None:
            assert doc["routing"]["department"] == message.routing.department
            assert doc["enrichment"]["topic"] == message.enrichment.topic  # type: ignore[union-attr]
        else:
            assert doc["routing"] is None and doc["direction"] == "outbound"

    # Routed to the right department topics (the edit is delivered again, as an update).
    on_kafka = _departments_on_kafka(servers, names)
    for message_id, message in expected.items():
        if message.routing is None:
            assert all(message_id not in ids for ids in on_kafka.values())
            continue
        holders = [d for d, ids in on_kafka.items() if message_id in ids]
        assert holders == [message.routing.department]
    assert on_kafka["stadswerken"][expected_id(expected, "1")] == 1
    assert on_kafka["burgerzaken"][expected_id(expected, "4")] == 1
    assert on_kafka["handhaving"][expected_id(expected, "13")] == 1  # asbestos override
    assert on_kafka["handhaving"][expected_id(expected, "8")] == 2  # original and edit

    # Urgent ones, and only those, on the alert topic.
    alerted = {json.loads(r.value)["message_id"] for r in read_topic(servers, names.alerts)}
    should_alert = {
        i for i, m in expected.items() if m.routing is not None and m.routing.alert is not None
    }
    assert alerted == should_alert
    assert {expected_id(expected, "1"), expected_id(expected, "5")} <= alerted

    # Malformed input on the dead-letter topic, with the reason.
    dead = [json.loads(r.value) for r in read_topic(servers, names.deadletter)]
    assert len(dead) == len(BAD_REASONS)
    for reason in BAD_REASONS:
        assert sum(reason in d["reason"] for d in dead) == 1, reason
    assert all(
        d["stage"] == "import" and d["payload"] for d in dead
    )  # rejected before the raw topic

    assert (
        'luisterpost_stage_messages_total{channel="twitter",direction="inbound",stage="route"}'
        in metrics
    )
    assert "luisterpost_dead_letters_total" in metrics

    # Replaying the same input changes nothing downstream: not the index, not the department topics.
    before_docs, before_kafka = docs, on_kafka
    _run_pipeline(env, tmp_path, tmp_path / "in.jsonl", [["all"]])
    after_docs = indexed(es, alias)
    changed = {
        (i, k)
        for i in before_docs
        for k in before_docs[i]
        if after_docs[i].get(k) != before_docs[i][k]
    }
    assert after_docs.keys() == before_docs.keys()
    assert not changed, f"replay changed indexed fields: {sorted(changed)}"
    assert _departments_on_kafka(servers, names) == before_kafka


def expected_id(expected: dict[str, Any], platform_id: str) -> str:
    [message_id] = [i for i, m in expected.items() if m.platform_message_id == platform_id]
    return message_id


def test_stages_scale_out_as_separate_processes(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    valid = [r for r in RECORDS[:14] if isinstance(r, dict)]
    file = tmp_path / "in.jsonl"
    lines = write_jsonl(file, valid)
    expected = expected_routing(lines, env["LUISTERPOST_PSEUDONYM_KEY"])

    _run_pipeline(env, tmp_path, file, [["normalise"], ["enrich"], ["route"], ["index"]])

    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    docs = indexed(es, f"{env['LUISTERPOST_INDEX_PREFIX']}-messages")
    assert set(docs) == set(expected)
    assert all(
        docs[i]["enrichment"] is not None for i, m in expected.items() if m.routing is not None
    )
