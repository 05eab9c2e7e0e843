import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.events import Direction, Message, message_id_for
from ingest.normalise import load_own_accounts, normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError, get_normaliser, sources

PAYLOADS = Path(__file__).parents[1] / "payloads" / "x"
CTX = NormaliseContext(
    pseudonym_secret=b"test-key",
    ingested_at=datetime(2026, 12, 3, tzinfo=UTC),
    own_accounts=load_own_accounts(),  # the shipped file: @gem_vennebroek is 1400000000000000001
)
OWN = "1400000000000000001"
FENNA = "1650000000000000123"  # wrote the fallen-tree mention
RUUD = "1720000000000000456"  # sent the DM
MENTION = "2127662519387639808"
OWN_REPLY = "2127674744449335296"
ACTIVITY, V2 = "x-activity/v1", "x-v2/v1"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def run(source: str, payload: Any) -> list[Message]:
    return get_normaliser(source)(payload, CTX)


def by_id(messages: list[Message]) -> dict[str, Message]:
    return {m.platform_message_id: m for m in messages}


def test_both_formats_are_registered_and_reachable_from_raw_bytes() -> None:
    assert {ACTIVITY, V2} <= set(sources())
    body = (PAYLOADS / "account_activity_tweet_create.json").read_text(encoding="utf-8")
    record = RawRecord(source=ACTIVITY, received_at=CTX.ingested_at, body=body)
    assert [m.platform_message_id for m in normalise(record, CTX)] == [MENTION]


def test_activity_mention_is_an_inbound_tweet_opening_its_conversation() -> None:
    [message] = run(ACTIVITY, fixture("account_activity_tweet_create.json"))
    assert message.channel == "twitter"
    assert message.message_id == message_id_for("twitter", MENTION)
    assert message.direction is Direction.INBOUND
    assert not message.author.is_municipality
    assert message.author.pseudonym == CTX.pseudonym("twitter", FENNA)
    assert message.platform_conversation_id == MENTION
    assert message.reply_to is None
    assert message.text.startswith("@gem_vennebroek Boom over het fietspad aan de Molenweg")
    assert message.lang == "nl"
    assert message.received_at == datetime(2026, 12, 1, 7, 14, 9, tzinfo=UTC)
    assert message.received_at.utcoffset() is not None
    assert message.local.hour == 8  # 07:14 UTC is 08:14 in Amsterdam in December
    assert message.source == ACTIVITY
    assert message.attachments == []


def test_activity_own_reply_is_outbound_and_linked_to_the_mention() -> None:
    [mention] = run(ACTIVITY, fixture("account_activity_tweet_create.json"))
    [reply] = run(ACTIVITY, fixture("account_activity_own_reply.json"))
    assert reply.platform_message_id == OWN_REPLY
    assert reply.direction is Direction.OUTBOUND
    assert reply.author.is_municipality
    assert reply.reply_to == mention.message_id
    assert reply.conversation_id == mention.conversation_id
    assert reply.platform_conversation_id == MENTION
    assert reply.received_at == datetime(2026, 12, 1, 8, 2, 44, tzinfo=UTC)


def test_activity_direct_message_from_a_resident() -> None:
    [dm] = run(ACTIVITY, fixture("account_activity_direct_message.json"))
    assert dm.platform_message_id == "2128225672911695872"
    assert dm.direction is Direction.INBOUND
    assert dm.author.pseudonym == CTX.pseudonym("twitter", RUUD)
    assert dm.text.startswith("Goedenavond, ik heb morgen om 10.00 uur een afspraak")
    assert dm.received_at == datetime(2026, 12, 2, 20, 31, 55, 600000, tzinfo=UTC)
    assert dm.lang is None  # DMs carry no language: enrich detects it
    assert dm.reply_to is None
    assert dm.platform_conversation_id.startswith("dm:")


def test_our_dm_answer_is_outbound_in_the_same_conversation() -> None:
    payload = fixture("account_activity_direct_message.json")
    answer = copy.deepcopy(payload)
    event = answer["direct_message_events"][0]
    event["id"] = "2128230000000000000"
    event["created_timestamp"] = "1796244000000"
    event["message_create"]["sender_id"] = OWN
    event["message_create"]["target"]["recipient_id"] = RUUD
    event["message_create"]["message_data"]["text"] = "Dat kan via vennebroek.example/afspraak."
    [question] = run(ACTIVITY, payload)
    [reply] = run(ACTIVITY, answer)
    assert reply.direction is Direction.OUTBOUND
    assert reply.author.is_municipality
    assert reply.author.pseudonym == CTX.pseudonym("twitter", OWN)
    assert reply.conversation_id == question.conversation_id


