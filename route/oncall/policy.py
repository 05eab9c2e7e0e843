"""Alert policy: which message alerts whom, with what text, and when it is a new incident.

Which messages alert is decided by the router (``alerts`` in the routing rules: every spoed,
hoog outside office hours) and carried as ``routing.alert``; this module decides the team,
the responder chain, the text, and whether the message opens an incident, joins the
conversation's open one, or upgrades it (a spoed in a thread with an open hoog incident).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from ingest.events import Message
from ingest.localtime import AMSTERDAM
from route.office_hours import OfficeHours
from route.oncall.config import OncallConfig
from route.oncall.incidents import (
    Incident,
    expire,
    expires_at,
    incident_chain,
    incident_id_for,
    notices,
    replace_incident,
    retire,
)
from route.oncall.roster import on_call

__all__ = [
    "DELETED_EXCERPT",
    "Outcome",
    "excerpt",
    "on_deletion",
    "on_message",
    "render_text",
    "stale_cutoff",
]

Outcome = Literal["raised", "stale", "joined", "upgraded", "duplicate", "not-an-alert"]
_WEEKDAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")


def excerpt(text: str, limit: int) -> str:
    """Whitespace collapsed, cut at a word boundary, with an ellipsis when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0] or flat[: limit - 1]
    return cut + "…"


def stale_cutoff(config: OncallConfig, now: datetime) -> datetime:
    return now - config.policy.max_age


def _location(message: Message) -> str | None:
    found = message.enrichment.locations if message.enrichment else []
    names = list(dict.fromkeys(loc.text for loc in found))
    return ", ".join(names) or None


def on_message(
    current: Incident | None,
    message: Message,
    config: OncallConfig,
    calendar: OfficeHours,
    *,
    now: datetime,
    partition: int,
    receivers: list[str],
) -> tuple[Incident | None, Outcome]:
    """The conversation's incident after this urgent message, and what happened.

    A message joins the current incident while it is open and its alert still fires (less than
    ``resolve_after`` after its last notice: Alertmanager drops it then; a join sends nothing,
    so it does not extend that), or within ``reopen_after`` of its last message or
    acknowledgement; otherwise it opens a new one, and an open incident it replaces is expired.
    The replaced incident is kept as ``superseded`` (with older ones whose notices are unsent). A spoed joining an open hoog incident upgrades it
    to critical. A message older than ``max_age`` is recorded as stale: indexed for the
    dashboards, never paged out.
    """
    routing = message.routing
    if routing is None or routing.alert is None:
        return current, "not-an-alert"
    stale = message.received_at < stale_cutoff(config, now)
    if current is not None:
        if message.message_id in current.message_ids:
            return current, "duplicate"
        quiet_since = max(current.last_message_at, current.acknowledged_at or current.raised_at)
        if current.status == "open":
            # A live message also needs the alert to fire now: one that ended pages anew.
            ends = expires_at(current, config.policy.resolve_after)
            joins = message.received_at < ends and (stale or now < ends)
        else:
            joins = (
                current.status != "expired"
                and message.received_at < quiet_since + config.policy.reopen_after
                and not (current.status == "stale" and not stale)
            )
        if joins:
            joined = current.bumped(
                message_ids=[*current.message_ids, message.message_id],
                last_message_at=max(current.last_message_at, message.received_at),
            )
            upgrade = routing.alert.severity == "critical" and current.severity == "warning"
            if upgrade and current.status == "open" and not stale:
                return _upgraded(joined, config, now, receivers), "upgraded"
            return joined, "joined"
        if current.status == "open":
            current = expire(current, now)
    team = config.team_for(routing.department)
    roster = on_call(config, calendar, team, now)
    severity = routing.alert.severity
    escalate_after: timedelta = config.escalation.after(severity)
    incident = Incident(
        incident_id=incident_id_for(message.conversation_id, message.message_id),
        conversation_id=message.conversation_id,
        partition=partition,
        message_ids=[message.message_id],
        team=team,
        department=routing.department,
        severity=severity,
        channel=message.channel,
        responders=list(roster.chain),
        status="stale" if stale else "open",
        office_hours=routing.office_hours,
        received_at=message.received_at,
        raised_at=now,
        last_message_at=message.received_at,
        excerpt=excerpt(message.text, config.policy.excerpt_chars),
        location=_location(message),
        link=config.policy.conversation_url.format(conversation_id=message.conversation_id),
        escalate_at=None if stale or len(roster.chain) < 2 else now + escalate_after,
        deliveries=[] if stale else notices("raise", 0, receivers, now),
        superseded=retire(current) if current else None,
    )
    return incident, "stale" if stale else "raised"


DELETED_EXCERPT = "[bericht verwijderd door de afzender]"
"""The excerpt of an incident whose raising message its author deleted."""


def on_deletion(current: Incident | None, message_id: str) -> Incident | None:
    """The conversation's incidents with the deleted message's words removed, or None when
    none quoted it. The excerpt and the places come from the message that raised an incident;
    they leave its state, and so its index document, the next notices and the alert text. What
    was already sent (a page, an alert-events record) cannot be called back.
    """
    if current is None:
        return None
    updated = current
    for incident in incident_chain(current):
        quoted = incident.excerpt != DELETED_EXCERPT or incident.location is not None
        if incident.message_ids[0] == message_id and quoted:
            # replace_incident bumps the conversation's current version too, so the alert
            # worker re-indexes both
            redacted = incident.bumped(excerpt=DELETED_EXCERPT, location=None)
            updated = replace_incident(updated, redacted)
    return None if updated is current else updated


def _upgraded(
    incident: Incident, config: OncallConfig, now: datetime, receivers: list[str]
) -> Incident:
    """Critical now: a shorter escalation deadline and an ``upgrade`` notice to every receiver.

    The responder gets the critical escalation time from now to acknowledge, unless the hoog
    deadline was sooner. The notice re-raises the alert with ``severity=critical`` (so
    Alertmanager routes it as critical) and resolves the warning one.
    """
    deadline = incident.escalate_at
    if deadline is not None:
        deadline = min(deadline, now + config.escalation.after("critical"))
    upgrade = notices("upgrade", incident.level, receivers, now)
    return incident.model_copy(
        update={
            "severity": "critical",
            "upgraded_at": now,
            "escalate_at": deadline,
            "deliveries": [*incident.deliveries, *upgrade],
        }
    )


def render_text(incident: Incident, config: OncallConfig) -> str:
    """The alert text from the policy template, for the incident's current responder."""
    person = config.people.get(incident.responder)
    responder = incident.responder
    if person is not None:
        responder = f"{person.name} ({person.contact})" if person.contact else person.name
    local = incident.received_at.astimezone(AMSTERDAM)
    return config.policy.text.format(
        severity=incident.severity,
        team=incident.team,
        team_name=config.teams[incident.team].name
        if incident.team in config.teams
        else incident.team,
        department=incident.department,
        channel=incident.channel,
        excerpt=incident.excerpt,
        location=incident.location or "-",
        link=incident.link,
        incident_id=incident.incident_id,
        responder=responder,
        received_local=f"{_WEEKDAYS[local.weekday()]} {local:%d-%m %H:%M}",
    )
