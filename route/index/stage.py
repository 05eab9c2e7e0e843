"""The index stage's faust agent: bulk writes to Elasticsearch, committed only once safely indexed.

Faust acks a batch after this agent's loop body returns, and commits acked offsets only then.
So the body never gives up on a batch: transient failures are retried with backoff until the
cluster answers; documents the cluster refuses go to the dead-letter topic with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from ingest.deadletter import dead_letter_for
from ingest.events import Message
from ingest.metrics import DEAD_LETTERS, STAGE_ERRORS, STAGE_MESSAGES, STAGE_SECONDS
from route.index.documents import (
    Routed,
    index_action,
    kept_by_deletion,
    merge_actions,
    parse_routed,
    sort_bulk_items,
    tombstone_action,
    update_action,
)
from route.index.names import IndexNames

__all__ = ["is_retrying", "register"]

log = logging.getLogger(__name__)

INDEXED = Counter(
    "luisterpost_indexed_total",
    "Documents written to Elasticsearch (direction 'update': response times set in place)",
    ["direction"],
)
BULK_RETRIES = Counter(
    "luisterpost_index_retries_total", "Bulk attempts that had to be retried", ["reason"]
)
BULK_SECONDS = Histogram("luisterpost_index_bulk_seconds", "Duration of one bulk request")
PIPELINE_SECONDS = Histogram(
    "luisterpost_pipeline_latency_seconds",
    "From ingest (webhook or import) to the message being searchable in the index",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
MAX_BACKOFF_SECONDS = 30.0
_retrying = False


def is_retrying() -> bool:
    """True while a batch waits for Elasticsearch: its records are held on purpose, not lost."""
    return _retrying


async def _bulk(es: AsyncElasticsearch, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for action in actions:
        target = {"_index": action["_index"], "_id": action["_id"]}
        if action["_op_type"] == "update":
            operations += [{"update": target}, {"doc": action["doc"]}]
        else:
            operations += [{"index": target}, action["_source"]]
    with BULK_SECONDS.time():
        response = await es.bulk(operations=operations)
    return list(response["items"])


async def _locate(es: AsyncElasticsearch, alias: str, ids: list[str]) -> dict[str, str]:
    """message id -> the index that already holds it (for deletions).

    Before the first message of a deployment is written, the alias names no index yet: then no
    index holds any of them (a deletion in the very first batch), not an error to retry.
    """
    try:
        response = await es.search(
            index=alias, query={"ids": {"values": ids}}, size=len(ids), source=False
        )
    except NotFoundError:
        return {}
    return {hit["_id"]: hit["_index"] for hit in response["hits"]["hits"]}


def register(
    app: Any,
    *,
    routed: Any,
    deadletter: Any,
    client: Any,
    names: IndexNames,
    batch_size: int,
    batch_seconds: float,
) -> None:
    """Attach the index agent. ``client`` makes the AsyncElasticsearch client inside the loop."""

    @app.agent(routed, name="route.index")
    async def index_agent(stream: Any) -> None:
        es: AsyncElasticsearch = client()
        try:
            await _index_batches(stream, es)
        finally:
            await es.close()

    async def _index_batches(stream: Any, es: AsyncElasticsearch) -> None:
        global _retrying
        async for events in stream.take_events(batch_size, within=batch_seconds):
            started = time.perf_counter()
            pending: dict[str, tuple[Any, dict[str, Any], Routed]] = {}
            for event in events:
                try:
                    record = parse_routed(event.value)
                except (ValidationError, ValueError) as exc:
                    STAGE_ERRORS.labels("index", type(exc).__name__).inc()
                    DEAD_LETTERS.labels("index").inc()
                    detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc
                    reason = f"not a canonical message or update: {detail}"
                    await deadletter.send(
                        value=dead_letter_for("index", reason, type(exc).__name__, event).to_json()
                    )
                    continue
                now = datetime.now(UTC)
                if isinstance(record, Message):
                    action = index_action(record, names, now)
                else:
                    action = update_action(record, names, now)
                earlier = pending.get(record.message_id)
                if earlier is not None:
                    # Same document twice in one batch: one write, the later record winning.
                    action = merge_actions(earlier[1], action)
                    if isinstance(earlier[2], Message) and not isinstance(record, Message):
                        record = earlier[2]
                pending[record.message_id] = (event, action, record)
            backoff = 0.5
            while pending:
                try:
                    deleted = [
                        i
                        for i, (_, a, m) in pending.items()
                        if isinstance(m, Message) and m.deleted and a["_op_type"] == "index"
                    ]
                    if deleted:
                        found = await _locate(es, names.messages_alias, deleted)
                        for message_id, index in found.items():
                            event, whole, message = pending[message_id]
                            assert isinstance(message, Message)
                            kept = kept_by_deletion(whole)
                            action = tombstone_action(message, index, datetime.now(UTC), kept)
                            pending[message_id] = (event, action, message)
                    items = await _bulk(es, [action for _, action, _ in pending.values()])
                except (TransportError, ApiError) as exc:
                    _retrying = True
                    BULK_RETRIES.labels(type(exc).__name__).inc()
                    log.warning("bulk request failed (%s); retrying in %.1fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                outcome = sort_bulk_items(items)
                for doc_id in outcome.indexed:
                    _, _, written = pending.pop(doc_id)
                    if not isinstance(written, Message):
                        INDEXED.labels("update").inc()
                        continue
                    INDEXED.labels(written.direction.value).inc()
                    latency = (datetime.now(UTC) - written.ingested_at).total_seconds()
                    PIPELINE_SECONDS.labels(written.channel).observe(max(latency, 0.0))
                    STAGE_MESSAGES.labels("index", written.channel, written.direction.value).inc()
                for doc_id, reason in outcome.rejected.items():
                    event, _, _ = pending.pop(doc_id)
                    STAGE_ERRORS.labels("index", "rejected").inc()
                    DEAD_LETTERS.labels("index").inc()
                    await deadletter.send(
                        value=dead_letter_for("index", reason, "BulkItemError", event).to_json()
                    )
                if pending:
                    _retrying = True
                    BULK_RETRIES.labels("item_status").inc()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            _retrying = False
            STAGE_SECONDS.labels("index").observe(time.perf_counter() - started)
