"""Deduplication of platform retries and replays: a version of a message seen before is dropped.

What is remembered per message is kept for the state retention after its last change, then
forgotten (``Remembered``, ``forgettable``, ``sweep_interval``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

__all__ = [
    "MAX_VERSIONS",
    "Delivery",
    "Remembered",
    "classify_delivery",
    "decode_seen",
    "encode_seen",
    "forgettable",
    "remember",
    "sweep_interval",
]

MAX_VERSIONS = 20
"""Versions remembered per message: an edit war beyond this may be delivered again."""


class Delivery(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    EDIT = "edit"
    """Same platform message, content not seen before (an edited comment): passed on as an update."""


def classify_delivery(seen: Sequence[str], fingerprint: str) -> Delivery:
    """Decide from every content fingerprint seen before under this message id.

    Remembering all versions, not only the last, keeps a replay of 'original, then edit' from
    re-applying both. The cost: an edit back to an earlier text counts as a duplicate.
    """
    if not seen:
        return Delivery.NEW
    if fingerprint in seen:
        return Delivery.DUPLICATE
    return Delivery.EDIT


def remember(seen: Sequence[str], fingerprint: str) -> list[str]:
    return [*[f for f in seen if f != fingerprint], fingerprint][-MAX_VERSIONS:]


def encode_seen(seen: Sequence[str]) -> str:
    return ",".join(seen)


def decode_seen(value: str | None) -> list[str]:
    return value.split(",") if value else []


@dataclass(frozen=True)
class Remembered:
    """A dedupe table value: the versions seen, the partition of the conversation-keyed topic
    it belongs to and when it last changed (Unix seconds, the worker's clock).

    Stored as ``"<partition>:<changed>:<fingerprints>"``. Values written before times were kept
    hold the fingerprints alone; they have no partition or time and are kept until their
    message comes again and rewrites them.
    """

    seen: list[str]
    partition: int | None = None
    changed: float | None = None

    def encode(self) -> str:
        if self.partition is None or self.changed is None:
            return encode_seen(self.seen)
        return f"{self.partition}:{int(self.changed)}:{encode_seen(self.seen)}"

    @classmethod
    def decode(cls, value: str | None) -> Remembered:
        if not value:
            return cls([])
        head, _, rest = value.partition(":")
        if not rest:  # fingerprints are hex digests (or "deleted"): no colon in a legacy value
            return cls(decode_seen(value))
        changed, _, fingerprints = rest.partition(":")
        return cls(decode_seen(fingerprints), int(head), float(changed))


def forgettable(entry: Remembered, cutoff: float) -> bool:
    """Unchanged since before ``cutoff`` (Unix seconds). Processing time, not message time:
    a replay of old messages is new activity."""
    return entry.changed is not None and entry.changed < cutoff


def sweep_interval(retention: timedelta) -> float:
    """Seconds between sweeps of the dedupe table: a quarter of the retention, between 5 s and
    an hour, so a long retention does not walk the table often and a short one (tests) does."""
    return min(3600.0, max(5.0, retention.total_seconds() / 4))
