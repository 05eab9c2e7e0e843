"""'app/v1': messages from the municipality's own app and web form (POST /api/v1/messages).

The body is one object or a list of objects; the schema is the pydantic model below, published
as JSON Schema in ``app_message.schema.json`` next to this module (a test keeps the file equal to
the model; regenerate with
``python -c "from ingest.channels.app import write_json_schema; write_json_schema()"``)::

    {"id": "VB-APP-1001", "channel": "app", "author_id": "app-7f3a", "text": "...",
     "attachments": ["image"], "created_at": "2026-11-02T21:04:00+01:00",
     "conversation_id": "VB-APP-1000", "in_reply_to": "VB-APP-1000", "lang": "nl",
     "location": "Molenweg 14"}

Unknown fields are rejected rather than dropped, so a client that starts sending something new
is noticed. ``location`` is accepted but not carried into the canonical message: it is free
text typed by the resident, and the classifier finds locations in the message text itself.
Replies by the webcare desk (author ids in own_accounts.yaml) are outbound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from ingest.events import Author, Direction, Message
from ingest.registry import NormaliseContext, NormaliseError, normaliser

__all__ = [
    "SCHEMA_PATH",
    "AppMessage",
    "AppMessages",
    "json_schema",
    "normalise_app",
    "write_json_schema",
]

SOURCE = "app/v1"
SCHEMA_PATH = Path(__file__).with_name("app_message.schema.json")


class AppMessage(BaseModel):
    """One message from the app or the web form."""

    model_config = ConfigDict(
        extra="forbid",
        title="AppMessage",
        # What _has_content checks, stated in the published schema too.
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"pattern": "\\S"}}},
                {"required": ["attachments"], "properties": {"attachments": {"minItems": 1}}},
            ]
        },
    )

    id: str = Field(min_length=1, description="The app's own message id; stable across retries.")
    channel: Literal["app", "webform"]
    author_id: str = Field(
        min_length=1, description="The app's user id; pseudonymised at ingest, never stored."
    )
    text: str = Field(default="", description="Required unless there are attachments.")
    attachments: list[str] = Field(
        default_factory=list, description="Attachment kinds (image, video, ...), not content."
    )
    created_at: AwareDatetime = Field(
        description="ISO 8601 with UTC offset; a naive local time is ambiguous around DST."
    )
    conversation_id: str | None = Field(
        default=None, description="The thread; defaults to the message's own id."
    )
    in_reply_to: str | None = Field(default=None, description="Id of the message answered.")
    lang: str | None = Field(default=None, description="Language code, when the app knows it.")
    location: str | None = Field(
        default=None, description="Free-text location; accepted, not stored in the message."
    )

    @field_validator("created_at", mode="before")
    @classmethod
    def _iso_string(cls, value: Any) -> Any:
        # pydantic would also take epoch numbers; the documented format is an ISO 8601 string.
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 string with a UTC offset")
        return value

    @model_validator(mode="after")
    def _has_content(self) -> AppMessage:
        if not self.text.strip() and not self.attachments:
            raise ValueError("message has neither text nor attachments")
        return self


class AppMessages(RootModel[AppMessage | Annotated[list[AppMessage], Field(min_length=1)]]):
    """The request body of POST /api/v1/messages: one message or a non-empty list."""

    model_config = ConfigDict(
        title="app/v1 messages",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )


def _reason(exc: ValidationError, prefix: str) -> str:
    """Pydantic's errors as 'path: message', one per field, so the operator sees what to fix."""
    parts = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "message"
        parts.append(f"{prefix}{path}: {error['msg']}")
    return "; ".join(parts)


def _validate(item: Any, prefix: str) -> AppMessage:
    if not isinstance(item, dict):
        raise NormaliseError(
            f"{prefix.rstrip('.') or 'body'}: expected a JSON object, got {type(item).__name__}"
        )
    try:
        return AppMessage.model_validate(item)
    except ValidationError as exc:
        raise NormaliseError(f"invalid app/v1 message: {_reason(exc, prefix)}") from None


@normaliser(SOURCE)
def normalise_app(payload: Any, ctx: NormaliseContext) -> list[Message]:
    """Normalise one request body (an object or a list of objects).

    :raises NormaliseError: naming every invalid field path, e.g. ``[1].created_at``.
    """
    if isinstance(payload, list):
        if not payload:
            raise NormaliseError("empty list: an app/v1 body holds at least one message")
        records = [_validate(item, f"[{n}].") for n, item in enumerate(payload)]
    else:
        records = [_validate(payload, "")]
    return [_message(record, ctx) for record in records]


def _message(record: AppMessage, ctx: NormaliseContext) -> Message:
    outbound = ctx.is_own_account(record.channel, record.author_id)
    return Message.create(
        channel=record.channel,
        platform_message_id=record.id,
        platform_conversation_id=record.conversation_id or record.id,
        reply_to_platform_id=record.in_reply_to,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=Author(
            pseudonym=ctx.pseudonym(record.channel, record.author_id), is_municipality=outbound
        ),
        text=record.text,
        attachments=record.attachments,
        lang=record.lang,
        received_at=record.created_at,
        ingested_at=ctx.ingested_at,
        source=SOURCE,
    )


def json_schema() -> str:
    """The published JSON Schema text, exactly as ``app_message.schema.json`` must hold it."""
    return json.dumps(AppMessages.model_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_json_schema() -> None:
    """Regenerate the published schema file after changing the model."""
    SCHEMA_PATH.write_text(json_schema(), encoding="utf-8")
