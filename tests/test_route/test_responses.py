"""Conversation tracking: which reply answers which message, response times, service levels."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.events import Author, Direction, Enrichment, Message, ResponseUpdate
from route import responses
from route.index.documents import parse_routed, update_action
from route.index.names import IndexNames
from route.responses import (
    Conversation,
    Outcome,
    OverdueUpdate,
    mark_overdue,
    remember_overdue,
    respond,
    service_level_for,
)
from route.router import route
from route.rules import load_rules

RULES = load_rules()
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Amsterdam
SATURDAY_23 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # Saturday 23:00 in Amsterdam


def inbound(
    pid: str,
    at: datetime,
    *,
    urgency: str = "normaal",
    channel: str = "twitter",
    intent: str = "melding",
    author: str = "resident",
) -> Message:
    base = Message.create(
        channel=channel,  # type: ignore[arg-type]
        platform_message_id=pid,
        platform_conversation_id="thread",
        direction=Direction.INBOUND,
        author=Author(pseudonym=author),
        text="de lantaarnpaal is kapot",
        received_at=at,
        ingested_at=at,
        source="export/v1",
    )
    enrichment = Enrichment(
        topic="wegen-verkeer",
        urgency=urgency,  # type: ignore[arg-type]
        intent=intent,  # type: ignore[arg-type]
        topic_score=0.9,
        urgency_score=0.9,
        intent_score=0.9,
        classifier="test",
    )
    enriched = base.model_copy(update={"enrichment": enrichment})
    return enriched.model_copy(update={"routing": route(enriched, RULES, "lp")})


def reply(pid: str, at: datetime, *, channel: str = "twitter", to: str | None = None) -> Message:
    return Message.create(
        channel=channel,  # type: ignore[arg-type]
        platform_message_id=pid,
        platform_conversation_id="thread",
        direction=Direction.OUTBOUND,
        author=Author(pseudonym="gemeente", is_municipality=True),
        text="Dank voor je melding, we pakken het op.",
        received_at=at,
        ingested_at=at,
        source="export/v1",
        reply_to_platform_id=to,
    )


def response_updates(outcome: Outcome) -> list[ResponseUpdate]:
    return [u for u in outcome.updates if isinstance(u, ResponseUpdate)]


def test_unanswered_message_gets_its_service_level_and_due_time() -> None:
    conv = Conversation()
    out = respond(conv, inbound("q", MONDAY_10), RULES)
    response = out.message.response
    assert response is not None and not response.answered
    assert response.service_level == "chat-2-kantooruren"
    # Two office hours after Monday 10:00 is Monday 12:00 local (11:00 UTC).
    assert response.due_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert response.within_service_level is None
    assert response_updates(out) == [] and conv.unanswered()


def test_reply_answers_earlier_messages_of_the_conversation_in_place() -> None:
    conv = Conversation()
    first = respond(conv, inbound("q1", MONDAY_10), RULES).message
    second = respond(conv, inbound("q2", MONDAY_10 + timedelta(minutes=10)), RULES).message
    out = respond(conv, reply("r", MONDAY_10 + timedelta(minutes=45)), RULES)

    assert out.message.answers == sorted([first.message_id, second.message_id])
    by_id = {u.message_id: u for u in response_updates(out)}
    assert by_id[first.message_id].response is not None
    r1 = by_id[first.message_id].response
    assert r1 is not None and r1.answered and r1.wall_minutes == 45 and r1.business_minutes == 45
    assert r1.within_service_level is True
    r2 = by_id[second.message_id].response
    assert r2 is not None and r2.wall_minutes == 35
    # Updates name the index month of the message they change, not of the reply.
    assert by_id[first.message_id].received_at == MONDAY_10
    assert not conv.unanswered()
    assert sorted(e.message_id for e in [first, second]) == [
        u.message_id for u in response_updates(out)
    ]


def test_saturday_night_message_answered_monday_counts_business_minutes_only() -> None:
    conv = Conversation()
    respond(conv, inbound("q", SATURDAY_23), RULES)
    monday_0900 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    out = respond(conv, reply("r", monday_0900), RULES)
    response = response_updates(out)[0].response
    assert response is not None
    assert response.wall_minutes == 34 * 60  # Sat 23:00 -> Mon 09:00
    assert response.business_minutes == 30  # Mon 08:30 -> 09:00
    assert response.within_service_level is True  # 30 of 120 office minutes


def test_late_reply_days_later_misses_the_service_level() -> None:
    conv = Conversation()
    respond(conv, inbound("q", MONDAY_10, channel="webform"), RULES)
    out = respond(conv, reply("r", MONDAY_10 + timedelta(days=3), channel="webform"), RULES)
    response = response_updates(out)[0].response
    assert response is not None and response.service_level == "standaard-1-werkdag"
    assert response.business_minutes == 3 * 8 * 60
    assert response.within_service_level is False


def test_spoed_uses_the_wall_clock() -> None:
    conv = Conversation()
    message = respond(conv, inbound("q", SATURDAY_23, urgency="spoed"), RULES).message
    assert message.response is not None
    assert message.response.service_level_clock == "wall"
    assert message.response.due_at == SATURDAY_23 + timedelta(hours=1)
    out = respond(conv, reply("r", SATURDAY_23 + timedelta(minutes=50)), RULES)
    assert response_updates(out)[0].response is not None
    assert response_updates(out)[0].response.within_service_level is True
    assert response_updates(out)[0].response.business_minutes == 0


def test_reply_processed_before_the_message_it_answers() -> None:
    conv = Conversation()
    early = respond(conv, reply("r", MONDAY_10 + timedelta(minutes=20)), RULES)
    assert early.message.answers == [] and response_updates(early) == []
    out = respond(conv, inbound("q", MONDAY_10), RULES)
    assert out.message.response is not None and out.message.response.wall_minutes == 20
    assert [u.answers for u in response_updates(out)] == [[out.message.message_id]]
    assert len(out.newly_answered) == 1


def test_an_earlier_reply_processed_later_becomes_the_first_response() -> None:
    conv = Conversation()
    question = respond(conv, inbound("q", MONDAY_10), RULES).message
    late = respond(conv, reply("r2", MONDAY_10 + timedelta(hours=2)), RULES).message
    out = respond(conv, reply("r1", MONDAY_10 + timedelta(minutes=15)), RULES)
    responses = [u.response for u in response_updates(out) if u.response is not None]
    assert responses[0].first_reply_id == out.message.message_id
    assert responses[0].wall_minutes == 15
    # The later reply no longer claims the message.
    answers = {u.message_id: u.answers for u in response_updates(out) if u.answers is not None}
    assert answers == {late.message_id: []}
    assert out.message.answers == [question.message_id]


def test_reply_before_a_message_does_not_answer_it() -> None:
    conv = Conversation()
    respond(conv, reply("r", MONDAY_10), RULES)
    out = respond(conv, inbound("q", MONDAY_10 + timedelta(minutes=5)), RULES)
    assert out.message.response is not None and not out.message.response.answered


def _es_merge(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A partial update as Elasticsearch applies it: objects merge, anything else replaces."""
    merged = dict(doc)
    for key, value in changes.items():
        old = merged.get(key)
        merged[key] = (
            _es_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def _apply(index: dict[str, dict[str, Any]], update: ResponseUpdate | OverdueUpdate) -> None:
    """Write an update the way the indexer does: over the wire, then as a partial update."""
    record = parse_routed(update.to_json())
    assert not isinstance(record, Message)
    action = update_action(record, IndexNames("lp"), MONDAY_10)
    changes = {k: v for k, v in action["doc"].items() if k != "indexed_at"}
    index[update.message_id] = _es_merge(index[update.message_id], changes)


def _index_after(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """What the index holds after writing each outcome in order (documents, then updates)."""
    index: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        index[outcome.message.message_id] = outcome.message.model_dump(mode="json")
        for update in outcome.updates:
            _apply(index, update)
    return index


@pytest.mark.parametrize("order", [("q", "r"), ("r", "q")])
def test_redelivery_leaves_the_same_index(order: tuple[str, str]) -> None:
    messages = {"q": inbound("q", MONDAY_10), "r": reply("r", MONDAY_10 + timedelta(minutes=7))}
    conv = Conversation()
    first = [respond(conv, messages[k], RULES) for k in order]
    state = conv.to_json()
    # At-least-once: both are delivered again after a crash, with the state already stored.
    again = [respond(conv, messages[k], RULES) for k in order]
    assert conv.to_json() == state
    assert _index_after(first + again) == _index_after(first)
    assert all(o.newly_answered == [] for o in again)
    answered = _index_after(first)[messages["q"].message_id]["response"]
    assert answered["answered"] is True and answered["wall_minutes"] == 7


def test_state_round_trips_through_json() -> None:
    conv = Conversation()
    respond(conv, inbound("q", MONDAY_10), RULES)
    respond(conv, reply("r", MONDAY_10 + timedelta(minutes=3)), RULES)
    restored = Conversation.from_json(conv.to_json())
    assert restored == conv
    assert Conversation.from_json(None) == Conversation()


def test_updates_serialise_without_empty_fields() -> None:
    conv = Conversation()
    respond(conv, inbound("q", MONDAY_10), RULES)
    update = respond(conv, reply("r", MONDAY_10 + timedelta(minutes=3)), RULES).updates[0]
    parsed = ResponseUpdate.model_validate_json(update.to_json())
    assert parsed == update and b'"answers"' not in update.to_json()


def test_service_level_rules_pick_the_first_match() -> None:
    assert service_level_for(inbound("a", MONDAY_10, urgency="spoed"), RULES).name == "spoed-1-uur"
    assert service_level_for(inbound("b", MONDAY_10, urgency="hoog"), RULES).name == "hoog-4-uur"
    assert service_level_for(inbound("c", MONDAY_10, channel="app"), RULES).name == (
        "standaard-1-werkdag"
    )


def test_thanks_expect_no_reply_and_are_never_overdue() -> None:
    conv = Conversation()
    thanks = inbound("t", MONDAY_10, urgency="laag", intent="compliment")
    message = respond(conv, thanks, RULES).message
    assert message.response is not None
    assert message.response.service_level == "geen-reactie-nodig"
    assert message.response.due_at is None and message.response.service_level_minutes is None
    assert conv.unanswered() == []
    out = respond(conv, reply("r", MONDAY_10 + timedelta(days=2)), RULES)
    response = out.updates[0].response
    assert response is not None and response.answered
    assert response.within_service_level is None  # answered, but no promise to keep


# A public thread: many residents, replies that say whom they answer -------------------------


def _public_thread(order: list[str]) -> tuple[dict[str, Outcome], Conversation]:
    """Resident A asks twice, resident B once; webcare answers A's first message only."""
    messages = {
        "a1": inbound("a1", MONDAY_10, author="A"),
        "b1": inbound("b1", MONDAY_10 + timedelta(minutes=5), author="B"),
        "a2": inbound("a2", MONDAY_10 + timedelta(minutes=10), author="A"),
        "r": reply("r", MONDAY_10 + timedelta(minutes=30), to="a1"),
    }
    conv = Conversation()
    outcomes = {key: respond(conv, messages[key], RULES) for key in order}
    return outcomes, conv


@pytest.mark.parametrize(
    "order",
    [["a1", "b1", "a2", "r"], ["r", "a1", "b1", "a2"], ["b1", "r", "a2", "a1"]],
    ids=["in order", "reply first", "mixed"],
)
def test_a_reply_to_one_resident_leaves_the_other_unanswered(order: list[str]) -> None:
    outcomes, conv = _public_thread(order)
    index = _index_after([outcomes[key] for key in order])
    by_pid = {doc["platform_message_id"]: doc for doc in index.values()}
    assert by_pid["a1"]["response"]["answered"] is True
    assert by_pid["a2"]["response"]["answered"] is True  # A's follow-up, before the reply
    assert by_pid["b1"]["response"]["answered"] is False
    assert by_pid["r"]["answers"] == sorted(
        [by_pid["a1"]["message_id"], by_pid["a2"]["message_id"]]
    )
    [waiting] = conv.unanswered()
    assert waiting.author == "B"


def test_a_reply_naming_a_message_not_seen_yet_is_narrowed_when_it_arrives() -> None:
    conv = Conversation()
    b = respond(conv, inbound("b1", MONDAY_10, author="B"), RULES).message
    early = respond(conv, reply("r", MONDAY_10 + timedelta(minutes=30), to="a1"), RULES)
    # Until a1 is known the reply answers the conversation, as in a private chat ...
    assert early.message.answers == [b.message_id]
    out = respond(conv, inbound("a1", MONDAY_10 + timedelta(minutes=1), author="A"), RULES)
    # ... then only A: B is waiting again, and the index is told.
    assert out.message.response is not None and out.message.response.answered
    updates = {u.message_id: u for u in response_updates(out)}
    b_response = updates[b.message_id].response
    assert b_response is not None and not b_response.answered
    assert updates[early.message.message_id].answers == [out.message.message_id]
    assert [e.author for e in conv.unanswered()] == ["B"]


def test_a_reply_naming_an_unknown_message_answers_the_conversation() -> None:
    conv = Conversation()
    respond(conv, inbound("a1", MONDAY_10, author="A"), RULES)
    respond(conv, inbound("b1", MONDAY_10 + timedelta(minutes=1), author="B"), RULES)
    out = respond(conv, reply("r", MONDAY_10 + timedelta(minutes=30), to="elsewhere"), RULES)
    assert len(out.message.answers) == 2 and conv.unanswered() == []


def test_state_stored_before_authors_and_reply_to_still_loads() -> None:
    conv = Conversation()
    respond(conv, inbound("q", MONDAY_10), RULES)
    respond(conv, reply("r", MONDAY_10 + timedelta(minutes=3), to="q"), RULES)
    data = json.loads(conv.to_json())
    for entry in data["inbound"].values():
        for key in ("author", "deleted", "overdue_marked"):
            del entry[key]
    for entry in data["outbound"].values():
        del entry["reply_to"]
    del data["deleted"]
    old = Conversation.from_json(json.dumps(data))
    assert [e.answered_by for e in old.inbound.values()] == [
        e.answered_by for e in conv.inbound.values()
    ]
    assert old.unanswered() == []


# Deleted messages -------------------------------------------------------------------------


def test_a_deleted_unanswered_message_leaves_the_backlog() -> None:
    conv = Conversation()
    question = inbound("q", MONDAY_10)
    respond(conv, question, RULES)
    deleted = question.model_copy(update={"deleted": True, "text": ""})
    out = respond(conv, deleted, RULES)
    assert out.updates == [] and out.newly_answered == []
    assert conv.unanswered() == []
    assert mark_overdue(conv, question.conversation_id, MONDAY_10 + timedelta(days=9)) == (
        [],
        [],
    )
    # Redelivery of the original message does not bring it back, nor its text.
    again = respond(conv, question, RULES).message
    assert conv.unanswered() == []
    assert again.deleted and again.text == "" and again.content_hash == "deleted"


def test_a_deletion_processed_before_its_message_still_counts() -> None:
    conv = Conversation()
    question = inbound("q", MONDAY_10)
    respond(conv, question.model_copy(update={"deleted": True, "text": ""}), RULES)
    original = respond(conv, question, RULES).message
    assert conv.unanswered() == [] and conv.deleted == []
    assert Conversation.from_json(conv.to_json()) == conv
    # It goes out emptied, so it cannot put the text back over the emptied document.
    assert original.deleted and original.text == "" and original.attachments == []
    assert original.response is not None  # still tracked: an answer to it counts


def test_a_pruned_deleted_message_stays_deleted_when_redelivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(responses, "MAX_ENTRIES", 2)
    conv = Conversation()
    question = inbound("q", MONDAY_10, author="A")
    respond(conv, question, RULES)
    respond(conv, reply("r", MONDAY_10 + timedelta(minutes=1)), RULES)
    respond(conv, question.model_copy(update={"deleted": True, "text": ""}), RULES)
    for n in range(2):
        respond(conv, inbound(f"x{n}", MONDAY_10 + timedelta(minutes=5 + n), author="B"), RULES)
    assert question.message_id not in conv.inbound
    assert respond(conv, question, RULES).message.deleted


def test_a_deleted_reply_stays_empty_when_redelivered_and_still_answers() -> None:
    conv = Conversation()
    question = inbound("q", MONDAY_10)
    respond(conv, question, RULES)
    answer = reply("r", MONDAY_10 + timedelta(minutes=20))
    respond(conv, answer, RULES)
    respond(conv, answer.model_copy(update={"deleted": True, "text": ""}), RULES)
    again = respond(conv, answer, RULES).message
    assert again.deleted and again.text == "" and again.content_hash == "deleted"
    assert again.answers == [question.message_id]  # it was sent: it still answers
    assert conv.inbound[question.message_id].answered_by == answer.message_id
    assert Conversation.from_json(conv.to_json()) == conv


def test_a_reply_deletion_processed_before_the_reply_keeps_it_empty() -> None:
    conv = Conversation()
    question = inbound("q", MONDAY_10)
    respond(conv, question, RULES)
    answer = reply("r", MONDAY_10 + timedelta(minutes=20))
    respond(conv, answer.model_copy(update={"deleted": True, "text": ""}), RULES)
    assert conv.deleted == [answer.message_id]
    original = respond(conv, answer, RULES).message
    assert original.deleted and original.text == "" and conv.deleted == []
    assert conv.unanswered() == []  # the reply answered the question all the same


# Overdue: the backlog timer flags unanswered messages past due once ----------------------


def test_overdue_messages_are_flagged_once_and_stay_missed_when_answered_late() -> None:
    conv = Conversation()
    question = respond(conv, inbound("q", MONDAY_10), RULES).message  # due 12:00 local
    cid = question.conversation_id
    assert mark_overdue(conv, cid, MONDAY_10 + timedelta(hours=1)) == ([], [])
    late = MONDAY_10 + timedelta(hours=3)
    flagged, updates = mark_overdue(conv, cid, late)
    assert flagged == [question.message_id]
    index = _index_after([Outcome(question, updates, [])])
    response = index[question.message_id]["response"]
    assert response["overdue"] is True and response["answered"] is False
    assert response["within_service_level"] is None  # overdue says it; see time_response
    # Not remembered yet (the caller sends first): asked again, the same answer.
    assert mark_overdue(conv, cid, late)[0] == flagged
    assert remember_overdue(conv, flagged) is True
    assert remember_overdue(conv, flagged) is False
    assert mark_overdue(conv, cid, late) == ([], [])
    # A late reply answers it and keeps the miss; the flag stays in the index.
    answer = respond(conv, reply("r", MONDAY_10 + timedelta(hours=5)), RULES)
    index = _index_after([Outcome(question, updates, []), answer])
    response = index[question.message_id]["response"]
    assert response["answered"] is True and response["within_service_level"] is False
    assert response["overdue"] is True


def test_a_redelivered_overdue_message_restores_its_flag() -> None:
    conv = Conversation()
    message = inbound("q", MONDAY_10)
    respond(conv, message, RULES)
    flagged, _ = mark_overdue(conv, message.conversation_id, MONDAY_10 + timedelta(days=1))
    remember_overdue(conv, flagged)
    again = respond(conv, message, RULES)
    assert again.message.response is not None and not again.message.response.answered
    assert [type(u) for u in again.updates] == [OverdueUpdate]


@pytest.mark.parametrize("flag_lands_last", [True, False])
def test_an_overdue_flag_racing_an_answer_never_undoes_it(flag_lands_last: bool) -> None:
    """The timer decides on a state read before the agent answers; its flag may land last."""
    conv = Conversation()
    question = respond(conv, inbound("q", MONDAY_10), RULES).message
    flagged, flags = mark_overdue(conv, question.conversation_id, MONDAY_10 + timedelta(days=1))
    assert flagged and all(isinstance(u, OverdueUpdate) for u in flags)
    answer = respond(conv, reply("r", MONDAY_10 + timedelta(minutes=30)), RULES).updates
    index = {question.message_id: question.model_dump(mode="json")}
    for update in [*answer, *flags] if flag_lands_last else [*flags, *answer]:
        _apply(index, update)
    response = index[question.message_id]["response"]
    assert response["answered"] is True and response["within_service_level"] is True
    assert response["first_reply_id"] is not None and response["overdue"] is True


def test_messages_expecting_no_reply_are_never_flagged() -> None:
    conv = Conversation()
    thanks = inbound("t", MONDAY_10, urgency="laag", intent="compliment")
    respond(conv, thanks, RULES)
    later = MONDAY_10 + timedelta(days=30)
    assert mark_overdue(conv, thanks.conversation_id, later) == ([], [])


# Found in review: links that change must leave nothing stale behind -----------------------


def test_un_answering_a_message_clears_its_old_reply_fields() -> None:
    """B's message is answered by a reply naming A's message, until A's message arrives."""
    conv = Conversation()
    outcomes = [
        respond(conv, inbound("b1", MONDAY_10 + timedelta(minutes=5), author="B"), RULES),
        respond(conv, reply("r1", MONDAY_10 + timedelta(minutes=30), to="a1"), RULES),
        respond(conv, inbound("a1", MONDAY_10, author="A"), RULES),
    ]
    b = _index_after(outcomes)[outcomes[0].message.message_id]["response"]
    assert b["answered"] is False
    assert b["first_reply_id"] is None and b["first_reply_at"] is None
    assert b["wall_minutes"] is None and b["within_service_level"] is None


def test_an_answered_message_expecting_no_reply_survives_the_wire() -> None:
    conv = Conversation()
    respond(conv, inbound("t", MONDAY_10, urgency="laag", intent="compliment"), RULES)
    [update] = response_updates(respond(conv, reply("r", MONDAY_10 + timedelta(days=2)), RULES))
    assert parse_routed(update.to_json()) == update  # None minutes and due time are required


def test_a_reply_naming_a_pruned_message_still_answers_only_its_author(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(responses, "MAX_ENTRIES", 3)
    conv = Conversation()
    respond(conv, inbound("a1", MONDAY_10, author="A"), RULES)
    respond(conv, reply("r1", MONDAY_10 + timedelta(minutes=5), to="a1"), RULES)
    for n, who in enumerate("BCD"):
        respond(conv, inbound(f"{who}1", MONDAY_10 + timedelta(minutes=10 + n), author=who), RULES)
    assert len(conv.inbound) == 3  # a1 was pruned
    out = respond(conv, reply("r2", MONDAY_10 + timedelta(minutes=30), to="a1"), RULES)
    assert out.message.answers == []
    assert sorted(e.author for e in conv.unanswered()) == ["B", "C", "D"]
    assert Conversation.from_json(conv.to_json()) == conv


def test_old_state_without_authors_is_not_one_resident() -> None:
    conv = Conversation()
    respond(conv, inbound("a1", MONDAY_10, author="A"), RULES)
    respond(conv, inbound("b1", MONDAY_10 + timedelta(minutes=1), author="B"), RULES)
    data = json.loads(conv.to_json())
    for entry in data["inbound"].values():
        entry["author"] = ""  # as stored before authors were kept
    old = Conversation.from_json(json.dumps(data))
    out = respond(old, reply("r", MONDAY_10 + timedelta(minutes=30), to="a1"), RULES)
    assert len(out.message.answers) == 1
    assert len(old.unanswered()) == 1


def test_a_message_answered_again_is_observed_once() -> None:
    """The histogram cannot take back B's first, narrowed answer: it keeps that one."""
    conv = Conversation()
    observed = []
    for message in (
        inbound("b1", MONDAY_10 + timedelta(minutes=5), author="B"),
        reply("r1", MONDAY_10 + timedelta(minutes=30), to="a1"),
        inbound("a1", MONDAY_10, author="A"),
        reply("r3", MONDAY_10 + timedelta(minutes=60), to="b1"),
    ):
        observed += [e.author for e in respond(conv, message, RULES).newly_answered]
    assert sorted(observed) == ["A", "B"]
