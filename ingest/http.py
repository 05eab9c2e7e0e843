"""The HTTP ingest service: platform webhooks and the municipal app API.

Each POST is handled the same way: verify it comes from the platform, parse, check the shape
with the source's normaliser, write the body unchanged to the raw topic, answer 200. The
pipeline does the rest asynchronously, so the platform gets its answer fast and does not retry.
Bad input gets a 4xx with a reason; a correctly signed delivery of an unknown shape also goes
to the dead-letter topic. Nothing here raises to aiohttp: unexpected errors become a 500 with
no stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from ingest.deadletter import DeadLetter
from ingest.normalise import parse_body
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError, get_normaliser
from ingest.verify import (
    HandshakeError,
    api_key_valid,
    meta_challenge,
    meta_signature_valid,
    x_crc_response,
    x_signature_valid,
)

__all__ = ["IngestSecrets", "Publisher", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY = web.AppKey("max_body_bytes", int)
REQUESTS = Counter(
    "luisterpost_ingest_requests_total", "HTTP ingest requests", ["endpoint", "status"]
)
ACCEPTED = Counter(
    "luisterpost_ingest_messages_total", "Messages in accepted deliveries", ["source", "channel"]
)


class Publisher(Protocol):
    async def raw(self, record: RawRecord) -> None: ...

    async def dead_letter(self, record: DeadLetter) -> None: ...


@dataclass(frozen=True)
class IngestSecrets:
    meta_app_secret: bytes | None = None
    meta_verify_token: str | None = None
    x_consumer_secret: bytes | None = None
    app_api_keys: tuple[str, ...] = ()


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    endpoint = (
        request.match_info.route.resource.canonical
        if request.match_info.route.resource
        else "unknown"
    )
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = _error(413, f"body larger than {request.app[MAX_BODY]} bytes")
    except web.HTTPException as exc:
        response = _error(exc.status, exc.reason)
    except Exception:  # never crash on input, never leak a stack trace
        log.exception("ingest request failed")
        response = _error(500, "internal error; the delivery was not stored, please retry")
    REQUESTS.labels(endpoint, str(response.status)).inc()
    return response


class _Ingest:
    def __init__(
        self, secrets: IngestSecrets, publisher: Publisher, context: Callable[[], NormaliseContext]
    ) -> None:
        self.secrets = secrets
        self.publisher = publisher
        self.context = context

    async def accept(
        self, request: web.Request, source: str | None, body: bytes, payload: Any
    ) -> web.Response:
        """Shape check, then store unchanged on the raw topic."""
        text = body.decode("utf-8")
        if source is None:
            await self._dead_letter(
                "unrecognised payload: none of the known event keys", "UnknownShape", request, text
            )
            return _error(422, "unrecognised payload: none of the known event keys")
        try:
            messages = get_normaliser(source)(payload, self.context())
        except NormaliseError as exc:
            await self._dead_letter(str(exc), "NormaliseError", request, text)
            return _error(422, f"payload not understood: {exc}")
        record = RawRecord(
            source=source,
            received_at=datetime.now(UTC),
            body=text,
            origin=f"{request.method} {request.path}",
        )
        try:
            await self.publisher.raw(record)
        except Exception as exc:  # the broker is away: tell the platform to retry later
            log.warning("cannot store delivery: %r", exc)
            return _error(503, "cannot store the delivery right now; retry later")
        for message in messages:
            ACCEPTED.labels(source, message.channel).inc()
        return web.json_response(
            {"accepted": True, "messages": len(messages), "delivery": record.delivery_id}
        )

    async def _dead_letter(
        self, reason: str, error_type: str, request: web.Request, text: str
    ) -> None:
        try:
            await self.publisher.dead_letter(
                DeadLetter(
                    stage="ingest",
                    reason=reason,
                    error_type=error_type,
                    payload=text,
                    key=request.path,
                )
            )
        except Exception as exc:
            log.warning("cannot write dead letter: %r", exc)

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return parse_body(body)
        except NormaliseError as exc:
            raise web.HTTPBadRequest(reason=str(exc)) from None

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def meta_subscribe(self, request: web.Request) -> web.Response:
        if self.secrets.meta_verify_token is None:
            return _error(
                503, "Meta webhooks are not configured: set LUISTERPOST_META_VERIFY_TOKEN"
            )
        try:
            return web.Response(text=meta_challenge(request.query, self.secrets.meta_verify_token))
        except HandshakeError as exc:
            return _error(403, str(exc))

    @staticmethod
    async def _signed_body(
        request: web.Request, header_name: str, valid: Callable[[bytes, str], bool]
    ) -> bytes:
        """The raw body, once its signature header checks out (401 missing, 403 wrong)."""
        body = await request.read()
        header = request.headers.get(header_name)
        if header is None:
            raise web.HTTPUnauthorized(reason=f"missing {header_name} header")
        if not valid(body, header):
            raise web.HTTPForbidden(reason=f"{header_name} does not match the body")
        return body

    async def meta_delivery(self, request: web.Request) -> web.Response:
        secret = self.secrets.meta_app_secret
        if secret is None:
            return _error(503, "Meta webhooks are not configured: set LUISTERPOST_META_APP_SECRET")
        body = await self._signed_body(
            request, "X-Hub-Signature-256", lambda b, h: meta_signature_valid(secret, b, h)
        )
        return await self.accept(request, "meta/v1", body, self._json(body))

    async def x_crc(self, request: web.Request) -> web.Response:
        if self.secrets.x_consumer_secret is None:
            return _error(503, "X webhooks are not configured: set LUISTERPOST_X_CONSUMER_SECRET")
        token = request.query.get("crc_token")
        if not token:
            return _error(400, "crc_token query parameter is missing")
        return web.json_response(x_crc_response(self.secrets.x_consumer_secret, token))

    async def x_delivery(self, request: web.Request) -> web.Response:
        secret = self.secrets.x_consumer_secret
        if secret is None:
            return _error(503, "X webhooks are not configured: set LUISTERPOST_X_CONSUMER_SECRET")
        body = await self._signed_body(
            request, "x-twitter-webhooks-signature", lambda b, h: x_signature_valid(secret, b, h)
        )
        payload = self._json(body)
        source = None
        if isinstance(payload, dict):
            if "for_user_id" in payload:
                source = "x-activity/v1"
            elif "data" in payload or "errors" in payload:
                source = "x-v2/v1"
        return await self.accept(request, source, body, payload)

    async def app_messages(self, request: web.Request) -> web.Response:
        if not self.secrets.app_api_keys:
            return _error(503, "the app API is not configured: set LUISTERPOST_APP_API_KEYS")
        presented = request.headers.get("X-API-Key")
        if presented is None:
            return _error(401, "missing X-API-Key header")
        if not api_key_valid(presented, self.secrets.app_api_keys):
            return _error(403, "unknown API key")
        body = await request.read()
        return await self.accept(request, "app/v1", body, self._json(body))


def create_app(
    secrets: IngestSecrets,
    publisher: Publisher,
    context: Callable[[], NormaliseContext],
    max_body_bytes: int = 1024 * 1024,
) -> web.Application:
    """The aiohttp application; the caller owns the publisher's lifecycle."""
    ingest = _Ingest(secrets, publisher, context)
    app = web.Application(client_max_size=max_body_bytes, middlewares=[_errors_as_json])
    app[MAX_BODY] = max_body_bytes
    app.router.add_get("/healthz", ingest.healthz)
    app.router.add_get("/metrics", ingest.metrics)
    app.router.add_get("/webhooks/meta", ingest.meta_subscribe)
    app.router.add_post("/webhooks/meta", ingest.meta_delivery)
    app.router.add_get("/webhooks/x", ingest.x_crc)
    app.router.add_post("/webhooks/x", ingest.x_delivery)
    app.router.add_post("/api/v1/messages", ingest.app_messages)
    return app
