"""The enrich stage's faust agent: classify inbound messages in batches."""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from enrich.classifier import Classifier
from enrich.enrich import enrich_messages
from ingest.deadletter import dead_letter_for
from ingest.events import Message
from ingest.metrics import DEAD_LETTERS, STAGE_ERRORS, STAGE_MESSAGES, STAGE_SECONDS

__all__ = ["register"]

log = logging.getLogger(__name__)

CLASSIFIED = Counter(
    "luisterpost_classified_total",
    "Inbound messages by predicted labels",
    ["channel", "topic", "urgency", "intent"],
)


def register(
    app: Any,
    *,
    normalised: Any,
    enriched: Any,
    deadletter: Any,
    classifier: Classifier,
    batch_size: int = 256,
) -> None:
    """Attach the enrich agent to the faust app.

    :param classifier: in production the :class:`~enrich.pipeline.Enricher` (trained model,
        urgency safety layer, gazetteer, language), the same code path as `luisterpost classify`.
    """

    @app.agent(normalised, name="enrich.classify")
    async def enrich_agent(stream: Any) -> None:
        async for events in stream.take_events(batch_size, within=0.25):
            started = time.perf_counter()
            parsed: list[tuple[Any, Message]] = []
            for event in events:
                try:
                    parsed.append((event, Message.from_json(event.value)))
                except ValidationError as exc:
                    STAGE_ERRORS.labels("enrich", "ValidationError").inc()
                    DEAD_LETTERS.labels("enrich").inc()
                    record = dead_letter_for(
                        "enrich",
                        f"not a canonical message: {exc.errors()[0]['msg']}",
                        "ValidationError",
                        event,
                    )
                    await deadletter.send(value=record.to_json())
            try:
                results = enrich_messages([m for _, m in parsed], classifier)
            except (
                Exception
            ) as exc:  # keep every record: the batch goes to the dead letter, not away
                log.exception("classifier failed on a batch")
                for event, _ in parsed:
                    STAGE_ERRORS.labels("enrich", type(exc).__name__).inc()
                    DEAD_LETTERS.labels("enrich").inc()
                    record = dead_letter_for(
                        "enrich", f"classifier failed: {exc!r}", type(exc).__name__, event
                    )
                    await deadletter.send(value=record.to_json())
                continue
            for (event, _), message in zip(parsed, results, strict=True):
                await enriched.send(key=event.key, value=message.to_json())
                STAGE_MESSAGES.labels("enrich", message.channel, message.direction.value).inc()
                if message.enrichment is not None:
                    e = message.enrichment
                    CLASSIFIED.labels(message.channel, e.topic, e.urgency, e.intent).inc()
            STAGE_SECONDS.labels("enrich").observe(time.perf_counter() - started)
