"""Incident state and the events that change it: pure data and transitions, no I/O.

One incident per conversation at a time (the Table key). Later urgent messages in the thread
join it instead of paging again. State changes only in the alert stage's agents, from either a
message on the alerts topic or an ``AlertEvent`` (ack, escalate, expire, delivered, failed) on
the alert-events topic; both are keyed by conversation, so both land on the incident's partition.
Deliveries are part of the state: a delivery stays pending (and is retried) until a
``delivered`` event says otherwise, so a crash repeats a delivery and never loses one.

The same topic carries informational records (``INFO_KINDS``: raised, upgraded, escalated,
acknowledged, expired), a snapshot of the incident after each change for other consumers;
the stage itself ignores them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.localtime import to_utc

__all__ = [
    "INFO_KINDS",
    "AlertEvent",
    "Delivery",
    "Incident",
    "apply_event",
    "conversation_of",
    "due_deliveries",
    "escalation_due",
    "expire",
    "expires_at",
    "expiry_due",
    "find_incident",
    "forgettable",
    "incident_chain",
    "incident_id_for",
    "incident_record",
    "last_change",
    "notices",
    "replace_incident",
    "retire",
    "retry_delay",
]

_INCIDENT_ID = re.compile(r"^(?P<conversation>[a-z]+-c-[0-9a-f]{24})-i-[0-9a-f]{10}$")
MAX_RETRY = timedelta(minutes=5)
MAX_SUPERSEDED = 3
"""Older incidents a conversation keeps while their notices are unsent (bounds the state)."""

Status = Literal["open", "acknowledged", "stale", "expired"]
EventKind = Literal[
    "ack",
    "escalate",
    "expire",
    "delivered",
    "failed",
    "raised",
    "upgraded",
    "escalated",
    "acknowledged",
    "expired",
]
INFO_KINDS = frozenset({"raised", "upgraded", "escalated", "acknowledged", "expired"})
"""Records that describe an incident for other consumers; they change no state."""


def incident_id_for(conversation_id: str, first_message_id: str) -> str:
    """Stable: a replay of the same first message gives the same incident (and index doc)."""
    digest = hashlib.sha256(first_message_id.encode()).hexdigest()[:10]
    return f"{conversation_id}-i-{digest}"


def conversation_of(incident_id: str) -> str:
    """The conversation (Kafka key) an incident id belongs to.

    :raises ValueError: if it is not an incident id.
    """
    match = _INCIDENT_ID.match(incident_id.strip())
    if not match:
        raise ValueError(
            f"{incident_id!r} is not an alert id (expected '<channel>-c-<24 hex>-i-<10 hex>')"
        )
    return match.group("conversation")


def retry_delay(attempts: int, base: timedelta, *, permanent: bool = False) -> timedelta:
    """Exponential backoff after ``attempts`` failures, capped at five minutes.

    A ``permanent`` failure (a 4xx that retrying cannot fix) waits the cap at once: it is still
    retried, so a receiver fixed by its operator gets the notice, but it is not hammered.
    """
    if permanent:
        return MAX_RETRY
    return min(base * (2 ** max(attempts - 1, 0)), MAX_RETRY)


class Delivery(BaseModel):
    """One notice (raise, escalate-N, upgrade, ack, ack-<late notice>) to one receiver."""

    model_config = ConfigDict(extra="forbid")

    receiver: str
    kind: str
    level: int
    state: Literal["pending", "delivered", "cancelled"] = "pending"
    attempts: int = 0
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None

    def idempotency_key(self, incident_id: str) -> str:
        """Same for every attempt of this notice, so a receiver can drop repeats."""
        return f"{incident_id}:{self.kind}"


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_id: str
    conversation_id: str
    partition: int
    """Partition of the alerts topic it came from: only that partition's owner acts on it."""
    message_ids: list[str]
    team: str
    department: str
    severity: Literal["critical", "warning"]
    channel: str
    responders: list[str]
    """Escalation chain fixed when raised: level N goes to responders[N]."""
    level: int = 0
    status: Status
    office_hours: bool
    received_at: datetime
    """When the first message of the incident was posted."""
    raised_at: datetime
    last_message_at: datetime
    excerpt: str
    location: str | None = None
    link: str
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    escalated_at: datetime | None = None
    escalate_at: datetime | None = None
    upgraded_at: datetime | None = None
    """When a spoed message turned this warning incident critical (it was warning before)."""
    expired_at: datetime | None = None
    deliveries: list[Delivery] = Field(default_factory=list)
    version: int = 1
    superseded: Incident | None = None
    """The conversation's previous incident, kept until its final state is indexed; it keeps
    older ones in turn while they have pending notices (see ``retire``)."""

    @property
    def responder(self) -> str:
        return self.responders[min(self.level, len(self.responders) - 1)]

    @property
    def minutes_to_ack(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return round((self.acknowledged_at - self.raised_at).total_seconds() / 60, 3)

    def bumped(self, **changes: object) -> Incident:
        return self.model_copy(update={**changes, "version": self.version + 1})


class AlertEvent(BaseModel):
    """A change to an incident, published keyed by its conversation id."""

    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    incident_id: str
    conversation_id: str = ""
    at: datetime
    by: str | None = None
    level: int | None = None
    receiver: str | None = None
    delivery_kind: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    attempt: int | None = None
    """failed: which attempt of the notice failed (1 is the first), so a repeat counts once."""
    version: int | None = None
    """expire: the incident version the tick saw (a change since then cancels the expiry);
    informational records: the incident version they describe."""
    severity: Literal["critical", "warning"] | None = None
    team: str | None = None
    responder: str | None = None
    status: Status | None = None
    text: str | None = None

    @field_validator("at", "retry_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return to_utc(value) if value is not None else None

    @model_validator(mode="after")
    def _conversation(self) -> AlertEvent:
        conversation = conversation_of(self.incident_id)
        if self.conversation_id and self.conversation_id != conversation:
            raise ValueError(f"conversation_id does not match incident {self.incident_id}")
        self.conversation_id = conversation
        if self.kind == "escalate" and self.level is None:
            raise ValueError("an escalate event needs a level")
        if self.kind in ("delivered", "failed") and not (self.receiver and self.delivery_kind):
            raise ValueError(f"a {self.kind} event needs receiver and delivery_kind")
        if self.kind == "expire" and self.version is None:
            raise ValueError("an expire event needs the incident version")
        if self.kind in INFO_KINDS and not (self.severity and self.team and self.responder):
            raise ValueError(f"a {self.kind} record needs severity, team and responder")
        return self

    @property
    def dedupe_key(self) -> str:
        """Same for a repeat of one change (a record is published at least once)."""
        return f"{self.incident_id}:{self.kind}:{self.level if self.level is not None else ''}"

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def incident_record(incident: Incident, kind: str, at: datetime, text: str) -> AlertEvent:
    """The informational record of ``incident`` after a change (``kind`` in ``INFO_KINDS``)."""
    if kind not in INFO_KINDS:
        raise ValueError(f"{kind!r} is not an informational record kind")
    return AlertEvent(
        kind=kind,
        incident_id=incident.incident_id,
        at=at,
        by=incident.acknowledged_by if kind == "acknowledged" else None,
        level=incident.level,
        severity=incident.severity,
        team=incident.team,
        responder=incident.responder,
        status=incident.status,
        version=incident.version,
        text=text,
    )


def expires_at(incident: Incident, resolve_after: timedelta) -> datetime:
    """When an unacknowledged incident ends: ``resolve_after`` after its last notice.

    Every notice (raise, escalation, upgrade) sends this instant to Alertmanager as ``endsAt``,
    so the incident and its alert end together. A joined message sends no notice, so it must
    not extend the incident either: Alertmanager would end the alert while the incident still
    swallowed new messages. A message after the end opens (and pages) a new incident.
    """
    moments = [incident.raised_at]
    moments += [m for m in (incident.escalated_at, incident.upgraded_at) if m is not None]
    return max(moments) + resolve_after


def expiry_due(incident: Incident, now: datetime, resolve_after: timedelta) -> bool:
    """An open incident nobody acknowledged whose alert has ended: it should stop counting."""
    return incident.status == "open" and now >= expires_at(incident, resolve_after)


def expire(incident: Incident, at: datetime) -> Incident:
    """Closed without an ack. Pending notices are cancelled: their alert has ended already."""
    return incident.bumped(
        status="expired",
        expired_at=at,
        escalate_at=None,
        deliveries=_cancel_pending(incident.deliveries),
    )


def _cancel_pending(deliveries: list[Delivery]) -> list[Delivery]:
    return [
        d.model_copy(update={"state": "cancelled"}) if d.state == "pending" else d
        for d in deliveries
    ]


def notices(kind: str, level: int, receivers: list[str], at: datetime) -> list[Delivery]:
    """One pending notice of ``kind`` to each of ``receivers``, due at ``at``."""
    return [Delivery(receiver=r, kind=kind, level=level, next_attempt_at=at) for r in receivers]


def apply_event(
    incident: Incident,
    event: AlertEvent,
    receivers: list[str],
    escalate_after: timedelta,
    retry_base: timedelta,
) -> tuple[Incident, str]:
    """The incident after ``event`` and what happened, for logs and metrics.

    Every event is idempotent: applied twice, the second is 'ignored'.
    """
    if event.incident_id != incident.incident_id:
        return incident, "unknown-incident"
    if event.kind == "ack":
        if incident.status != "open":
            # An expired or stale incident has no alert to stop; acknowledging it would make
            # the next urgent message join it silently (within reopen_after of the ack).
            repeat = incident.status == "acknowledged"
            return incident, "ignored" if repeat else f"ignored-{incident.status}"
        # Every receiver a notice may have reached: a timeout recorded as failed can still have
        # been accepted, and a resolve for an alert the receiver never got is harmless.
        reached = sorted({d.receiver for d in incident.deliveries})
        deliveries = _cancel_pending(incident.deliveries)
        deliveries += notices("ack", incident.level, reached, event.at)
        return incident.bumped(
            status="acknowledged",
            acknowledged_at=event.at,
            acknowledged_by=event.by,
            escalate_at=None,
            deliveries=deliveries,
        ), "acknowledged"
    if event.kind == "expire":
        if incident.status != "open" or event.version != incident.version:
            return incident, "ignored"
        return expire(incident, event.at), "expired"
    if event.kind == "escalate":
        level = event.level or 0
        if incident.status != "open" or level != incident.level + 1:
            return incident, "ignored"
        if level >= len(incident.responders):
            return incident.bumped(escalate_at=None), "ignored"
        last = level == len(incident.responders) - 1
        return incident.bumped(
            level=level,
            escalated_at=event.at,
            escalate_at=None if last else event.at + escalate_after,
            deliveries=[
                *incident.deliveries,
                *notices(f"escalate-{level}", level, receivers, event.at),
            ],
        ), "escalated"
    if event.kind in ("delivered", "failed"):
        matches = [
            i
            for i, d in enumerate(incident.deliveries)
            if d.receiver == event.receiver and d.kind == event.delivery_kind
        ]
        if not matches:
            return incident, "ignored"
        i = matches[0]
        d = incident.deliveries[i]
        if event.kind == "delivered" and _firing_after_ack(incident, d):
            return _late_delivery(incident, i, event)
        if d.state != "pending":
            return incident, "ignored"
        if event.kind == "failed" and event.attempt is not None and event.attempt <= d.attempts:
            return incident, "ignored"  # this attempt was counted already
        deliveries = list(incident.deliveries)
        if event.kind == "delivered":
            deliveries[i] = d.model_copy(update={"state": "delivered", "delivered_at": event.at})
            first = incident.delivered_at
            if d.kind == "raise" and (first is None or event.at < first):
                first = event.at
            return incident.bumped(deliveries=deliveries, delivered_at=first), "delivered"
        attempts = event.attempt or d.attempts + 1
        deliveries[i] = d.model_copy(
            update={
                "attempts": attempts,
                "last_error": event.error,
                "next_attempt_at": event.retry_at or event.at + retry_delay(attempts, retry_base),
            }
        )
        return incident.bumped(deliveries=deliveries), "failed"
    return incident, "ignored"


def _firing_after_ack(incident: Incident, d: Delivery) -> bool:
    """A firing notice of an acknowledged incident that a receiver took anyway: it was in
    flight when the ack came (cancelled), or it was a repeat sent while the first copy's
    ``delivered`` event was still on its way (already delivered)."""
    return (
        incident.status == "acknowledged"
        and d.state in ("cancelled", "delivered")
        and not d.kind.startswith("ack")
    )


def _late_delivery(incident: Incident, i: int, event: AlertEvent) -> tuple[Incident, str]:
    """A firing notice accepted after the ack: the receiver must get a resolve after it.

    It always gets its own ack notice (``ack-<kind>``): the receiver may have taken the earlier
    ack first, even while that ack is still pending here, and the late notice fires again. When
    that ack notice went out before this copy was taken (a repeat sent while the first copy's
    ``delivered`` event lagged), it is sent again.
    """
    d = incident.deliveries[i]
    deliveries = list(incident.deliveries)
    changed = d.state == "cancelled"
    if changed:
        deliveries[i] = d.model_copy(update={"state": "delivered", "delivered_at": event.at})
    kind = f"ack-{d.kind}"
    own = next(
        (j for j, x in enumerate(deliveries) if x.receiver == d.receiver and x.kind == kind), None
    )
    if own is None:
        deliveries += notices(kind, incident.level, [d.receiver], event.at)
        changed = True
    else:
        resolve = deliveries[own]
        taken_before = resolve.delivered_at is not None and resolve.delivered_at < event.at
        if resolve.state == "delivered" and taken_before:
            deliveries[own] = resolve.model_copy(
                update={"state": "pending", "delivered_at": None, "next_attempt_at": event.at}
            )
            changed = True
    if not changed:
        return incident, "ignored"
    return incident.bumped(deliveries=deliveries), "delivered-late"


def escalation_due(incident: Incident, now: datetime) -> int | None:
    """The level to escalate to now, if an open incident waited too long for its ack."""
    if incident.status != "open" or incident.escalate_at is None or now < incident.escalate_at:
        return None
    if incident.level + 1 >= len(incident.responders):
        return None
    return incident.level + 1


def due_deliveries(incident: Incident, now: datetime) -> list[Delivery]:
    return [d for d in incident.deliveries if d.state == "pending" and d.next_attempt_at <= now]


def last_change(incident: Incident) -> datetime:
    """The latest moment the conversation's incidents changed: raised, acknowledged, escalated,
    upgraded, expired, a notice delivered, a message joined. All but the last are the worker's
    clock, so a replay of old messages counts as new activity."""
    moments: list[datetime] = []
    for version in incident_chain(incident):
        moments += [version.raised_at, version.last_message_at]
        moments += [
            moment
            for moment in (
                version.acknowledged_at,
                version.escalated_at,
                version.upgraded_at,
                version.expired_at,
                *(d.delivered_at for d in version.deliveries),
            )
            if moment is not None
        ]
    return max(moments)


def forgettable(incident: Incident, now: datetime, retention: timedelta) -> bool:
    """Nothing left to do for the conversation's incidents, and unchanged for ``retention``:
    none is open, no notice is pending. The caller also checks that the last state is indexed.
    """
    settled = all(
        version.status != "open" and not any(d.state == "pending" for d in version.deliveries)
        for version in incident_chain(incident)
    )
    return settled and last_change(incident) < now - retention


def incident_chain(incident: Incident) -> list[Incident]:
    """The conversation's incident and the superseded ones it keeps, newest first."""
    chain: list[Incident] = []
    found: Incident | None = incident
    while found is not None:
        chain.append(found)
        found = found.superseded
    return chain


def find_incident(current: Incident, incident_id: str) -> Incident | None:
    """The incident with ``incident_id`` in ``current``'s chain, if it is still kept."""
    return next((i for i in incident_chain(current) if i.incident_id == incident_id), None)


def replace_incident(current: Incident, updated: Incident) -> Incident:
    """``current`` (a new version) with the superseded incident ``updated`` put in its place."""
    if current.incident_id == updated.incident_id:
        return updated
    if current.superseded is None:
        raise ValueError(f"{updated.incident_id} is not in the chain of {current.incident_id}")
    return current.bumped(superseded=_replaced(current.superseded, updated))


def _replaced(incident: Incident, updated: Incident) -> Incident:
    if incident.incident_id == updated.incident_id:
        return updated
    if incident.superseded is None:
        raise ValueError(f"{updated.incident_id} is not in the chain")
    return incident.model_copy(update={"superseded": _replaced(incident.superseded, updated)})


def retire(previous: Incident) -> Incident:
    """``previous`` as the superseded incident of a new one.

    It is kept (its final state still has to be indexed); older ones only while they have
    pending notices, such as an ack Alertmanager has not taken yet, and at most
    ``MAX_SUPERSEDED`` in all, so a receiver that never answers cannot grow the state forever.
    """
    chain = incident_chain(previous)[1:]
    older = [i for i in chain if any(d.state == "pending" for d in i.deliveries)]
    kept: Incident | None = None
    for incident in reversed(older[: MAX_SUPERSEDED - 1]):
        kept = incident.model_copy(update={"superseded": kept})
    return previous.model_copy(update={"superseded": kept})
