"""Deduplication of platform retries and replays: a version of a message seen before is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

__all__ = [
    "MAX_VERSIONS",
    "Delivery",
    "classify_delivery",
    "decode_seen",
    "encode_seen",
    "remember",
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
