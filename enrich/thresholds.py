"""Choosing the urgency thresholds from labelled dev messages (pure: no model, no files).

``enrich.train`` runs the shipped pipeline over the dev split and hands its urgency labels and
scores here; the chosen thresholds are stored in the model's meta.json and applied by
``enrich.pipeline.raise_urgency``.
"""

from __future__ import annotations

from collections.abc import Sequence

from enrich.metrics import wilson_interval
from enrich.pipeline import raise_urgency

__all__ = ["choose_thresholds"]

PLAN = (
    ("spoed", frozenset({"spoed"}), 0.70, True),
    ("at_least_hoog", frozenset({"spoed", "hoog"}), 0.45, False),
)
"""Threshold, the labels it flags, the precision below which it may not go, and whether its
recall target needs a margin: ``spoed``'s target is the requirement itself (0.95), so it must
hold one standard error below the measured recall (a threshold that lands on 0.95 on dev lands
below it on some fresh sets); hoog+spoed's 0.95 is already 0.05 above its 0.90."""


def _grid() -> list[float]:
    return [round(0.5 - 0.01 * i, 2) for i in range(46)]  # 0.50 down to 0.05


def choose_thresholds(
    base: Sequence[str],
    scores: Sequence[dict[str, float]],
    gold: Sequence[str],
    targets: tuple[float, float] = (0.95, 0.95),
    weakest: Sequence[Sequence[int]] = (),
) -> dict[str, float]:
    """The largest threshold per urgency group that reaches its recall target.

    ``base`` is the urgency before thresholds (the model's best label, raised by the safety
    layer), ``scores`` the model's urgency scores, ``gold`` the labels. ``spoed`` aims at
    ``targets[0]`` recall with precision >= 0.70; ``at_least_hoog`` (on hoog + spoed scores) at
    ``targets[1]`` hoog+spoed recall with precision >= 0.45. Recall and precision must hold on
    all rows and on each subset in ``weakest`` (row indices) too, since an average over many
    plain messages can meet them while the hardest style stays well below.

    A precision floor, and the ``spoed`` recall target, must hold one standard error below the
    measured rate (``_lower_bound``), so a small group keeps a margin that all rows hardly need.
    When a recall cannot be reached, the threshold is the largest one that finds as many on
    every subset as the lowest one the floors allow: going lower without finding more only adds
    false alarms.
    """
    subsets = [range(len(gold)), *weakest]
    chosen: dict[str, float] = {}
    for (key, group, precision_min, recall_margin), recall_min in zip(PLAN, targets, strict=True):
        allowed: list[tuple[float, list[tuple[int, int]]]] = []  # (threshold, found per subset)
        for limit in _grid():
            trial = {**chosen, key: limit}
            flagged = [
                raise_urgency(b, s, trial) in group for b, s in zip(base, scores, strict=True)
            ]
            bounds = [_precision(flagged, gold, group, subset) for subset in subsets]
            if any(_lower_bound(*bound) < precision_min for bound in bounds):
                break  # lower thresholds only flag more
            recalls = [_recall(flagged, gold, group, subset) for subset in subsets]
            allowed.append((limit, recalls))
            reached = [_lower_bound(*r) if recall_margin else _rate(*r) for r in recalls]
            if all(recall >= recall_min for recall in reached):
                break
        if allowed:
            best = allowed[-1][1]
            chosen[key] = round(next(limit for limit, recalls in allowed if recalls == best), 2)
    return chosen


def _precision(
    flagged: Sequence[bool], gold: Sequence[str], group: frozenset[str], subset: Sequence[int]
) -> tuple[int, int]:
    """(right, flagged) of the flags on ``subset``."""
    marked = [i for i in subset if flagged[i]]
    return sum(gold[i] in group for i in marked), len(marked)


def _recall(
    flagged: Sequence[bool], gold: Sequence[str], group: frozenset[str], subset: Sequence[int]
) -> tuple[int, int]:
    """(found, relevant) of ``group`` on ``subset``."""
    relevant = [i for i in subset if gold[i] in group]
    return sum(flagged[i] for i in relevant), len(relevant)


def _rate(hits: int, total: int) -> float:
    """hits / total; 1.0 when there is nothing to count (no flag is wrong, nothing is missed)."""
    return hits / total if total else 1.0


def _lower_bound(hits: int, total: int) -> float:
    """The rate one standard error low (Wilson score bound, z = 1); 1.0 with nothing to count."""
    return wilson_interval(hits, total, z=1.0)[0] if total else 1.0
