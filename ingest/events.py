"""The canonical event: one JSON shape for a message on every topic after ingest.

Every stage imports it from here. ``schema_version`` changes whenever a field changes
meaning; readers reject versions they do not know instead of guessing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.localtime import LocalTime, local_time, to_utc

__all__ = [
    "CHANNELS",
    "INTENTS",
    "SCHEMA_VERSION",
    "TOPICS",
    "URGENCIES",
    "Alert",
    "Author",
    "Channel",
    "Direction",
    "Enrichment",
    "Location",
    "Message",
    "Response",
    "ResponseUpdate",
    "Routing",
    "content_fingerprint",
    "conversation_id_for",
    "message_id_for",
]

SCHEMA_VERSION = 1

Channel = Literal["twitter", "facebook", "instagram", "whatsapp", "app", "webform"]
CHANNELS: tuple[str, ...] = ("twitter", "facebook", "instagram", "whatsapp", "app", "webform")

Topic = Literal[
    "afval",
    "wegen-verkeer",
    "groen-water",
    "overlast",
    "dieren",
    "burgerzaken",
    "belastingen",
    "vergunningen",
    "zorg-welzijn",
    "participatie",
    "evenementen",
    "overig",
]
TOPICS: tuple[str, ...] = Topic.__args__  # type: ignore[attr-defined]
Urgency = Literal["spoed", "hoog", "normaal", "laag"]
URGENCIES: tuple[str, ...] = Urgency.__args__  # type: ignore[attr-defined]
Intent = Literal["melding", "vraag", "klacht", "idee", "compliment", "overig"]
INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]


class Direction(StrEnum):
    INBOUND = "inbound"
    """Written by a resident."""
    OUTBOUND = "outbound"
    """A reply by the municipality's own account."""


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def message_id_for(channel: str, platform_message_id: str) -> str:
    """Stable message id: the same platform message always maps to the same id."""
    return f"{channel}-{_short_hash(channel, platform_message_id)}"


def conversation_id_for(channel: str, platform_conversation_id: str) -> str:
    """Stable conversation id (also the Kafka key, so a conversation stays ordered)."""
    return f"{channel}-c-{_short_hash(channel, platform_conversation_id)}"


def content_fingerprint(text: str, attachments: list[str]) -> str:
    """What makes two deliveries of one platform message 'the same' (an edit changes it)."""
    return _short_hash(text, *attachments)


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    pseudonym: str
    """Keyed hash of the platform identity; the raw id never leaves ingest."""
    is_municipality: bool = False


class Location(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    label: str = "LOC"
    start: int | None = None
    end: int | None = None


class Enrichment(BaseModel):
    """What the enrich stage found. Scores are the classifier's confidence per label."""

    topic: Topic
    urgency: Urgency
    intent: Intent
    topic_score: float = Field(ge=0.0, le=1.0)
    urgency_score: float = Field(ge=0.0, le=1.0)
    intent_score: float = Field(ge=0.0, le=1.0)
    scores: dict[str, dict[str, float]] = Field(default_factory=dict)
    locations: list[Location] = Field(default_factory=list)
    lang: str | None = None
    classifier: str
    """Name and version of the classifier, so results can be traced to a model."""
    urgency_reasons: list[str] = Field(default_factory=list)


class Alert(BaseModel):
    """An urgent message that must reach a person now."""

    reason: str
    severity: Literal["critical", "warning"]


class Routing(BaseModel):
    """Where the route stage sent the message, and why."""

    department: str
    department_topic: str
    rule: str
    """Name of the rule that decided, or 'default'."""
    office_hours: bool
    alert: Alert | None = None


class Response(BaseModel):
    """How and when an inbound message was first answered; kept by conversation tracking."""

    answered: bool
    first_reply_id: str | None = None
    first_reply_at: datetime | None = None
    wall_minutes: float | None = None
    """Clock minutes from receipt to the first reply."""
    business_minutes: float | None = None
    """Of those, the minutes inside the department's office hours."""
    service_level: str
    """Name of the service-level rule that applies (channel and urgency decide)."""
    service_level_minutes: int | None
    """None when no reply is expected (thanks, chit-chat): never overdue."""
    service_level_clock: Literal["wall", "business"]
    due_at: datetime | None
    """When the service level runs out; unanswered after this means overdue."""
    within_service_level: bool | None = None
    """Set once answered if a reply was expected; None while unanswered (overdue is
    ``due_at`` in the past)."""


class Message(BaseModel):
    """A message from or to a resident on any channel, in one canonical shape."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    message_id: str
    channel: Channel
    platform_message_id: str
    conversation_id: str
    platform_conversation_id: str
    reply_to: str | None = None
    """message_id of the message this one answers, when known."""
    direction: Direction
    author: Author
    text: str
    attachments: list[str] = Field(default_factory=list)
    """Attachment kinds (image, video, ...); their content is not stored."""
    lang: str | None = None
    received_at: datetime
    local: LocalTime
    ingested_at: datetime
    source: str
    """The raw format it was normalised from, e.g. 'export/v1'."""
    content_hash: str
    deleted: bool = False
    """The author deleted it on the platform: text and attachments are emptied (AVG/GDPR)."""
    enrichment: Enrichment | None = None
    routing: Routing | None = None
    response: Response | None = None
    """Inbound only: first response time and service level, kept up to date in the index."""
    answers: list[str] = Field(default_factory=list)
    """Outbound only: ids of the inbound messages this reply was the first response to."""

    @field_validator("received_at", "ingested_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value)

    @classmethod
    def create(
        cls,
        *,
        channel: Channel,
        platform_message_id: str,
        platform_conversation_id: str,
        direction: Direction,
        author: Author,
        text: str,
        received_at: datetime,
        ingested_at: datetime,
        source: str,
        reply_to_platform_id: str | None = None,
        attachments: list[str] | None = None,
        lang: str | None = None,
        deleted: bool = False,
    ) -> Message:
        """Build a message, deriving ids, local-time fields and the content fingerprint."""
        attachments = attachments or []
        return cls(
            message_id=message_id_for(channel, platform_message_id),
            channel=channel,
            platform_message_id=platform_message_id,
            conversation_id=conversation_id_for(channel, platform_conversation_id),
            platform_conversation_id=platform_conversation_id,
            reply_to=message_id_for(channel, reply_to_platform_id)
            if reply_to_platform_id
            else None,
            direction=direction,
            author=author,
            text=text,
            attachments=attachments,
            lang=lang,
            received_at=received_at,
            local=local_time(received_at),
            ingested_at=ingested_at,
            source=source,
            content_hash=content_fingerprint(text, attachments) if not deleted else "deleted",
            deleted=deleted,
        )

    def to_json(self) -> bytes:
        """The one serialisation used on every Kafka topic."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Message:
        return cls.model_validate_json(data)


class ResponseUpdate(BaseModel):
    """An in-place change to an indexed message: its first response, or what a reply answered.

    Conversation tracking emits these on the routed topic, keyed like the messages they change,
    so they always follow the message itself; the indexer applies them as partial updates.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["response-update"] = "response-update"
    message_id: str
    conversation_id: str
    received_at: datetime
    """The changed message's receipt time: it chooses the monthly index that holds it."""
    response: Response | None = None
    answers: list[str] | None = None

    @field_validator("received_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value)

    def to_json(self) -> bytes:
        # Leave out only what this update does not change: the nulls inside ``response`` clear
        # old values (and some are required fields).
        unchanged = {name for name in ("response", "answers") if getattr(self, name) is None}
        return self.model_dump_json(exclude=unchanged).encode()
