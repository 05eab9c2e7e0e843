"""'export/v1': one message per JSON object, as written by channel exports and our sample data.

Fields (``id``, ``channel``, ``author_id``, ``created_at`` are required)::

    {"channel": "twitter", "id": "1851...", "conversation_id": "1850...",
     "in_reply_to": "1850..." | null, "author_id": "283...", "text": "...",
     "created_at": "2026-10-12T21:04:00+02:00", "attachments": ["image"], "lang": "nl"}

``created_at`` must carry its UTC offset: a naive local time is ambiguous around DST changes.
A message whose ``author_id`` is one of the municipality's own accounts is an outbound reply.
"""

from __future__ import annotations

from typing import Any, cast

from ingest.channels.fields import iso_timestamp, required_str
from ingest.events import CHANNELS, Author, Channel, Direction, Message
from ingest.registry import NormaliseContext, NormaliseError, normaliser

__all__ = ["normalise_export", "normalise_export_csv"]

SOURCE = "export/v1"


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise NormaliseError(f"field {key!r} must be a string")
    return value


@normaliser(SOURCE)
def normalise_export(payload: Any, ctx: NormaliseContext) -> list[Message]:
    """Normalise one export record.

    :param payload: the parsed JSON object.
    :param ctx: secrets and own accounts.
    :raises NormaliseError: with a reason an operator can act on.
    """
    if not isinstance(payload, dict):
        raise NormaliseError(f"expected a JSON object, got {type(payload).__name__}")
    channel = required_str(payload, "channel")
    if channel not in CHANNELS:
        raise NormaliseError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    platform_id = required_str(payload, "id")
    author_id = required_str(payload, "author_id")
    text = payload.get("text", "")
    if not isinstance(text, str):
        raise NormaliseError("field 'text' must be a string")
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise NormaliseError("field 'attachments' must be a list of strings")
    if not text.strip() and not attachments:
        raise NormaliseError("message has neither text nor attachments")
    outbound = ctx.is_own_account(channel, author_id)
    return [
        Message.create(
            channel=cast(Channel, channel),
            platform_message_id=platform_id,
            platform_conversation_id=_optional_str(payload, "conversation_id") or platform_id,
            reply_to_platform_id=_optional_str(payload, "in_reply_to"),
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            author=Author(pseudonym=ctx.pseudonym(channel, author_id), is_municipality=outbound),
            text=text,
            attachments=attachments,
            lang=_optional_str(payload, "lang"),
            received_at=iso_timestamp(required_str(payload, "created_at")),
            ingested_at=ctx.ingested_at,
            source=SOURCE,
        )
    ]


@normaliser("export-csv/v1")
def normalise_export_csv(payload: Any, ctx: NormaliseContext) -> list[Message]:
    """One CSV row (header -> cell) with the export/v1 columns; ``attachments`` is ';'-separated."""
    if not isinstance(payload, dict):
        raise NormaliseError(f"expected a CSV row as an object, got {type(payload).__name__}")
    row = {key: value for key, value in payload.items() if value not in (None, "")}
    attachments = row.get("attachments")
    if isinstance(attachments, str):
        row["attachments"] = [kind.strip() for kind in attachments.split(";") if kind.strip()]
    return normalise_export(row, ctx)
