"""`luisterpost kibana import` against a stand-in for Kibana's saved-objects import API.

A component test of our HTTP client: there is no Kibana here. The tiny aiohttp server checks
the request the way Kibana does (path, overwrite flag, kbn-xsrf header, API key, one multipart
file part named "file" with an .ndjson name) and answers with Kibana's documented shapes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import BodyPartReader, web

from luisterpost.errors import ConfigError
from luisterpost.kibana import SAVED_OBJECTS, parse_import_response, read_saved_objects
from tests.conftest import free_port

API_KEY = "a2liYW5hLWtleQ=="


@dataclass
class FakeKibana:
    url: str
    answer: tuple[int, dict[str, Any]] | None = None
    """Force this (status, body); None: import what the request carries."""
    received: list[bytes] = field(default_factory=list)


KIBANA = web.AppKey("kibana", FakeKibana)


async def _import(request: web.Request) -> web.Response:
    kibana = request.app[KIBANA]
    if request.query.get("overwrite") != "true":
        return web.json_response({"statusCode": 400, "message": "overwrite missing"}, status=400)
    if "kbn-xsrf" not in request.headers:
        return web.json_response(
            {"statusCode": 400, "error": "Bad Request", "message": "Request must contain a kbn-xsrf header."},
            status=400,
        )  # fmt: skip
    if request.headers.get("Authorization") != f"ApiKey {API_KEY}":
        return web.json_response(
            {"statusCode": 401, "error": "Unauthorized", "message": "unable to authenticate"},
            status=401,
        )
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "file":
        return web.json_response({"statusCode": 400, "message": "no file part"}, status=400)
    if not (part.filename or "").endswith(".ndjson"):
        return web.json_response({"statusCode": 415, "message": "not .ndjson"}, status=415)
    content = await part.read()
    if await reader.next() is not None:
        return web.json_response({"statusCode": 400, "message": "more than one part"}, status=400)
    kibana.received.append(bytes(content))
    if kibana.answer is not None:
        status, body = kibana.answer
        return web.json_response(body, status=status)
    objects = [json.loads(line) for line in bytes(content).decode().splitlines() if line]
    results = [{"type": o["type"], "id": o["id"], "meta": {}} for o in objects]
    return web.json_response(
        {"success": True, "successCount": len(objects), "successResults": results}
    )


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    port = free_port()
    fake = FakeKibana(f"http://127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    app = web.Application()
    app[KIBANA] = fake
    app.router.add_post("/api/saved_objects/_import", _import)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def run_cli(*args: str, api_key: str | None = API_KEY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "LUISTERPOST_STATE_DIR": "/nonexistent"}
    if api_key:
        env["LUISTERPOST_KIBANA_API_KEY"] = api_key
    return subprocess.run(
        [sys.executable, "-m", "luisterpost", "kibana", "import", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_shipped_objects_are_posted_as_one_multipart_file(kibana: FakeKibana) -> None:
    result = run_cli("--url", kibana.url)
    assert result.returncode == 0, result.stderr
    assert kibana.received == [SAVED_OBJECTS.read_bytes()]
    count = len(SAVED_OBJECTS.read_text().splitlines())
    assert f"{count} saved objects imported into {kibana.url}" in result.stdout


def test_per_object_errors_are_listed_with_their_reason(kibana: FakeKibana) -> None:
    kibana.answer = (200, {
        "success": False, "successCount": 7,
        "errors": [
            {"id": "luisterpost-overview", "type": "dashboard", "meta": {"title": "Luisterpost: response times and gaps"},
             "error": {"type": "missing_references", "references": [{"type": "lens", "id": "gone"}]}},
            {"id": "luisterpost-urgent-messages", "type": "search", "meta": {},
             "error": {"type": "unknown", "message": "Document has a typeMigrationVersion newer than this Kibana"}},
        ],
    })  # fmt: skip
    result = run_cli("--url", kibana.url)
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "imported 7 objects; 2 failed" in err
    assert (
        "dashboard luisterpost-overview (Luisterpost: response times and gaps): missing references lens/gone"
        in err
    )
    assert (
        "search luisterpost-urgent-messages: unknown (Document has a typeMigrationVersion newer"
        in err
    )


def test_a_refusal_shows_kibanas_reason_and_a_hint_for_authentication(kibana: FakeKibana) -> None:
    result = run_cli("--url", kibana.url, api_key=None)
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "refused the import: HTTP 401: unable to authenticate" in err
    assert "LUISTERPOST_KIBANA_API_KEY" in err
    kibana.answer = (400, {"statusCode": 400, "error": "Bad Request", "message": "Unexpected token in JSON"})  # fmt: skip
    result = run_cli("--url", kibana.url)
    assert "HTTP 400: Unexpected token in JSON" in " ".join(result.stderr.split())


def test_an_unreachable_kibana_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("--url", url)
    assert result.returncode == 1
    assert f"cannot reach Kibana at {url}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_a_broken_file_is_refused_before_anything_is_sent(
    kibana: FakeKibana, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"type": "lens", "id": "x", "attributes": {}}\n{"type": "lens"\n')
    result = run_cli("--url", kibana.url, "--file", str(broken))
    assert result.returncode == 1
    assert "broken.ndjson:2: not JSON" in " ".join(result.stderr.split())
    assert kibana.received == []
    (tmp_path / "empty.ndjson").write_text("\n")
    with pytest.raises(ConfigError, match="no saved objects"):
        read_saved_objects(tmp_path / "empty.ndjson")


def test_success_without_errors_reports_the_imported_objects() -> None:
    report = parse_import_response(
        {"success": True, "successCount": 1, "successResults": [{"type": "lens", "id": "a"}]}
    )
    assert report.success_count == 1 and report.imported == ["lens/a"]
