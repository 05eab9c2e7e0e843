"""Dead-letter records: what a stage could not process, with the reason, never dropped."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from pydantic import BaseModel, Field

__all__ = ["DeadLetter", "dead_letter_for"]


class DeadLetter(BaseModel):
    schema_: str = Field(default="luisterpost.deadletter/1", alias="schema")
    stage: str
    reason: str
    error_type: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    payload: str
    """The original record: UTF-8 text when it decodes, else base64 prefixed with 'base64:'."""
    failed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    model_config = {"populate_by_name": True}

    @staticmethod
    def encode_payload(value: bytes | str | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def dead_letter_for(stage: str, reason: str, error_type: str, event: object) -> DeadLetter:
    """Build the record from a stream event (anything with ``.message`` and ``.value``)."""
    message = getattr(event, "message", None)
    key = getattr(message, "key", None)
    return DeadLetter(
        stage=stage,
        reason=reason,
        error_type=error_type,
        topic=getattr(message, "topic", None),
        partition=getattr(message, "partition", None),
        offset=getattr(message, "offset", None),
        key=DeadLetter.encode_payload(key) if key is not None else None,
        payload=DeadLetter.encode_payload(getattr(event, "value", None)),
    )
