"""`make eval`: the trained pipeline on the held-out test split, per axis, as tables and a file.

Reports per-class precision/recall/F1, macro-F1 and a confusion matrix for topic, urgency and
intent, and the issue's targets (topic macro-F1 >= 0.85, intent >= 0.75, spoed recall >= 0.95
with precision >= 0.70, hoog+spoed recall >= 0.90) with pass/fail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import spacy
from rich.console import Console
from rich.table import Table

from enrich.axes import AXES, best_per_axis
from enrich.metrics import AxisReport, evaluate_axis, recall_of_any

__all__ = ["evaluate", "main", "targets"]

HERE = Path(__file__).parent
DEFAULT_MODEL = HERE / "model" / "training" / "model-best"
REPORTS = HERE.parent / "reports"


def evaluate(model: Path, rows: list[dict[str, str]]) -> dict[str, AxisReport]:
    nlp = spacy.load(model)
    predicted: dict[str, list[str]] = {axis: [] for axis in AXES}
    for doc in nlp.pipe((row["text"] for row in rows), batch_size=256):
        for axis, (label, _) in best_per_axis(doc.cats).items():
            predicted[axis].append(label)
    return {
        axis: evaluate_axis([r[axis] for r in rows], predicted[axis], labels)
        for axis, labels in AXES.items()
    }


def targets(
    reports: dict[str, AxisReport], rows: list[dict[str, str]], predicted_urgency: list[str]
) -> list[tuple[str, float, float]]:
    """(name, measured, required) for every target in the issue."""
    spoed = reports["urgency"].per_class["spoed"]
    urgent = recall_of_any([r["urgency"] for r in rows], predicted_urgency, {"spoed", "hoog"})
    return [
        ("topic macro-F1", reports["topic"].macro_f1, 0.85),
        ("intent macro-F1", reports["intent"].macro_f1, 0.75),
        ("spoed recall", spoed.recall, 0.95),
        ("spoed precision", spoed.precision, 0.70),
        ("hoog+spoed recall", urgent, 0.90),
    ]


def _tables(axis: str, report: AxisReport) -> tuple[Table, Table]:
    scores = Table(
        title=f"{axis}: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}",
        title_justify="left",
    )
    for column in ("label", "precision", "recall", "F1", "support"):
        scores.add_column(column, justify="left" if column == "label" else "right")
    for label, s in report.per_class.items():
        scores.add_row(
            label, f"{s.precision:.2f}", f"{s.recall:.2f}", f"{s.f1:.2f}", str(s.support)
        )
    confusion = Table(
        title=f"{axis}: confusion (rows gold, columns predicted)", title_justify="left"
    )
    confusion.add_column("")
    for label in report.labels:
        confusion.add_column(label[:6], justify="right")
    for gold in report.labels:
        confusion.add_row(gold, *(str(report.confusion.get((gold, p), 0)) for p in report.labels))
    return scores, confusion


def main(model: Path = DEFAULT_MODEL) -> None:
    rows = [json.loads(line) for line in (HERE / "corpus" / "test.jsonl").open(encoding="utf-8")]
    reports = evaluate(model, rows)
    nlp = spacy.load(model)
    urgency = [best_per_axis(doc.cats)["urgency"][0] for doc in nlp.pipe(r["text"] for r in rows)]
    REPORTS.mkdir(exist_ok=True)
    console = Console(record=True, width=120)
    console.print(f"[bold]{model}[/] on the held-out test split ({len(rows)} messages)")
    for axis, report in reports.items():
        for table in _tables(axis, report):
            console.print(table)
    goals = Table(title="targets", title_justify="left")
    for column in ("target", "measured", "required", ""):
        goals.add_column(column)
    for name, measured, required in targets(reports, rows, urgency):
        goals.add_row(
            name,
            f"{measured:.3f}",
            f">= {required:.2f}",
            "[green]met" if measured >= required else "[red]not met",
        )
    console.print(goals)
    (REPORTS / "eval.txt").write_text(console.export_text())
    summary = {
        axis: {"macro_f1": r.macro_f1, "per_class": {k: vars(v) for k, v in r.per_class.items()}}
        for axis, r in reports.items()
    }
    (REPORTS / "eval.json").write_text(json.dumps(summary, indent=2))
    console.print(f"written: {REPORTS / 'eval.txt'}, {REPORTS / 'eval.json'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL)
