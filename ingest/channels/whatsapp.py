"""WhatsApp Business Cloud API webhook deliveries, the WhatsApp part of source format 'meta/v1'.

Meta POSTs them to /webhooks/meta; :mod:`ingest.channels.meta` registers 'meta/v1' and hands
``"object": "whatsapp_business_account"`` deliveries to :func:`normalise_whatsapp`::

    {"object": "whatsapp_business_account", "entry": [{"id": "<WABA id>", "changes": [
        {"field": "messages", "value": {
            "metadata": {"display_phone_number": "31850000001", "phone_number_id": "..."},
            "contacts": [{"wa_id": "316...", "profile": {"name": "..."}}],
            "messages": [{"from": "316...", "id": "wamid...", "timestamp": "1795419072",
                          "type": "text", "text": {"body": "..."}}],
            "statuses": [...]}}]}]}

Documentation: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
(and its ``/image``, ``/location`` and ``/status`` pages); shapes cross-checked against
david-lev/pywa's captured ``tests/data/updates``. See tests/test_ingest/payloads/README.md (W1-W4).

``statuses[]`` report delivery of *our* messages (sent, delivered, read): they are not resident
messages and yield nothing, so a status-only delivery normalises to an empty list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from ingest.channels.fields import array, at, obj, optional_str, required_str
from ingest.events import Author, Direction, Message
from ingest.registry import NormaliseContext, NormaliseError

__all__ = ["normalise_whatsapp"]

SOURCE = "meta/v1"
CHANNEL: Final = "whatsapp"

_MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
_SKIPPED_TYPES = frozenset({"reaction"})
"""An emoji reaction to an earlier message: no new content from the resident."""


def _timestamp(record: dict[str, Any], key: str) -> datetime:
    """WhatsApp sends epoch seconds as a string ("1795419072"); accept a number too."""
    value = record.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise NormaliseError(f"field {key!r} must be epoch seconds, got {value!r}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise NormaliseError(f"field {key!r} is not a plausible epoch time: {value!r}") from None


def _digits(value: str) -> str:
    # display_phone_number may be formatted ("+31 85 000 0001"); wa_ids are digits only (W1).
    return "".join(ch for ch in value if ch.isdigit())


def normalise_whatsapp(payload: dict[str, Any], ctx: NormaliseContext) -> list[Message]:
    """All resident (and own) messages of one delivery, in order; statuses yield nothing.

    :param payload: the parsed body, whose ``object`` is ``whatsapp_business_account``.
    :raises NormaliseError: naming the entry, change or message that has an unexpected shape.
    """
    messages: list[Message] = []
    entries = array(payload, "entry")
    if not entries:
        raise NormaliseError("whatsapp_business_account delivery has an empty 'entry' list")
    for e, entry in enumerate(entries):
        with at(f"whatsapp entry[{e}]"):
            if not isinstance(entry, dict):
                raise NormaliseError(f"expected an object, got {type(entry).__name__}")
            for c, change in enumerate(array(entry, "changes")):
                with at(f"changes[{c}]"):
                    messages.extend(_change(change, ctx))
    return messages


def _change(change: Any, ctx: NormaliseContext) -> list[Message]:
    if not isinstance(change, dict):
        raise NormaliseError(f"expected an object, got {type(change).__name__}")
    field = change.get("field")
    if field != "messages":
        raise NormaliseError(
            f"unsupported WhatsApp change field {field!r}; only 'messages' is normalised "
            "(unsubscribe the app from other fields or extend ingest/channels/whatsapp.py)"
        )
    value = obj(change, "value")
    if not any(key in value for key in ("messages", "statuses", "errors")):
        raise NormaliseError(
            "value has none of 'messages', 'statuses' or 'errors' "
            f"(keys: {', '.join(sorted(value)) or 'none'})"
        )
    if "statuses" in value:
        array(value, "statuses")  # delivery reports of our own messages: checked, not ingested
    if "messages" not in value:
        return []
    metadata = value.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise NormaliseError("field 'metadata' must be an object")
    own_numbers = {
        _digits(n)
        for n in (metadata.get("display_phone_number"), metadata.get("phone_number_id"))
        if isinstance(n, str) and _digits(n)
    }
    contacts = value.get("contacts") or []
    if not isinstance(contacts, list):
        raise NormaliseError("field 'contacts' must be a list")
    wa_ids = [
        c["wa_id"] for c in contacts if isinstance(c, dict) and isinstance(c.get("wa_id"), str)
    ]
    result: list[Message] = []
    for m, raw in enumerate(array(value, "messages")):
        with at(f"messages[{m}]"):
            message = _message(raw, ctx, own_numbers, wa_ids)
            if message is not None:
                result.append(message)
    return result


def _message(
    raw: Any, ctx: NormaliseContext, own_numbers: set[str], wa_ids: list[str]
) -> Message | None:
    if not isinstance(raw, dict):
        raise NormaliseError(f"expected an object, got {type(raw).__name__}")
    platform_id = required_str(raw, "id")
    sender = required_str(raw, "from")
    kind = required_str(raw, "type")
    if kind in _SKIPPED_TYPES:
        return None
    text, attachments = _content(raw, kind)
    if not text.strip() and not attachments:
        raise NormaliseError(f"{kind} message {platform_id!r} has neither text nor attachments")
    outbound = _digits(sender) in own_numbers or ctx.is_own_account(CHANNEL, sender)
    if outbound:
        # Our own number wrote it: the conversation is the customer's. Cloud API echoes name
        # them in 'to'; otherwise the delivery's single contact is the customer.
        customer = raw.get("to") if isinstance(raw.get("to"), str) else None
        if customer is None and len(set(wa_ids)) == 1:
            customer = wa_ids[0]
        if not customer:
            raise NormaliseError(
                f"message {platform_id!r} is from our own number but names no customer "
                "('to', or exactly one contacts[].wa_id)"
            )
    else:
        customer = sender  # 'from' is the customer's wa_id (contacts[].wa_id may be omitted, W3)
    context = raw.get("context")
    reply_to = context.get("id") if isinstance(context, dict) else None
    return Message.create(
        channel=CHANNEL,
        platform_message_id=platform_id,
        # The conversation is the customer, but a wa_id is a phone number: pseudonymise it.
        platform_conversation_id=ctx.pseudonym(CHANNEL, customer),
        reply_to_platform_id=reply_to if isinstance(reply_to, str) and reply_to else None,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=Author(pseudonym=ctx.pseudonym(CHANNEL, sender), is_municipality=outbound),
        text=text,
        attachments=attachments,
        received_at=_timestamp(raw, "timestamp"),
        ingested_at=ctx.ingested_at,
        source=SOURCE,
    )


def _content(raw: dict[str, Any], kind: str) -> tuple[str, list[str]]:
    """Text and attachment kinds per message type; media content itself is never stored."""
    if kind == "text":
        return optional_str(obj(raw, "text"), "body"), []
    if kind in _MEDIA_TYPES:
        return optional_str(obj(raw, kind), "caption"), [kind]
    if kind == "location":
        # Coordinates are dropped (no canonical field); the name and address are what people read.
        location = obj(raw, "location")
        name = optional_str(location, "name").strip()
        address = optional_str(location, "address").strip()
        parts = [address] if name and name in address else [p for p in (name, address) if p]
        return ", ".join(parts), ["location"]
    if kind == "contacts":
        return "", ["contact"]  # a shared contact card: third-party data, not stored
    if kind == "interactive":
        interactive = obj(raw, "interactive")
        reply = interactive.get("button_reply") or interactive.get("list_reply")
        if not isinstance(reply, dict):
            raise NormaliseError("interactive message has no 'button_reply' or 'list_reply'")
        return optional_str(reply, "title"), []
    if kind == "button":
        return optional_str(obj(raw, "button"), "text"), []
    if kind == "unsupported":
        # WhatsApp could not pass the content on (e.g. a poll): keep that the resident wrote.
        return "", ["unsupported"]
    raise NormaliseError(
        f"unsupported WhatsApp message type {kind!r} "
        "(known: text, image, video, audio, document, sticker, location, contacts, "
        "interactive, button, reaction, unsupported)"
    )
