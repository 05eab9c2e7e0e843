"""Drive the real CLI and workers as subprocesses, and read what they wrote to Kafka and ES."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition

from enrich.enrich import enrich_messages
from enrich.pipeline import Enricher
from ingest.events import Message
from ingest.normalise import load_own_accounts, normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError
from luisterpost.readiness import wait_until_fetching
from route.router import route
from route.rules import load_rules
from tests.conftest import free_port


def cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "luisterpost", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"luisterpost {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result


class Workers:
    """Worker processes, stopped with SIGTERM so they leave the consumer group cleanly."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start_ready(self, stages: Sequence[str], topic: str) -> None:
        """Start a worker and wait until it fetches ``topic`` (joined, tables recovered)."""
        port = free_port()
        self.start(stages, port)
        wait_until_fetching(port, topic, 90, self.assert_alive)

    def start(self, stages: Sequence[str], metrics_port: int) -> None:
        name = f"worker-{len(self.processes)}-{'-'.join(stages)}"
        log = (self.log_dir / f"{name}-{id(self)}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "luisterpost",
                    "worker",
                    *stages,
                    *self._options(metrics_port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    @staticmethod
    def _options(metrics_port: int) -> list[str]:
        return ["--metrics-port", str(metrics_port), "--loglevel", "info"]

    def assert_alive(self) -> None:
        for process in self.processes:
            assert process.poll() is None, f"a worker exited early; logs in {self.log_dir}"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def read_topic(servers: str, topic: str) -> list[Any]:
    """Every record on a topic, from the start to the current end."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def indexed(es: Elasticsearch, alias: str) -> dict[str, dict[str, Any]]:
    """message_id -> document source, for every document under the alias."""
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=10_000, query={"match_all": {}})["hits"]["hits"]
    docs: dict[str, dict[str, Any]] = {}
    for hit in hits:
        assert hit["_id"] not in docs, f"{hit['_id']} indexed twice"
        docs[hit["_id"]] = hit["_source"]
    return docs


def past_due_unflagged(docs: dict[str, dict[str, Any]], now: datetime) -> list[str]:
    """Ids of inbound messages past their due time, unanswered, and not yet flagged overdue."""
    late = []
    for message_id, doc in docs.items():
        response = doc.get("response") or {}
        due = response.get("due_at")
        if due is None or response.get("answered") or doc.get("deleted"):
            continue
        if datetime.fromisoformat(due) < now and not response.get("overdue"):
            late.append(message_id)
    return late


def wait_until_flagged_overdue(es: Elasticsearch, alias: str, timeout: float = 90) -> None:
    """Wait for the route stage's backlog timer (every 15 s) to flag every past-due message.

    The flag is written once, by whichever timer tick first sees the message: a test comparing
    the index before and after something else must let that tick happen first.
    """
    deadline = time.monotonic() + timeout
    while True:
        late = past_due_unflagged(indexed(es, alias), datetime.now(UTC))
        if not late:
            return
        assert time.monotonic() < deadline, f"never flagged overdue: {sorted(late)}"
        time.sleep(2)


ENRICHER = Enricher()


def expected_routing(lines: list[str], pseudonym_key: str) -> dict[str, Message]:
    """What the pure functions say each valid line becomes (last delivery of an id wins)."""
    ctx = NormaliseContext(pseudonym_key.encode(), datetime.now(UTC), load_own_accounts())
    rules = load_rules()
    out: dict[str, Message] = {}
    for line in lines:
        try:
            messages = normalise(
                RawRecord(source="export/v1", received_at=datetime.now(UTC), body=line), ctx
            )
        except NormaliseError:
            continue
        for message in enrich_messages(messages, ENRICHER):
            if message.enrichment is not None:
                message = message.model_copy(update={"routing": route(message, rules, "x")})
            out[message.message_id] = message
    return out


def write_jsonl(path: Path, records: list[Any]) -> list[str]:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines
