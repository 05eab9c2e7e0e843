"""Writing a faust Table outside an agent (timers that expire or flag state).

Faust lets only a stream event write a table: it takes the changelog partition from the event.
A timer has no event, so it writes the local store and the changelog itself, on the partition
the state belongs to. Callers decide on the state as read just before, with no await between
the read and the write, so an agent's newer state is not lost.
"""

from __future__ import annotations

from typing import Any

__all__ = ["drop_key", "write_key"]


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
