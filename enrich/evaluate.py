"""`make eval`: the production path (trained pipeline + urgency safety layer) on held-out data.

One section per dataset, each with per-class precision/recall/F1, macro-F1 and a confusion
matrix for topic, urgency and intent, and the issue's targets (topic macro-F1 >= 0.85, intent
>= 0.75, spoed recall >= 0.95 with precision >= 0.70, hoog+spoed recall >= 0.90) with pass/fail,
and for each rate the count behind it and its 95% Wilson interval:

- ``test``: the held-out test split of the corpus (never used for training or model choice);
- ``check``: enrich/corpus/check/check.jsonl, written independently of the corpus and the rules
  (reported when the file exists);
- one per file in enrich/corpus/heldout/, named by its stem (``batch-h`` ...): corpus batches
  kept out of training (see heldout/README.md).

Urgency is scored as the enrich worker sets it (model, then the safety layer); the model's own
urgency numbers are shown beside it, and so are the pages the routing rules would send out of
office hours (`route/rules/departments.yaml`, `alerts`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from rich.console import Console
from rich.table import Table
from spacy.tokens import Doc

import enrich.architecture  # noqa: F401  (registers luisterpost.TextCatCharBOW.v1)
from enrich.axes import AXES, best_per_axis
from enrich.corpus.split import text_key
from enrich.metrics import AxisReport, evaluate_axis, ratio, wilson_interval
from enrich.pipeline import DEFAULT_MODEL, Enricher
from enrich.shipping import count
from ingest.events import Enrichment
from route.rules import AlertPolicy, load_rules

__all__ = [
    "Target",
    "evaluate",
    "evaluate_docs",
    "evaluate_enricher",
    "evaluate_enrichments",
    "labels_before_audits",
    "main",
    "paging",
    "targets",
]

HERE = Path(__file__).parent
REPORTS = HERE.parent / "reports"
AUDITS = HERE / "corpus" / "audit"
"""Label audits of the held-out sets (see audit/README.md): each line one disputed label."""
DATASETS = {
    "test": HERE / "corpus" / "test.jsonl",
    "check": HERE / "corpus" / "check" / "check.jsonl",
    **{path.stem: path for path in sorted((HERE / "corpus" / "heldout").glob("*.jsonl"))},
}


def evaluate(model: Path, rows: list[dict[str, str]]) -> dict[str, AxisReport]:
    """The bare trained pipeline (no safety layer): best label per axis against the gold."""
    nlp = spacy.load(model)
    return evaluate_docs(list(nlp.pipe((row["text"] for row in rows), batch_size=256)), rows)


def evaluate_docs(docs: list[Doc], rows: list[dict[str, str]]) -> dict[str, AxisReport]:
    """Reports per axis for docs the pipeline already categorised, one per row, in order."""
    predicted: dict[str, list[str]] = {axis: [] for axis in AXES}
    for doc in docs:
        for axis, (label, _) in best_per_axis(doc.cats).items():
            predicted[axis].append(label)
    return {
        axis: evaluate_axis([r[axis] for r in rows], predicted[axis], labels)
        for axis, labels in AXES.items()
    }


def evaluate_enricher(
    enricher: Enricher, rows: list[dict[str, str]]
) -> tuple[dict[str, AxisReport], dict[str, list[str]]]:
    """Reports per axis as the enrich worker labels, and the predictions (model urgency too)."""
    return evaluate_enrichments(enricher.classify([row["text"] for row in rows]), rows)


def evaluate_enrichments(
    enrichments: Sequence[Enrichment], rows: list[dict[str, str]]
) -> tuple[dict[str, AxisReport], dict[str, list[str]]]:
    """Reports per axis for the enrichments of the rows, one each, and their labels."""
    predicted: dict[str, list[str]] = {axis: [] for axis in (*AXES, "model_urgency")}
    for e in enrichments:
        predicted["topic"].append(e.topic)
        predicted["urgency"].append(e.urgency)
        predicted["intent"].append(e.intent)
        predicted["model_urgency"].append(max(e.scores["urgency"], key=e.scores["urgency"].get))  # type: ignore[arg-type]
    reports = {
        axis: evaluate_axis([r[axis] for r in rows], predicted[axis], labels)
        for axis, labels in AXES.items()
    }
    return reports, predicted


@dataclass(frozen=True)
class Paging:
    """Out of office hours, which messages page someone (the routing rules' alert policy)."""

    pages: int
    urgent_pages: int
    """Pages for messages labelled hoog or spoed."""
    urgent: int
    """Messages labelled hoog or spoed."""

    @property
    def precision(self) -> float:
        return ratio(self.urgent_pages, self.pages)

    @property
    def recall(self) -> float:
        return ratio(self.urgent_pages, self.urgent)


def paging(
    enrichments: Sequence[Enrichment], rows: Sequence[dict[str, str]], policy: AlertPolicy
) -> Paging:
    """What the on-call person sees at night: every ``spoed``, and ``hoog`` scored at least its
    ``min_score`` (``route/rules/departments.yaml``), against the hoog+spoed labels."""
    paged = [
        policy.severity(e.urgency, e.urgency_score, office_hours=False) is not None
        for e in enrichments
    ]
    urgent = [row["urgency"] in ("spoed", "hoog") for row in rows]
    return Paging(
        pages=sum(paged),
        urgent_pages=sum(p and u for p, u in zip(paged, urgent, strict=True)),
        urgent=sum(urgent),
    )


def labels_before_audits(
    name: str, rows: list[dict[str, str]], audits: Path = AUDITS
) -> list[dict[str, str]]:
    """The rows with every label an audit changed put back as it was before the first audit,
    so the targets can be reported on both labellings."""
    before: dict[tuple[str, str], str] = {}
    for path in sorted(audits.glob("*.jsonl"), reverse=True):  # the oldest audit decides last
        for line in path.open(encoding="utf-8"):
            entry = json.loads(line)
            if entry["set"] == name and entry["adjudicated"] != entry["stored"]:
                before[(text_key(entry["text"]), entry["axis"])] = entry["stored"]
    out = []
    for row in rows:
        key = text_key(row["text"])
        out.append({**row, **{a: before.get((key, a), row[a]) for a in AXES}})
    return out


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, as measured on one set."""

    name: str
    measured: float
    required: float
    count: tuple[int, int] | None = None
    """(hits, out of) when the target is a rate, so its uncertainty can be shown; None for F1."""

    @property
    def met(self) -> bool:
        return self.measured >= self.required

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of a rate: on 58 `spoed`, one message moves recall by 0.017."""
        return wilson_interval(*self.count) if self.count else None


def targets(
    reports: dict[str, AxisReport], rows: list[dict[str, str]], predicted_urgency: list[str]
) -> list[Target]:
    """Every target in the issue, with the counts behind the rates (the shipping rule's counts)."""
    c = count(reports, [r["urgency"] for r in rows], predicted_urgency)
    return [
        Target("topic macro-F1", c.topic_f1, 0.85),
        Target("intent macro-F1", c.intent_f1, 0.75),
        Target("spoed recall", ratio(c.spoed_found, c.spoed), 0.95, (c.spoed_found, c.spoed)),
        Target("spoed precision", c.spoed_precision, 0.70, (c.spoed_found, c.spoed_flagged)),
        Target(
            "hoog+spoed recall",
            ratio(c.urgent_found, c.urgent),
            0.90,
            (c.urgent_found, c.urgent),
        ),
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


def _target_summary(target: Target) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "measured": round(target.measured, 4),
        "required": target.required,
        "met": target.met,
    }
    if target.count and target.interval:
        summary["count"] = list(target.count)
        summary["interval_95"] = [round(bound, 4) for bound in target.interval]
    return summary


def section(
    console: Console, name: str, path: Path, enricher: Enricher, policy: AlertPolicy
) -> dict[str, Any]:
    """Print one dataset's tables and targets; return its summary for eval.json."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    enrichments = enricher.classify([row["text"] for row in rows])
    reports, predicted = evaluate_enrichments(enrichments, rows)
    console.rule(f"[bold]{name}[/]: {path.relative_to(HERE.parent)} ({len(rows)} messages)")
    for axis, report in reports.items():
        for table in _tables(axis, report):
            console.print(table)
    model_urgency = evaluate_axis(
        [r["urgency"] for r in rows], predicted["model_urgency"], AXES["urgency"]
    )
    model_spoed = model_urgency.per_class["spoed"]
    console.print(
        f"model alone (no safety layer): urgency macro-F1 {model_urgency.macro_f1:.3f}, "
        f"spoed recall {model_spoed.recall:.2f} at precision {model_spoed.precision:.2f}"
    )
    pages = paging(enrichments, rows, policy)
    console.print(
        f"out of office hours: {pages.pages} pages, {pages.precision:.2f} of them hoog or spoed; "
        f"they reach {pages.urgent_pages} of {pages.urgent} hoog+spoed ({pages.recall:.2f})"
    )
    measured = targets(reports, rows, predicted["urgency"])
    old_rows = labels_before_audits(name, rows)
    changed = sum(old != row for old, row in zip(old_rows, rows, strict=True))
    old_reports = {
        axis: evaluate_axis([r[axis] for r in old_rows], predicted[axis], labels)
        for axis, labels in AXES.items()
    }
    before = targets(old_reports, old_rows, predicted["urgency"])
    goals = Table(title=f"{name}: targets", title_justify="left")
    for column in ("target", "measured", "count", "95% interval", "required", "", "before audit"):
        goals.add_column(column)
    for target, old in zip(measured, before, strict=True):
        goals.add_row(
            target.name,
            f"{target.measured:.3f}",
            f"{target.count[0]} of {target.count[1]}" if target.count else "",
            "{:.3f}-{:.3f}".format(*target.interval) if target.interval else "",
            f">= {target.required:.2f}",
            "[green]met" if target.met else "[red]not met",
            f"{old.measured:.3f}" + ("" if old.met else " (not met)"),
        )
    console.print(goals)
    console.print(
        f"{changed} of {len(rows)} messages have a label changed by the audit "
        "(enrich/corpus/audit/README.md)"
    )
    return {
        "file": str(path.relative_to(HERE.parent)),
        "messages": len(rows),
        "targets": {t.name: _target_summary(t) for t in measured},
        "labels_changed_by_audit": changed,
        "targets_on_labels_before_audit": {t.name: round(t.measured, 4) for t in before},
        "paging_out_of_office_hours": {
            **vars(pages),
            "precision": round(pages.precision, 4),
            "recall": round(pages.recall, 4),
        },
        "model_alone_urgency": {
            "macro_f1": model_urgency.macro_f1,
            "spoed_recall": model_spoed.recall,
            "spoed_precision": model_spoed.precision,
        },
        **{
            axis: {
                "macro_f1": r.macro_f1,
                "per_class": {k: vars(v) for k, v in r.per_class.items()},
            }
            for axis, r in reports.items()
        },
    }


def main(model: Path = DEFAULT_MODEL) -> None:
    enricher = Enricher(model)
    policy = load_rules().alerts
    REPORTS.mkdir(exist_ok=True)
    console = Console(record=True, width=120)
    console.print(f"[bold]{enricher.name}[/] ({model}) with the urgency safety layer")
    summary = {
        name: section(console, name, path, enricher, policy)
        for name, path in DATASETS.items()
        if path.is_file()
    }
    (REPORTS / "eval.txt").write_text(console.export_text())
    (REPORTS / "eval.json").write_text(
        json.dumps(
            {"classifier": enricher.name, "thresholds": enricher.thresholds, **summary}, indent=2
        )
    )
    console.print(f"written: {REPORTS / 'eval.txt'}, {REPORTS / 'eval.json'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL)
