"""Pure: canonical messages to Elasticsearch bulk actions, and bulk results sorted by what to do next."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.events import Message
from route.index.names import IndexNames

__all__ = ["BulkOutcome", "index_action", "sort_bulk_items", "tombstone_action"]

# Worth retrying: the cluster is busy or briefly unavailable, not the document's fault.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def index_action(message: Message, names: IndexNames, indexed_at: datetime) -> dict[str, Any]:
    """An idempotent bulk action: the document id is the message id."""
    source = message.model_dump(mode="json")
    source["indexed_at"] = indexed_at.isoformat()
    return {
        "_op_type": "index",
        "_index": names.messages_index(message.received_at),
        "_id": message.message_id,
        "_source": source,
    }


def tombstone_action(message: Message, index: str, indexed_at: datetime) -> dict[str, Any]:
    """Empty a message its author deleted, in the index that already holds it.

    A deletion can arrive months after the message, and indices are chosen by the month a
    message was received; writing the deletion to its own month would leave the text behind.
    Arrival time, channel, routing and classification stay: they are counted, not personal.
    """
    return {
        "_op_type": "update",
        "_index": index,
        "_id": message.message_id,
        "doc": {
            "text": "",
            "attachments": [],
            "deleted": True,
            "content_hash": message.content_hash,
            "indexed_at": indexed_at.isoformat(),
        },
    }


@dataclass
class BulkOutcome:
    indexed: list[str]
    retry: list[str]
    rejected: dict[str, str]
    """message id -> reason, for documents the index refuses (they go to the dead letter)."""


def sort_bulk_items(items: Iterable[dict[str, Any]]) -> BulkOutcome:
    """Split ``streaming_bulk``/``bulk`` item results into indexed, retry and rejected."""
    outcome = BulkOutcome([], [], {})
    for item in items:
        result = next(iter(item.values()))
        doc_id = str(result.get("_id"))
        status = int(result.get("status", 0))
        if 200 <= status < 300:
            outcome.indexed.append(doc_id)
        elif status in RETRYABLE_STATUS:
            outcome.retry.append(doc_id)
        else:
            error = result.get("error")
            if isinstance(error, dict):
                reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
            else:
                reason = str(error)
            outcome.rejected[doc_id] = (
                f"elasticsearch refused the document (HTTP {status}): {reason}"
            )
    return outcome
