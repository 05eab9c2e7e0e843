import json
from datetime import UTC, datetime

import pytest

from ingest.events import Direction, message_id_for
from ingest.normalise import normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError

CTX = NormaliseContext(
    pseudonym_secret=b"k",
    ingested_at=datetime(2026, 11, 1, tzinfo=UTC),
    own_accounts={"twitter": frozenset({"999"})},
)


def raw(body: object, source: str = "export/v1") -> RawRecord:
    text = body if isinstance(body, str) else json.dumps(body)
    return RawRecord(source=source, received_at=datetime(2026, 11, 1, tzinfo=UTC), body=text)


BASE = {
    "channel": "twitter",
    "id": "10",
    "author_id": "42",
    "text": "kliko vergeten 😡",
    "created_at": "2026-10-20T07:15:00+02:00",
}


def test_inbound_message() -> None:
    [message] = normalise(raw(BASE), CTX)
    assert message.direction is Direction.INBOUND
    assert message.platform_conversation_id == "10"  # a new thread is its own conversation
    assert message.received_at == datetime(2026, 10, 20, 5, 15, tzinfo=UTC)
    assert message.author.pseudonym.startswith("a_") and "42" not in message.author.pseudonym
    assert message.source == "export/v1"


def test_reply_from_own_account_is_outbound_and_linked() -> None:
    reply = {
        **BASE,
        "id": "11",
        "author_id": "999",
        "conversation_id": "10",
        "in_reply_to": "10",
        "text": "Sorry! ^AK",
    }
    [message] = normalise(raw(reply), CTX)
    assert message.direction is Direction.OUTBOUND
    assert message.author.is_municipality
    assert message.reply_to == message_id_for("twitter", "10")
    assert message.conversation_id == normalise(raw(BASE), CTX)[0].conversation_id


def test_numeric_ids_are_accepted_as_strings() -> None:
    [message] = normalise(raw({**BASE, "id": 10, "author_id": 42}), CTX)
    assert message.platform_message_id == "10"


def test_attachment_without_text_is_kept() -> None:
    [message] = normalise(raw({**BASE, "text": "", "attachments": ["image"]}), CTX)
    assert message.attachments == ["image"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "malformed JSON"),
        ([1, 2], "expected a JSON object"),
        ({**BASE, "channel": "fax"}, "unknown channel 'fax'"),
        ({k: v for k, v in BASE.items() if k != "id"}, "'id' is missing"),
        ({**BASE, "created_at": "2026-10-20T07:15:00"}, "has no UTC offset"),
        ({**BASE, "created_at": "yesterday"}, "not an ISO 8601 timestamp"),
        ({**BASE, "text": "  "}, "neither text nor attachments"),
        ({**BASE, "attachments": "image"}, "'attachments' must be a list"),
        ({**BASE, "text": "gaslucht \ud800"}, "ud800 is a lone surrogate escape"),
    ],
)
def test_bad_payloads_raise_with_a_reason(body: object, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        normalise(raw(body), CTX)


def test_unknown_source_is_an_error() -> None:
    with pytest.raises(NormaliseError, match="unknown source format"):
        normalise(raw(BASE, source="telex/v1"), CTX)


def test_raw_record_keeps_body_unchanged() -> None:
    body = '{"channel":"twitter",  "id":"1"}'
    record = raw(body)
    assert RawRecord.from_json(record.to_json()).body == body
    assert record.delivery_id == raw(body).delivery_id != raw(body + " ").delivery_id
