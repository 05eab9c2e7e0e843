"""Replay an export file (JSON Lines) onto the raw topic, each line unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer

from ingest.raw import RawRecord

__all__ = ["ReplayResult", "raw_records", "replay_file"]


@dataclass
class ReplayResult:
    sent: int = 0
    skipped_blank: int = 0


def raw_records(path: Path, source: str = "export/v1") -> Iterator[RawRecord]:
    """One raw record per non-blank line; parsing is the normaliser's job (bad lines dead-letter)."""
    received_at = datetime.now(UTC)
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            body = line.rstrip("\n")
            if body.strip():
                yield RawRecord(
                    source=source,
                    received_at=received_at,
                    body=body,
                    origin=f"{path.name}:{number}",
                )


def replay_file(
    path: Path,
    servers: str,
    topic: str,
    source: str = "export/v1",
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Produce every line of ``path`` to ``topic``, waiting until the broker acknowledged all.

    :param progress: called with the number of records sent so far.
    """
    result = ReplayResult()
    producer = KafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        linger_ms=20,
        retries=10,
        client_id="luisterpost-replay",
    )
    try:
        futures = []
        for record in raw_records(path, source):
            futures.append(
                producer.send(topic, key=record.delivery_id.encode(), value=record.to_json())
            )
            result.sent += 1
            if progress and result.sent % 100 == 0:
                progress(result.sent)
        producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused any record
        if progress:
            progress(result.sent)
    finally:
        producer.close()
    return result
