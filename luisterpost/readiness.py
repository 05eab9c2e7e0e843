"""Readiness of a worker, read from its own metrics: it fetches the given topic."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from luisterpost.errors import ServiceError

__all__ = ["wait_until_fetching"]


def wait_until_fetching(
    metrics_port: int, topic: str, timeout: float, check_alive: Callable[[], None] = lambda: None
) -> None:
    """Block until the worker on ``metrics_port`` has partition 0 of ``topic`` in its fetch loop.

    Until then it is still joining the group or recovering tables; records sent earlier are
    processed too, but later and through the stall watchdog.
    """
    marker = f'luisterpost_consumer_fetching{{partition="0",topic="{topic}"}} 1.0'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive()
        try:
            url = f"http://127.0.0.1:{metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as response:
                if marker in response.read().decode():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ServiceError(
        f"the worker on :{metrics_port} did not start fetching {topic} within {timeout:.0f}s"
    )
