"""`make bench-alerts`: ingest-to-alert-delivery time under a steady background load.

Starts its own noida-db (Kafka + Elasticsearch) on free ports, a webhook receiver, and one
worker with every stage. Normal messages go onto the raw topic at a steady rate; between them,
urgent ones carry a reference. Latency = webhook arrival - the moment the urgent message was
put on the raw topic (the end of ingest). The baseline, in the same run: when the same
message reaches the alerts topic (the stages every message goes through). Prints
p50/p90/p99/max of both and their ratio, and writes reports/bench-alerts.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from kafka import KafkaConsumer, KafkaProducer
from rich.console import Console
from rich.table import Table

from ingest.raw import RawRecord
from luisterpost.readiness import wait_until_fetching
from luisterpost.services import LocalServices
from luisterpost.settings import Settings
from luisterpost.topics import TopicNames

__all__ = ["due", "main", "next_due", "percentiles"]

_REF = re.compile(r"ref (U\d+)")
URGENT = "Ik ruik gas in het trappenhuis van de flat aan de Kerkstraat, ref {ref}"
NORMAL = "Wanneer wordt het grofvuil opgehaald in Beekdal? vraag {n}"


def percentiles(values: list[float], ranks: tuple[int, ...] = (50, 90, 99)) -> dict[str, float]:
    """Nearest-rank percentiles and the maximum (empty input: empty result)."""
    if not values:
        return {}
    ordered = sorted(values)
    out = {f"p{r}": ordered[max(0, -(-r * len(ordered) // 100) - 1)] for r in ranks}
    out["max"] = ordered[-1]
    return out


def due(start: float, now: float, rate: float) -> int:
    """How many sends of a steady ``rate`` per second are due by ``now`` (the first at ``start``).

    An exact schedule, so any rate (0.5/s, 15/s) is what the report says it is.
    """
    if rate <= 0 or now < start:
        return 0
    return int((now - start) * rate) + 1


def next_due(start: float, sent: int, rate: float) -> float:
    """When send number ``sent`` (0-based) is due; never for a zero rate."""
    return start + sent / rate if rate > 0 else float("inf")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _receiver(port: int, arrivals: dict[str, float]) -> None:
    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        if request.headers.get("X-Luisterpost-Kind") == "raise":
            match = _REF.search(body.get("text", ""))
            if match:
                arrivals.setdefault(match.group(1), time.time())
        return web.json_response({"ok": True})

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    threading.Thread(target=loop.run_forever, daemon=True).start()


def _alert_topic_watcher(
    servers: str, topic: str, seen: dict[str, float], stop: threading.Event
) -> threading.Thread:
    """Notes when each urgent message reaches the alerts topic: the baseline of the same run.

    Up to there the message went through the same stages as every message (normalise,
    enrich, route); what comes after is the alert stage's own cost (incident, tick, delivery).
    """
    consumer = KafkaConsumer(
        bootstrap_servers=servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=200,
    )
    consumer.subscribe([topic])

    def watch() -> None:
        while not stop.is_set():
            for record in consumer:
                match = _REF.search(record.value.decode("utf-8", "replace"))
                if match:
                    seen.setdefault(match.group(1), time.time())
        consumer.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _record(pid: str, text: str) -> RawRecord:
    now = datetime.now(UTC)
    line = {"channel": "app", "id": pid, "author_id": f"bench-{pid}", "text": text,
            "created_at": now.isoformat()}  # fmt: skip
    return RawRecord(source="export/v1", received_at=now, body=json.dumps(line), origin="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60, help="load duration")
    parser.add_argument("--rate", type=float, default=20, help="background messages per second")
    parser.add_argument("--urgent-every", type=float, default=1.0, help="seconds between urgent")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-alerts.json"))
    args = parser.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    services = LocalServices(work / "noida", _free_port(), _free_port())
    console.print(f"starting noida-db and a worker (logs in {work})")
    services.up(timeout=60)
    arrivals: dict[str, float] = {}
    hook_port, metrics_port = _free_port(), _free_port()
    elapsed = 0.0
    _receiver(hook_port, arrivals)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": services.kafka_servers,
        "ELASTICSEARCH_URL": services.elasticsearch_url,
        "LUISTERPOST_STATE_DIR": str(work / "state"),
        "LUISTERPOST_PSEUDONYM_KEY": "bench-key",
        "LUISTERPOST_ALERT_WEBHOOKS": f"http://127.0.0.1:{hook_port}/hook",
    }
    log = (work / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "luisterpost", "worker", "--metrics-port", str(metrics_port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    settings = Settings()  # what the worker reads from the same environment
    names = TopicNames(settings.topic_prefix, ())
    urgent_rate = 1 / args.urgent_every if args.urgent_every > 0 else 0.0
    sent: dict[str, float] = {}
    on_topic: dict[str, float] = {}
    stop = threading.Event()
    watcher: threading.Thread | None = None
    n = 0
    try:
        wait_until_fetching(metrics_port, names.raw, 120)
        wait_until_fetching(metrics_port, names.alerts, 120)
        watcher = _alert_topic_watcher(services.kafka_servers, names.alerts, on_topic, stop)
        producer = KafkaProducer(bootstrap_servers=services.kafka_servers, acks="all", linger_ms=5)
        start = time.monotonic()
        end = start + args.seconds
        while (now := time.monotonic()) < end:
            while len(sent) < due(start, now, urgent_rate):
                ref = f"U{len(sent):05d}"
                record = _record(f"u-{ref}", URGENT.format(ref=ref))
                producer.send(
                    names.raw, key=record.delivery_id.encode(), value=record.to_json()
                ).get(10)
                sent[ref] = time.time()
            while n < due(start, now, args.rate):
                n += 1
                record = _record(f"n-{n}", NORMAL.format(n=n))
                producer.send(names.raw, key=record.delivery_id.encode(), value=record.to_json())
            wake = min(next_due(start, len(sent), urgent_rate), next_due(start, n, args.rate), end)
            time.sleep(max(0.0, wake - time.monotonic()))
        elapsed = time.monotonic() - start
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 60
        while len(arrivals) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(5)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        services.down()
    latencies = [arrivals[r] - sent[r] for r in sent if r in arrivals]
    stats = percentiles(latencies)
    baseline = percentiles([on_topic[r] - sent[r] for r in sent if r in on_topic])
    table = Table(title="ingest → alert, seconds", title_justify="left")
    for column in ("reached", "messages", "p50", "p90", "p99", "max", "p50 vs baseline"):
        table.add_column(column, justify="left" if column == "reached" else "right")
    for name, found, row in (
        ("alerts topic (baseline)", len(on_topic), baseline),
        ("webhook delivery", len(latencies), stats),
    ):
        ratio = row["p50"] / baseline["p50"] if row and baseline and baseline["p50"] > 0 else None
        table.add_row(
            name, f"{found}/{len(sent)}",
            *(f"{row.get(k, float('nan')):.3f}" for k in ("p50", "p90", "p99", "max")),
            f"{ratio:.1f}x" if ratio is not None else "–",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"background load {args.rate:g} msg/s, one urgent message every {args.urgent_every:g} s"
    )
    report: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(),
        "what": "seconds from the raw topic (end of ingest) to the webhook receiving the alert",
        "duration_seconds": args.seconds,
        "background_messages_per_second": args.rate,
        "urgent_every_seconds": args.urgent_every,
        "urgent_sent": len(sent),
        "urgent_delivered": len(latencies),
        "background_sent": n,
        "background_achieved_per_second": round(n / elapsed, 3) if elapsed > 0 else None,
        "latency_seconds": {k: round(v, 4) for k, v in stats.items()},
        "baseline_alerts_topic_seconds": {k: round(v, 4) for k, v in baseline.items()},
        "p50_ratio_to_baseline": round(stats["p50"] / baseline["p50"], 2)
        if stats and baseline and baseline["p50"] > 0
        else None,
        "alert_tick_seconds": settings.alert_tick_seconds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"written to {args.out}")
    if len(latencies) < len(sent):
        raise SystemExit(f"{len(sent) - len(latencies)} urgent messages were not delivered")


if __name__ == "__main__":
    main()