def test_a_dm_with_someone_else_is_another_conversation() -> None:
    payload = fixture("account_activity_direct_message.json")
    other = copy.deepcopy(payload)
    other["direct_message_events"][0]["message_create"]["sender_id"] = "1999"
    assert run(ACTIVITY, other)[0].conversation_id != run(ACTIVITY, payload)[0].conversation_id


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.json")))
def test_no_author_platform_id_leaves_the_normaliser(name: str) -> None:
    source = ACTIVITY if name.startswith("account_activity") else V2
    messages = run(source, fixture(name))
    assert messages
    author_ids = {OWN, FENNA, RUUD, "1580000000000000789", "1790000000000000321"}
    for message in messages:
        serialised = message.to_json().decode()
        assert not [uid for uid in author_ids if uid in serialised], message.platform_message_id


def test_v2_search_normalises_every_tweet() -> None:
    messages = by_id(run(V2, fixture("v2_search_with_includes.json")))
    assert set(messages) == {
        "2128086914621546496",
        OWN_REPLY,
        "2127669077452447744",
        MENTION,
    }
    english = messages["2128086914621546496"]
    assert english.lang == "en"
    assert english.direction is Direction.INBOUND
    assert english.platform_conversation_id == "2128086914621546496"
    assert english.reply_to is None
    assert english.received_at == datetime(2026, 12, 2, 11, 20, 33, tzinfo=UTC)

    own = messages[OWN_REPLY]
    assert own.direction is Direction.OUTBOUND and own.author.is_municipality
    assert own.reply_to == message_id_for("twitter", MENTION)

    neighbour = messages["2127669077452447744"]
    assert neighbour.direction is Direction.INBOUND
    assert neighbour.reply_to == message_id_for("twitter", MENTION)
    assert neighbour.text.startswith("@fhovenkamp_vb @gem_vennebroek Klopt")

    thread = {messages[i].conversation_id for i in (MENTION, OWN_REPLY, "2127669077452447744")}
    assert thread == {messages[MENTION].conversation_id}
    assert english.conversation_id not in thread
    assert all(m.source == V2 for m in messages.values())


def test_a_tweet_is_the_same_message_whichever_format_delivered_it() -> None:
    v2 = by_id(run(V2, fixture("v2_search_with_includes.json")))
    activity = by_id(
        run(ACTIVITY, fixture("account_activity_tweet_create.json"))
        + run(ACTIVITY, fixture("account_activity_own_reply.json"))
    )
    for tweet_id in (MENTION, OWN_REPLY):
        a, b = activity[tweet_id], v2[tweet_id]
        same = ("message_id", "conversation_id", "reply_to", "direction", "author", "text")
        assert [getattr(a, f) for f in same] == [getattr(b, f) for f in same]
        assert (a.received_at, a.content_hash) == (b.received_at, b.content_hash)


def test_v2_partial_errors_keep_the_tweets_that_were_found() -> None:
    messages = by_id(run(V2, fixture("v2_tweets_lookup_partial_error.json")))
    assert set(messages) == {MENTION, OWN_REPLY}
    assert messages[OWN_REPLY].direction is Direction.OUTBOUND
    assert messages[MENTION].direction is Direction.INBOUND


def test_v2_single_tweet_object() -> None:
    payload = fixture("v2_tweets_lookup_partial_error.json")
    [message] = run(V2, {"data": payload["data"][1]})
    assert message.platform_message_id == OWN_REPLY
    assert message.platform_conversation_id == MENTION


def test_v2_conversation_falls_back_to_the_replied_to_tweet_then_its_own_id() -> None:
    reply = fixture("v2_tweets_lookup_partial_error.json")["data"][1]
    del reply["conversation_id"]
    [message] = run(V2, {"data": reply})
    assert message.platform_conversation_id == MENTION
    del reply["referenced_tweets"]
    [message] = run(V2, {"data": reply})
    assert message.platform_conversation_id == OWN_REPLY
    assert message.reply_to is None


def test_v2_empty_search_result_yields_nothing() -> None:
    assert run(V2, {"meta": {"result_count": 0}}) == []


def test_v2_media_kinds_come_from_includes() -> None:
    tweet = fixture("v2_tweets_lookup_partial_error.json")["data"][0]
    tweet["attachments"] = {"media_keys": ["3_1", "7_2", "9_9"]}
    includes = {
        "media": [{"media_key": "3_1", "type": "photo"}, {"media_key": "7_2", "type": "video"}]
    }
    [message] = run(V2, {"data": [tweet], "includes": includes})
    assert message.attachments == ["image", "video", "media"]  # 9_9 was not expanded


def test_retweets_are_skipped_in_both_formats() -> None:
    tweet = fixture("v2_tweets_lookup_partial_error.json")["data"][0]
    retweet = {**tweet, "id": "2", "referenced_tweets": [{"type": "retweeted", "id": tweet["id"]}]}
    assert [m.platform_message_id for m in run(V2, {"data": [tweet, retweet]})] == [MENTION]
    delivery = fixture("account_activity_tweet_create.json")
    original = delivery["tweet_create_events"][0]
    delivery["tweet_create_events"].append(
        {**original, "id_str": "3", "retweeted_status": original}
    )
    assert [m.platform_message_id for m in run(ACTIVITY, delivery)] == [MENTION]


