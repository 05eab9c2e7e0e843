"""A deletion in the very first index batch of a deployment does not stall the indexer.

Real Kafka and Elasticsearch (noida-db). A message and its deletion wait on the routed topic
before the index worker starts, so they reach it in one batch while no messages index exists
yet. Locating the deletion's earlier copy through the alias then finds no index at all: that
means no copy, and the message is written emptied, instead of the batch being retried forever.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from tests.test_pipeline.support import Workers, cli, indexed
from tests.test_route.test_responses import MONDAY_10, inbound

pytestmark = pytest.mark.integration


def test_a_deletion_in_the_first_batch_is_indexed_emptied(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    cli(env, "setup")
    message = inbound("first", MONDAY_10, urgency="normaal")
    deleted = message.model_copy(update={"deleted": True, "text": "", "content_hash": "deleted"})
    producer = KafkaProducer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    for record in (message, deleted):
        key = message.conversation_id.encode()
        producer.send(f"{prefix}.messages.routed", record.to_json(), key=key).get(30)
    producer.close()

    workers = Workers(env, tmp_path)
    workers.start_ready(["index"], f"{prefix}.messages.routed")
    try:
        cli(env, "wait", "--timeout", "60")
        workers.assert_alive()
    finally:
        workers.stop()
    docs = indexed(Elasticsearch(env["ELASTICSEARCH_URL"]), f"{prefix}-messages")
    doc = docs[message.message_id]
    assert doc["deleted"] is True and doc["text"] == ""
    assert doc["enrichment"]["topic"] == message.enrichment.topic  # counted, not personal
