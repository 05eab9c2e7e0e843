"""The shipping rule: may a candidate model replace the shipped one? (pure: labels in, verdict out)

Every model change since session 7 was decided by this rule on one fresh held-out batch that
neither model had seen, written down before the batch existed (corpus/heldout/README.md):
``spoed`` and hoog+spoed recall each at most two messages lower, ``spoed`` precision at least
0.70, topic and intent macro-F1 each at most 0.01 lower. Messages, not rates: on a batch of
about 250 ``spoed``, two messages is the noise between two good models, and a rate hides how
many residents a change would miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from enrich.axes import AXES
from enrich.metrics import evaluate_axis, ratio

__all__ = ["MAX_F1_LOSS", "MAX_MORE_MISSED", "MIN_SPOED_PRECISION", "Counts", "count", "verdict"]

MAX_MORE_MISSED = 2
"""Urgent messages (``spoed``, or hoog+spoed) the candidate may miss beyond the shipped model."""
MIN_SPOED_PRECISION = 0.70
MAX_F1_LOSS = 0.01
"""Topic and intent macro-F1 the candidate may lose."""
URGENT = frozenset({"spoed", "hoog"})


@dataclass(frozen=True)
class Counts:
    """What the rule compares, for one model on one labelled batch."""

    spoed: int
    spoed_found: int
    spoed_flagged: int
    urgent: int
    urgent_found: int
    """hoog+spoed messages flagged hoog or spoed (either counts as caught)."""
    topic_f1: float
    intent_f1: float

    @property
    def spoed_precision(self) -> float:
        return ratio(self.spoed_found, self.spoed_flagged)


def count(gold: Sequence[dict[str, str]], predicted: Mapping[str, Sequence[str]]) -> Counts:
    """The counts of one model's labels: ``predicted`` holds one list per axis (``topic``,
    ``urgency``, ``intent``), one label per message, as ``enrich.evaluate`` returns them."""
    if any(len(predicted[axis]) != len(gold) for axis in AXES):
        raise ValueError(f"{len(gold)} labelled messages but another number of predictions")
    pairs = list(zip((g["urgency"] for g in gold), predicted["urgency"], strict=True))
    f1 = {
        axis: evaluate_axis([g[axis] for g in gold], predicted[axis], AXES[axis])
        for axis in ("topic", "intent")
    }
    return Counts(
        spoed=sum(g == "spoed" for g, _ in pairs),
        spoed_found=sum(g == p == "spoed" for g, p in pairs),
        spoed_flagged=sum(p == "spoed" for _, p in pairs),
        urgent=sum(g in URGENT for g, _ in pairs),
        urgent_found=sum(g in URGENT and p in URGENT for g, p in pairs),
        topic_f1=f1["topic"].macro_f1,
        intent_f1=f1["intent"].macro_f1,
    )


def verdict(shipped: Counts, candidate: Counts) -> list[str]:
    """The conditions the candidate fails, each with its numbers; empty when it may ship."""
    if (shipped.spoed, shipped.urgent) != (candidate.spoed, candidate.urgent):
        raise ValueError("the two models were counted on different batches")
    failed = []
    for name, before, after in (
        ("spoed", shipped.spoed_found, candidate.spoed_found),
        ("hoog+spoed", shipped.urgent_found, candidate.urgent_found),
    ):
        if before - after > MAX_MORE_MISSED:
            failed.append(
                f"{name}: finds {after} against {before}, "
                f"{before - after} fewer (at most {MAX_MORE_MISSED})"
            )
    if candidate.spoed_precision < MIN_SPOED_PRECISION:
        failed.append(
            f"spoed precision {candidate.spoed_precision:.3f} (at least {MIN_SPOED_PRECISION})"
        )
    for name, f1_before, f1_after in (
        ("topic macro-F1", shipped.topic_f1, candidate.topic_f1),
        ("intent macro-F1", shipped.intent_f1, candidate.intent_f1),
    ):
        if f1_before - f1_after > MAX_F1_LOSS + 1e-9:  # 0.01 exactly is allowed, whatever the float
            failed.append(
                f"{name} {f1_after:.3f} against {f1_before:.3f} (at most {MAX_F1_LOSS} lower)"
            )
    return failed
