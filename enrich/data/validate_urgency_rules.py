"""Validate the urgency safety rules (urgency_rules.yaml) against all labelled messages.

Standalone: loads the rules into a spaCy Matcher and PhraseMatcher (attr LOWER) on
``spacy.blank("nl")`` plus the rule-based sentencizer, cancels danger matches that have a
negation, past or hypothetical cue inside that section's window, and compares "a rule
fired" with ``urgency == "spoed"`` over the train and dev splits and the ingest samples.

    .venv/bin/python enrich/data/validate_urgency_rules.py [--quiet] [--show-cancelled]

Window semantics: every top-level section other than ``categories`` is a cue section. A cue
cancels a danger match when it ends at most ``window`` tokens before the match starts, or
(if ``after`` is set) starts at most ``after`` tokens after the match ends. By default the
cue must lie in the same sentence (``cross_sentence: true`` lifts that) and may have
punctuation in between (``cross_punct: false`` forbids it). A cue overlapping the start of
the match does not count; a cue strictly inside it counts only with ``inside: true`` (used for
past/habitual cues such as "hert aangereden gisteravond op de Heideweg").
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from enrich.urgency import UrgencyRules as _Rules

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RULES = HERE / "urgency_rules.yaml"
# Train and dev only: rules are designed against these, never against the held-out test split
# (source/ holds it too) or the check set.
SOURCES = [
    REPO / "enrich" / "corpus" / "train.jsonl",
    REPO / "enrich" / "corpus" / "dev.jsonl",
    REPO / "ingest" / "samples" / "source" / "part-*.jsonl",
]
NOT_CUES = {"version", "categories"}


def load_messages() -> list[dict]:
    rows = []
    for pattern in SOURCES:
        for path in sorted(glob.glob(str(pattern))):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        rows.append(json.loads(line))
    return rows


class UrgencyRules(_Rules):
    """The shipped safety layer, with the (fired, cancelled) tuple this report prints."""

    def __init__(self, path: Path = RULES) -> None:
        super().__init__(path)

    def check(self, text: str):
        result = super().check(text)
        return result.fired, result.cancelled


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", action="store_true", help="only print the numbers")
    ap.add_argument(
        "--show-cancelled",
        action="store_true",
        help="list spoed messages whose only matches were cancelled",
    )
    args = ap.parse_args()

    rules = UrgencyRules()
    rows = load_messages()
    fired_by_label: Counter[str] = Counter()
    total_by_label: Counter[str] = Counter()
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    missed, false_alarms, cancelled_spoed = [], [], []
    for row in rows:
        label = row["urgency"]
        total_by_label[label] += 1
        fired, cancelled = rules.check(row["text"])
        if fired:
            fired_by_label[label] += 1
            for cat in {c for c, _ in fired}:
                per_category[cat][label] += 1
        if label == "spoed" and not fired:
            missed.append(row)
            if cancelled:
                cancelled_spoed.append((row, cancelled))
        if label != "spoed" and fired:
            false_alarms.append((row, fired))

    tp = fired_by_label["spoed"]
    n_fired = sum(fired_by_label.values())
    recall = tp / total_by_label["spoed"] if total_by_label["spoed"] else 0.0
    precision = tp / n_fired if n_fired else 0.0

    print(
        f"messages: {len(rows)}  "
        + "  ".join(f"{k}={total_by_label[k]}" for k in ("spoed", "hoog", "normaal", "laag"))
    )
    print(f"spoed recall:            {recall:.3f}  ({tp}/{total_by_label['spoed']})")
    print(f"rule precision vs spoed: {precision:.3f}  ({tp}/{n_fired} messages where a rule fired)")
    for label in ("hoog", "normaal", "laag"):
        print(f"fired on {label:8s} {fired_by_label[label]:4d} / {total_by_label[label]}")
    print("per category (spoed/hoog/normaal/laag):")
    for cat in sorted(per_category):
        c = per_category[cat]
        print(f"  {cat:22s} {c['spoed']:3d} {c['hoog']:3d} {c['normaal']:3d} {c['laag']:3d}")
    if args.quiet:
        return 0

    print(f"\n== missed spoed ({len(missed)})")
    for row in missed:
        print(f"- [{row['topic']}] {row['text']}")
    if args.show_cancelled:
        print(
            f"\n== spoed messages missed because every match was cancelled ({len(cancelled_spoed)})"
        )
        for row, cancelled in cancelled_spoed:
            print(f"- {row['text'][:120]}\n    {cancelled}")
    print(f"\n== false alarms ({len(false_alarms)})")
    for row, fired in sorted(false_alarms, key=lambda x: x[0]["urgency"]):
        cats = ", ".join(sorted({f"{c}:{t}" for c, t in fired}))
        print(f"- [{row['urgency']}] {row['text'][:160]}\n    -> {cats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
