"""Pure conversation tracking: link replies to the inbound messages they answer, time responses.

One ``Conversation`` holds what the route stage remembers of a conversation between messages
(it lives in a faust Table keyed by conversation id, so it survives restarts). The rule: an
inbound message's first response is the earliest reply by the municipality in the same
conversation, sent at or after it, that *covers* it. A reply whose ``reply_to`` names an
inbound message of the conversation covers that message and the other messages of the same
author (a public post or thread holds many residents; answering one answers none of the
others). A reply without a known ``reply_to`` covers every earlier message (a private chat
has one resident). Links are recomputed from the whole state after every message, so replies
processed before the message they answer (out-of-order delivery) or days later give the same
result.

Processing the same message twice gives the same answer and the same updates (at-least-once
delivery redelivers), so the index converges whatever was redelivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from ingest.events import Message, Response, ResponseUpdate
from ingest.localtime import to_utc
from route.office_hours import OfficeHours
from route.router import condition_holds
from route.rules import RoutingConfig, ServiceLevel

__all__ = [
    "Conversation",
    "InboundEntry",
    "OutboundEntry",
    "Outcome",
    "OverdueUpdate",
    "mark_overdue",
    "remember_overdue",
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
    author: str = ""
    """Pseudonym of the resident; "" in state stored before authors were kept."""
    deleted: bool = False
    """The resident deleted it: it no longer waits for a reply (left out of the backlog)."""
    overdue_marked: bool = False
    """The index was told it went past ``due_at`` unanswered (sent once, by the backlog timer)."""
    observed: bool = False
    """Its first response went into the response-time histogram (which cannot take it back)."""

    @property
    def waiting(self) -> bool:
        """Expects a reply, has none, and was not deleted."""
        return self.answered_by is None and self.due_at is not None and not self.deleted


@dataclass
class OutboundEntry:
    received_at: str
    answers: list[str] = field(default_factory=list)
    reply_to: str | None = None
    """The message id the platform says this reply answers, if any."""
    deleted: bool = False
    """The municipality deleted it: a redelivered copy stays empty (it still answers)."""


class OverdueUpdate(BaseModel):
    """An in-place flag on an indexed inbound message: it went past its due time unanswered.

    The canonical ``Response`` has no such field (its model lives with ingest), so the flag
    travels as its own record kind on the routed topic; the indexer writes only
    ``response.overdue: true``. It carries no response fields, so it cannot undo an answer
    written concurrently by the route agent, whatever order the two land in; writing it again
    changes nothing.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["overdue-update"] = "overdue-update"
    message_id: str
    conversation_id: str
    received_at: datetime
    """Chooses the monthly index that holds the message."""

    @field_validator("received_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


Update = ResponseUpdate | OverdueUpdate


def time_response(entry: InboundEntry, calendar: OfficeHours) -> Response:
    """The response fields of one inbound message, from what the conversation knows.

    ``within_service_level`` stays None while unanswered, also when overdue (``response.overdue``
    and ``due_at`` say that): only a value that depends on the answer alone can be written
    without racing the backlog timer.
    """
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
    deleted: list[str] = field(default_factory=list)
    """Message ids (inbound or replies) deleted and not tracked: the deletion came first, or
    the entry was pruned (a redelivered original must stay empty)."""
    pruned: dict[str, str] = field(default_factory=dict)
    """Pruned inbound message id -> author, so a later reply naming one still answers only that
    resident (bounded like the rest, oldest first out)."""

    @classmethod
    def from_json(cls, text: str | None) -> Conversation:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            {k: InboundEntry(**v) for k, v in data["inbound"].items()},
            {k: OutboundEntry(**v) for k, v in data["outbound"].items()},
            list(data.get("deleted", [])),
            dict(data.get("pruned", {})),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "inbound": {k: asdict(v) for k, v in self.inbound.items()},
                "outbound": {k: asdict(v) for k, v in self.outbound.items()},
                "deleted": self.deleted,
                "pruned": self.pruned,
            },
            separators=(",", ":"),
        )

    def last_activity(self) -> datetime | None:
        """When a message or reply of this conversation last arrived or was answered; None
        when it holds no entries (only deletions that came before their originals)."""
        times = [e.received_at for e in self.inbound.values()]
        times += [e.answered_at for e in self.inbound.values() if e.answered_at is not None]
        times += [e.received_at for e in self.outbound.values()]
        return max(map(datetime.fromisoformat, times)) if times else None

    def unanswered(self) -> list[InboundEntry]:
        """Messages that expect a reply, have none yet and were not deleted."""
        return [e for e in self.inbound.values() if e.waiting]

    def _prune(self) -> None:
        if len(self.inbound) > MAX_ENTRIES:
            answered = sorted(
                (e.received_at, k) for k, e in self.inbound.items() if e.answered_by is not None
            )
            for _, key in answered[: len(self.inbound) - MAX_ENTRIES]:
                entry = self.inbound.pop(key)
                self.pruned[key] = entry.author
                if entry.deleted and key not in self.deleted:
                    self.deleted.append(key)
            for key in list(self.pruned)[: max(len(self.pruned) - MAX_ENTRIES, 0)]:
                del self.pruned[key]
        if len(self.outbound) > MAX_ENTRIES:
            oldest = sorted((e.received_at, k) for k, e in self.outbound.items())
            for _, key in oldest[: len(self.outbound) - MAX_ENTRIES]:
                if self.outbound.pop(key).deleted and key not in self.deleted:
                    self.deleted.append(key)
        del self.deleted[:-MAX_ENTRIES]


