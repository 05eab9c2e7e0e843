"""Operator view of the running pipeline: is everything processed yet?"""

from __future__ import annotations

import time
from collections.abc import Callable

from luisterpost.errors import ServiceError
from luisterpost.kafka_admin import LagProbe

__all__ = ["wait_until_drained"]


def wait_until_drained(
    servers: str,
    group: str,
    topics: tuple[str, ...],
    timeout: float,
    on_poll: Callable[[dict[str, int]], None] | None = None,
    interval: float = 1.0,
) -> None:
    """Block until every stage has committed everything on its input topics.

    Offsets are committed only after a record is fully handled (the index stage: after the
    bulk write), and topics are read in pipeline order, so two readings of zero in a row mean
    every replayed record is indexed or dead-lettered.
    """
    deadline = time.monotonic() + timeout
    zero_readings = 0
    with LagProbe(servers, group) as probe:
        while True:
            lag = probe.read(topics)
            if on_poll:
                on_poll(lag)
            zero_readings = zero_readings + 1 if sum(lag.values()) == 0 else 0
            if zero_readings >= 2:
                return
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"the pipeline did not finish within {timeout:.0f}s; backlog per topic: {lag}"
                )
            time.sleep(interval)
