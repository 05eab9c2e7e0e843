"""The raw-topic record: an accepted payload exactly as it arrived, kept for audit and replay."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["RawRecord"]


class RawRecord(BaseModel):
    """One accepted delivery. ``body`` is the payload text, unchanged, never re-serialised."""

    schema_: Literal["luisterpost.raw/1"] = Field(default="luisterpost.raw/1", alias="schema")
    source: str
    """Which normaliser reads ``body``, e.g. 'export/v1', 'meta/v1'."""
    received_at: datetime
    body: str
    origin: str = ""
    """Where it came from (file and line, endpoint) for operators tracing a record."""

    model_config = {"populate_by_name": True}

    @property
    def delivery_id(self) -> str:
        """Identifies this exact delivery (a platform retry has the same body)."""
        return hashlib.sha256(f"{self.source}\x1f{self.body}".encode()).hexdigest()[:24]

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> RawRecord:
        return cls.model_validate_json(data)
