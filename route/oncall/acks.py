"""Publishing acknowledgements: the CLI and the HTTP endpoint put an ack event on Kafka.

The alert stage that owns the incident applies it, so acks need no shared database. Keyed by
conversation (derived from the incident id), the ack lands on the incident's partition.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp import web
from aiokafka import AIOKafkaProducer
from kafka import KafkaProducer

from ingest.verify import api_key_valid
from route.oncall.incidents import AlertEvent, conversation_of

__all__ = ["AckPublisher", "ack_event", "create_ack_app", "send_ack"]


def ack_event(incident_id: str, by: str | None, at: datetime | None = None) -> AlertEvent:
    """:raises ValueError: if ``incident_id`` is not an alert id."""
    conversation_of(incident_id)
    return AlertEvent(
        kind="ack", incident_id=incident_id.strip(), at=at or datetime.now(UTC), by=by or None
    )


def send_ack(servers: str, topic: str, event: AlertEvent) -> None:
    """Publish one ack and wait for the broker's acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", client_id="luisterpost-ack")
    try:
        producer.send(topic, key=event.conversation_id.encode(), value=event.to_json()).get(
            timeout=30
        )
    finally:
        producer.close()


class AckPublisher:
    def __init__(self, servers: str, topic: str) -> None:
        self.servers = servers
        self.topic = topic
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.servers.split(","), acks="all", client_id="luisterpost-ack"
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, event: AlertEvent) -> None:
        if self._producer is None:
            raise RuntimeError("AckPublisher.start() was not awaited")
        await self._producer.send_and_wait(
            self.topic, event.to_json(), key=event.conversation_id.encode()
        )


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def create_ack_app(publisher: AckPublisher, api_keys: tuple[str, ...]) -> web.Application:
    """POST /api/v1/alerts/{id}/ack (``X-API-Key``; optional JSON ``{"by": name}``)."""

    async def ack(request: web.Request) -> web.Response:
        if not api_keys:
            return _error(503, "acks are not configured (LUISTERPOST_ONCALL_API_KEYS)")
        presented = request.headers.get("X-API-Key")
        if not presented:
            return _error(401, "missing X-API-Key")
        if not api_key_valid(presented, api_keys):
            return _error(403, "wrong X-API-Key")
        by = request.query.get("by")
        if request.can_read_body:
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                return _error(400, "body is not JSON")
            if not isinstance(body, dict) or not isinstance(body.get("by", ""), str):
                return _error(400, 'body must be {"by": "<name>"}')
            by = body.get("by") or by
        try:
            event = ack_event(request.match_info["incident_id"], by)
        except ValueError as exc:
            return _error(400, str(exc))
        try:
            await publisher.publish(event)
        except Exception:  # the broker is away: the caller must retry
            return _error(503, "cannot record the ack right now; please retry")
        return web.json_response(
            {
                "incident_id": event.incident_id,
                "acknowledged_at": event.at.isoformat(),
                "status": "accepted",
            },
            status=202,
        )

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/api/v1/alerts/{incident_id}/ack", ack)
    app.router.add_get("/healthz", healthz)
    return app
