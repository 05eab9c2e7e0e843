"""Start, stop and check the embedded Kafka broker and Elasticsearch API (noida-db).

Nothing is started when external servers are configured (KAFKA_BOOTSTRAP_SERVERS /
ELASTICSEARCH_URL): production runs real Kafka and Elasticsearch.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from luisterpost.errors import ServiceError

__all__ = ["LocalServices", "ServiceState", "elasticsearch_ready", "noida_binary", "wait_for_port"]


def noida_binary() -> str:
    """The noida-db command installed next to this Python (the venv), else on PATH."""
    candidate = Path(sys.executable).parent / "noida-db"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("noida-db")
    if not found:
        raise ServiceError(
            "noida-db is not installed: run `make install` (it is a project dependency)"
        )
    return found


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def elasticsearch_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class ServiceState:
    kafka: bool
    elasticsearch: bool

    @property
    def running(self) -> bool:
        return self.kafka and self.elasticsearch


@dataclass(frozen=True)
class LocalServices:
    """noida-db with only Kafka and Elasticsearch enabled, its data under ``data_dir``."""

    data_dir: Path
    kafka_port: int
    elasticsearch_port: int
    host: str = "127.0.0.1"

    @property
    def kafka_servers(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def elasticsearch_url(self) -> str:
        return f"http://{self.host}:{self.elasticsearch_port}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, NO_COLOR="1")
        try:
            return subprocess.run(
                [noida_binary(), *args, "--data-dir", str(self.data_dir)],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(f"noida-db {args[0]} did not finish within {timeout:.0f}s") from None

    def state(self) -> ServiceState:
        kafka = wait_for_port(self.host, self.kafka_port, 0.3)
        return ServiceState(kafka=kafka, elasticsearch=elasticsearch_ready(self.elasticsearch_url))

    def up(self, timeout: float = 60) -> ServiceState:
        """Start both services (a no-op when they already answer) and wait until they do."""
        if self.state().running:
            return self.state()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        result = self._run(
            "up",
            "--only",
            "kafka,elasticsearch",
            "--kafka-port",
            str(self.kafka_port),
            "--elasticsearch-port",
            str(self.elasticsearch_port),
            "--host",
            self.host,
        )
        if result.returncode != 0:
            detail = _without_glibc_noise(result.stderr or result.stdout)
            raise ServiceError(f"noida-db could not start: {detail}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if state.running:
                return state
            time.sleep(0.2)
        raise ServiceError(
            f"Kafka ({self.kafka_servers}) or Elasticsearch ({self.elasticsearch_url}) did not answer "
            f"within {timeout:.0f}s; see {self.data_dir / 'noida.log'}"
        )

    def stop_service(self, name: str) -> None:
        """Stop one service (kafka or elasticsearch) and keep its data: outage drills and tests."""
        result = self._run("stop", name)
        if result.returncode != 0:
            raise ServiceError(
                f"noida-db stop {name} failed: {_without_glibc_noise(result.stderr or result.stdout)}"
            )

    def start_service(self, name: str, timeout: float = 60) -> None:
        """Start one stopped service again and wait until both answer."""
        result = self._run("start", name)
        if result.returncode != 0:
            raise ServiceError(
                f"noida-db start {name} failed: {_without_glibc_noise(result.stderr or result.stdout)}"
            )
        deadline = time.monotonic() + timeout
        while not self.state().running:
            if time.monotonic() > deadline:
                raise ServiceError(f"{name} did not answer within {timeout:.0f}s after starting")
            time.sleep(0.2)

    def down(self) -> None:
        """Stop the server; its data stays in ``data_dir``."""
        if not (self.data_dir / "noida.control.json").exists() and not self.state().kafka:
            return
        result = self._run("down")
        if result.returncode != 0 and self.state().kafka:
            raise ServiceError(
                f"noida-db down failed: {_without_glibc_noise(result.stderr or result.stdout)}"
            )


def _without_glibc_noise(text: str) -> str:
    # noida-db warns about a newer GLIBC symbol it does not need; the warning is harmless.
    lines = [line for line in text.splitlines() if "GLIBC" not in line]
    return "\n".join(lines).strip() or "(no output)"
