"""Reading fields from platform payloads, with errors that say which field and what was wrong.

Shared by every channel normaliser, so all of them reject bad input the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ingest.registry import NormaliseError

__all__ = ["array", "at", "obj", "optional_str", "required_str"]


@contextmanager
def at(where: str) -> Iterator[None]:
    """Prefix errors with where in the delivery they happened, so an operator can find it."""
    try:
        yield
    except NormaliseError as exc:
        raise NormaliseError(f"{where}: {exc}") from None


def obj(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    if not isinstance(value, dict):
        raise NormaliseError(f"field {key!r} is missing or not an object")
    return value


def array(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key)
    if not isinstance(value, list):
        raise NormaliseError(f"field {key!r} is missing or not a list")
    return value


def required_str(record: dict[str, Any], key: str) -> str:
    """A non-empty string; platform ids sent as numbers are accepted as their digits."""
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise NormaliseError(f"field {key!r} is missing or not a non-empty string")
    return value


def optional_str(record: dict[str, Any], key: str) -> str:
    """A string, or '' when absent (text fields: an empty text is not an error here)."""
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NormaliseError(f"field {key!r} must be a string")
    return value


def iso_timestamp(raw: str, key: str = "created_at") -> datetime:
    """An ISO 8601 time with its UTC offset: a naive local time is ambiguous around DST changes."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise NormaliseError(f"{key} {raw!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise NormaliseError(f"{key} {raw!r} has no UTC offset")
    return moment
