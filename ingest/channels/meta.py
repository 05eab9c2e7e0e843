"""'meta/v1': everything Meta POSTs to /webhooks/meta (Facebook Page, Messenger, Instagram, WhatsApp).

One source format, because one endpoint receives all four; the top-level ``object`` says which:

- ``"page"`` (channel facebook): ``entry[].changes[]`` with ``field: "feed"`` (posts and
  comments on the Page; ``item``/``verb`` say what happened) and ``entry[].messaging[]``
  (Messenger). https://developers.facebook.com/docs/graph-api/webhooks/reference/page/,
  https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages;
  feed shapes follow restfb/restfb's captured ``src/test/resources/json/webhooks`` fixtures.
- ``"instagram"`` (channel instagram): ``comments``/``live_comments`` and ``mentions`` changes,
  either as ``entry[].changes[]`` (Facebook Login) or flat ``entry[].field``/``entry[].value``
  (Instagram Login), and ``entry[].messaging[]`` DMs shaped like Messenger.
  https://developers.facebook.com/docs/instagram-platform/webhooks/examples/,
  https://developers.facebook.com/docs/graph-api/webhooks/reference/instagram
- ``"whatsapp_business_account"``: handed to :mod:`ingest.channels.whatsapp`.

Meta batches: one POST may hold several entries, each with several changes or messaging events;
all of them are returned, in order. Events that carry no resident content (reactions, read and
delivery receipts, moderation verbs such as ``hide``) yield nothing. Anything of an unknown
shape raises :class:`NormaliseError` naming where in the delivery it is. Notes on what the
documentation leaves open: tests/test_ingest/payloads/README.md (M1-M4, I1-I2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from ingest.channels.fields import array, at, obj, optional_str, required_str
from ingest.channels.whatsapp import normalise_whatsapp
from ingest.events import Author, Direction, Message
from ingest.registry import NormaliseContext, NormaliseError, normaliser

__all__ = ["normalise_meta"]

SOURCE = "meta/v1"

MetaChannel = Literal["facebook", "instagram"]
_CHANNELS: dict[str, MetaChannel] = {"page": "facebook", "instagram": "instagram"}

_FEED_POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})
_FEED_SKIPPED_ITEMS = frozenset({"reaction", "like"})
"""Reactions and likes carry no words from the resident."""
_FEED_ADD_VERBS = frozenset({"add"})
_FEED_EDIT_VERBS = frozenset({"edit", "edited"})  # both spellings occur (restfb issue 749)
_FEED_REMOVE_VERBS = frozenset({"remove", "delete"})
_FEED_SKIPPED_VERBS = frozenset({"hide", "unhide", "block", "unblock", "mute", "follow"})
"""Moderation by the Page itself: no new content, and the message stays what it was."""

_MESSAGING_SKIPPED = frozenset(
    {
        "delivery",
        "read",
        "reaction",
        "postback",
        "optin",
        "referral",
        "account_linking",
        "pass_thread_control",
        "take_thread_control",
        "request_thread_control",
        "app_roles",
        "policy_enforcement",
    }
)
"""Messaging events without resident text: receipts, reactions, button taps, handover."""

_UNKNOWN_MENTION_AUTHOR = "unknown-mention-author"
"""A mention notification names no author; all of them share this pseudonymous identity."""


def _nested_id(record: dict[str, Any], key: str) -> str:
    nested = obj(record, key)
    with at(key):
        return required_str(nested, "id")


def _time(record: dict[str, Any], key: str) -> datetime:
    """An epoch time in seconds or milliseconds, or an ISO 8601 string with offset.

    Feed and Instagram changes use seconds, messaging uses milliseconds; anything above 1e11
    is taken as milliseconds (1e11 seconds is the year 5138), so a unit change cannot
    silently misdate a message.
    """
    value = record.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise NormaliseError(f"field {key!r} is not a timestamp: {value!r}") from None
        if moment.tzinfo is None:
            raise NormaliseError(f"field {key!r} has no UTC offset: {value!r}")
        return moment.astimezone(UTC)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise NormaliseError(f"field {key!r} is missing or not an epoch time: {value!r}")
    seconds = value / 1000 if value >= 1e11 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise NormaliseError(f"field {key!r} is not a plausible epoch time: {value!r}") from None


def _event_time(record: dict[str, Any], key: str, entry: dict[str, Any]) -> datetime:
    """The event's own time, else when Meta sent the notification (``entry.time``)."""
    return _time(record, key) if record.get(key) is not None else _time(entry, "time")


