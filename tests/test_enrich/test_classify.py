"""The one classify code path (Enricher) behind `luisterpost classify` and the enrich worker,
against the shipped model in enrich/model/vennebroek."""

import gc
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enrich.cli import classify_lines, write_records
from enrich.enrich import enrich_messages
from enrich.pipeline import RANK, Enricher, ModelNotFoundError
from ingest.events import INTENTS, TOPICS, URGENCIES, Author, Direction, Enrichment, Message
from luisterpost.cli import app

ENRICHER = Enricher()
DEV = Path(__file__).resolve().parents[2] / "enrich" / "corpus" / "dev.jsonl"

LINES = [
    json.dumps({"id": "a", "text": "Ik ruik gas in het trappenhuis aan de Kerkstraat 14!"}),
    "dit is geen json",
    json.dumps({"id": "b", "channel": "app", "text": "When is the garbage collected?"}),
    json.dumps({"id": "c"}),
    "",
    json.dumps({"id": "d", "text": 42}),
    json.dumps(["text", "x"]),
    json.dumps({"id": "e", "text": "Wanneer is de inloopavond over het bestemmingsplan?"}),
    json.dumps({"id": "f", "text": ""}),
]


def test_bad_lines_become_error_records_in_place_and_fields_pass_through() -> None:
    out = list(classify_lines(LINES, ENRICHER, batch_size=2))
    assert [r.get("id", r.get("line")) for r in out] == ["a", 2, "b", "c", "d", 7, "e", "f"]
    errors = {r["line"]: r["error"] for r in out if "error" in r}
    assert errors[2].startswith("not JSON") and errors[4] == "no text"
    assert errors[6] == "text is int, not a string" and errors[7].startswith("not a JSON object")
    b = next(r for r in out if r.get("id") == "b")
    assert b["channel"] == "app" and b["text"] == "When is the garbage collected?"
    assert b["enrichment"]["lang"] == "en"
    a = next(r for r in out if r.get("id") == "a")["enrichment"]
    assert a["urgency"] == "spoed" and a["urgency_reasons"]
    assert a["locations"][0]["text"] == "Kerkstraat 14"
    for record in out:
        if "enrichment" in record:
            Enrichment.model_validate(record["enrichment"])  # the worker's schema, unchanged


def test_batch_size_does_not_change_results_or_order() -> None:
    texts = [json.loads(line)["text"] for line in _corpus_lines(25)]
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(texts)]
    one = list(classify_lines(lines, ENRICHER, batch_size=1))
    many = list(classify_lines(lines, ENRICHER, batch_size=1000))
    assert [r["id"] for r in one] == list(range(25)) and one == many
    # the worker's call gives the same enrichments: one code path
    assert [r["enrichment"] for r in one] == [
        e.model_dump(mode="json") for e in ENRICHER.classify(texts)
    ]


def test_labels_scores_and_classifier_name() -> None:
    (e,) = ENRICHER.classify(["De grijze container is niet geleegd in De Horst"])
    assert e.topic in TOPICS and e.urgency in URGENCIES and e.intent in INTENTS
    assert set(e.scores) == {"topic", "urgency", "intent"}
    assert e.topic_score == e.scores["topic"][e.topic] == max(e.scores["topic"].values())
    assert e.classifier.startswith("textcat/vennebroek-")
    assert [loc.text for loc in e.locations] == ["De Horst"]


def test_enrich_messages_uses_the_enricher_for_inbound_only() -> None:
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)

    def msg(pid: str, direction: Direction, text: str) -> Message:
        return Message.create(
            channel="facebook", platform_message_id=pid, platform_conversation_id="c",
            direction=direction, author=Author(pseudonym="a"), text=text,
            received_at=now, ingested_at=now, source="export/v1",
        )  # fmt: skip

    batch = [
        msg("1", Direction.INBOUND, "er ligt een stroomkabel op straat die vonken geeft"),
        msg("2", Direction.OUTBOUND, "Thanks, we will send someone"),
    ]
    out = enrich_messages(batch, ENRICHER)
    assert out[0].enrichment == ENRICHER.classify([batch[0].text])[0]
    assert out[0].enrichment is not None and out[0].enrichment.urgency == "spoed"
    assert out[1].enrichment is None and out[1].lang == "en"


def test_cli_reads_a_file_or_stdin_and_exits_zero_despite_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    runner = CliRunner()
    from_file = runner.invoke(app, ["classify", str(path)])
    assert from_file.exit_code == 0, from_file.output
    records = [json.loads(line) for line in from_file.stdout.splitlines() if line.startswith("{")]
    assert len(records) == 8 and sum("error" in r for r in records) == 4
    from_stdin = runner.invoke(app, ["classify"], input="\n".join(LINES) + "\n")
    assert from_stdin.exit_code == 0
    assert [json.loads(x) for x in from_stdin.stdout.splitlines() if x.startswith("{")] == records


def test_cli_usage_errors_exit_non_zero(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["classify", str(tmp_path / "missing.jsonl")]).exit_code != 0
    assert runner.invoke(app, ["classify", "--batch-size", "0"], input="").exit_code != 0


