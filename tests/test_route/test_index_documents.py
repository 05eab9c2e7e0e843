from datetime import UTC, datetime

from ingest.events import Author, Direction, Message
from route.index.documents import index_action, sort_bulk_items, tombstone_action
from route.index.names import IndexNames, messages_template


def test_index_action_is_idempotent_by_message_id_and_month() -> None:
    at = datetime(
        2026, 10, 31, 23, 30, tzinfo=UTC
    )  # already November in Amsterdam; indices go by UTC
    message = Message.create(
        channel="app",
        platform_message_id="9",
        platform_conversation_id="9",
        direction=Direction.INBOUND,
        author=Author(pseudonym="a"),
        text="t",
        received_at=at,
        ingested_at=at,
        source="export/v1",
    )
    action = index_action(message, IndexNames("lp"), datetime(2026, 11, 1, tzinfo=UTC))
    assert action["_id"] == message.message_id
    assert action["_index"] == "lp-messages-2026.10"
    assert action["_source"]["local"]["date"] == "2026-11-01"


def test_bulk_items_are_sorted_by_what_to_do_next() -> None:
    items = [
        {"index": {"_id": "a", "status": 201}},
        {"index": {"_id": "b", "status": 200}},
        {
            "index": {
                "_id": "c",
                "status": 429,
                "error": {"type": "es_rejected_execution_exception"},
            }
        },
        {
            "index": {
                "_id": "d",
                "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "bad"},
            }
        },
    ]
    outcome = sort_bulk_items(items)
    assert outcome.indexed == ["a", "b"]
    assert outcome.retry == ["c"]
    assert list(outcome.rejected) == ["d"] and "mapper_parsing_exception" in outcome.rejected["d"]


def test_template_covers_every_field_of_the_canonical_event() -> None:
    body = messages_template(IndexNames("lp"))
    assert body["index_patterns"] == ["lp-messages-*"]
    assert "lp-messages" in body["template"]["aliases"]
    mapped = set(body["template"]["mappings"]["properties"])
    assert set(Message.model_fields) <= mapped


def test_tombstone_empties_the_message_in_the_index_that_holds_it() -> None:
    at = datetime(2026, 12, 16, 9, 0, tzinfo=UTC)
    removal = Message.create(
        channel="facebook", platform_message_id="c1", platform_conversation_id="p1",
        direction=Direction.INBOUND, author=Author(pseudonym="a"), text="", received_at=at,
        ingested_at=at, source="meta/v1", deleted=True,
    )  # fmt: skip
    action = tombstone_action(removal, "lp-messages-2026.11", at)
    assert action["_op_type"] == "update" and action["_index"] == "lp-messages-2026.11"
    assert action["_id"] == removal.message_id
    assert action["doc"]["text"] == "" and action["doc"]["deleted"] is True
    assert "received_at" not in action["doc"]  # when it arrived stays as it was