@normaliser(SOURCE)
def normalise_meta(payload: Any, ctx: NormaliseContext) -> list[Message]:
    """Every message of one Meta webhook delivery.

    Meta's Instagram examples wrap the body in a JSON array, so a list of deliveries is
    accepted too.

    :param payload: the parsed body.
    :param ctx: secrets and own accounts.
    :raises NormaliseError: with a reason that names the unexpected object, entry or field.
    """
    if isinstance(payload, list):
        if not payload:
            raise NormaliseError("expected a Meta webhook delivery, got an empty list")
        messages: list[Message] = []
        for d, delivery in enumerate(payload):
            with at(f"delivery[{d}]"):
                messages.extend(_delivery(delivery, ctx))
        return messages
    return _delivery(payload, ctx)


def _delivery(payload: Any, ctx: NormaliseContext) -> list[Message]:
    if not isinstance(payload, dict):
        raise NormaliseError(
            f"expected a JSON object with 'object' and 'entry', got {type(payload).__name__}"
        )
    kind = payload.get("object")
    if kind == "whatsapp_business_account":
        return normalise_whatsapp(payload, ctx)
    if not isinstance(kind, str) or kind not in _CHANNELS:
        raise NormaliseError(
            f"unknown Meta webhook object {kind!r}; "
            "expected 'page', 'instagram' or 'whatsapp_business_account'"
        )
    channel = _CHANNELS[kind]
    entries = array(payload, "entry")
    if not entries:
        raise NormaliseError(f"{kind} delivery has an empty 'entry' list")
    messages: list[Message] = []
    for e, entry in enumerate(entries):
        with at(f"{kind} entry[{e}]"):
            messages.extend(_entry(channel, entry, ctx))
    return messages


def _entry(channel: MetaChannel, entry: Any, ctx: NormaliseContext) -> list[Message]:
    if not isinstance(entry, dict):
        raise NormaliseError(f"expected an object, got {type(entry).__name__}")
    account_id = required_str(entry, "id")
    if "changes" in entry:
        changes = array(entry, "changes")
    elif "field" in entry:
        changes = [entry]  # Instagram Login's flat entry[].field / entry[].value (README I1)
    else:
        changes = []
    # 'standby' holds the same messaging events while another app has thread control.
    events = [(key, array(entry, key)) for key in ("messaging", "standby") if key in entry]
    if not changes and not events:
        raise NormaliseError(
            "entry has no 'changes', 'field'/'value' or 'messaging' "
            f"(keys: {', '.join(sorted(entry)) or 'none'})"
        )
    messages: list[Message] = []
    for c, change in enumerate(changes):
        with at(f"changes[{c}]" if change is not entry else "flat change"):
            messages.extend(_change(channel, account_id, entry, change, ctx))
    for key, items in events:
        for i, event in enumerate(items):
            with at(f"{key}[{i}]"):
                message = _messaging(channel, account_id, entry, event, ctx)
                if message is not None:
                    messages.append(message)
    return messages


def _change(
    channel: MetaChannel,
    account_id: str,
    entry: dict[str, Any],
    change: Any,
    ctx: NormaliseContext,
) -> list[Message]:
    if not isinstance(change, dict):
        raise NormaliseError(f"expected an object, got {type(change).__name__}")
    field = change.get("field")
    value = obj(change, "value")
    if channel == "facebook" and field == "feed":
        with at("feed"):
            return _feed(account_id, entry, value, ctx)
    if channel == "instagram" and field in ("comments", "live_comments"):
        with at(str(field)):
            return [_instagram_comment(account_id, entry, value, ctx)]
    if channel == "instagram" and field == "mentions":
        with at("mentions"):
            return [_instagram_mention(entry, value, ctx)]
    known = "'feed'" if channel == "facebook" else "'comments', 'live_comments', 'mentions'"
    raise NormaliseError(
        f"unsupported {channel} change field {field!r}; only {known} are normalised "
        "(unsubscribe the app from that field or extend ingest/channels/meta.py)"
    )


