"""The route stage's faust agent: department topics, urgent alerts, and the routed stream."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from ingest.deadletter import dead_letter_for
from ingest.events import Direction, Message
from ingest.metrics import DEAD_LETTERS, STAGE_ERRORS, STAGE_MESSAGES, STAGE_SECONDS
from route.router import route
from route.rules import RoutingConfig

__all__ = ["register"]

log = logging.getLogger(__name__)

ROUTED = Counter(
    "luisterpost_routed_total",
    "Inbound messages by department",
    ["department", "topic", "urgency", "channel"],
)
OUT_OF_HOURS = Counter(
    "luisterpost_out_of_hours_total", "Inbound messages outside office hours", ["channel"]
)
ALERTS = Counter(
    "luisterpost_alerts_raised_total", "Urgent alerts raised", ["department", "severity"]
)


def register(
    app: Any,
    *,
    enriched: Any,
    routed: Any,
    alerts: Any,
    departments: Mapping[str, Any],
    deadletter: Any,
    rules: RoutingConfig,
    topic_prefix: str,
) -> None:
    """Attach the route agent to the faust app."""

    @app.agent(enriched, name="route.departments")
    async def route_agent(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            try:
                message = Message.from_json(event.value)
                if message.direction is Direction.INBOUND:
                    message = message.model_copy(
                        update={"routing": route(message, rules, topic_prefix)}
                    )
            except (ValidationError, ValueError) as exc:
                STAGE_ERRORS.labels("route", type(exc).__name__).inc()
                DEAD_LETTERS.labels("route").inc()
                record = dead_letter_for("route", f"cannot route: {exc}", type(exc).__name__, event)
                await deadletter.send(value=record.to_json())
                continue
            payload = message.to_json()
            routing = message.routing
            if routing is not None and message.enrichment is not None:
                await departments[routing.department].send(key=event.key, value=payload)
                ROUTED.labels(
                    routing.department,
                    message.enrichment.topic,
                    message.enrichment.urgency,
                    message.channel,
                ).inc()
                if not routing.office_hours:
                    OUT_OF_HOURS.labels(message.channel).inc()
                if routing.alert is not None:
                    await alerts.send(key=event.key, value=payload)
                    ALERTS.labels(routing.department, routing.alert.severity).inc()
            await routed.send(key=event.key, value=payload)
            STAGE_MESSAGES.labels("route", message.channel, message.direction.value).inc()
            STAGE_SECONDS.labels("route").observe(time.perf_counter() - started)
