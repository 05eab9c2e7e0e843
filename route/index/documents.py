"""Pure: canonical messages to Elasticsearch bulk actions, and bulk results sorted by what to do next."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.events import Message, ResponseUpdate
from route.index.names import IndexNames
from route.responses import OverdueUpdate

__all__ = [
    "BulkOutcome",
    "Routed",
    "index_action",
    "kept_by_deletion",
    "merge_actions",
    "parse_routed",
    "sort_bulk_items",
    "tombstone_action",
    "update_action",
]


Routed = Message | ResponseUpdate | OverdueUpdate
"""A record of the routed topic."""


def parse_routed(data: bytes) -> Routed:
    """A record of the routed topic: a whole message, or an in-place update of one.

    :raises pydantic.ValidationError: none of the shapes.
    :raises ValueError: not JSON.
    """
    kind = json.loads(data).get("kind")
    if kind == ResponseUpdate.model_fields["kind"].default:
        return ResponseUpdate.model_validate_json(data)
    if kind == OverdueUpdate.model_fields["kind"].default:
        return OverdueUpdate.model_validate_json(data)
    return Message.from_json(data)


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


def tombstone_action(
    message: Message,
    index: str,
    indexed_at: datetime,
    kept: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Empty a message its author deleted, in the index that already holds it.

    A deletion can arrive months after the message, and indices are chosen by the month a
    message was received; writing the deletion to its own month would leave the text behind.
    Arrival time, channel, routing and classification stay: they are counted, not personal.
    What the classifier quoted from the text goes with it: the places it found (an address
    is personal data) and the phrases that made it urgent.

    :param kept: conversation tracking pending with the deletion (:func:`kept_by_deletion`):
        the deletion replaced its pending write, so it goes along.
    """
    return {
        "_op_type": "update",
        "_index": index,
        "_id": message.message_id,
        "doc": {
            **(kept or {}),
            "text": "",
            "attachments": [],
            "enrichment": {"locations": [], "urgency_reasons": []},
            "deleted": True,
            "content_hash": message.content_hash,
            "indexed_at": indexed_at.isoformat(),
        },
    }


def update_action(
    update: ResponseUpdate | OverdueUpdate, names: IndexNames, indexed_at: datetime
) -> dict[str, Any]:
    """A partial update of an indexed message, in the month index its receipt time chose."""
    if isinstance(update, OverdueUpdate):
        doc: dict[str, Any] = {"response": {"overdue": True}}
    else:
        # The whole response, nulls included: a partial update merges objects, so a field left
        # out would keep an old value (an un-answered message keeping its first reply).
        fields = update.model_dump(mode="json", include={"response", "answers"})
        doc = {key: value for key, value in fields.items() if value is not None}
    doc["indexed_at"] = indexed_at.isoformat()
    return {
        "_op_type": "update",
        "_index": names.messages_index(update.received_at),
        "_id": update.message_id,
        "doc": doc,
    }


def merge_actions(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """One action for two writes of the same document within a batch, the later one winning.

    A whole document replaces anything before it; an update applies on top of what is pending,
    so a message and the response that follows it in one batch become one complete document.
    Objects merge field by field, as Elasticsearch merges a partial update, so an overdue flag
    and a later response both survive.

    A deletion is a whole document too, but it carries no conversation tracking: the response
    and answers pending before it are kept, in its source and under ``kept`` (for the tombstone
    that replaces it when the message is already indexed), and so are updates after it.
    """
    if later["_op_type"] == "index":
        if not later["_source"].get("deleted"):
            return later
        kept = _deep_merge(earlier.get("kept", {}), _tracking(earlier))
        return {**later, "_source": _deep_merge(later["_source"], kept), "kept": kept}
    if earlier["_op_type"] == "index":
        merged = {**earlier, "_source": _deep_merge(earlier["_source"], later["doc"])}
        if "kept" in earlier:
            merged["kept"] = _deep_merge(earlier["kept"], _tracking(later))
        return merged
    return {**earlier, "doc": _deep_merge(earlier["doc"], later["doc"])}


_TRACKING = ("response", "answers")


def kept_by_deletion(action: dict[str, Any]) -> dict[str, Any]:
    """The conversation tracking a pending deletion (a whole document) must not lose when it
    becomes a tombstone: its own response (an original that came after its deletion) and what
    was pending before it in the batch."""
    return _deep_merge(_tracking(action), action.get("kept", {}))


def _tracking(action: dict[str, Any]) -> dict[str, Any]:
    """What conversation tracking set in an action (a whole document's are None or empty when
    it has not)."""
    fields = action["_source"] if action["_op_type"] == "index" else action["doc"]
    if action["_op_type"] == "index":
        return {key: fields[key] for key in _TRACKING if fields.get(key)}
    return {key: fields[key] for key in _TRACKING if key in fields}


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _deep_merge(old, value)
        else:
            merged[key] = value
    return merged


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
