"""Send raw records to the raw topic and wait until the broker acknowledged every one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kafka import KafkaProducer

from ingest.deadletter import DeadLetter
from ingest.raw import RawRecord

__all__ = ["send_dead_letters", "send_records"]


def send_records(
    records: Iterable[RawRecord],
    servers: str,
    topic: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Produce each record (keyed by delivery id); return how many were sent.

    :param progress: called with the number of records read so far.
    """
    producer = KafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        linger_ms=20,
        retries=10,
        client_id="luisterpost-import",
    )
    sent = 0
    try:
        futures = []
        for record in records:
            futures.append(
                producer.send(topic, key=record.delivery_id.encode(), value=record.to_json())
            )
            sent += 1
            if progress and sent % 100 == 0:
                progress(sent)
        producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused any record
    finally:
        producer.close()
    return sent


def send_dead_letters(records: Iterable[DeadLetter], servers: str, topic: str) -> int:
    """Keep rejected records, with their reasons, on the dead-letter topic."""
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", client_id="luisterpost-import")
    try:
        futures = [
            producer.send(topic, key=(r.key or "").encode(), value=r.to_json()) for r in records
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        return len(futures)
    finally:
        producer.close()
