"""Places a message mentions, from the municipality's gazetteer, with spaCy's EntityRuler.

The gazetteer (streets, neighbourhoods, landmarks) is per municipality, in YAML; a street may
be followed by a house number ("Kerkstraat 14"). Matching is case-insensitive on tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import spacy
import yaml

from ingest.events import Location

__all__ = ["DEFAULT_GAZETTEER", "LocationFinder"]

DEFAULT_GAZETTEER = Path(__file__).parent / "data" / "gazetteer" / "vennebroek.yaml"
KINDS = {"streets": "STREET", "neighbourhoods": "NEIGHBOURHOOD", "landmarks": "LANDMARK"}


def _patterns(nlp: Any, names: list[str], label: str) -> list[dict[str, Any]]:
    patterns = []
    for name in names:
        tokens = [{"LOWER": token.lower_} for token in nlp.make_doc(str(name))]
        if label == "STREET":
            # the house number (and a letter: 14a) belongs to the place
            tokens = [*tokens, {"LIKE_NUM": True, "OP": "?"}]
        patterns.append({"label": label, "pattern": tokens, "id": str(name)})
    return patterns


class LocationFinder:
    """A blank Dutch pipeline with one EntityRuler built from the gazetteer."""

    def __init__(self, path: Path = DEFAULT_GAZETTEER) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.municipality = str(data.get("municipality", ""))
        self.nlp = spacy.blank("nl")
        ruler = self.nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": None})
        patterns: list[dict[str, Any]] = []
        for key, label in KINDS.items():
            patterns += _patterns(self.nlp, list(data.get(key) or []), label)
        ruler.add_patterns(patterns)  # type: ignore[attr-defined]

    def find_many(self, texts: list[str]) -> list[list[Location]]:
        """Locations per text, in order of appearance, with character offsets."""
        return [
            [
                Location(text=ent.text, label=ent.label_, start=ent.start_char, end=ent.end_char)
                for ent in doc.ents
            ]
            for doc in self.nlp.pipe(texts, batch_size=256)
        ]

    def find(self, text: str) -> list[Location]:
        return self.find_many([text])[0]
