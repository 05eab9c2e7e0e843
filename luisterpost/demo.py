"""`make run`: the whole pipeline on the embedded default, end to end, in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from luisterpost.errors import ServiceError
from luisterpost.readiness import wait_until_fetching
from luisterpost.settings import Settings

__all__ = ["WorkerProcess", "run_demo"]


class WorkerProcess:
    """`luisterpost worker all` in the background, logging to a file, stopped gracefully."""

    def __init__(self, state_dir: Path, metrics_port: int) -> None:
        self.log_path = state_dir / "logs" / "worker.log"
        self.pid_path = state_dir / "worker.pid"
        self.metrics_port = metrics_port
        self.process: subprocess.Popen[bytes] | None = None

    def _stop_leftover(self) -> None:
        # A worker left by an interrupted run would hold the metrics port and the group.
        if not self.pid_path.exists():
            return
        try:
            pid = int(self.pid_path.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (ValueError, ProcessLookupError, PermissionError):
            pass
        self.pid_path.unlink(missing_ok=True)

    def start(self) -> None:
        self._stop_leftover()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "luisterpost",
                "worker",
                "all",
                "--metrics-port",
                str(self.metrics_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_path.write_text(str(self.process.pid))

    def wait_ready(self, topic: str, timeout: float = 120) -> None:
        """Until the worker fetches ``topic``: replaying earlier races its table recovery."""
        try:
            wait_until_fetching(self.metrics_port, topic, timeout, self.check_alive)
        except ServiceError as exc:
            raise ServiceError(f"{exc}; see {self.log_path}") from None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
            raise ServiceError(
                f"the worker stopped (exit {self.process.returncode}); last log lines:\n{tail}"
            )

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM lets faust commit and leave the consumer group cleanly."""
        if self.process is None or self.process.poll() is not None:
            self.pid_path.unlink(missing_ok=True)
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.pid_path.unlink(missing_ok=True)


def run_demo(settings: Settings, file: Path, timeout: float, console: Console) -> None:
    """Start what is needed, replay ``file``, wait until indexed, print the summary and gaps."""
    from luisterpost import cli

    console.rule("[bold]Luisterpost demo")
    if settings.uses_local_services:
        local = cli._local(settings)
        local.up()
        console.print(
            f"[green]✔[/] local Kafka {local.kafka_servers} and Elasticsearch {local.elasticsearch_url} (noida-db)"
        )
    else:
        console.print(
            f"using external Kafka {settings.kafka_servers} and Elasticsearch {settings.es_url}"
        )
    names = cli._ensure_topics(settings)
    cli._ensure_index(settings)
    console.print("[green]✔[/] topics and index template in place")

    worker = WorkerProcess(settings.state_dir, settings.metrics_port)
    worker.start()
    worker.wait_ready(names.raw)
    console.print(
        f"[green]✔[/] workers started (log: {worker.log_path}, metrics: http://127.0.0.1:{settings.metrics_port}/metrics)"
    )
    try:
        cli._import(settings, file, None)
        cli._wait(settings, timeout, check_alive=worker.check_alive)
    finally:
        worker.stop()
    console.print("[green]✔[/] workers stopped")
    console.rule("[bold]What came in")
    cli._summary(settings)
    from route.report.cli import write_gap_report

    report = write_gap_report(settings)
    console.print(f"[green]✔[/] gap report (open in a browser): {report.resolve()}")
    console.rule("[bold]Where to look next")
    console.print(
        f"• search the messages: curl '{settings.es_url}/{settings.index_prefix}-messages/_search?q=enrichment.urgency:spoed&pretty'\n"
        f"• department topics:   {settings.topic_prefix}.dept.<department>   alerts: {settings.topic_prefix}.alerts.urgent\n"
        f"• run the workers yourself: .venv/bin/luisterpost worker all   (or one stage: worker enrich)\n"
        f"• stop the local services:  .venv/bin/luisterpost services down   (make stop)"
    )
