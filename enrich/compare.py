"""`python -m enrich.compare FILE CANDIDATE [SHIPPED]`: the shipping rule on one fresh batch.

Classifies FILE's labelled messages (JSON lines with ``text``, ``topic``, ``urgency``,
``intent``) with the candidate model and the shipped one, through the production path (model,
thresholds, safety layer), prints what the rule compares (``enrich.shipping``) and its verdict,
and writes ``reports/compare.json``. A candidate may also be a rules file
(``--candidate-rules``, ``--shipped-rules``; default: the shipped urgency rules). Exit status: 0
when the candidate may ship, 1 when it may not, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from enrich.axes import AXES
from enrich.evaluate import evaluate_enricher
from enrich.pipeline import DEFAULT_MODEL, Enricher, ModelNotFoundError
from enrich.shipping import Counts, count, verdict
from enrich.urgency import DEFAULT_RULES
from luisterpost.errors import LuisterpostError
from luisterpost.jsonlines import json_objects

__all__ = ["compare", "main", "read_labelled"]

REPORTS = Path(__file__).parent.parent / "reports"


class UnusableInput(LuisterpostError):
    """The batch or a rules file cannot be used: missing, unreadable, or a line without labels."""


def read_labelled(path: Path) -> list[dict[str, str]]:
    """The labelled messages of a JSON-lines file; a clear error naming the first bad line."""
    rows = []
    for n, row in json_objects(path, UnusableInput):
        if not isinstance(row.get("text"), str):
            raise UnusableInput(f'{path}:{n}: expected an object with a "text" string')
        for axis, labels in AXES.items():
            if row.get(axis) not in labels:
                raise UnusableInput(f"{path}:{n}: {axis} must be one of {', '.join(labels)}")
        rows.append(row)
    if not rows:
        raise UnusableInput(f"{path}: no labelled messages")
    return rows


def _labels(enricher: Enricher, rows: list[dict[str, str]]) -> tuple[Counts, int]:
    """The rule's counts for one model, and how many ``spoed`` the model alone finds."""
    reports, predicted = evaluate_enricher(enricher, rows)
    alone = sum(
        row["urgency"] == "spoed" == label
        for row, label in zip(rows, predicted["model_urgency"], strict=True)
    )
    return count(reports, [row["urgency"] for row in rows], predicted["urgency"]), alone


def compare(
    path: Path,
    candidate: Path,
    shipped: Path = DEFAULT_MODEL,
    reports: Path = REPORTS,
    candidate_rules: Path = DEFAULT_RULES,
    shipped_rules: Path = DEFAULT_RULES,
) -> dict[str, Any]:
    """Both models' counts on the batch and the rule's verdict (also printed as a table).

    A model here is a pipeline with its urgency rules, so a rules change is decided the same way.
    """
    rows = read_labelled(path)
    for rules in (candidate_rules, shipped_rules):
        if not rules.is_file():
            raise UnusableInput(f"no urgency rules file: {rules}")
    setups = {"shipped": (shipped, shipped_rules), "candidate": (candidate, candidate_rules)}
    models = {role: Enricher(model, rules=rules) for role, (model, rules) in setups.items()}
    counted = {role: _labels(enricher, rows) for role, enricher in models.items()}
    (old, old_alone), (new, new_alone) = counted["shipped"], counted["candidate"]
    failed = verdict(old, new)

    table = Table(title=f"{path.name}: {len(rows):,} messages", title_justify="left")
    table.add_column("")
    for role in models:
        table.add_column(role, justify="right")
    for name, value in (
        ("spoed found", lambda c, a: f"{c.spoed_found} of {c.spoed}"),
        ("spoed precision", lambda c, a: f"{c.spoed_precision:.3f}"),
        ("hoog+spoed found", lambda c, a: f"{c.urgent_found} of {c.urgent}"),
        ("topic macro-F1", lambda c, a: f"{c.topic_f1:.3f}"),
        ("intent macro-F1", lambda c, a: f"{c.intent_f1:.3f}"),
        ("spoed found by the model alone", lambda c, a: f"{a} of {c.spoed}"),
    ):
        table.add_row(name, value(old, old_alone), value(new, new_alone))
    console = Console()
    for role, enricher in models.items():
        model, rules = setups[role]
        console.print(f"{role}: {enricher.name} ({model}; rules {rules})")
    console.print(table)
    if failed:
        console.print("[red]the candidate may not ship:[/] " + "; ".join(failed))
    else:
        console.print("[green]the candidate may ship[/] (enrich/shipping.py)")

    result = {
        "file": str(path),
        "messages": len(rows),
        "models": {role: enricher.name for role, enricher in models.items()},
        "thresholds": {role: enricher.thresholds for role, enricher in models.items()},
        "rules": {role: str(rules) for role, (_, rules) in setups.items()},
        "counts": {
            role: {**vars(c), "spoed_precision": round(c.spoed_precision, 4), "alone": a}
            for role, (c, a) in counted.items()
        },
        "may_ship": not failed,
        "failed": failed,
    }
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"written: {reports / 'compare.json'}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m enrich.compare", description=__doc__)
    parser.add_argument("file", type=Path, help="labelled JSON lines: a fresh held-out batch")
    parser.add_argument("candidate", type=Path, help="the candidate pipeline's folder")
    parser.add_argument(
        "shipped", type=Path, nargs="?", default=DEFAULT_MODEL, help="default: the shipped model"
    )
    parser.add_argument("--reports", type=Path, default=REPORTS, help="where compare.json goes")
    for role in ("candidate", "shipped"):
        parser.add_argument(
            f"--{role}-rules",
            type=Path,
            default=DEFAULT_RULES,
            help=f"the {role}'s urgency rules (default: the shipped rules)",
        )
    args = parser.parse_args(argv)
    try:
        result = compare(
            args.file,
            args.candidate,
            args.shipped,
            args.reports,
            candidate_rules=args.candidate_rules,
            shipped_rules=args.shipped_rules,
        )
    except (UnusableInput, ModelNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if result["may_ship"] else 1


if __name__ == "__main__":
    sys.exit(main())
