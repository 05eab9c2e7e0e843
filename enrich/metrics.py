"""Pure evaluation arithmetic: per-class precision, recall and F1, macro-F1, confusion matrix,
and how far a rate measured on few messages can be trusted."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass

__all__ = ["AxisReport", "caught_of_any", "evaluate_axis", "ratio", "wilson_interval"]


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class AxisReport:
    labels: tuple[str, ...]
    per_class: dict[str, ClassScore]
    confusion: dict[tuple[str, str], int]
    """(gold, predicted) -> count."""

    @property
    def macro_f1(self) -> float:
        return sum(score.f1 for score in self.per_class.values()) / len(self.labels)

    @property
    def accuracy(self) -> float:
        total = sum(self.confusion.values())
        return (
            sum(n for (gold, pred), n in self.confusion.items() if gold == pred) / total
            if total
            else 0.0
        )


def ratio(part: int, whole: int) -> float:
    """part / whole, and 0.0 for an empty whole (nothing to score is no score)."""
    return part / whole if whole else 0.0


def wilson_interval(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of the rate ``hits / total``: where the true rate plausibly lies.

    z = 1.96 gives 95%. (0.0, 1.0) when there is nothing to count. A small set gets a wide
    interval, which is the point: 55 of 58 cannot tell a recall of 0.95 from 0.88 or 0.98.
    """
    if total <= 0:
        return (0.0, 1.0)
    share = hits / total
    centre = share + z * z / (2 * total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    scale = 1 + z * z / total
    return ((centre - spread) / scale, (centre + spread) / scale)


def evaluate_axis(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> AxisReport:
    """Scores for one axis; a label never predicted and never present scores 0, not 1."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    confusion = Counter(zip(gold, predicted, strict=True))
    per_class = {}
    for label in labels:
        tp = confusion[(label, label)]
        predicted_n = sum(n for (_, p), n in confusion.items() if p == label)
        support = sum(n for (g, _), n in confusion.items() if g == label)
        precision, recall = ratio(tp, predicted_n), ratio(tp, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassScore(precision, recall, f1, support)
    return AxisReport(tuple(labels), per_class, dict(confusion))


def caught_of_any(
    gold: Sequence[str], predicted: Sequence[str], group: Set[str]
) -> tuple[int, int]:
    """(caught, labelled) for a group of labels taken together (e.g. hoog+spoed: either counts
    as caught); its recall is ``ratio(caught, labelled)``."""
    relevant = [p for g, p in zip(gold, predicted, strict=True) if g in group]
    return sum(p in group for p in relevant), len(relevant)
