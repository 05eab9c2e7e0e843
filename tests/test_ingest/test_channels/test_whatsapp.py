import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.events import Direction, Message, message_id_for
from ingest.normalise import load_own_accounts, normalise
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError

PAYLOADS = Path(__file__).parent.parent / "payloads" / "whatsapp"
OWN_NUMBER = "31850000001"

CTX = NormaliseContext(
    pseudonym_secret=b"k",
    ingested_at=datetime(2026, 12, 1, tzinfo=UTC),
    own_accounts=load_own_accounts(),
)
NO_OWN_ACCOUNTS = NormaliseContext(pseudonym_secret=b"k", ingested_at=CTX.ingested_at)


def fixture(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def run(body: Any, ctx: NormaliseContext = CTX) -> list[Message]:
    text = body if isinstance(body, str) else json.dumps(body)
    record = RawRecord(source="meta/v1", received_at=ctx.ingested_at, body=text)
    return normalise(record, ctx)


def run_file(name: str) -> list[Message]:
    return run((PAYLOADS / name).read_text())


def customer(wa_id: str) -> str:
    """The conversation is the customer; their number only appears pseudonymised."""
    return CTX.pseudonym("whatsapp", wa_id)


def _message(body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = body["entry"][0]["changes"][0]["value"]["messages"][0]
    return message


def test_text_message() -> None:
    [message] = run_file("text_message.json")
    assert message.channel == "whatsapp"
    assert (
        message.platform_message_id
        == "wamid.HBgLMzE2MDAwMDAxMDEVAgASGBRCRjkxMjk0MjUwMjAxOTZEQzQ1RAA="
    )
    assert message.platform_conversation_id == customer("31600000101")
    assert message.direction is Direction.INBOUND
    assert not message.author.is_municipality
    assert message.author.pseudonym == CTX.pseudonym("whatsapp", "31600000101")
    assert message.text.startswith("Goedemorgen, de containers voor papier en plastic")
    assert message.attachments == []
    assert not message.deleted
    assert message.received_at == datetime(2026, 11, 23, 7, 31, 12, tzinfo=UTC)
    assert "31600000101" not in message.to_json().decode()


@pytest.mark.parametrize(
    ("name", "text", "attachments", "received_at"),
    [
        (
            "image_with_caption.json",
            "Omgewaaide boom Molenweg 14, blokkeert het fietspad",
            ["image"],
            datetime(2026, 11, 24, 13, 5, 47, tzinfo=UTC),
        ),
        (
            "image_without_caption.json",
            "",
            ["image"],
            datetime(2026, 11, 24, 13, 6, 2, tzinfo=UTC),
        ),
        (
            "location_message.json",
            "Molenweg 14, Vennebroek",
            ["location"],
            datetime(2026, 11, 24, 13, 6, 40, tzinfo=UTC),
        ),
    ],
)
def test_media_and_location(
    name: str, text: str, attachments: list[str], received_at: datetime
) -> None:
    [message] = run_file(name)
    assert message.platform_message_id == _message(fixture(name))["id"]
    assert message.platform_conversation_id == customer("31600000102")
    assert message.direction is Direction.INBOUND
    assert message.text == text
    assert message.attachments == attachments
    assert not message.deleted
    assert message.received_at == received_at
    assert "lookaside" not in message.to_json().decode()  # media URLs are not stored


def test_location_name_and_address_are_both_kept_when_distinct() -> None:
    body = fixture("location_message.json")
    _message(body)["location"].update(name="Gemeentewerf", address="Molenweg 14, Vennebroek")
    [message] = run(body)
    assert message.text == "Gemeentewerf, Molenweg 14, Vennebroek"


def test_location_without_name_or_address_keeps_the_attachment() -> None:
    body = fixture("location_message.json")
    _message(body)["location"] = {"latitude": 52.1843, "longitude": 6.2071}
    [message] = run(body)
    assert message.text == "" and message.attachments == ["location"]
    assert "52.1843" not in message.to_json().decode()


@pytest.mark.parametrize("name", ["status_only.json", "status_read.json", "status_sent.json"])
def test_status_only_delivery_is_an_empty_list(name: str) -> None:
    assert run_file(name) == []


def test_batched_delivery_yields_all_messages_and_no_status() -> None:
    messages = run_file("batched_multi_entry.json")
    body = fixture("batched_multi_entry.json")
    status_id = body["entry"][1]["changes"][0]["value"]["statuses"][0]["id"]
    assert [m.platform_message_id for m in messages] == [
        m["id"] for m in body["entry"][0]["changes"][0]["value"]["messages"]
    ]
    assert status_id not in {m.platform_message_id for m in messages}
    assert [m.platform_conversation_id for m in messages] == [
        customer("31600000103"),
        customer("31600000104"),
        customer("31600000103"),
    ]
    assert [m.text[:12] for m in messages] == ["Hallo, ik wi", "Hi, I just m", "🙏🙏"]
    assert [m.received_at.second for m in messages] == [9, 13, 18]
    assert all(m.direction is Direction.INBOUND for m in messages)


def own_reply(body: dict[str, Any], sender: str = OWN_NUMBER) -> dict[str, Any]:
    message = _message(body)
    message.update(
        {
            "from": sender,
            "id": "wamid.reply",
            "text": {"body": "Dank u, we sturen vandaag iemand langs."},
            "context": {"from": "31600000101", "id": message["id"]},
        }
    )
    return body


def test_message_from_our_own_number_is_outbound_in_the_customer_conversation() -> None:
    [question] = run_file("text_message.json")
    [reply] = run(own_reply(fixture("text_message.json")))
    assert reply.direction is Direction.OUTBOUND
    assert reply.author.is_municipality
    assert reply.conversation_id == question.conversation_id
    assert reply.reply_to == question.message_id


def test_own_number_is_recognised_from_a_formatted_display_number() -> None:
    body = own_reply(fixture("text_message.json"))
    body["entry"][0]["changes"][0]["value"]["metadata"] = {
        "display_phone_number": "+31 85 000 0001",
        "phone_number_id": "106540352242922",  # opaque Graph id (README W1)
    }
    [reply] = run(body, NO_OWN_ACCOUNTS)
    assert reply.direction is Direction.OUTBOUND


def test_resident_reply_links_to_the_quoted_message() -> None:
    body = fixture("text_message.json")
    _message(body)["context"] = {"from": OWN_NUMBER, "id": "wamid.ours"}
    [message] = run(body)
    assert message.direction is Direction.INBOUND
    assert message.reply_to == message_id_for("whatsapp", "wamid.ours")


def test_message_without_contacts_still_normalises() -> None:
    body = fixture("text_message.json")
    del body["entry"][0]["changes"][0]["value"]["contacts"]  # wa_id may be omitted (README W3)
    [message] = run(body)
    assert message.platform_conversation_id == customer("31600000101")


def test_reaction_yields_nothing() -> None:
    body = fixture("text_message.json")
    message = _message(body)
    del message["text"]
    message.update(type="reaction", reaction={"message_id": "wamid.ours", "emoji": "👍"})
    assert run(body) == []


def test_whatsapp_via_the_meta_dispatcher_in_a_list() -> None:
    body = [fixture("text_message.json"), fixture("status_only.json")]
    assert [m.channel for m in run(body)] == ["whatsapp"]


def broken(edit: Any, name: str = "text_message.json") -> Any:
    body = copy.deepcopy(fixture(name))
    edit(body)
    return body


def _value(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return value


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (broken(lambda b: b.update(entry=[])), "delivery has an empty 'entry' list"),
        (
            broken(lambda b: b["entry"][0].pop("changes")),
            r"whatsapp entry\[0\]: field 'changes' is missing",
        ),
        (
            broken(lambda b: b["entry"][0]["changes"][0].update(field="account_update")),
            r"changes\[0\]: unsupported WhatsApp change field 'account_update'",
        ),
        (
            broken(lambda b: _value(b).pop("messages")),
            r"none of 'messages', 'statuses' or 'errors' \(keys: contacts, messaging_product, metadata\)",
        ),
        (broken(lambda b: _value(b).update(messages={})), "'messages' is missing or not a list"),
        (broken(lambda b: _value(b).update(messages=[1])), r"messages\[0\]: expected an object"),
        (broken(lambda b: _message(b).pop("id")), r"messages\[0\]: field 'id' is missing"),
        (broken(lambda b: _message(b).pop("from")), "field 'from' is missing"),
        (
            broken(lambda b: _message(b).update(timestamp="soon")),
            "'timestamp' must be epoch seconds",
        ),
        (
            broken(lambda b: _message(b).update(type="order")),
            "unsupported WhatsApp message type 'order'",
        ),
        (broken(lambda b: _message(b).update(text="hallo")), "'text' is missing or not an object"),
        (broken(lambda b: _message(b).update(text={"body": 5})), "'body' must be a string"),
        (broken(lambda b: _message(b).update(text={"body": " "})), "neither text nor attachments"),
        (
            broken(lambda b: _message(b).update(image="x"), "image_with_caption.json"),
            "'image' is missing or not an object",
        ),
        (
            broken(lambda b: _value(b).update(statuses="delivered"), "status_only.json"),
            "'statuses' is missing or not a list",
        ),
        (
            broken(lambda b: (_message(b).update({"from": OWN_NUMBER}), _value(b).pop("contacts"))),
            "from our own number but names no customer",
        ),
    ],
)
def test_broken_payloads_raise_a_useful_reason(body: Any, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        run(body)