@dataclass
class Outcome:
    """What to write after one message: the message itself, completed, and in-place updates."""

    message: Message
    updates: list[Update]
    newly_answered: list[InboundEntry]
    """Inbound messages that got their first response now (for the response-time metric)."""


@dataclass
class _Relinked:
    inbound: set[str] = field(default_factory=set)
    """Inbound messages whose first response changed."""
    replies: set[str] = field(default_factory=set)
    """Replies whose ``answers`` changed."""
    newly: list[InboundEntry] = field(default_factory=list)


def _covers(conv: Conversation, reply: OutboundEntry, inbound_id: str) -> bool:
    """Whether a reply answers an inbound message, apart from timing.

    A named message that was pruned still names its author, so the reply does not widen to
    the whole conversation. Authors are compared only when both are known: state stored
    before authors were kept has "", which would make every old message the same resident's.
    """
    if reply.reply_to is None or inbound_id == reply.reply_to:
        return True
    target = conv.inbound.get(reply.reply_to)
    author = target.author if target is not None else conv.pruned.get(reply.reply_to)
    if author is None:
        return True  # names no message of this conversation: it answers the conversation
    mine = conv.inbound[inbound_id].author
    return bool(author) and bool(mine) and mine == author


def _relink(conv: Conversation) -> _Relinked:
    """Recompute every inbound message's first response from the whole state (mutates it).

    Recomputing instead of patching makes the order of processing irrelevant: a reply naming
    a message not seen yet covers the conversation until that message arrives, then only its
    author's messages.
    """
    changed = _Relinked()
    replies = sorted(
        (datetime.fromisoformat(o.received_at), reply_id, o)
        for reply_id, o in conv.outbound.items()
    )
    for inbound_id, entry in sorted(conv.inbound.items()):
        received = datetime.fromisoformat(entry.received_at)
        first = next(
            (
                (sent, reply_id)
                for sent, reply_id, reply in replies
                if sent >= received and _covers(conv, reply, inbound_id)
            ),
            None,
        )
        old = entry.answered_by
        pruned = old is not None and old not in conv.outbound
        at = entry.answered_at
        earlier = first is not None and at is not None and first[0] < datetime.fromisoformat(at)
        if pruned and not earlier:
            continue  # its reply was pruned from the state: keep it unless an earlier one covers it
        new = first[1] if first else None
        if new == old:
            continue
        if old is not None and old in conv.outbound:
            conv.outbound[old].answers.remove(inbound_id)
            changed.replies.add(old)
        if first is None:
            entry.answered_by, entry.answered_at = None, None
        else:
            entry.answered_by, entry.answered_at = first[1], first[0].isoformat()
            conv.outbound[first[1]].answers.append(inbound_id)
            changed.replies.add(first[1])
            if old is None and not entry.observed:
                entry.observed = True  # a histogram cannot take back a first, narrowed answer
                changed.newly.append(entry)
        changed.inbound.add(inbound_id)
    return changed


def _answers_update(conversation_id: str, reply_id: str, entry: OutboundEntry) -> ResponseUpdate:
    return ResponseUpdate(
        message_id=reply_id,
        conversation_id=conversation_id,
        received_at=datetime.fromisoformat(entry.received_at),
        answers=sorted(entry.answers),
    )


def _response_update(
    conv: Conversation,
    conversation_id: str,
    inbound_id: str,
    calendars: Callable[[str], OfficeHours],
) -> ResponseUpdate:
    entry = conv.inbound[inbound_id]
    return ResponseUpdate(
        message_id=inbound_id,
        conversation_id=conversation_id,
        received_at=datetime.fromisoformat(entry.received_at),
        response=time_response(entry, calendars(entry.department)),
    )