def _own(channel: MetaChannel, account_id: str, author_id: str, ctx: NormaliseContext) -> bool:
    """The Page/IG account of this entry, or any account the municipality lists as its own."""
    return author_id == account_id or ctx.is_own_account(channel, author_id)


def _feed(
    page_id: str, entry: dict[str, Any], value: dict[str, Any], ctx: NormaliseContext
) -> list[Message]:
    """A post or comment on the Page: comments join their post's conversation."""
    item = value.get("item")
    verb = value.get("verb")
    if item in _FEED_SKIPPED_ITEMS or verb in _FEED_SKIPPED_VERBS:
        return []
    if item == "comment":
        platform_id = required_str(value, "comment_id")
        post_id = required_str(value, "post_id")
        reply_to: str | None = optional_str(value, "parent_id") or post_id
    elif item in _FEED_POST_ITEMS:
        platform_id = post_id = required_str(value, "post_id")
        reply_to = None  # a visitor post starts its own conversation
    else:
        raise NormaliseError(
            f"unsupported feed item {item!r}; expected 'comment', "
            f"{', '.join(repr(i) for i in sorted(_FEED_POST_ITEMS))} or a reaction"
        )
    if verb not in _FEED_ADD_VERBS | _FEED_EDIT_VERBS | _FEED_REMOVE_VERBS:
        raise NormaliseError(f"unsupported feed verb {verb!r} for {item} {platform_id!r}")
    # Older payloads name the author in sender_id instead of from (README M3).
    if isinstance(value.get("from"), dict):
        with at("from"):
            author_id = required_str(value["from"], "id")
    elif "sender_id" in value:
        author_id = required_str(value, "sender_id")
    else:
        raise NormaliseError(f"{item} {platform_id!r} has no author ('from.id' or 'sender_id')")
    deleted = verb in _FEED_REMOVE_VERBS
    text = "" if deleted else optional_str(value, "message")
    attachments = [] if deleted else _feed_attachments(item, value)
    if not deleted and not text.strip() and not attachments:
        raise NormaliseError(f"{item} {platform_id!r} has neither 'message' nor a photo or video")
    # An edit keeps created_time (the original time), so it lands on the same document;
    # a removal has none and is dated by the notification.
    received_at = _event_time(value, "created_time", entry)
    outbound = _own("facebook", page_id, author_id, ctx)
    return [
        Message.create(
            channel="facebook",
            platform_message_id=platform_id,
            platform_conversation_id=post_id,
            reply_to_platform_id=reply_to,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            author=Author(pseudonym=ctx.pseudonym("facebook", author_id), is_municipality=outbound),
            text=text,
            attachments=attachments,
            received_at=received_at,
            ingested_at=ctx.ingested_at,
            source=SOURCE,
            deleted=deleted,
        )
    ]


def _feed_attachments(item: Any, value: dict[str, Any]) -> list[str]:
    """Attachment kinds only; the photo may be sent without a 'message' key (README M2)."""
    kinds: list[str] = []
    if item == "photo" or value.get("photo") or value.get("photos"):
        kinds.append("image")
    if item == "video" or value.get("video"):
        kinds.append("video")
    if item == "share" and value.get("link"):
        kinds.append("link")
    return kinds


def _instagram_comment(
    account_id: str, entry: dict[str, Any], value: dict[str, Any], ctx: NormaliseContext
) -> Message:
    """A comment on an IG media: the media is the conversation, like a Facebook post."""
    platform_id = required_str(value, "id")
    with at("from"):
        author_id = required_str(obj(value, "from"), "id")
    media_id = _nested_id(value, "media")
    text = optional_str(value, "text")
    if not text.strip():
        raise NormaliseError(f"comment {platform_id!r} has no 'text'")
    outbound = _own("instagram", account_id, author_id, ctx)
    return Message.create(
        channel="instagram",
        platform_message_id=platform_id,
        platform_conversation_id=media_id,
        reply_to_platform_id=optional_str(value, "parent_id") or media_id,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=Author(pseudonym=ctx.pseudonym("instagram", author_id), is_municipality=outbound),
        text=text,
        received_at=_time(entry, "time"),  # comment notifications carry no time of their own
        ingested_at=ctx.ingested_at,
        source=SOURCE,
    )