def test_activity_tweet_media_and_extended_text() -> None:
    delivery = fixture("account_activity_tweet_create.json")
    tweet = delivery["tweet_create_events"][0]
    tweet["truncated"] = True
    tweet["text"] = "@gem_vennebroek Boom over het fietspad…"
    tweet["extended_tweet"] = {
        "full_text": "@gem_vennebroek Boom over het fietspad aan de Molenweg, heel lang verhaal.",
        "extended_entities": {"media": [{"type": "photo"}, {"type": "animated_gif"}]},
    }
    [message] = run(ACTIVITY, delivery)
    assert message.text.endswith("heel lang verhaal.")
    assert message.attachments == ["image", "video"]


def test_activity_tweet_media_without_extended_tweet() -> None:
    delivery = fixture("account_activity_tweet_create.json")
    delivery["tweet_create_events"][0]["extended_entities"] = {
        "media": [{"type": "photo"}, {"type": "photo"}]
    }
    [message] = run(ACTIVITY, delivery)
    assert message.attachments == ["image", "image"]


def test_undetermined_language_is_left_for_detection() -> None:
    delivery = fixture("account_activity_tweet_create.json")
    delivery["tweet_create_events"][0]["lang"] = "und"
    [message] = run(ACTIVITY, delivery)
    assert message.lang is None


@pytest.mark.parametrize(
    "event",
    [
        "favorite_events",
        "follow_events",
        "tweet_delete_events",
        "direct_message_indicate_typing_events",
    ],
)
def test_event_kinds_without_a_message_yield_nothing(event: str) -> None:
    assert run(ACTIVITY, {"for_user_id": OWN, event: [{"id": "1"}]}) == []


def _activity(**changes: Any) -> dict[str, Any]:
    delivery = fixture("account_activity_tweet_create.json")
    delivery["tweet_create_events"][0].update(changes)
    return delivery


def _dm(**changes: Any) -> dict[str, Any]:
    delivery = fixture("account_activity_direct_message.json")
    delivery["direct_message_events"][0].update(changes)
    return delivery


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "expected a JSON object, got list"),
        ({"tweet_create_events": []}, "'for_user_id' is missing"),
        (
            {**fixture("account_activity_tweet_create.json"), "for_user_id": "42"},
            "for_user_id '42' is not one of our own twitter accounts",
        ),
        (
            {"for_user_id": OWN, "likes": []},
            r"no known Account Activity event .*keys besides for_user_id: likes",
        ),
        ({"for_user_id": OWN, "tweet_create_events": {}}, "tweet_create_events: expected a list"),
        (_activity(user=None), r"tweet_create_events\[0\]\.user: expected a JSON object"),
        (
            _activity(id_str=None, id=None),
            r"tweet_create_events\[0\]: field 'id_str' or 'id' is missing",
        ),
        (_activity(created_at="2026-12-01"), "not in the v1.1 format"),
        (_activity(text=None), r"tweet_create_events\[0\]: field 'text' is missing"),
        (_dm(type="message_delete"), "type 'message_delete' is not supported"),
        (_dm(created_timestamp="gisteren"), "created_timestamp: expected epoch milliseconds"),
        (_dm(message_create={"target": {}}), r"message_create: field 'sender_id' is missing"),
    ],
)
def test_bad_activity_deliveries_raise_with_a_reason(payload: Any, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        run(ACTIVITY, payload)


def _v2(**changes: Any) -> dict[str, Any]:
    tweet = fixture("v2_tweets_lookup_partial_error.json")["data"][0]
    tweet.update(changes)
    return {"data": [tweet]}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {"errors": fixture("v2_tweets_lookup_partial_error.json")["errors"]},
            r"only errors: Not Found Error: Could not find tweet with ids",
        ),
        ({"includes": {}}, "no 'data' in the response"),
        ({"meta": {"result_count": 3}}, "no 'data' in the response"),
        ({"data": "nope"}, "data: expected a list"),
        ({"data": [1]}, r"data\[0\]: expected a JSON object"),
        (_v2(author_id=None), r"'author_id' is missing \(request tweet.fields=author_id\)"),
        (_v2(created_at=None), r"'created_at' is missing \(request tweet.fields=created_at\)"),
        (_v2(created_at="2026-12-01T07:14:09"), "has no UTC offset"),
        (_v2(text=5), r"data\[0\]: field 'text' is missing or not a string"),
        (_v2(referenced_tweets=[{"type": "replied_to"}]), r"referenced_tweets\[0\]: field 'id'"),
    ],
)
def test_bad_v2_responses_raise_with_a_reason(payload: Any, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        run(V2, payload)
