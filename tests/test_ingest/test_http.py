"""The HTTP layer's contract: verify, parse, shape-check, store unchanged, answer with a reason.

These are component tests of the web handlers with an in-memory publisher; the path through
real Kafka and Elasticsearch is tested in tests/test_pipeline/test_webhooks.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from ingest.deadletter import DeadLetter
from ingest.http import IngestSecrets, create_app
from ingest.normalise import load_own_accounts
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext
from ingest.verify import meta_signature, x_signature

PAYLOADS = Path(__file__).parent / "payloads"
SECRETS = IngestSecrets(b"meta-secret", "verify-me", b"x-secret", ("app-key-1", "app-key-2"))
CONTEXT = NormaliseContext(b"k", datetime(2026, 11, 25, tzinfo=UTC), load_own_accounts())


class RecordingPublisher:
    def __init__(self, broker_up: bool = True) -> None:
        self.broker_up = broker_up
        self.raw_records: list[RawRecord] = []
        self.dead_letters: list[DeadLetter] = []

    async def raw(self, record: RawRecord) -> None:
        if not self.broker_up:
            raise ConnectionError("broker unreachable")
        self.raw_records.append(record)

    async def dead_letter(self, record: DeadLetter) -> None:
        self.dead_letters.append(record)


def request(
    publisher: RecordingPublisher, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async def go() -> tuple[int, Any]:
        app = create_app(SECRETS, publisher, lambda: CONTEXT, max_body_bytes=64 * 1024)
        async with TestClient(TestServer(app)) as client:
            response = await client.request(method, path, **kwargs)
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except json.JSONDecodeError:
                return response.status, text

    return asyncio.run(go())


def fixture(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def signed_meta(body: bytes) -> dict[str, Any]:
    return {"data": body, "headers": {"X-Hub-Signature-256": meta_signature(b"meta-secret", body)}}


def test_healthz() -> None:
    assert request(RecordingPublisher(), "GET", "/healthz") == (200, {"status": "ok"})


def test_meta_subscription_handshake() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "8675309"}
    assert request(RecordingPublisher(), "GET", "/webhooks/meta", params=params) == (200, 8675309)
    status, body = request(
        RecordingPublisher(), "GET", "/webhooks/meta", params={**params, "hub.verify_token": "x"}
    )
    assert status == 403 and "verify_token" in body["error"]


def test_signed_meta_delivery_is_stored_unchanged() -> None:
    publisher = RecordingPublisher()
    body = fixture("meta/page_feed_comment_add.json")
    status, answer = request(publisher, "POST", "/webhooks/meta", **signed_meta(body))
    assert status == 200 and answer["messages"] == 1
    [record] = publisher.raw_records
    assert record.body.encode() == body and record.source == "meta/v1"


def test_missing_and_wrong_signatures_are_refused_and_nothing_is_stored() -> None:
    publisher = RecordingPublisher()
    body = fixture("meta/page_feed_comment_add.json")
    status, answer = request(publisher, "POST", "/webhooks/meta", data=body)
    assert status == 401 and "X-Hub-Signature-256" in answer["error"]
    wrong = {"X-Hub-Signature-256": meta_signature(b"not-the-secret", body)}
    status, answer = request(publisher, "POST", "/webhooks/meta", data=body, headers=wrong)
    assert status == 403 and "does not match" in answer["error"]
    assert publisher.raw_records == [] and publisher.dead_letters == []


def test_replayed_delivery_is_accepted_again_with_the_same_delivery_id() -> None:
    # Platforms retry; the pipeline's dedupe table drops the repeat (tested end to end).
    publisher = RecordingPublisher()
    body = fixture("whatsapp/text_message.json")
    first = request(publisher, "POST", "/webhooks/meta", **signed_meta(body))
    second = request(publisher, "POST", "/webhooks/meta", **signed_meta(body))
    assert first == second and first[0] == 200
    assert publisher.raw_records[0].delivery_id == publisher.raw_records[1].delivery_id


def test_malformed_json_is_a_400() -> None:
    publisher = RecordingPublisher()
    status, answer = request(
        publisher, "POST", "/webhooks/meta", **signed_meta(b'{"object": "page", ')
    )
    assert status == 400 and "malformed JSON" in answer["error"]
    assert publisher.raw_records == []


def test_a_lone_surrogate_escape_is_a_400_but_an_escaped_emoji_is_text() -> None:
    publisher = RecordingPublisher()
    body = fixture("whatsapp/text_message.json")
    payload = json.loads(body)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"] = "gaslucht \ud800 hier"
    lone = json.dumps(payload).encode()
    status, answer = request(publisher, "POST", "/webhooks/meta", **signed_meta(lone))
    assert status == 400 and "\\ud800 is a lone surrogate escape" in answer["error"]
    assert publisher.raw_records == []
    message["text"]["body"] = "gaslucht \U0001f525 hier"  # json.dumps escapes it as a pair
    pair = json.dumps(payload).encode()
    assert b"\\ud83d\\udd25" in pair
    status, _ = request(publisher, "POST", "/webhooks/meta", **signed_meta(pair))
    assert status == 200 and len(publisher.raw_records) == 1


def test_signed_delivery_of_unknown_shape_is_dead_lettered_with_the_reason() -> None:
    publisher = RecordingPublisher()
    status, answer = request(
        publisher, "POST", "/webhooks/meta", **signed_meta(b'{"object": "telex", "entry": []}')
    )
    assert status == 422 and "telex" in answer["error"]
    [dead] = publisher.dead_letters
    assert "telex" in dead.reason and dead.payload == '{"object": "telex", "entry": []}'
    assert publisher.raw_records == []


def test_oversized_body_is_a_413() -> None:
    publisher = RecordingPublisher()
    body = b'{"object": "page", "entry": [' + b" " * (70 * 1024) + b"]}"
    status, answer = request(publisher, "POST", "/webhooks/meta", **signed_meta(body))
    assert status == 413 and "larger than" in answer["error"]


def test_whatsapp_status_updates_are_stored_but_are_no_messages() -> None:
    publisher = RecordingPublisher()
    status, answer = request(
        publisher, "POST", "/webhooks/meta", **signed_meta(fixture("whatsapp/status_only.json"))
    )
    assert status == 200 and answer["messages"] == 0
    assert len(publisher.raw_records) == 1


def test_broker_outage_asks_the_platform_to_retry() -> None:
    publisher = RecordingPublisher(broker_up=False)
    status, answer = request(
        publisher, "POST", "/webhooks/meta", **signed_meta(fixture("meta/messenger_text.json"))
    )
    assert status == 503 and "retry" in answer["error"]


def test_x_crc_and_signed_activity() -> None:
    status, answer = request(
        RecordingPublisher(), "GET", "/webhooks/x", params={"crc_token": "abc"}
    )
    assert status == 200 and answer == {"response_token": x_signature(b"x-secret", b"abc")}
    assert request(RecordingPublisher(), "GET", "/webhooks/x")[0] == 400
    publisher = RecordingPublisher()
    body = fixture("x/account_activity_tweet_create.json")
    headers = {"x-twitter-webhooks-signature": x_signature(b"x-secret", body)}
    status, answer = request(publisher, "POST", "/webhooks/x", data=body, headers=headers)
    assert status == 200 and answer["messages"] == 1
    assert publisher.raw_records[0].source == "x-activity/v1"
    assert request(RecordingPublisher(), "POST", "/webhooks/x", data=body)[0] == 401


def test_app_api_requires_a_key_and_a_valid_schema() -> None:
    message = {"id": "VB-APP-1", "channel": "app", "author_id": "u1", "text": "Lamp kapot Kerkstraat 4",
               "created_at": "2026-11-20T21:15:00+01:00"}  # fmt: skip
    body = json.dumps(message).encode()
    assert request(RecordingPublisher(), "POST", "/api/v1/messages", data=body)[0] == 401
    assert (
        request(
            RecordingPublisher(),
            "POST",
            "/api/v1/messages",
            data=body,
            headers={"X-API-Key": "nope"},
        )[0]
        == 403
    )
    publisher = RecordingPublisher()
    status, answer = request(
        publisher, "POST", "/api/v1/messages", data=body, headers={"X-API-Key": "app-key-2"}
    )
    assert status == 200 and answer["messages"] == 1
    bad = json.dumps({**message, "created_at": "2026-11-20T21:15:00"}).encode()
    status, answer = request(
        publisher, "POST", "/api/v1/messages", data=bad, headers={"X-API-Key": "app-key-1"}
    )
    assert status == 422 and "created_at" in answer["error"]


def test_unconfigured_endpoints_say_what_to_set() -> None:
    async def go() -> tuple[int, Any]:
        app = create_app(IngestSecrets(), RecordingPublisher(), lambda: CONTEXT)
        async with TestClient(TestServer(app)) as client:
            response = await client.post("/webhooks/meta", data=b"{}")
            return response.status, await response.json()

    status, answer = asyncio.run(go())
    assert status == 503 and "LUISTERPOST_META_APP_SECRET" in answer["error"]
