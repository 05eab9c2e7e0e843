from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.events import (
    Author,
    Direction,
    Message,
    content_fingerprint,
    conversation_id_for,
    message_id_for,
)


def make(**overrides: object) -> Message:
    fields: dict[str, object] = dict(
        channel="instagram",
        platform_message_id="178",
        platform_conversation_id="177",
        direction=Direction.INBOUND,
        author=Author(pseudonym="a_123"),
        text="Er ligt glas op het fietspad 🚲",
        received_at=datetime(2026, 10, 12, 19, 4, tzinfo=UTC),
        ingested_at=datetime(2026, 10, 12, 19, 5, tzinfo=UTC),
        source="export/v1",
    )
    fields.update(overrides)
    return Message.create(**fields)  # type: ignore[arg-type]


def test_ids_are_stable_and_depend_on_channel() -> None:
    assert message_id_for("twitter", "1") == message_id_for("twitter", "1")
    assert message_id_for("twitter", "1") != message_id_for("facebook", "1")
    assert conversation_id_for("twitter", "1") != message_id_for("twitter", "1")


def test_create_derives_ids_local_fields_and_fingerprint() -> None:
    message = make(reply_to_platform_id="177")
    assert message.message_id == message_id_for("instagram", "178")
    assert message.conversation_id == conversation_id_for("instagram", "177")
    assert message.reply_to == message_id_for("instagram", "177")
    assert message.local.hour == 21 and message.local.date == "2026-10-12"
    assert message.content_hash == content_fingerprint(message.text, [])


def test_json_round_trip_is_lossless() -> None:
    message = make(attachments=["image"])
    assert Message.from_json(message.to_json()) == message


def test_edit_changes_the_fingerprint_but_not_the_id() -> None:
    a, b = make(), make(text="Er ligt glas op het fietspad, bij de brug")
    assert a.message_id == b.message_id
    assert a.content_hash != b.content_hash


def test_unknown_fields_and_versions_are_rejected() -> None:
    data = make().model_dump(mode="json")
    with pytest.raises(ValidationError):
        Message.model_validate({**data, "surprise": 1})
    with pytest.raises(ValidationError):
        Message.model_validate({**data, "schema_version": 2})
    with pytest.raises(ValidationError):
        Message.model_validate({**data, "channel": "fax"})


def test_timestamps_are_normalised_to_utc() -> None:
    data = make().model_dump(mode="json")
    data["received_at"] = "2026-10-12T21:04:00+02:00"
    assert Message.model_validate(data).received_at == datetime(2026, 10, 12, 19, 4, tzinfo=UTC)
