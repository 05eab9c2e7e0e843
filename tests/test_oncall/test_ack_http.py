"""The ack endpoint: auth, id checks, and the event it publishes (publisher stubbed: no pipeline)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from route.oncall.acks import create_ack_app
from route.oncall.bench import percentiles
from route.oncall.incidents import AlertEvent, incident_id_for

INCIDENT = incident_id_for("twitter-c-" + "a" * 24, "twitter-x")


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[AlertEvent] = []
        self.fail = fail

    async def publish(self, event: AlertEvent) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.events.append(event)


def call(keys: tuple[str, ...], path: str, publisher: Any = None, **kw: Any) -> tuple[int, Any]:
    async def run() -> tuple[int, Any]:
        app = create_ack_app(publisher or Recorder(), keys)
        async with TestClient(TestServer(app)) as client:
            response = await client.post(path, **kw)
            return response.status, await response.json()

    return asyncio.run(run())


def test_ack_endpoint_checks_key_and_id_then_publishes_keyed_by_conversation() -> None:
    path = f"/api/v1/alerts/{INCIDENT}/ack"
    assert call((), path)[0] == 503
    assert call(("k",), path)[0] == 401
    assert call(("k",), path, headers={"X-API-Key": "x"})[0] == 403
    status, body = call(("k",), "/api/v1/alerts/nonsense/ack", headers={"X-API-Key": "k"})
    assert status == 400 and "not an alert id" in body["error"]
    assert call(("k",), path, headers={"X-API-Key": "k"}, data=b"[1")[0] == 400
    recorder = Recorder()
    status, body = call(("k",), path, recorder, headers={"X-API-Key": "k"}, json={"by": "eva"})
    assert status == 202 and body["incident_id"] == INCIDENT
    [event] = recorder.events
    assert event.kind == "ack" and event.by == "eva"
    assert event.conversation_id == "twitter-c-" + "a" * 24
    status, _ = call(("k",), path, Recorder(fail=True), headers={"X-API-Key": "k"})
    assert status == 503


def test_percentiles_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}
    assert percentiles([3.0]) == {"p50": 3.0, "p90": 3.0, "p99": 3.0, "max": 3.0}
    assert percentiles([]) == {}
