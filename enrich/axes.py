"""The three label axes as spaCy categories: 'topic=afval', 'urgency=spoed', 'intent=vraag'."""

from __future__ import annotations

from collections.abc import Mapping

from ingest.events import INTENTS, TOPICS, URGENCIES

__all__ = ["AXES", "best_per_axis", "cats_for"]

AXES: dict[str, tuple[str, ...]] = {"topic": TOPICS, "urgency": URGENCIES, "intent": INTENTS}


def cats_for(labels: Mapping[str, str]) -> dict[str, float]:
    """One-hot categories per axis from {'topic': ..., 'urgency': ..., 'intent': ...}."""
    return {
        f"{axis}={label}": float(labels[axis] == label)
        for axis, values in AXES.items()
        for label in values
    }


def best_per_axis(cats: Mapping[str, float]) -> dict[str, tuple[str, float]]:
    """The highest-scoring label of each axis with its score."""
    best = {}
    for axis, values in AXES.items():
        label = max(values, key=lambda value: cats.get(f"{axis}={value}", 0.0))
        best[axis] = (label, float(cats.get(f"{axis}={label}", 0.0)))
    return best
