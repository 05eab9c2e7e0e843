"""Consumer flow metrics and a stall watchdog for every worker.

Metrics: lag per partition (on-call alerts on a stalled pipeline), whether each partition is in
the fetch loop, and how often the watchdog had to step in.

The watchdog works around a faust race: when flow is suspended (recovery, rebalance) while a
fetched batch is being delivered, faust drops the rest of the batch but still advances its
read offset, so after the seek back to the committed offset every re-fetched record is skipped
and the partition stops until new records arrive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge

from luisterpost.stall import StallDetector

__all__ = ["register_consumer_watch"]

log = logging.getLogger(__name__)

LAG = Gauge(
    "luisterpost_consumer_lag",
    "Records on a partition not yet committed by this worker",
    ["topic", "partition"],
)
FETCHING = Gauge(
    "luisterpost_consumer_fetching",
    "1 when the partition is in the fetch loop, else 0",
    ["topic", "partition"],
)
STALLS = Counter(
    "luisterpost_consumer_stalls_total",
    "Stalled partitions re-read from the committed offset",
    ["topic"],
)


def register_consumer_watch(
    app: Any, busy: Callable[[], bool], interval: float = 5.0, stall_after: float = 30.0
) -> None:
    """Add a faust timer that refreshes the gauges and re-reads stalled partitions.

    :param busy: True while a stage is legitimately holding records (e.g. retrying a bulk write).
    """
    detector = StallDetector(after_seconds=stall_after)

    @app.timer(interval, name="luisterpost.consumer_watch")
    async def watch() -> None:
        consumer = app.consumer
        active = consumer._active_partitions or set()
        changelogs = app.tables.changelog_topics
        now = time.monotonic()
        for tp in consumer.assignment():
            labels = (tp.topic, str(tp.partition))
            highwater = consumer.highwater(tp)
            committed = consumer._committed_offset.get(tp) or 0
            if highwater is None or highwater < 0:
                continue
            LAG.labels(*labels).set(max(0, highwater - committed))
            FETCHING.labels(*labels).set(1 if tp in active else 0)
            if tp.topic in changelogs or not consumer.flow_active:
                continue
            if detector.observe(tp, committed, highwater, now, busy()):
                log.warning(
                    "%s[%d] stalled at offset %d (end %d); re-reading from the committed offset",
                    tp.topic, tp.partition, committed, highwater,
                )  # fmt: skip
                STALLS.labels(tp.topic).inc()
                await consumer.seek(tp, committed)
