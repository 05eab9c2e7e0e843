"""The classifier interface every enrich worker and the CLI use, and its placeholder.

``KeywordClassifier`` scores labels by weighted keyword cues kept in ``enrich/data/keywords.yaml``.
It stands in until the trained spaCy pipeline replaces it behind the same interface.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from enrich.language import detect_language
from ingest.events import INTENTS, TOPICS, URGENCIES, Enrichment

__all__ = ["Classifier", "KeywordClassifier", "load_classifier"]

DEFAULT_KEYWORDS = Path(__file__).parent / "data" / "keywords.yaml"


class Classifier(Protocol):
    """Classifies texts in batches; the result order matches the input order."""

    name: str

    def classify(self, texts: Sequence[str]) -> list[Enrichment]: ...


@dataclass(frozen=True)
class _Cue:
    label: str
    pattern: re.Pattern[str]
    weight: float


def _compile(term: str) -> re.Pattern[str]:
    # A term matches at a word start; a trailing '*' allows any word ending (stems).
    body = re.escape(term.rstrip("*")).replace(r"\ ", r"\s+")
    tail = r"\w*" if term.endswith("*") else r"\b"
    return re.compile(rf"(?<!\w){body}{tail}", re.IGNORECASE)


def _cues(section: dict[str, dict[str, float]], allowed: Sequence[str]) -> list[_Cue]:
    cues = []
    for label, terms in section.items():
        if label not in allowed:
            raise ValueError(f"keyword file: unknown label {label!r}")
        for term, weight in (terms or {}).items():
            cues.append(_Cue(label, _compile(str(term)), float(weight)))
    return cues


def _scores(
    text: str, cues: list[_Cue], labels: Sequence[str], prior: dict[str, float]
) -> dict[str, float]:
    raw = {label: prior.get(label, 0.0) for label in labels}
    for cue in cues:
        if cue.pattern.search(text):
            raw[cue.label] += cue.weight
    total = sum(raw.values()) or 1.0
    return {label: round(value / total, 4) for label, value in raw.items()}


def _best(scores: dict[str, float]) -> str:
    return max(scores, key=lambda label: scores[label])


class KeywordClassifier:
    """Keyword cues with negation guards; a placeholder with the real interface."""

    name = "keywords/1"

    def __init__(self, path: Path = DEFAULT_KEYWORDS) -> None:
        data = yaml.safe_load(path.read_text())
        self._topic = _cues(data["topic"], TOPICS)
        self._urgency = _cues(data["urgency"], URGENCIES)
        self._intent = _cues(data["intent"], INTENTS)
        self._negations = [_compile(str(t)) for t in data.get("negations", [])]
        self._priors = {axis: dict(data["priors"][axis]) for axis in ("topic", "urgency", "intent")}

    def _negated(self, text: str) -> bool:
        return any(p.search(text) for p in self._negations)

    def classify(self, texts: Sequence[str]) -> list[Enrichment]:
        results = []
        for text in texts:
            topic = _scores(text, self._topic, TOPICS, self._priors["topic"])
            urgency = _scores(text, self._urgency, URGENCIES, self._priors["urgency"])
            intent = _scores(text, self._intent, INTENTS, self._priors["intent"])
            reasons = [
                c.pattern.pattern
                for c in self._urgency
                if c.label == "spoed" and c.pattern.search(text)
            ]
            if self._negated(text):
                # "geen gaslucht meer", "de brand van vorige week": not acute.
                urgency["normaal"] += urgency.pop("spoed") + urgency.pop("hoog")
                urgency["spoed"] = urgency["hoog"] = 0.0
                reasons = []
            best = {
                name: _best(s)
                for name, s in (("topic", topic), ("urgency", urgency), ("intent", intent))
            }
            results.append(
                Enrichment(
                    topic=best["topic"],
                    urgency=best["urgency"],
                    intent=best["intent"],
                    topic_score=topic[best["topic"]],
                    urgency_score=min(1.0, urgency[best["urgency"]]),
                    intent_score=intent[best["intent"]],
                    scores={"topic": topic, "urgency": urgency, "intent": intent},
                    lang=detect_language(text),
                    classifier=self.name,
                    urgency_reasons=reasons[:5],
                )
            )
        return results


def load_classifier(path: Path | None = None) -> Classifier:
    """The configured classifier (the keyword placeholder until a trained pipeline ships)."""
    return KeywordClassifier(path or DEFAULT_KEYWORDS)
