"""Writing a faust Table outside an agent (timers that expire or flag state).

Faust lets only a stream event write a table: it takes the changelog partition from the event.
A timer has no event, so it writes the local store and the changelog itself, on the partition
the state belongs to. Callers decide on the state as read just before, with no await between
the read and the write, so an agent's newer state is not lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

__all__ = ["SLICE", "drop_key", "in_slices", "write_key"]

T = TypeVar("T")

SLICE = 10_000
"""Entries a timer handles before it lets the agents run: a table can hold a year of state."""


def write_key(table: Any, partition: int, key: str, value: str) -> None:
    """Store ``value`` under ``key`` and send it to the changelog's ``partition``."""
    table.data[key] = value
    table.send_changelog(partition, key, value)


def drop_key(table: Any, partition: int, key: str) -> None:
    """Delete ``key`` from the store, with a tombstone on the changelog's ``partition``, as
    faust writes one for a deleted key: compaction removes the key, and a restarted worker
    does not bring it back."""
    del table.data[key]
    table.send_changelog(partition, key, None, value_serializer="raw")


async def in_slices(items: Sequence[T], size: int = SLICE) -> AsyncIterator[T]:
    """Each item in turn, yielding to the event loop between slices of ``size``, so a timer
    walking a large table does not hold up the agents. The agents may change the table between
    slices: a caller re-reads an entry, with no await in between, before it writes."""
    for first in range(0, len(items), size):
        if first:
            await asyncio.sleep(0)
        for item in items[first : first + size]:
            yield item
