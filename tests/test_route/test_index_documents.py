from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.events import Author, Direction, Message, Response, ResponseUpdate
from route.index.documents import (
    index_action,
    kept_by_deletion,
    merge_actions,
    parse_routed,
    sort_bulk_items,
    tombstone_action,
    update_action,
)
from route.index.names import IndexNames, messages_template
from route.responses import OverdueUpdate


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
    assert action["doc"]["enrichment"] == {"locations": [], "urgency_reasons": []}
    assert "received_at" not in action["doc"]  # when it arrived stays as it was


def _update(message_id: str, received_at: datetime, **fields: object) -> ResponseUpdate:
    return ResponseUpdate(
        message_id=message_id, conversation_id="c", received_at=received_at, **fields
    )


def test_response_update_targets_the_month_of_the_message_it_changes() -> None:
    update = _update("m1", datetime(2026, 10, 30, tzinfo=UTC), answers=["q1"])
    action = update_action(update, IndexNames("lp"), datetime(2026, 12, 2, tzinfo=UTC))
    assert action["_op_type"] == "update"
    assert action["_index"] == "lp-messages-2026.10"
    assert action["doc"]["answers"] == ["q1"] and "response" not in action["doc"]


def test_routed_records_parse_as_message_or_update() -> None:
    update = _update("m1", datetime(2026, 10, 30, tzinfo=UTC), answers=[])
    assert isinstance(parse_routed(update.to_json()), ResponseUpdate)
    with pytest.raises(ValidationError):
        parse_routed(b'{"kind": "response-update"}')
    with pytest.raises(ValueError, match="Expecting value"):
        parse_routed(b"not json")


def test_a_message_and_its_update_in_one_batch_become_one_document() -> None:
    whole = {"_op_type": "index", "_index": "i", "_id": "m", "_source": {"text": "t", "a": 1}}
    update = {"_op_type": "update", "_index": "i", "_id": "m", "doc": {"a": 2, "b": 3}}
    later_update = {"_op_type": "update", "_index": "i", "_id": "m", "doc": {"b": 4}}
    merged = merge_actions(merge_actions(whole, update), later_update)
    assert merged["_op_type"] == "index"
    assert merged["_source"] == {"text": "t", "a": 2, "b": 4}
    assert merge_actions(update, later_update)["doc"] == {"a": 2, "b": 4}
    assert merge_actions(update, whole) is whole


def test_overdue_flag_parses_and_becomes_a_partial_update_of_its_month() -> None:
    flag = OverdueUpdate(
        message_id="m1", conversation_id="c", received_at=datetime(2026, 10, 30, tzinfo=UTC)
    )
    parsed = parse_routed(flag.to_json())
    assert parsed == flag
    action = update_action(flag, IndexNames("lp"), datetime(2026, 12, 2, tzinfo=UTC))
    assert action["_index"] == "lp-messages-2026.10"
    assert action["doc"]["response"] == {"overdue": True}
    mapping = messages_template(IndexNames("lp"))["template"]["mappings"]["properties"]
    assert mapping["response"]["properties"]["overdue"] == {"type": "boolean"}


def test_updates_in_one_batch_merge_objects_field_by_field() -> None:
    """An overdue flag followed by the late reply's response: both survive, as in Elasticsearch."""
    flag = {"_op_type": "update", "_index": "i", "_id": "m", "doc": {"response": {"overdue": True}}}
    answer = {
        "_op_type": "update",
        "_index": "i",
        "_id": "m",
        "doc": {"response": {"answered": True, "within_service_level": False}},
    }
    merged = merge_actions(flag, answer)
    assert merged["doc"]["response"] == {
        "overdue": True,
        "answered": True,
        "within_service_level": False,
    }
    whole = {"_op_type": "index", "_index": "i", "_id": "m", "_source": {"response": {"a": 1}}}
    assert merge_actions(whole, flag)["_source"]["response"] == {"a": 1, "overdue": True}


def test_a_response_update_sends_the_whole_response_with_its_nulls() -> None:
    """Left out, a field emptied by un-answering would keep its old value in the index."""
    response = Response(
        answered=False,
        service_level="geen-reactie-nodig",
        service_level_minutes=None,
        service_level_clock="business",
        due_at=None,
    )
    update = _update("m1", datetime(2026, 10, 30, tzinfo=UTC), response=response)
    record = parse_routed(update.to_json())
    assert isinstance(record, ResponseUpdate)
    action = update_action(record, IndexNames("lp"), datetime(2026, 12, 2, tzinfo=UTC))
    assert action["doc"]["response"]["first_reply_id"] is None
    assert action["doc"]["response"]["within_service_level"] is None
    assert "answers" not in action["doc"]


def _deletion(message_id: str = "m") -> dict[str, Any]:
    source = {"text": "", "deleted": True, "response": None, "answers": []}
    return {"_op_type": "index", "_index": "i", "_id": message_id, "_source": source}


def test_a_deletion_after_a_response_in_one_batch_keeps_the_response() -> None:
    answered = {"answered": True, "first_reply_id": "r"}
    update = {"_op_type": "update", "_index": "i", "_id": "m", "doc": {"response": answered}}
    merged = merge_actions(update, _deletion())
    assert merged["_source"]["response"] == answered  # not indexed yet: the whole document
    at = datetime(2026, 12, 2, tzinfo=UTC)
    removal = Message.create(
        channel="app", platform_message_id="m", platform_conversation_id="c",
        direction=Direction.INBOUND, author=Author(pseudonym="a"), text="", received_at=at,
        ingested_at=at, source="export/v1", deleted=True,
    )  # fmt: skip
    tombstone = tombstone_action(removal, "i", at, kept_by_deletion(merged))
    assert tombstone["doc"]["response"] == answered and tombstone["doc"]["text"] == ""
    # An update after the deletion goes along too, and a bare deletion keeps nothing.
    flag = {"_op_type": "update", "_index": "i", "_id": "m", "doc": {"response": {"overdue": True}}}
    again = merge_actions(merged, flag)
    assert kept_by_deletion(again)["response"] == {**answered, "overdue": True}
    cleared = {"_op_type": "update", "_index": "i", "_id": "m", "doc": {"answers": []}}
    assert kept_by_deletion(merge_actions(cleared, _deletion())) == {"answers": []}
    assert kept_by_deletion(_deletion()) == {}


def test_an_original_after_its_deletion_keeps_its_response_in_the_tombstone() -> None:
    original = _deletion()
    original["_source"]["response"] = {"answered": False}
    assert kept_by_deletion(original) == {"response": {"answered": False}}
