import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.dedupe import Delivery, classify_delivery
from ingest.events import Direction, Message, conversation_id_for, message_id_for
from ingest.normalise import load_own_accounts, normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError, sources

PAYLOADS = Path(__file__).parent.parent / "payloads"
PAGE = "104000000000001"
IG_ACCOUNT = "17841400000000001"
POST = "104000000000001_1186000000003907"
COMMENT = "1186000000003907_1190000000000311"
MESSENGER_USER = "7301000000000451"
IG_USER = "1140000000000958"
RESIDENT_IDS = [
    "8123400000000052",
    "8123400000000017",
    "8123400000000089",
    MESSENGER_USER,
    "1140000000000731",
    IG_USER,
    "31600000101",
    "31600000102",
    "31600000103",
    "31600000104",
]

CTX = NormaliseContext(
    pseudonym_secret=b"k",
    ingested_at=datetime(2026, 12, 1, tzinfo=UTC),
    own_accounts=load_own_accounts(),  # the shipped file: fixtures use the same ids
)


def fixture(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def run(body: Any) -> list[Message]:
    text = body if isinstance(body, str) else json.dumps(body)
    record = RawRecord(source="meta/v1", received_at=datetime(2026, 12, 1, tzinfo=UTC), body=text)
    return normalise(record, CTX)


def run_file(name: str) -> list[Message]:
    return run((PAYLOADS / name).read_text())  # the bytes exactly as Meta would POST them


def test_meta_v1_is_registered() -> None:
    assert "meta/v1" in sources()


@pytest.mark.parametrize(
    "name",
    sorted(
        str(p.relative_to(PAYLOADS))
        for folder in ("meta", "instagram", "whatsapp")
        for p in (PAYLOADS / folder).glob("*.json")
    ),
)
def test_no_raw_author_id_leaves_ingest(name: str) -> None:
    for message in run_file(name):
        assert message.source == "meta/v1"
        assert message.received_at.tzinfo is UTC
        serialised = message.to_json().decode()
        assert not [rid for rid in RESIDENT_IDS if rid in serialised]


# --- Facebook Page feed -----------------------------------------------------------------


def test_visitor_post_starts_a_conversation() -> None:
    [message] = run_file("meta/page_feed_visitor_post.json")
    assert message.channel == "facebook"
    assert message.platform_message_id == "104000000000001_1187000000004821"
    assert message.platform_conversation_id == "104000000000001_1187000000004821"
    assert message.reply_to is None
    assert message.direction is Direction.INBOUND
    assert not message.author.is_municipality
    assert message.author.pseudonym == CTX.pseudonym("facebook", "8123400000000017")
    assert message.text.startswith("Goedemorgen gemeente, er ligt sinds vannacht een grote boom")
    assert message.attachments == []
    assert not message.deleted
    assert message.received_at == datetime(2026, 11, 16, 7, 42, 18, tzinfo=UTC)


def test_comment_joins_the_post_conversation() -> None:
    [message] = run_file("meta/page_feed_comment_add.json")
    assert message.platform_message_id == COMMENT
    assert message.platform_conversation_id == POST
    assert message.conversation_id == conversation_id_for("facebook", POST)
    assert message.reply_to == message_id_for("facebook", POST)
    assert message.direction is Direction.INBOUND
    assert message.text.startswith("De glasbak op de hoek Kerkstraat/Stationsplein")
    assert message.attachments == []
    assert not message.deleted
    assert message.received_at == datetime(2026, 11, 16, 8, 5, 31, tzinfo=UTC)


def test_edited_comment_is_an_edit_of_the_same_message() -> None:
    [added] = run_file("meta/page_feed_comment_add.json")
    [edited] = run_file("meta/page_feed_comment_edited.json")
    assert edited.message_id == added.message_id
    assert edited.conversation_id == added.conversation_id
    assert edited.text.endswith("(Update: inmiddels ligt er ook glas op de stoep.)")
    assert edited.received_at == added.received_at  # same document, same monthly index
    assert classify_delivery([added.content_hash], edited.content_hash) is Delivery.EDIT


def test_edit_verb_spelling_edit_is_accepted() -> None:
    body = fixture("meta/page_feed_comment_edited.json")
    body["entry"][0]["changes"][0]["value"]["verb"] = "edit"
    [message] = run(body)
    assert message.platform_message_id == COMMENT and "Update:" in message.text


def test_removed_comment_is_deleted_and_emptied() -> None:
    [added] = run_file("meta/page_feed_comment_add.json")
    [removed] = run_file("meta/page_feed_comment_remove.json")
    assert removed.message_id == added.message_id
    assert removed.conversation_id == added.conversation_id
    assert removed.deleted
    assert removed.text == "" and removed.attachments == []
    assert removed.direction is Direction.INBOUND
    # no created_time on a removal: dated by the notification (entry.time)
    assert removed.received_at == datetime(2026, 11, 16, 9, 30, 44, tzinfo=UTC)
    assert classify_delivery([added.content_hash], removed.content_hash) is Delivery.EDIT


@pytest.mark.parametrize("message_value", [None, ""])
def test_photo_only_comment(message_value: str | None) -> None:
    body = fixture("meta/page_feed_comment_photo_only.json")
    if message_value is not None:
        body["entry"][0]["changes"][0]["value"]["message"] = message_value  # README M2
    [message] = run(body)
    assert message.platform_message_id == "1186000000003907_1190000000000457"
    assert message.platform_conversation_id == POST
    assert message.text == ""
    assert message.attachments == ["image"]
    assert not message.deleted
    assert message.received_at == datetime(2026, 11, 17, 12, 11, 5, tzinfo=UTC)
    assert "scontent" not in message.to_json().decode()  # media URLs are not stored


def test_page_reply_comment_is_outbound_and_linked() -> None:
    body = fixture("meta/page_feed_comment_add.json")
    value = body["entry"][0]["changes"][0]["value"]
    value.update(
        {
            "from": {"id": PAGE, "name": "Gemeente Vennebroek"},
            "comment_id": "1186000000003907_1190000000000999",
            "parent_id": COMMENT,
            "message": "Dank voor je melding, we sturen vandaag een wagen.",
        }
    )
    [reply] = run(body)
    [resident] = run_file("meta/page_feed_comment_add.json")
    assert reply.direction is Direction.OUTBOUND
    assert reply.author.is_municipality
    assert reply.reply_to == resident.message_id
    assert reply.conversation_id == resident.conversation_id


def test_post_by_an_own_account_other_than_the_page_is_outbound() -> None:
    ctx = NormaliseContext(b"k", CTX.ingested_at, {"facebook": frozenset({"555"})})
    body = fixture("meta/page_feed_visitor_post.json")
    body["entry"][0]["changes"][0]["value"]["from"]["id"] = "555"
    [message] = normalise(
        RawRecord(source="meta/v1", received_at=CTX.ingested_at, body=json.dumps(body)), ctx
    )
    assert message.direction is Direction.OUTBOUND and message.author.is_municipality


def test_legacy_sender_id_and_item_post() -> None:
    body = fixture("meta/page_feed_visitor_post.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["from"]
    value.update({"sender_id": "8123400000000017", "item": "post"})  # README M3
    [message] = run(body)
    assert message.author.pseudonym == CTX.pseudonym("facebook", "8123400000000017")
    assert message.platform_conversation_id == "104000000000001_1187000000004821"


@pytest.mark.parametrize(
    "change", [{"item": "reaction", "reaction_type": "like"}, {"verb": "hide"}]
)
def test_reactions_and_moderation_yield_nothing(change: dict[str, str]) -> None:
    body = fixture("meta/page_feed_comment_add.json")
    body["entry"][0]["changes"][0]["value"].update(change)
    assert run(body) == []


# --- Messenger --------------------------------------------------------------------------

THREAD = f"{PAGE}:{CTX.pseudonym('facebook', MESSENGER_USER)}"


@pytest.mark.parametrize(
    ("name", "text", "attachments", "received_at"),
    [
        (
            "meta/messenger_text.json",
            "Goedenavond, mijn paspoort verloopt in januari. Moet ik daarvoor een afspraak maken"
            " op het gemeentehuis en hoe lang duurt het voordat het nieuwe paspoort klaar is?",
            [],
            datetime(2026, 11, 18, 19, 2, 11, 482000, tzinfo=UTC),
        ),
        (
            "meta/messenger_image_only.json",
            "",
            ["image"],
            datetime(2026, 11, 18, 19, 3, 40, 117000, tzinfo=UTC),
        ),
        (
            "meta/messenger_emoji.json",
            "👍🙏🌳",
            [],
            datetime(2026, 11, 18, 19, 4, 2, 903000, tzinfo=UTC),
        ),
    ],
)
def test_messenger_messages(
    name: str, text: str, attachments: list[str], received_at: datetime
) -> None:
    [message] = run_file(name)
    mid = fixture(name)["entry"][0]["messaging"][0]["message"]["mid"]
    assert message.channel == "facebook"
    assert message.platform_message_id == mid
    assert message.platform_conversation_id == THREAD
    assert message.direction is Direction.INBOUND
    assert message.author.pseudonym == CTX.pseudonym("facebook", MESSENGER_USER)
    assert message.text == text
    assert message.attachments == attachments
    assert not message.deleted
    assert message.received_at == received_at  # milliseconds, not seconds


def echo(body: dict[str, Any], *, is_echo: bool = True) -> dict[str, Any]:
    event = body["entry"][0]["messaging"][0]
    event["sender"], event["recipient"] = event["recipient"], event["sender"]
    event["message"].update({"mid": "m_reply", "text": "Ja, maak een afspraak via de site."})
    event["message"]["reply_to"] = {
        "mid": fixture("meta/messenger_text.json")["entry"][0]["messaging"][0]["message"]["mid"]
    }
    if is_echo:
        event["message"]["is_echo"] = True
    return body


@pytest.mark.parametrize("is_echo", [True, False])
def test_messenger_echo_is_outbound_in_the_same_thread(is_echo: bool) -> None:
    [question] = run_file("meta/messenger_text.json")
    [answer] = run(echo(fixture("meta/messenger_text.json"), is_echo=is_echo))
    assert answer.direction is Direction.OUTBOUND
    assert answer.author.is_municipality
    assert answer.conversation_id == question.conversation_id
    assert answer.reply_to == question.message_id


def test_messenger_receipts_yield_nothing() -> None:
    body = fixture("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    del event["message"]
    event["read"] = {"watermark": 1795028531482}
    assert run(body) == []


def test_messenger_message_edit_replaces_the_text() -> None:
    [original] = run_file("meta/messenger_text.json")
    body = fixture("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    event["message_edit"] = {"mid": event.pop("message")["mid"], "text": "Nieuw", "num_edit": 1}
    [edited] = run(body)
    assert edited.message_id == original.message_id
    assert edited.conversation_id == original.conversation_id
    assert edited.text == "Nieuw"
    assert classify_delivery([original.content_hash], edited.content_hash) is Delivery.EDIT


# --- Instagram --------------------------------------------------------------------------


def test_instagram_comment() -> None:
    [message] = run_file("instagram/comments_change.json")
    assert message.channel == "instagram"
    assert message.platform_message_id == "17900000000000123"
    assert message.platform_conversation_id == "18030000000000456"  # the media
    assert message.reply_to == message_id_for("instagram", "18030000000000456")
    assert message.direction is Direction.INBOUND
    assert message.author.pseudonym == CTX.pseudonym("instagram", "1140000000000731")
    assert message.text.startswith("Hi! I just moved to De Horst.")
    assert message.attachments == [] and not message.deleted
    assert message.received_at == datetime(2026, 11, 20, 10, 15, 9, tzinfo=UTC)


def test_instagram_flat_field_value_shape_gives_the_same_message() -> None:
    body = fixture("instagram/comments_change.json")
    entry = body["entry"][0]
    [change] = entry.pop("changes")
    entry.update(change)  # Instagram Login: entry[].field / entry[].value (README I1)
    [flat] = run(body)
    [nested] = run_file("instagram/comments_change.json")
    assert flat == nested


def test_instagram_comment_reply_and_own_reply() -> None:
    body = fixture("instagram/comments_change.json")
    value = body["entry"][0]["changes"][0]["value"]
    value.update(
        {"id": "17900000000000124", "parent_id": "17900000000000123", "text": "Yes, it is free."}
    )
    value["from"] = {"id": IG_ACCOUNT, "username": "gemeentevennebroek"}
    [reply] = run(body)
    [question] = run_file("instagram/comments_change.json")
    assert reply.direction is Direction.OUTBOUND and reply.author.is_municipality
    assert reply.reply_to == question.message_id
    assert reply.conversation_id == question.conversation_id


def test_instagram_mention_is_kept_without_text() -> None:
    [message] = run_file("instagram/mentions_change.json")
    assert message.platform_message_id == "17900000000000789"
    assert message.platform_conversation_id == "18040000000000312"
    assert message.direction is Direction.INBOUND
    assert message.text == "" and message.attachments == [] and not message.deleted
    assert message.received_at == datetime(2026, 11, 20, 16, 40, 51, tzinfo=UTC)


def test_instagram_caption_mention_uses_the_media_id() -> None:
    body = fixture("instagram/mentions_change.json")
    del body["entry"][0]["changes"][0]["value"]["comment_id"]
    [message] = run(body)
    assert message.platform_message_id == message.platform_conversation_id == "18040000000000312"


@pytest.mark.parametrize(
    ("name", "text", "attachments", "received_at"),
    [
        (
            "instagram/messaging_text.json",
            "Hoi! De ondergrondse container voor restafval in De Horst (bij het speeltuintje aan"
            " de Horsterweide) zit al sinds zaterdag vol. Er staan nu zakken naast.",
            [],
            datetime(2026, 11, 21, 9, 12, 30, 644000, tzinfo=UTC),
        ),
        (
            "instagram/messaging_attachment.json",
            "",
            ["image"],
            datetime(2026, 11, 21, 9, 13, 5, 37000, tzinfo=UTC),
        ),
    ],
)
def test_instagram_direct_messages(
    name: str, text: str, attachments: list[str], received_at: datetime
) -> None:
    [message] = run_file(name)
    assert message.channel == "instagram"
    assert (
        message.platform_message_id == fixture(name)["entry"][0]["messaging"][0]["message"]["mid"]
    )
    assert message.platform_conversation_id == f"{IG_ACCOUNT}:{CTX.pseudonym('instagram', IG_USER)}"
    assert message.direction is Direction.INBOUND
    assert message.text == text
    assert message.attachments == attachments
    assert not message.deleted
    assert message.received_at == received_at


def test_instagram_unsent_message_is_deleted() -> None:
    body = fixture("instagram/messaging_text.json")
    message_body = body["entry"][0]["messaging"][0]["message"]
    del message_body["text"]
    message_body["is_deleted"] = True
    [message] = run(body)
    [original] = run_file("instagram/messaging_text.json")
    assert message.deleted and message.text == "" and message.message_id == original.message_id


# --- Batching ---------------------------------------------------------------------------


def test_batched_delivery_yields_every_message_in_order() -> None:
    comment = fixture("meta/page_feed_comment_add.json")["entry"][0]
    visitor = fixture("meta/page_feed_visitor_post.json")["entry"][0]
    comment["changes"] += visitor["changes"]  # two changes in one entry
    messenger = [
        fixture(f"meta/{name}.json")["entry"][0]
        for name in ("messenger_text", "messenger_image_only")
    ]
    messenger[0]["messaging"] += messenger[1]["messaging"]  # two events in one entry
    body = {"object": "page", "entry": [comment, messenger[0]]}
    messages = run(body)
    assert [m.platform_message_id[:20] for m in messages] == [
        COMMENT[:20],
        "104000000000001_1187",
        "m_abzrpBYAuf3tgEc3z6",
        "m_K2AN18foIsGviEaM7c",
    ]


def test_array_wrapped_delivery_as_in_meta_examples() -> None:
    body = [fixture("instagram/comments_change.json"), fixture("instagram/messaging_text.json")]
    assert [m.channel for m in run(body)] == ["instagram", "instagram"]
    assert len({m.message_id for m in run(body)}) == 2


# --- Broken payloads --------------------------------------------------------------------


def broken(name: str, edit: Any) -> Any:
    body = copy.deepcopy(fixture(name))
    edit(body)
    return body


def _value(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return value


def _event(body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = body["entry"][0]["messaging"][0]
    return event


FEED = "meta/page_feed_comment_add.json"
DM = "meta/messenger_text.json"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "malformed JSON"),
        ("42", "expected a JSON object with 'object' and 'entry', got int"),
        ("[]", "got an empty list"),
        ({"object": "telegram", "entry": []}, "unknown Meta webhook object 'telegram'"),
        ({"entry": []}, "unknown Meta webhook object None"),
        ({"object": "page"}, "'entry' is missing or not a list"),
        ({"object": "page", "entry": {}}, "'entry' is missing or not a list"),
        ({"object": "page", "entry": []}, "empty 'entry' list"),
        ({"object": "page", "entry": ["x"]}, r"page entry\[0\]: expected an object, got str"),
        (
            {"object": "page", "entry": [{"id": PAGE, "time": 1}]},
            r"entry has no 'changes', 'field'/'value' or 'messaging' \(keys: id, time\)",
        ),
        (broken(FEED, lambda b: b["entry"][0].pop("id")), "'id' is missing"),
        (
            broken(FEED, lambda b: b["entry"][0]["changes"][0].update(field="ratings")),
            r"changes\[0\]: unsupported facebook change field 'ratings'",
        ),
        (
            broken(FEED, lambda b: b["entry"][0]["changes"][0].pop("value")),
            "'value' is missing or not an object",
        ),
        (
            broken(FEED, lambda b: _value(b).pop("comment_id")),
            r"feed: field 'comment_id' is missing",
        ),
        (broken(FEED, lambda b: _value(b).update(item="event")), "unsupported feed item 'event'"),
        (broken(FEED, lambda b: _value(b).update(verb="update")), "unsupported feed verb 'update'"),
        (broken(FEED, lambda b: _value(b).pop("from")), r"has no author \('from.id'"),
        (broken(FEED, lambda b: _value(b).update(message=["x"])), "'message' must be a string"),
        (broken(FEED, lambda b: _value(b).pop("message")), "neither 'message' nor a photo"),
        (
            broken(FEED, lambda b: _value(b).update(created_time="yesterday")),
            "'created_time' is not a timestamp",
        ),
        (
            broken(FEED, lambda b: _value(b).update(created_time=[1])),
            "'created_time' is missing or not an epoch time",
        ),
        (
            broken(FEED, lambda b: _value(b).update(created_time=10**30)),
            "not a plausible epoch time",
        ),
        (broken(DM, lambda b: _event(b)["message"].pop("mid")), r"messaging\[0\]: field 'mid'"),
        (
            broken(DM, lambda b: _event(b).pop("sender")),
            "field 'sender' is missing or not an object",
        ),
        (
            broken(DM, lambda b: _event(b).update(timestamp="soon")),
            "'timestamp' is not a timestamp",
        ),
        (
            broken(DM, lambda b: _event(b)["message"].update(attachments={"type": "image"})),
            "'attachments' must be a list",
        ),
        (
            broken(DM, lambda b: _event(b)["message"].update(text="", attachments=[{}])),
            r"attachments\[0\]: field 'type' is missing",
        ),
        (
            broken(DM, lambda b: _event(b).update(message="hallo")),
            "'message' is missing or not an object",
        ),
        (
            broken(DM, lambda b: _event(b).update(message={"mid": "m_1"})),
            "neither 'text' nor 'attachments'",
        ),
        (
            broken(DM, lambda b: _event(b).update(poll=_event(b).pop("message"))),
            r"not a known receipt or action \(keys: poll, recipient, sender, timestamp\)",
        ),
        (
            broken(
                "instagram/comments_change.json",
                lambda b: b["entry"][0]["changes"][0].update(field="story_insights"),
            ),
            "unsupported instagram change field 'story_insights'",
        ),
        (
            broken("instagram/comments_change.json", lambda b: _value(b).pop("media")),
            "comments: field 'media' is missing or not an object",
        ),
        (
            broken("instagram/comments_change.json", lambda b: _value(b).update(text=None)),
            "comment '17900000000000123' has no 'text'",
        ),
        (
            broken("instagram/mentions_change.json", lambda b: _value(b).pop("media_id")),
            r"mentions: field 'media_id' is missing",
        ),
    ],
)
def test_broken_payloads_raise_a_useful_reason(body: Any, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        run(body)
