"""Imports and backfills: export files checked record by record before they go on the raw topic.

Each record is normalised locally first, so the operator learns at once what is rejected and
why, and what repeats inside the file; what is accepted goes to the raw topic unchanged.
Repeats across imports are dropped later by the pipeline's dedupe table.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.deadletter import DeadLetter
from ingest.normalise import normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError

__all__ = ["ImportResult", "check_records", "read_records"]

FORMATS = {
    ".jsonl": "export/v1",
    ".ndjson": "export/v1",
    ".json": "export/v1",
    ".csv": "export-csv/v1",
}


@dataclass
class ImportResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    """The first rejected records as 'line N: reason', for the operator."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    """Every rejected record with its reason: kept on the dead-letter topic, never dropped."""


def read_records(path: Path, source: str | None = None) -> Iterator[tuple[int, RawRecord]]:
    """(line number, raw record) per record; CSV rows become a JSON object of header -> cell."""
    source = source or FORMATS.get(path.suffix.lower())
    if source is None:
        raise ValueError(
            f"{path.name}: unknown file type; use .jsonl or .csv, or name the source format"
        )
    received_at = datetime.now(UTC)

    def record(number: int, body: str) -> tuple[int, RawRecord]:
        origin = f"{path.name}:{number}"
        return number, RawRecord(source=source, received_at=received_at, body=body, origin=origin)

    with path.open(encoding="utf-8", newline="") as handle:
        if source == "export-csv/v1":
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield record(number, json.dumps(row, ensure_ascii=False))
        else:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield record(number, line.rstrip("\r\n"))


def check_records(
    records: Iterator[tuple[int, RawRecord]], context: NormaliseContext, result: ImportResult
) -> Iterator[RawRecord]:
    """Yield the records to send; count duplicates within the import and rejects with reasons."""
    seen: set[tuple[str, str]] = set()
    for number, record in records:
        try:
            messages = normalise(record, context)  # the same check the normalise stage makes
        except NormaliseError as exc:
            _reject(result, number, record, str(exc), "NormaliseError")
            continue
        versions = {(m.message_id, m.content_hash) for m in messages}
        if versions and versions <= seen:
            result.duplicate += 1
            continue
        seen |= versions
        result.accepted += 1
        yield record


def _reject(
    result: ImportResult, number: int, record: RawRecord, reason: str, error_type: str
) -> None:
    result.dead_letters.append(
        DeadLetter(
            stage="import",
            reason=reason,
            error_type=error_type,
            key=record.origin,
            payload=record.body,
        )
    )
    result.rejected += 1
    result.reasons[reason.split(":")[0]] += 1
    if len(result.examples) < 10:
        result.examples.append(f"line {number}: {reason}")
