"""Conversation state is kept as long as the index keeps messages, then leaves the table.

A conversation whose last message is older than the retention is dropped by the route worker's
backlog timer, with a tombstone on its changelog, so a restarted worker does not recover it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.test_pipeline.support import Workers, cli, indexed, read_topic, write_jsonl
from tests.test_pipeline.test_response_times import answered, said

pytestmark = pytest.mark.integration


def _at(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def test_a_conversation_past_the_retention_leaves_the_state_and_a_worker_restart(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**pipeline_env, "LUISTERPOST_RETENTION_MONTHS": "1"}  # 31 days
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    changelog = f"{prefix}.state.conversations-changelog"
    write_jsonl(
        tmp_path / "questions.jsonl",
        [
            said("old", "old", "Wanneer wordt de kerstboom opgehaald?", _at(70)),
            said("new", "new", "Is het zwembad open met kerst?", _at(2)),
        ],
    )
    write_jsonl(
        tmp_path / "replies.jsonl",
        [answered("old-r", "old", _at(69)), answered("new-r", "new", _at(1))],
    )
    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{prefix}.raw")
    try:
        cli(env, "replay", str(tmp_path / "questions.jsonl"))
        cli(env, "wait", "--timeout", "150")
        deadline = time.monotonic() + 60  # the backlog timer runs every 15 s
        while time.monotonic() < deadline:
            tombstones = [r.key for r in read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], changelog)
                          if r.value is None]  # fmt: skip
            if tombstones:
                break
            time.sleep(2)
        workers.assert_alive()
    finally:
        workers.stop()
    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    docs = {d["platform_message_id"]: d for d in indexed(es, f"{prefix}-messages").values()}
    assert [json.loads(key) for key in tombstones] == [docs["old"]["conversation_id"]]

    # A new worker recovers the table from the changelog: the old conversation is gone, so a
    # late reply no longer finds its question; the recent one is still tracked.
    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{prefix}.raw")
    try:
        cli(env, "replay", str(tmp_path / "replies.jsonl"))
        cli(env, "wait", "--timeout", "150")
        workers.assert_alive()
    finally:
        workers.stop()
    docs = {d["platform_message_id"]: d for d in indexed(es, f"{prefix}-messages").values()}
    assert docs["new"]["response"]["answered"] is True
    assert docs["old"]["response"]["answered"] is False
