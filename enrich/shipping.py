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

from enrich.metrics import AxisReport, caught_of_any, ratio

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


def count(
    reports: Mapping[str, AxisReport], gold_urgency: Sequence[str], predicted_urgency: Sequence[str]
) -> Counts:
    """The counts of one model's labels, from the per-axis reports ``enrich.evaluate`` already
    made for them (so nothing is scored twice) and the urgency labels for hoog+spoed."""
    urgency = reports["urgency"]
    urgent_found, urgent = caught_of_any(gold_urgency, predicted_urgency, URGENT)
    return Counts(
        spoed=urgency.per_class["spoed"].support,
        spoed_found=urgency.confusion.get(("spoed", "spoed"), 0),
        spoed_flagged=sum(n for (_, p), n in urgency.confusion.items() if p == "spoed"),
        urgent=urgent,
        urgent_found=urgent_found,
        topic_f1=reports["topic"].macro_f1,
        intent_f1=reports["intent"].macro_f1,
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
