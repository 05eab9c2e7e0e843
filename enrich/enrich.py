"""Pure enrichment: classify the inbound messages of a batch, detect every message's language."""

from __future__ import annotations

from collections.abc import Sequence

from enrich.classifier import Classifier
from enrich.language import detect_language
from enrich.locations import LocationFinder
from enrich.urgency import UrgencyCheck, UrgencyRules
from ingest.events import Direction, Enrichment, Message

__all__ = ["enrich_messages"]


def enrich_messages(
    messages: Sequence[Message],
    classifier: Classifier,
    urgency: UrgencyRules | None = None,
    locations: LocationFinder | None = None,
) -> list[Message]:
    """Return enriched copies, in order. Replies by the municipality are not classified.

    :param messages: canonical messages of any direction.
    :param classifier: classifies all inbound texts of the batch in one call; the
        :class:`~enrich.pipeline.Enricher` includes the urgency layer, places and language.
    :param urgency: for a classifier without the safety layer (the keyword placeholder): a rule
        that fires raises the message to spoed.
    :param locations: likewise, the municipality's gazetteer for such a classifier.
    """
    inbound = [m for m in messages if m.direction is Direction.INBOUND]
    texts = [m.text for m in inbound]
    classified = classifier.classify(texts)
    if urgency is not None:
        classified = [
            _raise_if_acute(e, c)
            for e, c in zip(classified, urgency.check_many(texts), strict=True)
        ]
    if locations is not None:
        found = locations.find_many(texts)
        classified = [
            e.model_copy(update={"locations": places})
            for e, places in zip(classified, found, strict=True)
        ]
    results = iter(classified)
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


def _raise_if_acute(enrichment: Enrichment, check: UrgencyCheck) -> Enrichment:
    # The layer only raises: a classifier's spoed without a rule stays spoed.
    if not check.acute:
        return enrichment
    return enrichment.model_copy(
        update={"urgency": "spoed", "urgency_score": 1.0, "urgency_reasons": check.reasons()[:5]}
    )
