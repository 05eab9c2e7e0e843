"""Nothing accepted is lost when Elasticsearch goes away in the middle of a run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from luisterpost.kafka_admin import consumer_lag
from luisterpost.services import LocalServices
from tests.test_pipeline.support import Workers, cli, expected_routing, indexed, write_jsonl

pytestmark = pytest.mark.integration


def test_messages_wait_on_kafka_while_elasticsearch_is_down(
    services: LocalServices, pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    records = [
        {"channel": "facebook", "id": f"outage-{n}", "author_id": f"u{n % 7}",
         "text": f"Lantaarnpaal {n} aan de Molenweg is kapot", "created_at": f"2026-11-{1 + n % 20:02d}T20:{n % 60:02d}:00+01:00"}
        for n in range(60)
    ]  # fmt: skip
    lines = write_jsonl(tmp_path / "in.jsonl", records)
    expected = expected_routing(lines, env["LUISTERPOST_PSEUDONYM_KEY"])
    cli(env, "setup")  # the template must exist before the outage

    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{prefix}.messages.routed")
    try:
        services.stop_service("elasticsearch")
        try:
            cli(env, "replay", str(tmp_path / "in.jsonl"))
            # Everything up to the indexer is processed; the indexer holds its batch uncommitted.
            deadline = time.monotonic() + 60
            lag: dict[str, int] = {}
            while time.monotonic() < deadline:
                lag = consumer_lag(
                    services.kafka_servers,
                    env["LUISTERPOST_APP_ID"],
                    (f"{prefix}.messages.routed",),
                )
                upstream = consumer_lag(
                    services.kafka_servers, env["LUISTERPOST_APP_ID"], (f"{prefix}.raw",)
                )
                if upstream[f"{prefix}.raw"] == 0 and lag[f"{prefix}.messages.routed"] == len(
                    expected
                ):
                    break
                time.sleep(1)
            assert lag[f"{prefix}.messages.routed"] == len(expected), (
                "the indexer committed without indexing"
            )
            time.sleep(3)  # a few failed bulk attempts, with backoff
            workers.assert_alive()
        finally:
            services.start_service("elasticsearch")
        cli(env, "wait", "--timeout", "120")
        workers.assert_alive()
    finally:
        workers.stop()

    docs = indexed(Elasticsearch(env["ELASTICSEARCH_URL"]), f"{prefix}-messages")
    assert set(docs) == set(expected)
