"""The urgency safety layer: spaCy Matcher rules for acute danger, kept in data.

The rules (``enrich/data/urgency_rules.yaml``) name danger categories (fire, gas, power lines,
flooding, weapons, someone in the water, suicide risk, ...) as token patterns and phrases, and
cue sections (negation, past, hypothetical, reassurance, habitual) that cancel a match nearby:
"geen gaslucht meer" and "de brand van vorige week" do not fire. A surviving match raises a
message to ``spoed`` whatever the classifier said; the layer never lowers urgency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
import yaml
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

__all__ = ["DEFAULT_RULES", "UrgencyCheck", "UrgencyRules"]

DEFAULT_RULES = Path(__file__).parent / "data" / "urgency_rules.yaml"
_NOT_CUES = {"version", "categories"}


@dataclass(frozen=True)
class _Scope:
    before: int
    after: int
    cross_punct: bool
    cross_sentence: bool
    inside: bool


@dataclass
class UrgencyCheck:
    fired: list[tuple[str, str]] = field(default_factory=list)
    """(category, matched text) of every danger match that survived its cues."""
    cancelled: list[tuple[str, str, str]] = field(default_factory=list)
    """(category, matched text, 'cue-section:cue text') of matches a cue cancelled."""

    @property
    def acute(self) -> bool:
        return bool(self.fired)

    def reasons(self) -> list[str]:
        return [f"{category}: {text}" for category, text in self.fired]


class UrgencyRules:
    """Compiled rules on a blank Dutch pipeline with a rule-based sentencizer."""

    def __init__(self, path: Path = DEFAULT_RULES) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.nlp = spacy.blank("nl")
        self.nlp.add_pipe("sentencizer")
        self._danger = self._compile(data["categories"])
        self._cues: dict[str, tuple[Matcher, PhraseMatcher, _Scope]] = {}
        for section, spec in data.items():
            if section in _NOT_CUES:
                continue
            matcher, phrases = self._compile({section: spec})
            scope = _Scope(
                before=int(spec.get("window", 0)),
                after=int(spec.get("after", 0)),
                cross_punct=bool(spec.get("cross_punct", True)),
                cross_sentence=bool(spec.get("cross_sentence", False)),
                inside=bool(spec.get("inside", False)),
            )
            self._cues[section] = (matcher, phrases, scope)

    def _compile(self, sections: dict[str, Any]) -> tuple[Matcher, PhraseMatcher]:
        matcher, phrases = Matcher(self.nlp.vocab), PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for key, spec in sections.items():
            if spec.get("patterns"):
                matcher.add(key, spec["patterns"])
            if spec.get("phrases"):
                phrases.add(key, [self.nlp.make_doc(str(text)) for text in spec["phrases"]])
        return matcher, phrases

    @staticmethod
    def _matches(doc: Doc, matcher: Matcher, phrases: PhraseMatcher) -> list[tuple[str, int, int]]:
        found = (matcher(doc) if len(matcher) else []) + (phrases(doc) if len(phrases) else [])
        return [(doc.vocab.strings[key], start, end) for key, start, end in found]

    def _cancelled_by(
        self, doc: Doc, start: int, end: int, cue_hits: dict[str, list[tuple[str, int, int]]]
    ) -> str | None:
        sentence = doc[start].sent
        for section, hits in cue_hits.items():
            scope = self._cues[section][2]
            for _, cue_start, cue_end in hits:
                if not scope.cross_sentence and (
                    cue_start < sentence.start or cue_end > sentence.end
                ):
                    continue
                if cue_end <= start and start - cue_end <= scope.before:
                    gap = doc[cue_end:start]
                elif scope.after and cue_start >= end and cue_start - end <= scope.after:
                    gap = doc[end:cue_start]
                elif scope.inside and start < cue_start and cue_end <= end:
                    gap = doc[0:0]
                else:
                    continue
                if not scope.cross_punct and any(token.is_punct for token in gap):
                    continue
                return f"{section}:{doc[cue_start:cue_end].text}"
        return None

    def check_doc(self, doc: Doc) -> UrgencyCheck:
        cue_hits = {section: self._matches(doc, m, p) for section, (m, p, _) in self._cues.items()}
        result = UrgencyCheck()
        for category, start, end in self._matches(doc, *self._danger):
            reason = self._cancelled_by(doc, start, end, cue_hits)
            if reason:
                result.cancelled.append((category, doc[start:end].text, reason))
            else:
                result.fired.append((category, doc[start:end].text))
        return result

    def check(self, text: str) -> UrgencyCheck:
        return self.check_doc(self.nlp(text))

    def check_many(self, texts: list[str]) -> list[UrgencyCheck]:
        """Batch version (nlp.pipe), for the enrich worker."""
        return [self.check_doc(doc) for doc in self.nlp.pipe(texts, batch_size=256)]
