"""`make bench-classify`: messages per second of `luisterpost classify`, against spaCy's tokenizer.

Builds a 20,000-line JSON-lines file from the corpus and sample texts, then times, in one
process on the same texts: spaCy's bare Dutch tokenizer, and the classify code path
(JSON in, Enricher with textcat, urgency layer, locations and language, JSON out) from a freshly
loaded model, as `luisterpost classify FILE` runs, and a second time in the same process, as a
long-running enrich worker runs. The ratios say how close the whole pipeline comes to the
cheapest possible spaCy pass.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import spacy
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from enrich.cli import classify_lines, write_records
from enrich.pipeline import DEFAULT_MODEL, Enricher, freeze_startup_objects

__all__ = ["build_input", "main"]

HERE = Path(__file__).parent
REPO = HERE.parent
SOURCES = sorted((HERE / "corpus" / "source").glob("corpus-*.jsonl")) + sorted(
    (REPO / "ingest" / "samples" / "source").glob("part-*.jsonl")
)
REPORTS = REPO / "reports"


def build_input(path: Path, n: int = 20_000) -> list[str]:
    """n JSON lines cycling through the labelled texts (with ids and a channel field)."""
    texts = [
        json.loads(line)["text"]
        for src in SOURCES
        for line in src.open(encoding="utf-8")
        if line.strip()
    ]
    if not texts:
        raise SystemExit("no corpus texts found")
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(
                json.dumps({"id": i, "text": texts[i % len(texts)], "channel": "bench"}) + "\n"
            )
    return [texts[i % len(texts)] for i in range(n)]


def main(n: int = 20_000, model: Path = DEFAULT_MODEL) -> dict[str, Any]:
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        texts = build_input(path, n)
        nlp = spacy.blank("nl")
        started = time.perf_counter()
        for text in texts:
            nlp.make_doc(text)
        tokenizer_s = time.perf_counter() - started

        started = time.perf_counter()
        enricher = Enricher(model)
        freeze_startup_objects()  # as `luisterpost classify` does after loading
        load_s = time.perf_counter() - started
        progress = Progress(
            TextColumn("classify"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        )  # fmt: skip
        with progress, path.open(encoding="utf-8") as source, open(os.devnull, "w") as sink:
            task = progress.add_task("classify", total=n)
            started = time.perf_counter()
            classified, errors = write_records(
                classify_lines(source, enricher, progress=lambda k: progress.advance(task, k)),
                sink,
            )
            classify_s = time.perf_counter() - started
            # Again in the same process: a long-running enrich worker has seen most words
            # before (lexemes, character n-grams and rule prefilter bits are cached per word).
            source.seek(0)
            started = time.perf_counter()
            write_records(classify_lines(source, enricher), sink)
            warm_s = time.perf_counter() - started
    if classified != n or errors:
        raise SystemExit(f"expected {n} classified lines, got {classified} and {errors} errors")
    result = {
        "messages": n,
        "distinct_texts": len(set(texts)),
        "tokenizer_msg_per_s": round(n / tokenizer_s),
        "classify_msg_per_s": round(n / classify_s),
        "ratio_classify_to_tokenizer": round(tokenizer_s / classify_s, 3),
        "warm_classify_msg_per_s": round(n / warm_s),
        "ratio_warm_classify_to_tokenizer": round(tokenizer_s / warm_s, 3),
        "model_load_s": round(load_s, 2),
        "classifier": enricher.name,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "spacy": spacy.__version__,
    }
    table = Table(title=f"luisterpost classify, {n:,} messages, one process", title_justify="left")
    for column in ("pass", "msg/s", "vs tokenizer"):
        table.add_column(column, justify="left" if column == "pass" else "right")
    table.add_row("spaCy tokenizer (blank nl)", f"{result['tokenizer_msg_per_s']:,}", "1.00")
    table.add_row(
        "classify (JSON in/out, textcat, urgency, places, lang)",
        f"{result['classify_msg_per_s']:,}",
        f"{result['ratio_classify_to_tokenizer']:.2f}",
    )
    table.add_row(
        "same, second pass (warm caches, as a running worker)",
        f"{result['warm_classify_msg_per_s']:,}",
        f"{result['ratio_warm_classify_to_tokenizer']:.2f}",
    )
    Console().print(table)
    print(
        f"model load {load_s:.1f} s; load average {result['load_average_1m']} on {os.cpu_count()} CPUs"
    )
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench-classify.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {REPORTS / 'bench-classify.json'}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
