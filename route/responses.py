"""Pure conversation tracking: link replies to the inbound messages they answer, time responses.

One ``Conversation`` holds what the route stage remembers of a conversation between messages
(it lives in a faust Table keyed by conversation id, so it survives restarts). The rule: an
inbound message's first response is the earliest reply by the municipality in the same
conversation sent at or after it. Replies may be processed before the message they answer
(out-of-order delivery) or days later; either way the result is the same.

Processing the same message twice gives the same answer and the same updates (at-least-once
delivery redelivers), so the index converges whatever was redelivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from ingest.events import Message, Response, ResponseUpdate
from route.office_hours import OfficeHours
from route.router import condition_holds
from route.rules import RoutingConfig, ServiceLevel

__all__ = [
    "Conversation",
    "InboundEntry",
    "OutboundEntry",
    "Outcome",
    "respond",
    "service_level_for",
    "time_response",
]

# Bound the state of very long threads (a viral post): the oldest answered messages go first.
MAX_ENTRIES = 500


def service_level_for(message: Message, config: RoutingConfig) -> ServiceLevel:
    """The first service-level rule whose condition the routed message meets."""
    for level in config.service_levels:
        if level.when is None or condition_holds(level.when, message):
            return level
    raise AssertionError("validated rules end with a catch-all service level")


@dataclass
class InboundEntry:
    received_at: str
    department: str
    urgency: str
    channel: str
    level: str
    level_minutes: int | None
    level_clock: str
    due_at: str | None
    """None when no reply is expected."""
    answered_by: str | None = None
    answered_at: str | None = None


@dataclass
class OutboundEntry:
    received_at: str
    answers: list[str] = field(default_factory=list)


def time_response(entry: InboundEntry, calendar: OfficeHours) -> Response:
    """The response fields of one inbound message, from what the conversation knows."""
    received = datetime.fromisoformat(entry.received_at)
    common = {
        "service_level": entry.level,
        "service_level_minutes": entry.level_minutes,
        "service_level_clock": entry.level_clock,
        "due_at": datetime.fromisoformat(entry.due_at) if entry.due_at else None,
    }
    if entry.answered_by is None or entry.answered_at is None:
        return Response(answered=False, **common)
    answered = datetime.fromisoformat(entry.answered_at)
    wall = max((answered - received).total_seconds() / 60, 0.0)
    business = calendar.business_minutes(received, answered)
    spent = wall if entry.level_clock == "wall" else business
    return Response(
        answered=True,
        first_reply_id=entry.answered_by,
        first_reply_at=answered,
        wall_minutes=round(wall, 2),
        business_minutes=round(business, 2),
        within_service_level=None if entry.level_minutes is None else spent <= entry.level_minutes,
        **common,
    )


@dataclass
class Conversation:
    inbound: dict[str, InboundEntry] = field(default_factory=dict)
    outbound: dict[str, OutboundEntry] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> Conversation:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            {k: InboundEntry(**v) for k, v in data["inbound"].items()},
            {k: OutboundEntry(**v) for k, v in data["outbound"].items()},
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "inbound": {k: asdict(v) for k, v in self.inbound.items()},
                "outbound": {k: asdict(v) for k, v in self.outbound.items()},
            },
            separators=(",", ":"),
        )

    def unanswered(self) -> list[InboundEntry]:
        """Messages that expect a reply and have none yet."""
        return [e for e in self.inbound.values() if e.answered_by is None and e.due_at is not None]

    def _prune(self) -> None:
        if len(self.inbound) > MAX_ENTRIES:
            answered = sorted(
                (e.received_at, k) for k, e in self.inbound.items() if e.answered_by is not None
            )
            for _, key in answered[: len(self.inbound) - MAX_ENTRIES]:
                del self.inbound[key]
        if len(self.outbound) > MAX_ENTRIES:
            oldest = sorted((e.received_at, k) for k, e in self.outbound.items())
            for _, key in oldest[: len(self.outbound) - MAX_ENTRIES]:
                del self.outbound[key]


@dataclass
class Outcome:
    """What to write after one message: the message itself, completed, and in-place updates."""

    message: Message
    updates: list[ResponseUpdate]
    newly_answered: list[InboundEntry]
    """Inbound messages that got their first response now (for the response-time metric)."""


def _answers_update(conversation_id: str, reply_id: str, entry: OutboundEntry) -> ResponseUpdate:
    return ResponseUpdate(
        message_id=reply_id,
        conversation_id=conversation_id,
        received_at=datetime.fromisoformat(entry.received_at),
        answers=sorted(entry.answers),
    )


def respond(
    conversation: Conversation,
    message: Message,
    config: RoutingConfig,
    *,
    calendar_for: Callable[[str], OfficeHours] | None = None,
) -> Outcome:
    """Track one routed message in its conversation (mutated in place) and say what to write.

    :param conversation: the stored state of ``message.conversation_id``.
    :param message: a routed message; inbound ones must carry enrichment and routing.
    :param config: service levels and office hours.
    """
    calendars = calendar_for or config.calendar_for
    if message.deleted:
        return Outcome(message, [], [])
    if message.direction.value == "inbound":
        return _inbound(conversation, message, config, calendars)
    return _outbound(conversation, message, calendars)


def _inbound(
    conv: Conversation,
    message: Message,
    config: RoutingConfig,
    calendars: Callable[[str], OfficeHours],
) -> Outcome:
    if message.routing is None or message.enrichment is None:
        raise ValueError("conversation tracking needs a routed, enriched inbound message")
    department = message.routing.department
    calendar = calendars(department)
    entry = conv.inbound.get(message.message_id)
    newly: list[InboundEntry] = []
    if entry is None:
        level = service_level_for(message, config)
        received = message.received_at
        if level.minutes is None:
            due = None
        elif level.clock == "business":
            due = calendar.add_business_minutes(received, level.minutes)
        else:
            due = received + timedelta(minutes=level.minutes)
        entry = InboundEntry(
            received_at=received.isoformat(),
            department=department,
            urgency=message.enrichment.urgency,
            channel=message.channel,
            level=level.name,
            level_minutes=level.minutes,
            level_clock=level.clock,
            due_at=due.isoformat() if due else None,
        )
        # Out of order: a reply processed earlier may already answer this message.
        earliest = min(
            (
                (datetime.fromisoformat(o.received_at), reply_id)
                for reply_id, o in conv.outbound.items()
                if datetime.fromisoformat(o.received_at) >= received
            ),
            default=None,
        )
        if earliest is not None:
            entry.answered_at, entry.answered_by = earliest[0].isoformat(), earliest[1]
            conv.outbound[earliest[1]].answers.append(message.message_id)
            newly.append(entry)
        conv.inbound[message.message_id] = entry
        conv._prune()
    updates = []
    if entry.answered_by is not None and entry.answered_by in conv.outbound:
        reply = conv.outbound[entry.answered_by]
        updates.append(_answers_update(message.conversation_id, entry.answered_by, reply))
    completed = message.model_copy(update={"response": time_response(entry, calendar)})
    return Outcome(completed, updates, newly)


def _outbound(
    conv: Conversation, message: Message, calendars: Callable[[str], OfficeHours]
) -> Outcome:
    reply_id = message.message_id
    reply = conv.outbound.get(reply_id)
    newly: list[InboundEntry] = []
    changed_replies: set[str] = set()
    if reply is None:
        sent = message.received_at
        reply = OutboundEntry(received_at=sent.isoformat())
        conv.outbound[reply_id] = reply
        for inbound_id, entry in conv.inbound.items():
            if datetime.fromisoformat(entry.received_at) > sent:
                continue
            if entry.answered_at is not None and datetime.fromisoformat(entry.answered_at) <= sent:
                continue
            # Unanswered, or answered by a later reply that was processed first: this one is first.
            if entry.answered_by is None:
                newly.append(entry)
            elif entry.answered_by in conv.outbound:
                conv.outbound[entry.answered_by].answers.remove(inbound_id)
                changed_replies.add(entry.answered_by)
            entry.answered_by, entry.answered_at = reply_id, sent.isoformat()
            reply.answers.append(inbound_id)
        conv._prune()
    updates = [
        ResponseUpdate(
            message_id=inbound_id,
            conversation_id=message.conversation_id,
            received_at=datetime.fromisoformat(conv.inbound[inbound_id].received_at),
            response=time_response(
                conv.inbound[inbound_id], calendars(conv.inbound[inbound_id].department)
            ),
        )
        for inbound_id in sorted(reply.answers)
        if inbound_id in conv.inbound
    ]
    updates += [
        _answers_update(message.conversation_id, other, conv.outbound[other])
        for other in sorted(changed_replies)
    ]
    completed = message.model_copy(update={"answers": sorted(reply.answers)})
    return Outcome(completed, updates, newly)
