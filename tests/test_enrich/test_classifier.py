from datetime import UTC, datetime

import pytest

from enrich.classifier import KeywordClassifier
from enrich.enrich import enrich_messages
from enrich.language import detect_language
from ingest.events import INTENTS, TOPICS, URGENCIES, Author, Direction, Message

CLASSIFIER = KeywordClassifier()


def test_results_follow_input_order_and_use_known_labels() -> None:
    texts = ["grofvuil staat er nog", "mijn paspoort is kwijt", "hallo"]
    results = CLASSIFIER.classify(texts)
    assert [r.topic for r in results[:2]] == ["afval", "burgerzaken"]
    for r in results:
        assert r.topic in TOPICS and r.urgency in URGENCIES and r.intent in INTENTS
        assert abs(sum(r.scores["topic"].values()) - 1.0) < 0.01


def test_acute_danger_is_spoed_but_negated_or_past_is_not() -> None:
    assert CLASSIFIER.classify(["Ik ruik gas in de hal van de flat!"])[0].urgency == "spoed"
    assert CLASSIFIER.classify(["geen gaslucht meer, bedankt"])[0].urgency != "spoed"
    assert CLASSIFIER.classify(["de brand van vorige week was heftig"])[0].urgency != "spoed"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Wanneer wordt het afval opgehaald in onze straat?", "nl"),
        ("When is the garbage collected in our street?", "en"),
        ("👍", "und"),
    ],
)
def test_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_enrich_classifies_only_inbound_and_keeps_order() -> None:
    def msg(pid: str, direction: Direction, text: str) -> Message:
        now = datetime(2026, 11, 2, 12, tzinfo=UTC)
        return Message.create(
            channel="facebook",
            platform_message_id=pid,
            platform_conversation_id="c",
            direction=direction,
            author=Author(pseudonym="a"),
            text=text,
            received_at=now,
            ingested_at=now,
            source="export/v1",
        )

    batch = [
        msg("1", Direction.INBOUND, "De container is vol"),
        msg("2", Direction.OUTBOUND, "Thanks, we will empty it tomorrow"),
        msg("3", Direction.INBOUND, "Wanneer is de inloopavond over het bestemmingsplan?"),
    ]
    out = enrich_messages(batch, CLASSIFIER)
    assert [m.platform_message_id for m in out] == ["1", "2", "3"]
    assert out[1].enrichment is None and out[1].lang == "en"
    assert out[0].enrichment is not None and out[0].enrichment.topic == "afval"
    assert out[2].enrichment is not None and out[2].enrichment.topic == "participatie"
