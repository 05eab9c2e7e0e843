"""The route stage's faust agent: department topics, urgent alerts, conversation tracking.

Every routed message also passes through conversation tracking (``route.responses``), whose
state is a faust Table keyed by conversation id, so it survives restarts and rebalances. The
agent writes the completed message and then any in-place updates (a reply answering earlier
messages) to the routed topic, under the conversation's key, so the indexer sees them in order.

A deletion (``message.deleted``) is not a new message: it only empties the indexed document
and takes the message out of the backlog; it is not routed, counted or alerted again.
A timer recounts the backlog every 15 s and flags messages that passed their due time
unanswered in the index (once each: the flag is remembered in the table). The flag is only
``response.overdue``, decided on the table entry read just before it is sent, so an answer the
agent writes meanwhile is never overwritten. The same timer drops conversations unchanged for
longer than the retention (by default as long as the index keeps messages) from the table and
its changelog.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter as Tally
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from ingest.deadletter import dead_letter_for
from ingest.events import Direction, Message, Routing
from ingest.metrics import DEAD_LETTERS, STAGE_ERRORS, STAGE_MESSAGES, STAGE_SECONDS
from luisterpost.tables import drop_key, in_slices, write_key
from route.responses import Conversation, mark_overdue, remember_overdue, respond
from route.router import route
from route.rules import RoutingConfig

__all__ = ["dispatch", "forwards_deletion", "register"]

log = logging.getLogger(__name__)

ROUTED = Counter(
    "luisterpost_routed_total",
    "Inbound messages by department",
    ["department", "topic", "urgency", "channel"],
)
OUT_OF_HOURS = Counter(
    "luisterpost_out_of_hours_total",
    "Inbound messages outside their department's office hours",
    ["channel", "department"],
)
ALERTS = Counter(
    "luisterpost_alerts_raised_total", "Urgent alerts raised", ["department", "severity"]
)
FIRST_RESPONSE = Histogram(
    "luisterpost_first_response_minutes",
    "Wall-clock minutes from an inbound message to the municipality's first reply",
    ["channel", "department"],
    buckets=(5, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 4320, 10080),
)
UNANSWERED = Gauge(
    "luisterpost_unanswered_messages",
    "Inbound messages without a reply yet (conversations on this worker's partitions)",
    ["department", "urgency"],
)
OVERDUE = Gauge(
    "luisterpost_unanswered_overdue_messages",
    "Unanswered inbound messages past their service level's due time",
    ["department", "urgency"],
)
CONVERSATIONS_EXPIRED = Counter(
    "luisterpost_conversations_expired_total",
    "Conversations dropped from the tracking state after the retention period",
)
BACKLOG_INTERVAL_SECONDS = 15.0


def dispatch(message: Message) -> Routing | None:
    """The routing to act on (department topic, routed metrics, alert), or None.

    None for replies and for deletions: a deletion of an already routed message must not be
    counted, sent to the department or alerted a second time.
    """
    if message.deleted or message.enrichment is None:
        return None
    return message.routing


def forwards_deletion(message: Message) -> bool:
    """A resident's deletion also goes to the alert stage, which removes the message's words
    from an incident that quotes it (AVG/GDPR); an alert for it may or may not exist."""
    return message.deleted and message.direction is Direction.INBOUND


def register(
    app: Any,
    *,
    enriched: Any,
    routed: Any,
    alerts: Any,
    departments: Mapping[str, Any],
    deadletter: Any,
    conversations_changelog: Any,
    rules: RoutingConfig,
    topic_prefix: str,
    retention: timedelta,
) -> None:
    """Attach the route agent and its conversation table to the faust app.

    :param retention: a conversation unchanged for this long leaves the table (and its
        changelog); ``Settings.state_retention``.
    """
    # Keyed like the enriched topic (conversation id), so each key lives in its partition.
    conversations = app.Table(
        "conversations",
        default=None,
        key_type=str,
        value_type=str,
        partitions=enriched.partitions,
        changelog_topic=conversations_changelog,
    )

    @app.agent(enriched, name="route.departments")
    async def route_agent(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            try:
                message = Message.from_json(event.value)
                if message.direction is Direction.INBOUND and not message.deleted:
                    message = message.model_copy(
                        update={"routing": route(message, rules, topic_prefix)}
                    )
                stored = conversations.get(message.conversation_id)
                before = None if stored is None else _partition_of(stored)  # parsed once
                conversation = Conversation.from_json(before[1] if before else None)
                outcome = respond(conversation, message, rules)
            except (ValidationError, ValueError) as exc:
                STAGE_ERRORS.labels("route", type(exc).__name__).inc()
                DEAD_LETTERS.labels("route").inc()
                record = dead_letter_for("route", f"cannot route: {exc}", type(exc).__name__, event)
                await deadletter.send(value=record.to_json())
                continue
            message = outcome.message
            payload = message.to_json()
            routing = dispatch(message)
            if routing is not None and message.enrichment is not None:
                await departments[routing.department].send(key=event.key, value=payload)
                ROUTED.labels(
                    routing.department,
                    message.enrichment.topic,
                    message.enrichment.urgency,
                    message.channel,
                ).inc()
                if not routing.office_hours:
                    OUT_OF_HOURS.labels(message.channel, routing.department).inc()
                if routing.alert is not None:
                    await alerts.send(key=event.key, value=payload)
                    ALERTS.labels(routing.department, routing.alert.severity).inc()
            elif forwards_deletion(message):
                await alerts.send(key=event.key, value=payload)
            await routed.send(key=event.key, value=payload)
            for update in outcome.updates:
                await routed.send(key=event.key, value=update.to_json())
            for entry in outcome.newly_answered:
                minutes = _minutes_between(entry.received_at, entry.answered_at)
                FIRST_RESPONSE.labels(entry.channel, entry.department).observe(minutes)
            # Send first, remember second: a crash in between repeats the work, which gives the
            # same documents (see route.responses), instead of losing it.
            state, partition = conversation.to_json(), event.message.partition
            if before != (partition, state):
                conversations[message.conversation_id] = _with_partition(
                    state, partition, changed=time.time()
                )
            STAGE_MESSAGES.labels("route", message.channel, message.direction.value).inc()
            STAGE_SECONDS.labels("route").observe(time.perf_counter() - started)

    @app.timer(interval=BACKLOG_INTERVAL_SECONDS)
    async def unanswered_backlog() -> None:
        """Recount the backlog of the partitions this worker owns; flag what became overdue."""
        if app.rebalancing or not app.tables.recovery.completed.is_set():
            return  # the state is moving: the next tick counts it
        topic = enriched.get_topic_name()
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
        now = datetime.now(UTC)
        waiting: Tally[tuple[str, str]] = Tally()
        overdue: Tally[tuple[str, str]] = Tally()
        candidates: list[str] = []
        expired: list[str] = []
        cutoff = time.time() - retention.total_seconds()
        async for key in in_slices(list(conversations.keys())):
            stored = conversations.get(key)
            if stored is None:
                continue  # expired or deleted while the count yielded
            partition, state, changed = _unwrap(stored)
            if partition not in mine:
                continue  # a standby copy: its active owner counts it
            if _unchanged_since(state, changed, cutoff):
                expired.append(key)
                continue
            conversation = Conversation.from_json(state)
            for entry in conversation.unanswered():
                waiting[entry.department, entry.urgency] += 1
                if entry.due_at is not None and datetime.fromisoformat(entry.due_at) < now:
                    overdue[entry.department, entry.urgency] += 1
            if mark_overdue(conversation, key, now)[0]:
                candidates.append(key)
        for gauge, tally in ((UNANSWERED, waiting), (OVERDUE, overdue)):
            gauge.clear()
            for (department, urgency), count in tally.items():
                gauge.labels(department, urgency).set(count)
        for key in expired:
            if _forget(conversations, key, cutoff):
                CONVERSATIONS_EXPIRED.inc()
        for key in candidates:
            # The sends below yield to the agent, which may have answered since the count:
            # decide on the state as it is now, with no await in between.
            current = Conversation.from_json(_state(conversations.get(key)))
            flagged, updates = mark_overdue(current, key, now)
            if flagged:
                for update in updates:
                    await routed.send(key=key.encode(), value=update.to_json())
                _remember(conversations, key, flagged)


def _remember(table: Any, key: str, flagged: list[str]) -> None:
    """Record sent overdue flags in the table, outside an agent (``luisterpost.tables``), on
    the partition kept in the state.

    It reads the state afresh and does not await, so the agent's latest state is kept; should
    the agent overwrite this with a state it read earlier, a flag is sent once more, which
    rewrites the same values.
    """
    stored = table.get(key)
    if stored is None:
        return
    partition, state, changed = _unwrap(stored)
    conversation = Conversation.from_json(state)
    if remember_overdue(conversation, flagged):
        # a flag is no activity of the conversation: its time of last change stays
        write_key(
            table, partition, key, _with_partition(conversation.to_json(), partition, changed)
        )


def _unchanged_since(state: str, changed: float | None, cutoff: float) -> bool:
    """The state last changed before ``cutoff`` (a Unix time, the worker's clock).

    Processing time, not message time: a replay of old messages is new activity. A state
    stored before changes were timed (``changed`` None) goes by its last message or reply.
    """
    if changed is not None:
        return changed < cutoff
    last = Conversation.from_json(state).last_activity()
    return last is not None and last.timestamp() < cutoff


def _forget(table: Any, key: str, cutoff: float) -> bool:
    """Drop a conversation unchanged since before ``cutoff`` from the store and the changelog.

    Like ``_remember``, outside an agent: it reads the state afresh and does not await, so a
    message the agent tracked meanwhile keeps the conversation. True when it was dropped.
    """
    stored = table.get(key)
    if stored is None:
        return False
    partition, state, changed = _unwrap(stored)
    if not _unchanged_since(state, changed, cutoff):
        return False
    drop_key(table, partition, key)
    return True


def _with_partition(state: str, partition: int, changed: float | None) -> str:
    # The partition travels with the state so the backlog count can skip standby copies; the
    # time of its last change (Unix seconds) says when it expires.
    wrapper: dict[str, Any] = {"p": partition, "s": state}
    if changed is not None:
        wrapper["t"] = int(changed)
    return json.dumps(wrapper, separators=(",", ":"))


def _unwrap(stored: str) -> tuple[int, str, float | None]:
    """(partition, state, time of last change or None) of a stored table value."""
    wrapper = json.loads(stored)
    changed = wrapper.get("t")
    return int(wrapper["p"]), str(wrapper["s"]), None if changed is None else float(changed)


def _partition_of(stored: str) -> tuple[int, str]:
    return _unwrap(stored)[:2]


def _state(stored: str | None) -> str | None:
    return None if stored is None else _partition_of(stored)[1]


def _minutes_between(start: str, end: str | None) -> float:
    if end is None:
        return 0.0
    elapsed = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return max(elapsed.total_seconds() / 60, 0.0)
