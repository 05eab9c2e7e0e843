"""Validate the urgency safety rules (urgency_rules.yaml) against all labelled messages.

Standalone: loads the rules into a spaCy Matcher and PhraseMatcher (attr LOWER) on
``spacy.blank("nl")`` plus the rule-based sentencizer, cancels danger matches that have a
negation, past or hypothetical cue inside that section's window, and compares "a rule
fired" with ``urgency == "spoed"`` over the corpus and the ingest samples.

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

import spacy
import yaml
from spacy.matcher import Matcher, PhraseMatcher

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RULES = HERE / "urgency_rules.yaml"
SOURCES = [
    REPO / "enrich" / "corpus" / "source" / "corpus-*.jsonl",
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


class UrgencyRules:
    def __init__(self, path: Path = RULES) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.nlp = spacy.blank("nl")
        self.nlp.add_pipe("sentencizer")
        vocab = self.nlp.vocab
        self.danger = Matcher(vocab)
        self.danger_phrases = PhraseMatcher(vocab, attr="LOWER")
        for name, cat in data["categories"].items():
            self._add(self.danger, self.danger_phrases, name, cat)
        # every other top-level section is a cue section (negation, past, hypothetical, ...)
        self.cues: dict[str, tuple[Matcher, PhraseMatcher]] = {}
        self.scope: dict[str, dict] = {}
        for section, spec in data.items():
            if section in NOT_CUES:
                continue
            m, pm = Matcher(vocab), PhraseMatcher(vocab, attr="LOWER")
            self._add(m, pm, section, spec)
            self.cues[section] = (m, pm)
            self.scope[section] = {
                "before": int(spec.get("window", 0)),
                "after": int(spec.get("after", 0)),
                "cross_punct": bool(spec.get("cross_punct", True)),
                "cross_sentence": bool(spec.get("cross_sentence", False)),
                "inside": bool(spec.get("inside", False)),
            }

    def _add(self, matcher: Matcher, phrases: PhraseMatcher, key: str, spec: dict) -> None:
        patterns = spec.get("patterns") or []
        if patterns:
            matcher.add(key, patterns)
        texts = spec.get("phrases") or []
        if texts:
            phrases.add(key, [self.nlp.make_doc(str(t)) for t in texts])

    @staticmethod
    def _run(doc, matcher, phrases):
        found = (matcher(doc) if len(matcher) else []) + (phrases(doc) if len(phrases) else [])
        return [(doc.vocab.strings[k], s, e) for k, s, e in found]

    def check(self, text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
        """Return (fired matches [(category, span)], cancelled [(category, span, reason)])."""
        doc = self.nlp(text)
        cue_hits = {sec: self._run(doc, *mp) for sec, mp in self.cues.items()}
        fired, cancelled = [], []
        for cat, s, e in self._run(doc, self.danger, self.danger_phrases):
            span = doc[s:e]
            sent = doc[s].sent
            reason = None
            for sec, hits in cue_hits.items():
                sc = self.scope[sec]
                for _, cs, ce in hits:
                    if not sc["cross_sentence"] and (cs < sent.start or ce > sent.end):
                        continue
                    if ce <= s and s - ce <= sc["before"]:
                        gap = doc[ce:s]
                    elif sc["after"] and cs >= e and cs - e <= sc["after"]:
                        gap = doc[e:cs]
                    elif sc["inside"] and s < cs and ce <= e:
                        gap = doc[0:0]
                    else:
                        continue
                    if not sc["cross_punct"] and any(t.is_punct for t in gap):
                        continue
                    reason = f"{sec}:{doc[cs:ce].text}"
                    break
                if reason:
                    break
            if reason:
                cancelled.append((cat, span.text, reason))
            else:
                fired.append((cat, span.text))
        return fired, cancelled


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
