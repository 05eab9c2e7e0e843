"""The classifier interface that ``enrich_messages`` and the enrich worker call.

The implementation is :class:`~enrich.pipeline.Enricher` (the trained spaCy pipeline with the
urgency safety layer, gazetteer places and language); tests may pass anything with this shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ingest.events import Enrichment

__all__ = ["Classifier"]


class Classifier(Protocol):
    """Classifies texts in batches; the result order matches the input order."""

    name: str

    def classify(self, texts: Sequence[str]) -> list[Enrichment]: ...
