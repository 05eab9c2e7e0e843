"""Prometheus metrics shared by every stage (each stage adds its own next to its agent)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["DEAD_LETTERS", "STAGE_ERRORS", "STAGE_MESSAGES", "STAGE_SECONDS"]

STAGE_MESSAGES = Counter(
    "luisterpost_stage_messages_total",
    "Messages a stage passed on",
    ["stage", "channel", "direction"],
)
STAGE_ERRORS = Counter(
    "luisterpost_stage_errors_total", "Records a stage could not process", ["stage", "reason"]
)
DEAD_LETTERS = Counter(
    "luisterpost_dead_letters_total", "Records sent to the dead-letter topic", ["stage"]
)
STAGE_SECONDS = Histogram(
    "luisterpost_stage_processing_seconds",
    "Time a stage spends on one record or batch",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
