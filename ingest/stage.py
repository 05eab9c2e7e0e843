"""The ingest stage's faust agents: normalise raw records, then drop platform retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from ingest.deadletter import dead_letter_for
from ingest.dedupe import (
    Delivery,
    Remembered,
    classify_delivery,
    forgettable,
    remember,
    sweep_interval,
)
from ingest.events import Message
from ingest.metrics import DEAD_LETTERS, STAGE_ERRORS, STAGE_MESSAGES, STAGE_SECONDS
from ingest.normalise import normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError
from luisterpost.tables import drop_key, in_slices

__all__ = ["register"]

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "luisterpost_ingest_deliveries_total", "Deduplication outcomes", ["channel", "outcome"]
)
FORGOTTEN = Counter(
    "luisterpost_ingest_dedupe_forgotten_total",
    "Messages whose seen versions left the dedupe table after the retention period",
)


async def _dead_letter(
    deadletter: Any, stage: str, reason: str, exc: BaseException, event: Any
) -> None:
    STAGE_ERRORS.labels(stage, type(exc).__name__).inc()
    DEAD_LETTERS.labels(stage).inc()
    record = dead_letter_for(stage, reason, type(exc).__name__, event)
    await deadletter.send(key=record.key.encode() if record.key else None, value=record.to_json())


def register(
    app: Any,
    *,
    raw: Any,
    ingested: Any,
    normalised: Any,
    deadletter: Any,
    dedupe_changelog: Any,
    context: Callable[[], NormaliseContext],
    retention: timedelta,
) -> None:
    """Attach the normalise and dedupe agents to the faust app.

    :param retention: what the dedupe table remembers of a message is dropped (with a
        tombstone on its changelog) once unchanged for this long; ``Settings.state_retention``.
    """

    @app.agent(raw, name="ingest.normalise")
    async def normalise_agent(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            try:
                record = RawRecord.from_json(event.value)
                # serialised here, so a message no encoder takes is a dead letter, not a crash
                messages = [(m, m.to_json()) for m in normalise(record, context())]
            except (ValidationError, NormaliseError) as exc:
                reason = (
                    str(exc)
                    if isinstance(exc, NormaliseError)
                    else f"not a raw record: {exc.errors()[0]['msg']}"
                )
                await _dead_letter(deadletter, "normalise", reason, exc, event)
                continue
            except Exception as exc:  # a bug must not stop the stream: keep the record, say why
                log.exception("normalise failed")
                await _dead_letter(deadletter, "normalise", f"internal error: {exc!r}", exc, event)
                continue
            for message, payload in messages:
                await ingested.send(key=message.conversation_id.encode(), value=payload)
                STAGE_MESSAGES.labels("normalise", message.channel, message.direction.value).inc()
            STAGE_SECONDS.labels("normalise").observe(time.perf_counter() - started)

    # Keyed by message id, but only ever written while processing the conversation-keyed
    # 'ingested' topic: a message always belongs to one conversation, so its key always lives
    # in the same partition, and faust restores it from the changelog on restart.
    # Typed keys and values: untyped, the changelog would restore them as bytes and miss every lookup.
    seen = app.Table(
        "dedupe",
        default=None,
        key_type=str,
        value_type=str,
        partitions=ingested.partitions,
        changelog_topic=dedupe_changelog,
    )

    @app.agent(ingested, name="ingest.dedupe")
    async def dedupe_agent(stream: Any) -> None:
        async for event in stream.events():
            try:
                message = Message.from_json(event.value)
            except ValidationError as exc:
                await _dead_letter(
                    deadletter,
                    "dedupe",
                    f"not a canonical message: {exc.errors()[0]['msg']}",
                    exc,
                    event,
                )
                continue
            versions = Remembered.decode(seen.get(message.message_id)).seen
            outcome = classify_delivery(versions, message.content_hash)
            DELIVERIES.labels(message.channel, outcome.value).inc()
            if outcome is Delivery.DUPLICATE:
                continue
            # Send first, remember second: a crash in between repeats a message, never loses one.
            await normalised.send(key=event.key, value=event.value)
            seen[message.message_id] = Remembered(
                remember(versions, message.content_hash), event.message.partition, time.time()
            ).encode()

    @app.timer(sweep_interval(retention), name="ingest.dedupe-retention")
    async def forget_old_messages() -> None:
        """Drop messages unchanged for the retention from the table and its changelog.

        Outside an agent (``luisterpost.tables``), on the entry's own partition. The table can
        hold a year of messages, so the sweep yields to the agents between slices; each entry is
        read again right before it is dropped, with no await in between, so one the agent
        remembered meanwhile stays.
        """
        if app.rebalancing or not app.tables.recovery.completed.is_set():
            return
        topic = ingested.get_topic_name()
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
        cutoff = time.time() - retention.total_seconds()
        async for message_id in in_slices(list(seen.data.keys())):
            entry = Remembered.decode(seen.data.get(message_id))
            partition = entry.partition  # None for an entry stored before times were kept
            if partition is not None and partition in mine and forgettable(entry, cutoff):
                drop_key(seen, partition, message_id)
                FORGOTTEN.inc()