def _instagram_mention(
    entry: dict[str, Any], value: dict[str, Any], ctx: NormaliseContext
) -> Message:
    """An @mention carries only ids (README I2): keep it, with empty text, so it is seen.

    The text and author need a Graph API fetch that a pure normaliser cannot do; the ids
    (comment, or the media itself for a caption mention) let webcare open it. A later
    delivery of the same comment with text passes dedupe as an edit.
    """
    media_id = required_str(value, "media_id")
    comment_id = optional_str(value, "comment_id")
    return Message.create(
        channel="instagram",
        platform_message_id=comment_id or media_id,
        platform_conversation_id=media_id,
        direction=Direction.INBOUND,
        author=Author(pseudonym=ctx.pseudonym("instagram", _UNKNOWN_MENTION_AUTHOR)),
        text="",
        received_at=_time(entry, "time"),
        ingested_at=ctx.ingested_at,
        source=SOURCE,
    )


def _messaging(
    channel: MetaChannel,
    account_id: str,
    entry: dict[str, Any],
    event: Any,
    ctx: NormaliseContext,
) -> Message | None:
    """A Messenger or Instagram DM event; the thread is the account and the other party."""
    if not isinstance(event, dict):
        raise NormaliseError(f"expected an object, got {type(event).__name__}")
    if "message" in event:
        body = obj(event, "message")
        edit = False
    elif "message_edit" in event:
        body = obj(event, "message_edit")  # Messenger 'message_edits': same mid, new text
        edit = True
    elif any(key in event for key in _MESSAGING_SKIPPED):
        return None
    else:
        raise NormaliseError(
            "messaging event has no 'message' or 'message_edit' and is not a known receipt "
            f"or action (keys: {', '.join(sorted(event)) or 'none'})"
        )
    sender = _nested_id(event, "sender")
    recipient = _nested_id(event, "recipient")
    mid = required_str(body, "mid")
    outbound = body.get("is_echo") is True or _own(channel, account_id, sender, ctx)
    user = recipient if outbound else sender
    deleted = body.get("is_deleted") is True  # Instagram: the resident unsent it
    text = "" if deleted else optional_str(body, "text")
    attachments = [] if deleted or edit else _messaging_attachments(body)
    if not deleted and not text.strip() and not attachments:
        raise NormaliseError(f"message {mid!r} has neither 'text' nor 'attachments'")
    reply = body.get("reply_to")
    reply_to = reply.get("mid") if isinstance(reply, dict) else None
    return Message.create(
        channel=channel,
        platform_message_id=mid,
        # The thread is account + user; the user's raw id must not leave ingest, so it is
        # pseudonymised here too (deterministic, so the thread stays one conversation).
        platform_conversation_id=f"{account_id}:{ctx.pseudonym(channel, user)}",
        reply_to_platform_id=reply_to if isinstance(reply_to, str) and reply_to else None,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=Author(pseudonym=ctx.pseudonym(channel, sender), is_municipality=outbound),
        text=text,
        attachments=attachments,
        received_at=_event_time(event, "timestamp", entry),
        ingested_at=ctx.ingested_at,
        source=SOURCE,
        deleted=deleted,
    )


def _messaging_attachments(body: dict[str, Any]) -> list[str]:
    """Kinds by ``type`` (image, video, audio, file, ...); URLs are not kept."""
    raw = body.get("attachments")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise NormaliseError("field 'attachments' must be a list")
    kinds: list[str] = []
    for a, attachment in enumerate(raw):
        with at(f"attachments[{a}]"):
            if not isinstance(attachment, dict):
                raise NormaliseError(f"expected an object, got {type(attachment).__name__}")
            kinds.append(required_str(attachment, "type"))
    return kinds