def test_a_missing_model_says_run_make_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="make model"):
        Enricher(tmp_path / "nothing-here")


def _corpus_lines(n: int) -> list[str]:
    path = Path(__file__).resolve().parents[2] / "enrich" / "corpus" / "test.jsonl"
    return path.read_text(encoding="utf-8").splitlines()[:n]


def test_an_empty_text_gets_fixed_labels_whatever_the_batch() -> None:
    alone = ENRICHER.classify([""])[0]
    mixed = ENRICHER.classify(["De container is vol", ""])[1]
    assert alone == mixed
    assert (alone.topic, alone.urgency, alone.intent) == ("overig", "laag", "overig")


def test_urgency_follows_the_shipped_thresholds_and_hoog_scores_hoog_or_spoed() -> None:
    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    results = ENRICHER.classify(texts[:300])
    assert set(ENRICHER.thresholds) == {"spoed", "at_least_hoog"}
    hoog = [e for e in results if e.urgency == "hoog"]
    assert hoog  # the dev sample has hoog messages
    for e in hoog:
        u = e.scores["urgency"]
        assert e.urgency_score == min(1.0, round(u["hoog"] + u["spoed"], 4))
        assert (
            e.urgency_score >= ENRICHER.thresholds["at_least_hoog"] or max(u, key=u.get) == "hoog"
        )
    for e in results:  # never below what the model itself says
        u = e.scores["urgency"]
        assert RANK[e.urgency] >= RANK[max(u, key=u.get)]


def test_a_lone_surrogate_is_an_error_record_and_big_ids_pass_through_intact() -> None:
    lines = [
        '{"id": 1, "text": "gaslucht \\ud800 in de portiek"}',
        '{"id": 123456789012345678901234567890, "text": "De container is vol"}',
    ]
    out = io.StringIO()
    classified, errors = write_records(classify_lines(lines, ENRICHER), out)
    assert (classified, errors) == (1, 1)
    bad, good = (json.loads(line) for line in out.getvalue().splitlines())
    assert bad == {"line": 1, "error": "text is not valid Unicode: surrogates not allowed", "id": 1}
    assert good["id"] == 123456789012345678901234567890 and good["enrichment"]["topic"]


def test_the_batch_path_scores_like_the_textcat_on_each_doc() -> None:
    """pipe() reads the textcat's output matrix; enrichment() reads doc.cats: the same result."""
    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    texts = [*texts[:400], "", "brand!!"]
    batched = ENRICHER.classify(texts)
    one_by_one = [ENRICHER.enrichment(ENRICHER.nlp(text), text) for text in texts]
    assert batched == one_by_one
    assert len({e.scores["topic"]["afval"] for e in batched}) > 100  # real, varied scores


def test_the_cli_takes_the_loaded_model_out_of_the_garbage_collectors_walk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(LINES[0] + "\n", encoding="utf-8")
    gc.unfreeze()
    try:
        result = CliRunner().invoke(app, ["classify", str(path)])
        assert result.exit_code == 0, result.output
        assert gc.get_freeze_count() > 100_000  # the vocab, rules and gazetteer at least
    finally:
        gc.unfreeze()


def test_a_line_that_is_not_utf8_is_an_error_record_and_the_rest_is_classified(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": 1, "text": "De container is vol"}\n'
        b'{"id": 2, "text": "bad \xff bytes"}\n'
        b'{"id": 3, "text": "lantaarnpaal kapot"}\n'
    )
    runner = CliRunner()
    for result in (
        runner.invoke(app, ["classify", str(path)]),
        runner.invoke(app, ["classify"], input=path.read_bytes()),
    ):
        assert result.exit_code == 0, result.output
        records = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
        assert [r.get("id", r.get("line")) for r in records] == [1, 2, 3]
        assert records[1] == {"line": 2, "error": "not UTF-8: byte 0xff at character 23"}
        assert records[0]["enrichment"]["topic"] and records[2]["enrichment"]["topic"]


def test_another_municipality_brings_its_own_gazetteer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    places = tmp_path / "utrecht.yaml"
    places.write_text(
        "municipality: Utrecht\nstreets: [Oudegracht]\nneighbourhoods: [Lombok]\n",
        encoding="utf-8",
    )
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"id": 1, "text": "Fietswrak in de Oudegracht 12 bij Lombok, Kerkstraat"})
        + "\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    by_option = runner.invoke(app, ["classify", str(path), "--gazetteer", str(places)])
    monkeypatch.setenv("LUISTERPOST_GAZETTEER", str(places))
    by_env = runner.invoke(app, ["classify", str(path)])
    for result in (by_option, by_env):
        assert result.exit_code == 0, result.output
        (record,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
        names = [loc["text"] for loc in record["enrichment"]["locations"]]
        assert names == ["Oudegracht 12", "Lombok"]  # Vennebroek's Kerkstraat is not theirs
    missing = runner.invoke(app, ["classify", str(path), "--gazetteer", str(tmp_path / "no.yaml")])
    assert missing.exit_code != 0
