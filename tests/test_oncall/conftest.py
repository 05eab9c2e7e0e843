"""A real Prometheus Alertmanager and a flaky chat webhook, started per test."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import free_port

AM_CONFIG = """
route:
  receiver: default
  group_by: [incident]
  group_wait: 0s
receivers:
  - name: default
"""


@dataclass
class Alertmanager:
    url: str

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        import json
        from urllib.parse import urlencode

        query = urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts?{query}", timeout=5) as response:
            return list(json.loads(response.read()))


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    """Alertmanager on a free port with its own storage; the binary comes from `make system-deps`."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail(
            "Alertmanager not installed: run `make system-deps` (Debian prometheus-alertmanager)"
        )
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(AM_CONFIG)
    (tmp_path / "am-data").mkdir()
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"alertmanager exited; see {tmp_path}/alertmanager.log"
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "alertmanager did not become ready in 30 s"
            time.sleep(0.2)
        yield Alertmanager(url)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Webhook:
    """Answers 503 to the first ``failures`` requests, then 200; records every request."""

    url: str
    failures: int
    requests: list[dict[str, Any]] = field(default_factory=list)

    def accepted(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.requests if r["status"] == 200 and (kind is None or r["kind"] == kind)
        ]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    port = free_port()
    hook = Webhook(f"http://127.0.0.1:{port}/hook", failures=2)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        status = 503 if len(hook.requests) < hook.failures else 200
        hook.requests.append(
            {
                "status": status,
                "kind": request.headers.get("X-Luisterpost-Kind"),
                "key": request.headers.get("Idempotency-Key"),
                "text": body.get("text", ""),
                "at": time.time(),
            }
        )
        return web.json_response({"ok": status == 200}, status=status)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield hook
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
