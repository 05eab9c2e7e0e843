"""Worker state is dropped once unchanged for the retention, and stays dropped.

The route worker's backlog timer removes a conversation unchanged for longer than
LUISTERPOST_STATE_RETENTION_DAYS from its table, and the ingest worker's sweep does the same for
what the dedupe table remembers of a message, each with a tombstone on the changelog, so a
restarted worker does not recover it. The retention counts in processing time, so replaying old
messages is new activity.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from ingest.events import message_id_for
from tests.test_pipeline.support import Workers, cli, indexed, read_topic, write_jsonl
from tests.test_pipeline.test_response_times import answered, said

pytestmark = pytest.mark.integration

RETENTION_SECONDS = 20


def test_a_conversation_past_the_retention_leaves_the_state_and_a_worker_restart(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**pipeline_env, "LUISTERPOST_STATE_RETENTION_DAYS": str(RETENTION_SECONDS / 86400)}
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    changelog = f"{prefix}.state.conversations-changelog"
    monday = "2026-11-16T10:00:00+01:00"
    write_jsonl(tmp_path / "old.jsonl", [said("old", "old", "Wanneer is de kerstmarkt?", monday)])
    write_jsonl(
        tmp_path / "later.jsonl",
        [
            said("new", "new", "Is het zwembad open met kerst?", monday),
            answered("new-r", "new", "2026-11-16T10:30:00+01:00"),
            answered("old-r", "old", "2026-11-16T10:45:00+01:00"),
        ],
    )
    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{prefix}.raw")
    try:
        cli(env, "replay", str(tmp_path / "old.jsonl"))
        cli(env, "wait", "--timeout", "150")
        deadline = time.monotonic() + RETENTION_SECONDS + 60  # the timer runs every 15 s
        tombstones: list[bytes] = []
        while not tombstones and time.monotonic() < deadline:
            time.sleep(2)
            records = read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], changelog)
            tombstones = [r.key for r in records if r.value is None]
        workers.assert_alive()
    finally:
        workers.stop()
    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    docs = {d["platform_message_id"]: d for d in indexed(es, f"{prefix}-messages").values()}
    assert [json.loads(key) for key in tombstones] == [docs["old"]["conversation_id"]]

    # A new worker recovers the table from the changelog without the old conversation: its
    # late reply no longer finds the question, while a conversation that is active is tracked.
    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{prefix}.raw")
    try:
        cli(env, "replay", str(tmp_path / "later.jsonl"))
        cli(env, "wait", "--timeout", "150")
        workers.assert_alive()
    finally:
        workers.stop()
    docs = {d["platform_message_id"]: d for d in indexed(es, f"{prefix}-messages").values()}
    assert docs["new"]["response"]["answered"] is True
    assert docs["old"]["response"]["answered"] is False


def test_a_message_past_the_retention_leaves_the_dedupe_state(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**pipeline_env, "LUISTERPOST_STATE_RETENTION_DAYS": str(RETENTION_SECONDS / 86400)}
    changelog = f"{env['LUISTERPOST_TOPIC_PREFIX']}.state.dedupe-changelog"
    servers = env["KAFKA_BOOTSTRAP_SERVERS"]
    message = said("d1", "d", "Wanneer wordt het grofvuil opgehaald?", "2026-11-16T10:00:00+01:00")
    write_jsonl(tmp_path / "message.jsonl", [message])
    message_id = message_id_for("whatsapp", "d1")

    def values_of_the_message() -> list[bytes | None]:
        records = read_topic(servers, changelog)
        return [r.value for r in records if json.loads(r.key) == message_id]

    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{env['LUISTERPOST_TOPIC_PREFIX']}.raw")
    try:
        replayed_at = time.monotonic()  # before the dedupe agent remembers the message
        cli(env, "replay", str(tmp_path / "message.jsonl"))
        cli(env, "wait", "--timeout", "150")
        deadline = time.monotonic() + RETENTION_SECONDS + 60  # swept every 5 s at this retention
        values = values_of_the_message()
        while None not in values and time.monotonic() < deadline:
            time.sleep(2)
            values = values_of_the_message()
        forgotten_after = time.monotonic() - replayed_at
        # Forgotten, the same delivery is new again: the dedupe agent remembers it once more.
        cli(env, "replay", str(tmp_path / "message.jsonl"))
        cli(env, "wait", "--timeout", "150")
        after = values_of_the_message()
        workers.assert_alive()
    finally:
        workers.stop()
    assert values[0] is not None and values[-1] is None, values
    assert forgotten_after >= RETENTION_SECONDS - 1  # stored times are whole seconds
    assert len(after) == len(values) + 1 and after[-1] is not None
