import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.channels.app import SCHEMA_PATH, AppMessages, json_schema
from ingest.events import Direction, Message, message_id_for
from ingest.normalise import load_own_accounts, normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError

CTX = NormaliseContext(
    pseudonym_secret=b"test-key",
    ingested_at=datetime(2026, 11, 3, tzinfo=UTC),
    own_accounts=load_own_accounts(),  # app and webform: "webcare"
)

REPORT = {
    "id": "VB-APP-1001",
    "channel": "app",
    "author_id": "app-7f3a",
    "text": "Lantaarnpaal kapot bij de speeltuin",
    "attachments": ["image"],
    "created_at": "2026-11-02T21:04:00+01:00",
    "lang": "nl",
    "location": "Speeltuin Molenweg",
}
ANSWER = {
    "id": "VB-APP-1002",
    "channel": "app",
    "author_id": "webcare",
    "text": "Dank u, we sturen iemand.",
    "created_at": "2026-11-03T08:45:00+01:00",
    "conversation_id": "VB-APP-1001",
    "in_reply_to": "VB-APP-1001",
}


def run(body: Any) -> list[Message]:
    record = RawRecord(source="app/v1", received_at=CTX.ingested_at, body=json.dumps(body))
    return normalise(record, CTX)


def test_single_object() -> None:
    [message] = run(REPORT)
    assert message.channel == "app"
    assert message.message_id == message_id_for("app", "VB-APP-1001")
    assert message.platform_conversation_id == "VB-APP-1001"
    assert message.direction is Direction.INBOUND
    assert message.author.pseudonym == CTX.pseudonym("app", "app-7f3a")
    assert message.text == REPORT["text"]
    assert message.attachments == ["image"]
    assert message.lang == "nl"
    assert message.received_at == datetime(2026, 11, 2, 20, 4, tzinfo=UTC)
    assert message.source == "app/v1"


def test_location_stays_out_of_the_message() -> None:
    [message] = run(REPORT)
    assert "Speeltuin" not in message.to_json().decode()


def test_author_id_only_as_pseudonym() -> None:
    [message] = run(REPORT)
    assert "app-7f3a" not in message.to_json().decode()


def test_list_with_webcare_answer_outbound_and_linked() -> None:
    report, answer = run([REPORT, ANSWER])
    assert answer.direction is Direction.OUTBOUND
    assert answer.author.is_municipality
    assert answer.reply_to == report.message_id
    assert answer.conversation_id == report.conversation_id
    assert answer.received_at == datetime(2026, 11, 3, 7, 45, tzinfo=UTC)


def test_webform_channel_and_attachment_only() -> None:
    body = {**REPORT, "channel": "webform", "text": "", "attachments": ["image"]}
    [message] = run(body)
    assert message.channel == "webform"
    assert message.message_id == message_id_for("webform", "VB-APP-1001")
    assert message.text == "" and message.attachments == ["image"]


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in REPORT.items() if k != key}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_without("id"), r"^invalid app/v1 message: id: Field required$"),
        (
            {**REPORT, "created_at": "2026-11-02T21:04:00"},
            r"created_at: Input should have timezone info",
        ),
        (
            {**REPORT, "created_at": 1793649840},
            r"created_at: Value error, must be an ISO 8601 string",
        ),
        ({**REPORT, "created_at": "gisteren"}, r"created_at: Input should be a valid datetime"),
        ({**REPORT, "priority": "hoog"}, r"priority: Extra inputs are not permitted"),
        ({**REPORT, "channel": "twitter"}, r"channel: Input should be 'app' or 'webform'"),
        (_without("channel"), r"channel: Field required"),
        (_without("author_id"), r"author_id: Field required"),
        ({**REPORT, "id": ""}, r"id: String should have at least 1 character"),
        ({**REPORT, "attachments": "image"}, r"attachments: Input should be a valid list"),
        ({**REPORT, "text": " ", "attachments": []}, "neither text nor attachments"),
        ([REPORT, _without("author_id")], r"\[1\]\.author_id: Field required"),
        ([REPORT, "text"], r"^\[1\]: expected a JSON object, got str$"),
        ([], "empty list"),
        ("just text", "body: expected a JSON object, got str"),
    ],
)
def test_invalid_bodies_name_the_field(body: Any, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        run(body)


def test_every_invalid_field_is_listed() -> None:
    body = {**_without("id"), "created_at": "2026-11-02T21:04:00", "colour": "red"}
    with pytest.raises(NormaliseError) as caught:
        run(body)
    reason = str(caught.value)
    assert all(field in reason for field in ("id:", "created_at:", "colour:"))


def test_json_schema_file_matches_the_model() -> None:
    written = SCHEMA_PATH.read_text(encoding="utf-8")
    assert json.loads(written) == AppMessages.model_json_schema(), (
        "app_message.schema.json is stale: run "
        '`python -c "from ingest.channels.app import write_json_schema; write_json_schema()"`'
    )
    assert written == json_schema()


def test_json_schema_states_the_contract() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    message = schema["$defs"]["AppMessage"]
    assert message["additionalProperties"] is False
    assert set(message["required"]) == {"id", "channel", "author_id", "created_at"}
    assert message["properties"]["channel"]["enum"] == ["app", "webform"]
    assert message["properties"]["created_at"]["format"] == "date-time"
    assert {"$ref": "#/$defs/AppMessage"} in schema["anyOf"]  # one object, or a list of them
