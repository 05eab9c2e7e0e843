"""Deduplication of platform retries: the same platform message with the same content is dropped."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Delivery", "classify_delivery"]


class Delivery(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    EDIT = "edit"
    """Same platform message, changed content (an edited comment): passed on as an update."""


def classify_delivery(previous_fingerprint: str | None, fingerprint: str) -> Delivery:
    """Decide from what was seen before under this message id."""
    if previous_fingerprint is None:
        return Delivery.NEW
    if previous_fingerprint == fingerprint:
        return Delivery.DUPLICATE
    return Delivery.EDIT
