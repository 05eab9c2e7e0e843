"""A real Prometheus server (the Debian `prometheus` binary) for tests, and its HTTP API."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port

__all__ = ["PROMETHEUS_RULES", "Prometheus", "require_tool", "run_prometheus"]

PROMETHEUS_RULES = (
    Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules" / "luisterpost.yml"
)


def require_tool(name: str) -> str:
    """The tool's path; a clear failure (not a skip) when the system package is missing."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"`{name}` is not installed: run `make system-deps` (apt-get, root)")
    return path


class Prometheus:
    def __init__(self, url: str, check_alive: Callable[[], None]) -> None:
        self.url = url
        self.check_alive = check_alive

    def get(self, path: str, **params: str) -> Any:
        """GET an API path and return its ``data`` (raises on a non-success status)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float = 60) -> Any:
        """Poll ``probe`` until it returns something truthy; its last error explains a timeout."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result = probe()
                if result:
                    return result
                last = result
            except (urllib.error.URLError, OSError, AssertionError, KeyError) as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"Prometheus: {what} not seen within {timeout:.0f}s (last: {last!r})")


@contextmanager
def run_prometheus(targets: list[str], tmp: Path) -> Iterator[Prometheus]:
    """Start Prometheus scraping ``targets`` every second with the shipped rule file loaded."""
    binary = require_tool("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_RULES)],
        "scrape_configs": [
            {"job_name": "luisterpost", "static_configs": [{"targets": targets}]},
        ],
    }
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def check_alive() -> None:
        if process.poll() is not None:
            raise AssertionError(
                f"prometheus exited ({process.returncode}):\n{(tmp / 'prometheus.log').read_text()}"
            )

    server = Prometheus(f"http://127.0.0.1:{port}", check_alive)
    try:
        server.wait_for("readiness", lambda: _ready(server.url), timeout=30)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
        return bool(response.status == 200)
