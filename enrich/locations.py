"""Places a message mentions, from the municipality's gazetteer.

The gazetteer (streets, neighbourhoods, landmarks) is per municipality, in YAML; a street may
be followed by a house number ("Kerkstraat 14"). An EntityRuler is built from it, with the
names as phrase patterns on LOWER: matching is case-insensitive and costs a hash lookup per
token (token patterns would try every pattern at every token; they were the slowest part of
enrich). ``LocationFinder.nlp`` is a working pipeline with that ruler (``nlp(text).ents``);
enrich calls the ruler's PhraseMatcher directly on its own doc, takes a street's following
house number along, and resolves overlaps as the ruler does: longest span first, then the
earliest. Residents write crossings as "Kerkstraat/Stationsplein", which the tokenizer keeps
as one token, so the parts of a slash-joined token are looked up as one-word names too.
"""

from __future__ import annotations

from pathlib import Path

import spacy
import yaml
from spacy.pipeline import EntityRuler
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from ingest.events import Location

__all__ = ["DEFAULT_GAZETTEER", "LocationFinder"]

DEFAULT_GAZETTEER = Path(__file__).parent / "data" / "gazetteer" / "vennebroek.yaml"
KINDS = {"streets": "STREET", "neighbourhoods": "NEIGHBOURHOOD", "landmarks": "LANDMARK"}


class LocationFinder:
    """The gazetteer as an EntityRuler, on its own vocab or one shared with the classifier."""

    def __init__(self, path: Path = DEFAULT_GAZETTEER, vocab: Vocab | None = None) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.municipality = str(data.get("municipality", ""))
        self.nlp = spacy.blank("nl", vocab=vocab if vocab is not None else True)
        ruler = self.nlp.add_pipe(
            "entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": False}
        )
        assert isinstance(ruler, EntityRuler)
        self.ruler = ruler
        self.ruler.add_patterns(
            [
                {"label": label, "pattern": str(name)}
                for key, label in KINDS.items()
                for name in data.get(key) or []
            ]
        )
        self._street = self.nlp.vocab.strings["STREET"]
        self._one_word = {
            str(name).lower(): label
            for key, label in KINDS.items()
            for name in data.get(key) or []
            if len(self.nlp.make_doc(str(name))) == 1
        }

    def find_doc(self, doc: Doc, text: str | None = None) -> list[Location]:
        """Locations in order of appearance, with character offsets into the doc's text.

        :param text: the doc's text when the caller has it (``doc.text`` is rebuilt per call).
        """
        spans = []
        # the ruler's own PhraseMatcher: its match() adds an empty token Matcher and a sort
        for key, start, end in self.ruler.phrase_matcher(doc):
            # the house number (and a letter: 14a) belongs to the place
            if key == self._street and end < len(doc) and doc[end].like_num:
                spans.append(Span(doc, start, end + 1, label=key))
            spans.append(Span(doc, start, end, label=key))
        found = [
            Location(text=s.text, label=s.label_, start=s.start_char, end=s.end_char)
            for s in sorted(filter_spans(spans), key=lambda span: span.start)
        ]
        if "/" in (doc.text if text is None else text):
            found = sorted(found + self._slash_joined(doc), key=lambda loc: loc.start or 0)
        return found

    def _slash_joined(self, doc: Doc) -> list[Location]:
        """One-word names inside tokens like "Kerkstraat/Stationsplein"."""
        found = []
        for token in doc:
            if "/" not in token.text:
                continue
            offset = token.idx
            for part in token.text.split("/"):
                label = self._one_word.get(part.lower())
                if label is not None:
                    found.append(
                        Location(text=part, label=label, start=offset, end=offset + len(part))
                    )
                offset += len(part) + 1
        return found

    def find_many(self, texts: list[str]) -> list[list[Location]]:
        return [self.find_doc(self.nlp.make_doc(text)) for text in texts]

    def find(self, text: str) -> list[Location]:
        return self.find_doc(self.nlp.make_doc(text))
