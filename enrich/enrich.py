"""Pure enrichment: classify the inbound messages of a batch, detect every message's language."""

from __future__ import annotations

from collections.abc import Sequence

from enrich.classifier import Classifier
from enrich.language import detect_language
from ingest.events import Direction, Message

__all__ = ["enrich_messages"]


def enrich_messages(messages: Sequence[Message], classifier: Classifier) -> list[Message]:
    """Return enriched copies, in order. Replies by the municipality are not classified.

    :param messages: canonical messages of any direction.
    :param classifier: classifies all inbound texts of the batch in one call; the
        :class:`~enrich.pipeline.Enricher` includes the urgency layer, places and language.
    """
    inbound = [m for m in messages if m.direction is Direction.INBOUND]
    texts = [m.text for m in inbound]
    results = iter(classifier.classify(texts))
    enriched = []
    for message in messages:
        if message.direction is Direction.INBOUND:
            enrichment = next(results)
            enriched.append(
                message.model_copy(
                    update={"enrichment": enrichment, "lang": message.lang or enrichment.lang}
                )
            )
        else:
            enriched.append(
                message.model_copy(update={"lang": message.lang or detect_language(message.text)})
            )
    return enriched