def _overdue_update(conversation_id: str, inbound_id: str, entry: InboundEntry) -> OverdueUpdate:
    return OverdueUpdate(
        message_id=inbound_id,
        conversation_id=conversation_id,
        received_at=datetime.fromisoformat(entry.received_at),
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
        _forget(conversation, message)
        return Outcome(message, [], [])
    if message.direction.value == "inbound":
        return _inbound(conversation, message, config, calendars)
    return _outbound(conversation, message, calendars)


def _forget(conv: Conversation, message: Message) -> None:
    """A deleted inbound message stops waiting; its answer, if any, still counts. A deleted
    reply was still sent, so it keeps answering; both are remembered as deleted, so a
    redelivered original goes out emptied."""
    tracked = conv.inbound if message.direction.value == "inbound" else conv.outbound
    entry = tracked.get(message.message_id)
    if entry is not None:
        entry.deleted = True
    elif message.message_id not in conv.deleted:
        conv.deleted.append(message.message_id)
        conv._prune()


def _other_updates(
    conv: Conversation,
    conversation_id: str,
    changed: _Relinked,
    calendars: Callable[[str], OfficeHours],
    *,
    skip: set[str],
) -> list[Update]:
    """Updates for the other messages whose links changed with this one."""
    updates: list[Update] = [
        _response_update(conv, conversation_id, inbound_id, calendars)
        for inbound_id in sorted(changed.inbound - skip)
    ]
    updates += [
        _answers_update(conversation_id, reply_id, conv.outbound[reply_id])
        for reply_id in sorted(changed.replies - skip)
        if reply_id in conv.outbound
    ]
    return updates


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
    message_id = message.message_id
    entry = conv.inbound.get(message_id)
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
            author=message.author.pseudonym,
            deleted=message_id in conv.deleted,
        )
        if entry.deleted:
            conv.deleted.remove(message_id)
        conv.inbound[message_id] = entry
    elif not entry.author:
        entry.author = message.author.pseudonym  # state stored before authors were kept
    changed = _relink(conv)
    conv._prune()
    # The message goes out whole, so it needs no update of its own; the rest do.
    updates: list[Update] = []
    if entry.answered_by is not None and entry.answered_by in conv.outbound:
        reply = conv.outbound[entry.answered_by]
        updates.append(_answers_update(message.conversation_id, entry.answered_by, reply))
    if entry.overdue_marked:
        # A redelivered message replaces the indexed document: restore the flag.
        updates.append(_overdue_update(message.conversation_id, message_id, entry))
    skip = {message_id} | ({entry.answered_by} if entry.answered_by else set())
    updates += _other_updates(conv, message.conversation_id, changed, calendars, skip=skip)
    completed = message.model_copy(update={"response": time_response(entry, calendar)})
    if entry.deleted:
        completed = _emptied(completed)
    return Outcome(completed, updates, changed.newly)


def _emptied(message: Message) -> Message:
    """The message as its deletion leaves it: the original came after the deletion (or again).

    Sent whole, the original would put the text back over the emptied document; marked
    deleted, it is also not routed, counted or alerted (see ``route.stage.dispatch``).
    """
    return message.model_copy(
        update={"text": "", "attachments": [], "deleted": True, "content_hash": "deleted"}
    )


def _outbound(
    conv: Conversation, message: Message, calendars: Callable[[str], OfficeHours]
) -> Outcome:
    reply_id = message.message_id
    reply = conv.outbound.get(reply_id)
    if reply is None:
        reply = OutboundEntry(
            received_at=message.received_at.isoformat(), deleted=reply_id in conv.deleted
        )
        if reply.deleted:
            conv.deleted.remove(reply_id)
        conv.outbound[reply_id] = reply
    if reply.reply_to is None:
        reply.reply_to = message.reply_to  # also fills in state stored before reply_to was kept
    changed = _relink(conv)
    conv._prune()
    answered = sorted(i for i in reply.answers if i in conv.inbound)
    updates: list[Update] = [
        _response_update(conv, message.conversation_id, inbound_id, calendars)
        for inbound_id in answered
    ]
    skip = {reply_id, *answered}
    updates += _other_updates(conv, message.conversation_id, changed, calendars, skip=skip)
    completed = message.model_copy(update={"answers": sorted(reply.answers)})
    if reply.deleted:
        completed = _emptied(completed)
    return Outcome(completed, updates, changed.newly)


def mark_overdue(
    conversation: Conversation,
    conversation_id: str,
    now: datetime,
) -> tuple[list[str], list[Update]]:
    """Find the waiting messages that passed their due time and were not flagged yet.

    The conversation is not changed: the caller sends the updates first and then records the
    flags with :func:`remember_overdue`, so a crash in between sends them again (idempotent)
    instead of never. Only the flag is sent, never response fields: the route agent may answer
    the message while the flag is on its way, and its answer must survive whichever lands last.

    :returns: the flagged message ids, and per message the overdue flag to write.
    """
    flagged: list[str] = []
    updates: list[Update] = []
    for inbound_id, entry in sorted(conversation.inbound.items()):
        if entry.overdue_marked or not entry.waiting or entry.due_at is None:
            continue
        if datetime.fromisoformat(entry.due_at) >= now:
            continue
        flagged.append(inbound_id)
        updates.append(_overdue_update(conversation_id, inbound_id, entry))
    return flagged, updates


def remember_overdue(conversation: Conversation, flagged: list[str]) -> bool:
    """Record that the overdue flags were sent; False when nothing changed."""
    changed = False
    for inbound_id in flagged:
        entry = conversation.inbound.get(inbound_id)
        if entry is not None and not entry.overdue_marked:
            entry.overdue_marked = True
            changed = True
    return changed
