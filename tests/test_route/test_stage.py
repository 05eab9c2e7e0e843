"""The route stage's pure decisions: what a deletion may trigger, how overdue flags are kept."""

import json
from datetime import timedelta
from typing import Any

from route.responses import Conversation, mark_overdue, respond
from route.stage import _forget, _remember, _with_partition, dispatch, forwards_deletion
from tests.test_route.test_responses import MONDAY_10, RULES, inbound, reply


def test_a_routed_message_is_dispatched_but_its_deletion_is_not() -> None:
    message = inbound("q", MONDAY_10, urgency="spoed")
    routing = dispatch(message)
    assert routing is not None and routing.alert is not None
    deleted = message.model_copy(update={"deleted": True, "text": ""})
    assert dispatch(deleted) is None  # not routed, counted or alerted again
    assert dispatch(reply("r", MONDAY_10)) is None


def test_a_residents_deletion_goes_to_the_alert_stage_and_nothing_else_does() -> None:
    message = inbound("q", MONDAY_10, urgency="spoed")
    assert not forwards_deletion(message)  # alerted by its routing, if at all
    assert forwards_deletion(message.model_copy(update={"deleted": True, "text": ""}))
    deleted_reply = reply("r", MONDAY_10).model_copy(update={"deleted": True, "text": ""})
    assert not forwards_deletion(deleted_reply)  # the municipality's replies raise no alerts


class FakeTable:
    """What ``_remember`` uses of a faust Table: get, the store and the changelog."""

    def __init__(self, stored: dict[str, str]) -> None:
        self.data = dict(stored)
        self.changelog: list[tuple[int, str, str | None]] = []

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def send_changelog(
        self, partition: int, key: str, value: str | None, value_serializer: str | None = None
    ) -> None:
        assert value is not None or value_serializer == "raw"  # a tombstone, as faust sends
        self.changelog.append((partition, key, value))


def test_sent_overdue_flags_are_remembered_on_the_state_partition() -> None:
    conv = Conversation()
    message = inbound("q", MONDAY_10)
    respond(conv, message, RULES)
    key = message.conversation_id
    flagged, _ = mark_overdue(conv, key, MONDAY_10 + timedelta(days=2))
    # Meanwhile the agent stored a newer state (a second message): it must be kept.
    respond(conv, inbound("q2", MONDAY_10 + timedelta(minutes=5)), RULES)
    table = FakeTable({key: _with_partition(conv.to_json(), 3, changed=1_000.0)})
    _remember(table, key, flagged)
    [(partition, changed_key, value)] = table.changelog
    assert (partition, changed_key) == (3, key) and table.data[key] == value
    assert value is not None
    stored = Conversation.from_json(json.loads(value)["s"])
    assert json.loads(value)["t"] == 1_000  # a flag is no activity: the time of change stays
    assert len(stored.inbound) == 2
    assert [e.overdue_marked for _, e in sorted(stored.inbound.items())].count(True) == 1
    _remember(table, key, flagged)  # already remembered: nothing written
    assert len(table.changelog) == 1


def test_an_original_processed_after_its_deletion_is_not_dispatched() -> None:
    conv = Conversation()
    message = inbound("q", MONDAY_10, urgency="spoed")
    respond(conv, message.model_copy(update={"deleted": True, "text": "", "routing": None}), RULES)
    original = respond(conv, message, RULES).message
    assert dispatch(original) is None and original.text == ""
    # Redelivered after the deletion: the same.
    assert dispatch(respond(conv, message, RULES).message) is None


def test_a_conversation_unchanged_past_the_retention_leaves_the_state_and_its_changelog() -> None:
    conv = Conversation()
    respond(conv, inbound("q", MONDAY_10), RULES)
    state = conv.to_json()
    cutoff = 10_000.0  # Unix seconds: states last changed before it go
    table = FakeTable(
        {
            "old": _with_partition(state, 2, changed=9_000.0),
            "recent": _with_partition(state, 5, changed=11_000.0),
        }
    )
    assert _forget(table, "old", cutoff) and not _forget(table, "recent", cutoff)
    assert table.changelog == [(2, "old", None)]  # a tombstone on the state's partition
    assert list(table.data) == ["recent"]
    assert not _forget(table, "old", cutoff)  # gone already: nothing more is sent
    # The agent changed the conversation since the timer's count: it stays.
    table.data["old"] = _with_partition(state, 2, changed=10_500.0)
    assert not _forget(table, "old", cutoff) and "old" in table.data


def test_a_state_stored_before_changes_were_timed_goes_by_its_last_message() -> None:
    conv = Conversation()
    respond(conv, inbound("q", MONDAY_10), RULES)
    respond(conv, reply("r", MONDAY_10 + timedelta(hours=2)), RULES)
    assert conv.last_activity() == MONDAY_10 + timedelta(hours=2)  # the reply came last
    legacy = json.dumps({"p": 1, "s": conv.to_json()})
    last = (MONDAY_10 + timedelta(hours=2)).timestamp()
    assert not _forget(FakeTable({"c": legacy}), "c", cutoff=last)
    table = FakeTable({"c": legacy})
    assert _forget(table, "c", cutoff=last + 1) and table.changelog == [(1, "c", None)]
    assert Conversation().last_activity() is None
