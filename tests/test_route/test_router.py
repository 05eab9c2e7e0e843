from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.events import Author, Direction, Enrichment, Message
from route.router import route
from route.rules import DEFAULT_RULES, RoutingConfig, RulesError, load_rules

RULES = load_rules()
OFFICE = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday 11:00 local
NIGHT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # Saturday 23:00 local


def message(
    topic: str,
    urgency: str = "normaal",
    intent: str = "melding",
    *,
    channel: str = "twitter",
    text: str = "tekst",
    at: datetime = OFFICE,
    urgency_score: float = 0.9,
) -> Message:
    base = Message.create(
        channel=channel,  # type: ignore[arg-type]
        platform_message_id="1",
        platform_conversation_id="1",
        direction=Direction.INBOUND,
        author=Author(pseudonym="a_1"),
        text=text,
        received_at=at,
        ingested_at=at,
        source="export/v1",
    )
    enrichment = Enrichment(
        topic=topic,
        urgency=urgency,
        intent=intent,  # type: ignore[arg-type]
        topic_score=0.9,
        urgency_score=urgency_score,
        intent_score=0.9,
        classifier="test",
    )
    return base.model_copy(update={"enrichment": enrichment})


@pytest.mark.parametrize(
    ("topic", "department"),
    [
        ("afval", "afval-grondstoffen"),
        ("groen-water", "stadswerken"),
        ("belastingen", "belastingen"),
        ("evenementen", "vergunningen"),
        ("overig", "klantcontact"),
    ],
)
def test_topic_map(topic: str, department: str) -> None:
    routing = route(message(topic), RULES, "lp")
    assert (routing.department, routing.rule) == (department, "topic")
    assert routing.department_topic == f"lp.dept.{department}"


def test_first_matching_override_wins() -> None:
    routing = route(message("overlast", "spoed", text="iemand met een mes"), RULES, "lp")
    assert (routing.department, routing.rule) == ("openbare-orde", "acute-overlast-naar-oov")


def test_keyword_override_matches_whole_words_only() -> None:
    assert (
        route(message("afval", text="Asbest gedumpt bij de sloot"), RULES, "lp").department
        == "handhaving"
    )
    assert route(message("afval", text="asbestos"), RULES, "lp").department == "handhaving"
    assert (
        route(message("afval", text="asbestvrij dak"), RULES, "lp").department
        == "afval-grondstoffen"
    )


def test_override_conditions_must_all_hold() -> None:
    # klacht about 'overig' goes to webcare; a klacht about afval stays with the department.
    assert (
        route(message("overig", intent="klacht"), RULES, "lp").rule
        == "klachten-over-dienstverlening"
    )
    assert route(message("afval", intent="klacht"), RULES, "lp").department == "afval-grondstoffen"


def test_spoed_always_alerts() -> None:
    alert = route(message("groen-water", "spoed", at=OFFICE), RULES, "lp").alert
    assert alert is not None and alert.severity == "critical"


def test_hoog_alerts_only_outside_office_hours() -> None:
    assert route(message("wegen-verkeer", "hoog", at=OFFICE), RULES, "lp").alert is None
    night = route(message("wegen-verkeer", "hoog", at=NIGHT), RULES, "lp")
    assert night.alert is not None and night.alert.severity == "warning"
    assert night.office_hours is False


def test_hoog_pages_at_night_only_when_the_classifier_is_sure_enough() -> None:
    limit = RULES.alerts.min_score["hoog"]
    unsure = message("wegen-verkeer", "hoog", at=NIGHT, urgency_score=limit - 0.01)
    sure = message("wegen-verkeer", "hoog", at=NIGHT, urgency_score=limit)
    assert route(unsure, RULES, "lp").alert is None
    assert route(sure, RULES, "lp").alert is not None
    # spoed pages whatever its score (the safety layer's rules give 1.0, the model may give less)
    assert route(message("groen-water", "spoed", at=NIGHT, urgency_score=0.2), RULES, "lp").alert


def test_alert_min_score_is_validated(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["alerts"]["min_score"] = {"hoog": 1.5}
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RulesError, match="between 0 and 1"):
        load_rules(bad)


def test_normal_messages_never_alert() -> None:
    assert route(message("afval", at=NIGHT), RULES, "lp").alert is None


def test_unmapped_topic_goes_to_default_department(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RULES.read_text())
    del data["topics"]["dieren"]
    rules = RoutingConfig.model_validate(data)
    routing = route(message("dieren"), rules, "lp")
    assert (routing.department, routing.rule) == ("klantcontact", "default")


def test_unenriched_message_cannot_be_routed() -> None:
    with pytest.raises(ValueError, match="without enrichment"):
        route(message("afval").model_copy(update={"enrichment": None}), RULES, "lp")


def _write(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(DEFAULT_RULES.read_text())
    change(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        (lambda d: d["topics"].update(afval="nergens"), "department 'nergens' is not declared"),
        (lambda d: d["topics"].update(parkeren="stadswerken"), "unknown topic"),
        (lambda d: d["overrides"][0]["when"].update(urgency=["acuut"]), "unknown urgency"),
        (lambda d: d["overrides"][0].update(when={}), "at least one condition"),
        (
            lambda d: d["office_hours"]["weekly"].update({1: ["17:00-08:00"]}),
            "ends before it starts",
        ),
        (lambda d: d["office_hours"].update(timezone="UTC"), "Europe/Amsterdam"),
        (lambda d: d.update(surprise=True), "surprise"),
        (
            lambda d: d["office_hours"]["departments"]["openbare-orde"].update(
                open_on_holidays="ja"
            ),
            "open_on_holidays",
        ),
        (
            lambda d: d["office_hours"]["departments"].update(
                burgerzaken={"open_on_holidays": True}
            ),
            "needs the department's own weekly hours",
        ),
    ],
)
def test_invalid_rules_are_rejected_with_the_place(
    tmp_path: Path, change: Any, message_part: str
) -> None:
    with pytest.raises(RulesError, match=message_part):
        load_rules(_write(tmp_path, change))
