"""`luisterpost classify [FILE]`: JSON lines in, one enriched JSON line out per input line.

Each input line is an object with a string ``text`` (``id`` and any other fields are passed
through); the result adds ``enrichment`` (topic, urgency, intent, their scores, urgency reasons,
locations, lang, classifier), the same object the enrich worker puts on a message, made by the
same :class:`~enrich.pipeline.Enricher`. A bad line becomes ``{"line": n, "error": reason}``
in its place; the exit code is non-zero only for usage errors (no such file, bad options).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import orjson
import typer

if TYPE_CHECKING:  # spaCy loads only when a command classifies: `luisterpost --help` stays fast
    from enrich.pipeline import Enricher

__all__ = ["classify", "classify_lines"]


def _dumps(record: dict[str, Any]) -> str:
    """One JSON line: orjson (about 2 µs where the standard encoder takes 15), else the
    standard encoder with escapes, for what orjson refuses: integers past 64 bits, lone
    surrogates."""
    try:
        return orjson.dumps(record).decode()
    except orjson.JSONEncodeError:
        return json.dumps(record)


def _parse(n: int, line: str) -> tuple[dict[str, Any], bool]:
    """(record, True) for a valid line, else (error record saying what is wrong, False)."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:  # files and stdin are read with surrogateescape
        code = ord(line[exc.start])
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        return {"line": n, "error": f"not UTF-8: {what} at character {exc.start}"}, False
    try:
        record = json.loads(line)
    except ValueError as exc:
        return {"line": n, "error": f"not JSON: {exc}", "input": line.rstrip("\n")[:200]}, False
    if not isinstance(record, dict):
        return {"line": n, "error": f"not a JSON object but {type(record).__name__}"}, False
    found = {"id": record["id"]} if "id" in record else {}
    if "text" not in record:
        return {"line": n, "error": "no text", **found}, False
    if not isinstance(record["text"], str):
        kind = type(record["text"]).__name__
        return {"line": n, "error": f"text is {kind}, not a string", **found}, False
    try:
        record["text"].encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate escape such as "\\ud800"
        return {"line": n, "error": f"text is not valid Unicode: {exc.reason}", **found}, False
    return record, True


def classify_lines(
    lines: Iterable[str],
    enricher: Enricher,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One output record per non-blank input line, in input order, classified in batches."""
    pending: list[tuple[dict[str, Any], bool]] = []
    texts: list[str] = []

    def flush() -> Iterator[dict[str, Any]]:
        results = iter(enricher.classify(texts))
        for record, ok in pending:
            # python mode: the same dict as mode="json" for Enrichment's plain fields, faster
            yield {**record, "enrichment": next(results).model_dump()} if ok else record
        if progress is not None:
            progress(len(pending))
        pending.clear()
        texts.clear()

    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record, ok = _parse(n, line)
        pending.append((record, ok))
        if ok:
            texts.append(record["text"])
            if len(texts) >= batch_size:
                yield from flush()
    yield from flush()


def write_records(records: Iterable[dict[str, Any]], out: IO[str]) -> tuple[int, int]:
    """Write JSON lines; returns (classified, errors)."""
    classified = errors = 0
    for record in records:
        if "enrichment" in record:
            classified += 1
        else:
            errors += 1
        out.write(_dumps(record) + "\n")
    return classified, errors


def _data_file(envvar: str, help: str) -> Any:
    """An option naming an existing file, also settable in the environment (as the worker)."""
    return typer.Option(envvar=envvar, exists=True, dir_okay=False, help=help)


def classify(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="JSON lines; stdin when left out"
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            envvar="LUISTERPOST_CLASSIFIER_MODEL",
            help="trained pipeline directory [default: the shipped one]",
        ),
    ] = None,
    gazetteer: Annotated[
        Path | None,
        _data_file(
            "LUISTERPOST_GAZETTEER",
            "the municipality's places (YAML) [default: the Vennebroek sample]",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        _data_file(
            "LUISTERPOST_URGENCY_RULES", "urgency safety rules (YAML) [default: the shipped ones]"
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="texts per nlp.pipe batch")] = 1000,
) -> None:
    """Classify JSON lines ({"id": ..., "text": ...}) from FILE or stdin to stdout."""
    from enrich.pipeline import Enricher, freeze_startup_objects

    started = time.perf_counter()
    enricher = Enricher(model, rules=rules, gazetteer=gazetteer)
    freeze_startup_objects()
    # surrogateescape: a line with bytes that are not UTF-8 becomes an error record, not the end
    with file.open(encoding="utf-8", errors="surrogateescape") if file else _stdin() as source:
        classified, errors = write_records(classify_lines(source, enricher, batch_size), sys.stdout)
    seconds = time.perf_counter() - started
    typer.echo(
        f"classified {classified}, bad lines {errors}, {seconds:.1f} s ({enricher.name})",
        err=True,
    )


def _stdin() -> IO[str]:
    sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")  # type: ignore[union-attr]
    return sys.stdin
