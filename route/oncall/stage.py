"""The alert stage: incidents per conversation in a faust Table, deliveries and escalation.

Two agents own the state: one reads urgent messages from the alerts topic, one reads
``AlertEvent`` records (acks from the CLI or HTTP, and the stage's own escalate, expire,
delivered and failed events). Both topics are keyed by conversation, so an incident and its
events share a partition, and the table's changelog makes the state survive a restart. A timer
does the I/O from that state: it indexes changed incidents, sends due deliveries (a replaced
incident's too, such as an ack Alertmanager has not taken yet; in the background, so one slow
receiver never holds the others) and asks for due escalations and expiries; their outcomes
come back as events. A notice is retried until a ``delivered`` event is applied, so a crash or
an unreachable receiver repeats a notice and never loses one.

Every raise, upgrade, escalation, acknowledgement and expiry is also published on the
alert-events topic as an informational record (``INFO_KINDS``) with the incident's responder,
severity and text. It is sent before the new state is stored, so a crash repeats it rather
than losing it; consumers drop repeats by ``AlertEvent.dedupe_key``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from faust.types import TP
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from ingest.deadletter import dead_letter_for
from ingest.events import Message
from ingest.metrics import DEAD_LETTERS, STAGE_ERRORS
from luisterpost.tables import drop_key
from route.office_hours import OfficeHours
from route.oncall.config import OncallConfig
from route.oncall.delivery import Deliverer, DeliveryError, Receiver
from route.oncall.incidents import (
    INFO_KINDS,
    AlertEvent,
    Delivery,
    Incident,
    apply_event,
    due_deliveries,
    escalation_due,
    expiry_due,
    find_incident,
    forgettable,
    incident_chain,
    incident_record,
    replace_incident,
    retry_delay,
)
from route.oncall.index import AlertIndexNames, alert_document
from route.oncall.policy import on_deletion, on_message, render_text

__all__ = ["register"]

log = logging.getLogger(__name__)

RAISED = Counter(
    "luisterpost_oncall_alerts_total",
    "Urgent messages seen by the alert stage, by outcome (raised, stale, joined, upgraded)",
    ["team", "severity", "outcome"],
)
DELIVERED = Counter(
    "luisterpost_oncall_deliveries_total", "Notices a receiver accepted", ["receiver", "kind"]
)
FAILED = Counter(
    "luisterpost_oncall_delivery_failures_total",
    "Delivery attempts that failed (retried with backoff)",
    ["receiver", "kind"],
)
ACKED = Counter("luisterpost_oncall_acknowledged_total", "Incidents acknowledged", ["team"])
ESCALATED = Counter(
    "luisterpost_oncall_escalated_total", "Escalations to the next responder", ["team", "level"]
)
EXPIRED = Counter(
    "luisterpost_oncall_expired_total",
    "Incidents closed unacknowledged after policy.resolve_after",
    ["team"],
)
TIME_TO_ACK = Histogram(
    "luisterpost_oncall_time_to_ack_seconds",
    "From raising an incident to its acknowledgement",
    ["team"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200),
)
OPEN = Gauge("luisterpost_oncall_open_incidents", "Unacknowledged incidents owned by this worker")
FORGOTTEN = Counter(
    "luisterpost_oncall_incidents_forgotten_total",
    "Conversations whose settled incidents left the state after the retention period",
)
IN_FLIGHT_HOLD = 30.0
"""Seconds a sent notice or requested escalation is not repeated while its event is applied."""


def register(
    app: Any,
    *,
    alerts: Any,
    events: Any,
    changelog: Any,
    deadletter: Any,
    config: OncallConfig,
    calendar: OfficeHours,
    receivers: list[Receiver],
    es_client: Callable[[], AsyncElasticsearch],
    index_names: AlertIndexNames,
    retention: timedelta,
    tick_seconds: float = 1.0,
    retry_base: timedelta = timedelta(seconds=2),
) -> None:
    """Attach the alert agents, the incidents table and the delivery/escalation timer.

    :param retention: a conversation whose incidents are settled (none open, no notice
        pending, indexed) and unchanged for this long leaves the table and its changelog;
        ``Settings.state_retention``.
    """
    names = [r.name for r in receivers]
    deliverer = Deliverer(receivers, config)
    if not receivers:
        log.warning(
            "alert deliveries disabled: set LUISTERPOST_ALERTMANAGER_URL and/or "
            "LUISTERPOST_ALERT_WEBHOOKS; alerts are still indexed and on the topic"
        )
    incidents = app.Table(
        "alert-incidents",
        default=None,
        key_type=str,
        value_type=str,
        partitions=alerts.partitions,
        changelog_topic=changelog,
    )
    parsed: dict[str, tuple[str, Incident]] = {}
    indexed: dict[str, int] = {}
    hold: dict[tuple[str, str, str], float] = {}
    tasks: set[asyncio.Task[None]] = set()
    es_holder: list[AsyncElasticsearch] = []

    def load(conversation: str) -> Incident | None:
        raw = incidents.get(conversation)
        if raw is None:
            return None
        cached = parsed.get(conversation)
        if cached is not None and cached[0] == raw:
            return cached[1]
        incident = Incident.model_validate_json(raw)
        parsed[conversation] = (raw, incident)
        return incident

    def store(incident: Incident) -> None:
        raw = incident.model_dump_json()
        incidents[incident.conversation_id] = raw
        parsed[incident.conversation_id] = (raw, incident)

    async def dead_letter(reason: str, exc: BaseException, event: Any) -> None:
        STAGE_ERRORS.labels("alert", type(exc).__name__).inc()
        DEAD_LETTERS.labels("alert").inc()
        record = dead_letter_for("alert", reason, type(exc).__name__, event)
        await deadletter.send(
            key=record.key.encode() if record.key else None, value=record.to_json()
        )

    async def publish(incident: Incident, kind: str, at: datetime) -> None:
        record = incident_record(incident, kind, at, render_text(incident, config))
        await send_event(record)

    @app.agent(alerts, name="alert.incidents")
    async def incidents_agent(stream: Any) -> None:
        async for event in stream.events():
            try:
                message = Message.from_json(event.value)
            except ValidationError as exc:
                reason = f"not a canonical message: {exc.errors()[0]['msg']}"
                await dead_letter(reason, exc, event)
                continue
            current = load(message.conversation_id)
            if message.deleted:  # its author deleted it: its words leave the incident
                redacted = on_deletion(current, message.message_id)
                if redacted is not None:
                    store(redacted)
                    log.info("incident text removed: message %s was deleted", message.message_id)
                continue
            now = datetime.now(UTC)
            incident, outcome = on_message(
                current,
                message,
                config,
                calendar,
                now=now,
                partition=event.message.partition,
                receivers=names,
            )
            if incident is None or outcome in ("duplicate", "not-an-alert"):
                continue
            old = incident.superseded
            if outcome in ("raised", "stale") and current and current.status == "open" and old:
                await publish(old, "expired", now)  # a late message replaced it
                EXPIRED.labels(old.team).inc()
            if outcome in ("raised", "upgraded"):
                await publish(incident, outcome, now)
            store(incident)
            RAISED.labels(incident.team, incident.severity, outcome).inc()
            if outcome in ("raised", "upgraded"):
                log.info("incident %s %s for %s", incident.incident_id, outcome, incident.responder)

    @app.agent(events, name="alert.events")
    async def events_agent(stream: Any) -> None:
        async for event in stream.events():
            try:
                alert_event = AlertEvent.model_validate_json(event.value)
            except ValidationError as exc:
                await dead_letter(f"not an alert event: {exc.errors()[0]['msg']}", exc, event)
                continue
            if alert_event.kind in INFO_KINDS:
                continue  # our own records for other consumers
            current = load(alert_event.conversation_id)
            if current is None:
                log.warning("%s for unknown incident %s", alert_event.kind, alert_event.incident_id)
                continue
            target = find_incident(current, alert_event.incident_id) or current
            escalate_after = config.escalation.after(target.severity)
            updated, outcome = apply_event(target, alert_event, names, escalate_after, retry_base)
            if outcome == "unknown-incident":
                log.warning("%s for unknown incident %s", alert_event.kind, alert_event.incident_id)
                continue
            if alert_event.kind == "ack" and outcome.startswith("ignored-"):
                log.info(
                    "ack for %s ignored: the incident is %s, not open",
                    alert_event.incident_id,
                    target.status,
                )
            if updated is target:
                continue
            if outcome in ("acknowledged", "escalated", "expired"):
                await publish(updated, outcome, alert_event.at)
            store(replace_incident(current, updated))
            if outcome == "expired":
                EXPIRED.labels(target.team).inc()
            elif outcome == "acknowledged" and updated.acknowledged_at is not None:
                ACKED.labels(target.team).inc()
                seconds = (updated.acknowledged_at - updated.raised_at).total_seconds()
                TIME_TO_ACK.labels(target.team).observe(max(seconds, 0.0))
            elif outcome == "escalated":
                ESCALATED.labels(target.team, str(alert_event.level)).inc()

    def held(key: tuple[str, str, str]) -> bool:
        until = hold.get(key)
        return until is not None and time.monotonic() < until

    async def send_event(alert_event: AlertEvent) -> None:
        await events.send(key=alert_event.conversation_id.encode(), value=alert_event.to_json())

    async def deliver(incident: Incident, delivery: Delivery) -> None:
        key = (incident.incident_id, delivery.kind, delivery.receiver)
        now = datetime.now(UTC)
        try:
            await deliverer.deliver(incident, delivery)
        except DeliveryError as exc:
            FAILED.labels(delivery.receiver, delivery.kind).inc()
            delay = retry_delay(delivery.attempts + 1, retry_base, permanent=exc.permanent)
            hold[key] = time.monotonic() + delay.total_seconds()
            if exc.permanent:
                log.error(
                    "delivery %s rejected (%s): fix the receiver; retry in %s", key, exc, delay
                )
            else:
                log.warning("delivery %s failed (%s); retry in %s", key, exc, delay)
            outcome = AlertEvent(
                kind="failed",
                incident_id=incident.incident_id,
                at=now,
                receiver=delivery.receiver,
                delivery_kind=delivery.kind,
                error=str(exc)[:500],
                retry_at=now + delay,
                attempt=delivery.attempts + 1,
            )
        else:
            DELIVERED.labels(delivery.receiver, delivery.kind).inc()
            hold[key] = time.monotonic() + IN_FLIGHT_HOLD
            outcome = AlertEvent(
                kind="delivered",
                incident_id=incident.incident_id,
                at=datetime.now(UTC),
                receiver=delivery.receiver,
                delivery_kind=delivery.kind,
            )
        try:
            await send_event(outcome)
        except Exception:  # the notice is repeated once the hold expires: never lost
            log.exception("cannot record the outcome of delivery %s", key)

    def spawn(incident: Incident, delivery: Delivery) -> None:
        key = (incident.incident_id, delivery.kind, delivery.receiver)
        hold[key] = float("inf")
        task = asyncio.ensure_future(deliver(incident, delivery))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def index(changed: list[Incident]) -> None:
        if not es_holder:
            es_holder.append(es_client())
        now = datetime.now(UTC)
        operations: list[dict[str, Any]] = []
        for incident in changed:
            target = {
                "_index": index_names.index(incident.received_at),
                "_id": incident.incident_id,
            }
            operations += [{"index": target}, alert_document(incident, now)]
        try:
            response = await es_holder[0].bulk(operations=operations)
        except (TransportError, ApiError) as exc:
            log.warning("cannot index %d incidents (%s); retrying next tick", len(changed), exc)
            return
        for incident, item in zip(changed, response["items"], strict=True):
            result = item.get("index", {})
            if 200 <= int(result.get("status", 500)) < 300:
                indexed[incident.incident_id] = incident.version
            else:
                log.error("incident %s not indexed: %s", incident.incident_id, result.get("error"))

    @app.on_before_shutdown.connect
    async def close_clients(sender: Any, **_: Any) -> None:
        await deliverer.close()
        if es_holder:
            await es_holder[0].close()

    def send_due(incident: Incident, now: datetime) -> None:
        for delivery in due_deliveries(incident, now):
            if delivery.receiver not in deliverer.receivers:
                continue
            if not held((incident.incident_id, delivery.kind, delivery.receiver)):
                spawn(incident, delivery)

    @app.timer(tick_seconds, name="alert.tick")
    async def tick() -> None:
        if app.rebalancing or not app.tables.recovery.completed.is_set():
            return
        actives = app.assignor.assigned_actives()
        topic = alerts.get_topic_name()
        now = datetime.now(UTC)
        changed: list[Incident] = []
        live: set[str] = set()
        done: list[str] = []
        open_count = 0
        for conversation in list(incidents.keys()):
            incident = load(conversation)
            if incident is None or TP(topic, incident.partition) not in actives:
                continue
            open_count += incident.status == "open"
            chain = incident_chain(incident)
            live.update(version.incident_id for version in chain)
            for version in chain:
                if indexed.get(version.incident_id, 0) < version.version:
                    changed.append(version)
            if settled_and_indexed(incident, now):
                done.append(conversation)
                continue
            for older in chain[1:]:  # a replaced incident's notices (an ack) still go out
                send_due(older, now)
            expiry = (incident.incident_id, f"expire-{incident.version}", "")
            if expiry_due(incident, now, config.policy.resolve_after) and not held(expiry):
                hold[expiry] = time.monotonic() + IN_FLIGHT_HOLD
                await send_event(
                    AlertEvent(
                        kind="expire",
                        incident_id=incident.incident_id,
                        at=now,
                        version=incident.version,
                    )
                )
                continue
            level = escalation_due(incident, now)
            key = (incident.incident_id, f"escalate-{level}", "")
            if level is not None and not held(key):
                hold[key] = time.monotonic() + IN_FLIGHT_HOLD
                await send_event(
                    AlertEvent(
                        kind="escalate", incident_id=incident.incident_id, at=now, level=level
                    )
                )
            send_due(incident, now)
        OPEN.set(open_count)
        if changed:
            await index(changed)
        for conversation in done:
            if forget(conversation, now):
                FORGOTTEN.inc()
        forget_settled(live)

    def settled_and_indexed(incident: Incident, now: datetime) -> bool:
        """Settled and unchanged for the retention, with every version's last state indexed."""
        return forgettable(incident, now, retention) and all(
            indexed.get(version.incident_id, 0) >= version.version
            for version in incident_chain(incident)
        )

    def forget(conversation: str, now: datetime) -> bool:
        """Drop a settled conversation from the table and, with a tombstone, its changelog.

        Outside an agent, like the conversations' retention in route: it decides on the state
        as it is now, with no await in between, so an urgent message applied since the tick
        looked keeps the incident. True when it was dropped.
        """
        incident = load(conversation)
        if incident is None or not settled_and_indexed(incident, now):
            return False
        drop_key(incidents, incident.partition, conversation)
        parsed.pop(conversation, None)
        return True

    def forget_settled(live: set[str]) -> None:
        """Drop bookkeeping a long-running worker no longer needs, so memory stays bounded.

        Lapsed holds, index versions of incidents this worker no longer holds (indexing one
        again, should it come back, rewrites the same document) and parsed copies of
        conversations gone from the table.
        """
        moment = time.monotonic()
        for key in [k for k, until in hold.items() if until < moment]:
            del hold[key]
        for incident_id in [i for i in indexed if i not in live]:
            del indexed[incident_id]
        for conversation in [c for c in parsed if c not in incidents]:
            del parsed[conversation]
