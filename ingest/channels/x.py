"""X (Twitter): two source formats, both normalised to channel ``twitter``.

``x-activity/v1``: an Account Activity API delivery POSTed to ``/webhooks/x``::

    {"for_user_id": "1400...", "tweet_create_events": [<v1.1 Tweet>, ...]}
    {"for_user_id": "1400...", "direct_message_events": [<message_create>, ...],
     "users": {"<id>": {...}}}

Source: https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/account-activity-data-objects
(v1.1 Tweet objects, DM ``message_create`` objects). ``for_user_id`` is the subscribed
account and must be one of ours. Other event kinds (favourites, follows, blocks, typing
indicators, ...) carry no message and yield nothing.

``x-v2/v1``: an X API v2 tweet response (``GET /2/tweets``, ``/2/tweets/search/recent``)::

    {"data": {...} | [{...}], "includes": {"users": [...], "media": [...]},
     "errors": [...], "meta": {...}}

Source: https://docs.x.com/x-api/fundamentals/conversation-id and
https://docs.x.com/x-api/fundamentals/expansions. Request at least
``tweet.fields=author_id,created_at,conversation_id,lang,referenced_tweets``; add
``expansions=attachments.media_keys&media.fields=type`` to learn attachment kinds.

Both formats give the same tweet the same message id, conversation, text and timestamp, so a
tweet seen through both is one message to deduplication. Retweets are skipped: their text is
someone else's. Deleted tweets (``tweet_delete_events``) are not turned into messages yet:
the event names no conversation, and a deletion under the wrong conversation key could be
overtaken by the original on another partition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.channels.fields import at, iso_timestamp
from ingest.events import Author, Channel, Direction, Message
from ingest.registry import NormaliseContext, NormaliseError, normaliser

__all__ = ["normalise_x_activity", "normalise_x_v2"]

CHANNEL: Channel = "twitter"
ACTIVITY_SOURCE = "x-activity/v1"
V2_SOURCE = "x-v2/v1"

_MESSAGE_EVENTS = ("tweet_create_events", "direct_message_events")
_IGNORED_EVENTS = frozenset(
    {
        "favorite_events",
        "follow_events",
        "unfollow_events",
        "block_events",
        "unblock_events",
        "mute_events",
        "unmute_events",
        "user_event",
        "direct_message_indicate_typing_events",
        "direct_message_mark_read_events",
        "tweet_delete_events",
    }
)
"""Account Activity event kinds that carry no resident message."""

_MEDIA_KINDS = {"photo": "image", "video": "video", "animated_gif": "video"}
"""X media types as canonical attachment kinds (an animated GIF is delivered as a video)."""

_UNDETERMINED_LANGS = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst"})
"""X's codes for 'no language' (media, hashtags or mentions only): left to enrich to detect."""

_V11_CREATED_AT = "%a %b %d %H:%M:%S %z %Y"


# --- small typed accessors: every shape problem becomes a NormaliseError with its location ---


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NormaliseError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise NormaliseError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _id(record: dict[str, Any], *keys: str, where: str) -> str:
    """The first of ``keys`` holding an id; v1.1 objects carry ``id_str`` beside a numeric ``id``."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value
    raise NormaliseError(f"{where}: field {' or '.join(map(repr, keys))} is missing or not an id")


def _optional_id(record: dict[str, Any], *keys: str, where: str) -> str | None:
    if all(record.get(key) is None for key in keys):
        return None
    return _id(record, *keys, where=where)


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise NormaliseError(f"{where}: field {key!r} is missing or not a string")
    return value


def _lang(record: dict[str, Any]) -> str | None:
    value = record.get("lang")
    if not isinstance(value, str) or not value or value in _UNDETERMINED_LANGS:
        return None
    return value


def _epoch_ms(value: Any, where: str) -> datetime:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise NormaliseError(f"{where}: expected epoch milliseconds, got {value!r}")
    return datetime.fromtimestamp(value // 1000, UTC) + timedelta(milliseconds=value % 1000)


def _tweet_message(
    *,
    ctx: NormaliseContext,
    source: str,
    tweet_id: str,
    author_id: str,
    text: str,
    created_at: datetime,
    conversation_id: str | None,
    reply_to: str | None,
    attachments: list[str],
    lang: str | None,
) -> Message:
    """One tweet, whichever format it came in: the rules for ids and direction live here only."""
    outbound = ctx.is_own_account(CHANNEL, author_id)
    return Message.create(
        channel=CHANNEL,
        platform_message_id=tweet_id,
        platform_conversation_id=conversation_id or reply_to or tweet_id,
        reply_to_platform_id=reply_to,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=Author(pseudonym=ctx.pseudonym(CHANNEL, author_id), is_municipality=outbound),
        text=text,
        attachments=attachments,
        lang=lang,
        received_at=created_at,
        ingested_at=ctx.ingested_at,
        source=source,
    )


# --- x-activity/v1 ---


def _v11_created_at(tweet: dict[str, Any], where: str) -> datetime:
    """``created_at`` ("Tue Dec 01 07:14:09 +0000 2026"), else ``timestamp_ms``.

    ``created_at`` first: it has the same (whole-second) precision as v2's ``created_at``, so
    one tweet gets one timestamp whichever format delivered it.
    """
    raw = tweet.get("created_at")
    if isinstance(raw, str):
        try:
            return datetime.strptime(raw, _V11_CREATED_AT)
        except ValueError:
            raise NormaliseError(
                f"{where}: created_at {raw!r} is not in the v1.1 format 'Tue Dec 01 07:14:09 +0000 2026'"
            ) from None
    if tweet.get("timestamp_ms") is not None:
        return _epoch_ms(tweet["timestamp_ms"], f"{where}.timestamp_ms")
    raise NormaliseError(f"{where}: field 'created_at' is missing")


def _v11_attachments(tweet: dict[str, Any], where: str) -> list[str]:
    """Media kinds from ``extended_entities`` (all media), else ``entities`` (first photo only)."""
    for entities_key in ("extended_entities", "entities"):
        entities = tweet.get(entities_key)
        if isinstance(entities, dict) and entities.get("media") is not None:
            media = _list(entities["media"], f"{where}.{entities_key}.media")
            return [
                _media_kind(_object(item, f"{where}.{entities_key}.media[{n}]"))
                for n, item in enumerate(media)
            ]
    return []


def _media_kind(media: dict[str, Any]) -> str:
    kind = media.get("type")
    return _MEDIA_KINDS.get(kind, kind) if isinstance(kind, str) and kind else "media"


def _activity_tweet(tweet: dict[str, Any], where: str, ctx: NormaliseContext) -> Message | None:
    if tweet.get("retweeted_status") is not None:
        return None
    # Longer posts arrive truncated, the whole text and media under extended_tweet (v1.1).
    extended = tweet.get("extended_tweet")
    full = _object(extended, f"{where}.extended_tweet") if extended is not None else None
    if full is not None:
        text = _text(full, "full_text", f"{where}.extended_tweet")
        attachments = _v11_attachments(full, f"{where}.extended_tweet")
    else:
        text = _text(tweet, "full_text" if "full_text" in tweet else "text", where)
        attachments = _v11_attachments(tweet, where)
    user = _object(tweet.get("user"), f"{where}.user")
    return _tweet_message(
        ctx=ctx,
        source=ACTIVITY_SOURCE,
        tweet_id=_id(tweet, "id_str", "id", where=where),
        author_id=_id(user, "id_str", "id", where=f"{where}.user"),
        text=text,
        created_at=_v11_created_at(tweet, where),
        conversation_id=_optional_id(tweet, "conversation_id", where=where),
        reply_to=_optional_id(
            tweet, "in_reply_to_status_id_str", "in_reply_to_status_id", where=where
        ),
        attachments=attachments,
        lang=_lang(tweet),
    )


def _direct_message(event: dict[str, Any], where: str, ctx: NormaliseContext) -> Message:
    """A DM. Its conversation is the pair of participants, written as their pseudonyms.

    The pair (sorted, so both directions meet) keeps a chat in one conversation; pseudonyms
    instead of the raw ids keep the resident's platform id out of the message.
    """
    if event.get("type") != "message_create":
        raise NormaliseError(
            f"{where}: direct message event type {event.get('type')!r} is not supported "
            "(expected 'message_create')"
        )
    create = _object(event.get("message_create"), f"{where}.message_create")
    sender_id = _id(create, "sender_id", where=f"{where}.message_create")
    target = _object(create.get("target"), f"{where}.message_create.target")
    recipient_id = _id(target, "recipient_id", where=f"{where}.message_create.target")
    data = _object(create.get("message_data"), f"{where}.message_create.message_data")
    text = data.get("text", "")
    if not isinstance(text, str):
        raise NormaliseError(f"{where}.message_create.message_data: field 'text' must be a string")
    attachments: list[str] = []
    if data.get("attachment") is not None:
        attachment = _object(data["attachment"], f"{where}.message_create.message_data.attachment")
        media = attachment.get("media")
        attachments.append(_media_kind(media) if isinstance(media, dict) else "media")
    if not text.strip() and not attachments:
        raise NormaliseError(f"{where}: direct message has neither text nor attachment")
    outbound = ctx.is_own_account(CHANNEL, sender_id)
    participants = sorted(ctx.pseudonym(CHANNEL, uid) for uid in (sender_id, recipient_id))
    return Message.create(
        channel=CHANNEL,
        platform_message_id=_id(event, "id", where=where),
        platform_conversation_id="dm:" + ":".join(participants),
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=Author(pseudonym=ctx.pseudonym(CHANNEL, sender_id), is_municipality=outbound),
        text=text,
        attachments=attachments,
        received_at=_epoch_ms(event.get("created_timestamp"), f"{where}.created_timestamp"),
        ingested_at=ctx.ingested_at,
        source=ACTIVITY_SOURCE,
    )


@normaliser(ACTIVITY_SOURCE)
def normalise_x_activity(payload: Any, ctx: NormaliseContext) -> list[Message]:
    """Normalise one Account Activity delivery: its tweets and direct messages.

    :raises NormaliseError: not a delivery, not for one of our accounts, or a malformed event.
    """
    delivery = _object(payload, "x-activity delivery")
    for_user_id = _id(delivery, "for_user_id", where="x-activity delivery")
    if not ctx.is_own_account(CHANNEL, for_user_id):
        raise NormaliseError(
            f"for_user_id {for_user_id!r} is not one of our own twitter accounts: a delivery for "
            "another subscription (check the webhook registration or own_accounts.yaml)"
        )
    known = [key for key in delivery if key in _MESSAGE_EVENTS or key in _IGNORED_EVENTS]
    if not known:
        others = ", ".join(sorted(k for k in delivery if k != "for_user_id")) or "none"
        raise NormaliseError(
            f"no known Account Activity event in the delivery (keys besides for_user_id: {others})"
        )
    messages: list[Message] = []
    tweets = delivery.get("tweet_create_events")
    if tweets is not None:
        for n, tweet in enumerate(_list(tweets, "tweet_create_events")):
            where = f"tweet_create_events[{n}]"
            message = _activity_tweet(_object(tweet, where), where, ctx)
            if message is not None:
                messages.append(message)
    events = delivery.get("direct_message_events")
    if events is not None:
        for n, event in enumerate(_list(events, "direct_message_events")):
            where = f"direct_message_events[{n}]"
            messages.append(_direct_message(_object(event, where), where, ctx))
    return messages


# --- x-v2/v1 ---


def _v2_created_at(tweet: dict[str, Any], where: str) -> datetime:
    raw = tweet.get("created_at")
    if not isinstance(raw, str):
        raise NormaliseError(
            f"{where}: field 'created_at' is missing (request tweet.fields=created_at)"
        )
    with at(where):
        return iso_timestamp(raw)


def _v2_reference(tweet: dict[str, Any], kind: str, where: str) -> str | None:
    refs = tweet.get("referenced_tweets")
    if refs is None:
        return None
    for n, ref in enumerate(_list(refs, f"{where}.referenced_tweets")):
        ref = _object(ref, f"{where}.referenced_tweets[{n}]")
        if ref.get("type") == kind:
            return _id(ref, "id", where=f"{where}.referenced_tweets[{n}]")
    return None


def _v2_media_kinds(payload: dict[str, Any]) -> dict[str, str]:
    """media_key -> attachment kind, from ``includes.media`` (present when expanded)."""
    includes = payload.get("includes")
    media = includes.get("media") if isinstance(includes, dict) else None
    if not isinstance(media, list):
        return {}
    return {
        item["media_key"]: _media_kind(item)
        for item in media
        if isinstance(item, dict) and isinstance(item.get("media_key"), str)
    }


def _v2_tweet(
    tweet: dict[str, Any], where: str, media_kinds: dict[str, str], ctx: NormaliseContext
) -> Message | None:
    if _v2_reference(tweet, "retweeted", where) is not None:
        return None
    if tweet.get("author_id") is None:
        raise NormaliseError(
            f"{where}: field 'author_id' is missing (request tweet.fields=author_id)"
        )
    attachments: list[str] = []
    media = tweet.get("attachments")
    if isinstance(media, dict) and media.get("media_keys") is not None:
        keys = _list(media["media_keys"], f"{where}.attachments.media_keys")
        # Without the media expansion the kind is unknown, but the attachment still counts.
        attachments = [media_kinds.get(key, "media") for key in keys]
    return _tweet_message(
        ctx=ctx,
        source=V2_SOURCE,
        tweet_id=_id(tweet, "id", where=where),
        author_id=_id(tweet, "author_id", where=where),
        text=_text(tweet, "text", where),
        created_at=_v2_created_at(tweet, where),
        conversation_id=_optional_id(tweet, "conversation_id", where=where),
        reply_to=_v2_reference(tweet, "replied_to", where),
        attachments=attachments,
        lang=_lang(tweet),
    )


def _errors_summary(errors: Any) -> str:
    if not isinstance(errors, list):
        return repr(errors)[:200]
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            parts.append(
                ": ".join(str(error[k]) for k in ("title", "detail") if error.get(k)) or "?"
            )
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


@normaliser(V2_SOURCE)
def normalise_x_v2(payload: Any, ctx: NormaliseContext) -> list[Message]:
    """Normalise an X API v2 tweet response (one tweet or a list).

    Errors beside data (a partial lookup: some ids no longer exist) are ignored; there is
    nothing to ingest for them. An empty search result yields nothing.

    :raises NormaliseError: only errors, no data, or a tweet without the fields we need.
    """
    response = _object(payload, "x-v2 response")
    data = response.get("data")
    if data is None:
        if response.get("errors"):
            raise NormaliseError(
                f"X API response holds only errors: {_errors_summary(response['errors'])}"
            )
        meta = response.get("meta")
        if isinstance(meta, dict) and meta.get("result_count") == 0:
            return []
        raise NormaliseError(
            "no 'data' in the response; expected an X API v2 tweet response "
            f"(keys: {', '.join(sorted(response)) or 'none'})"
        )
    if isinstance(data, dict):
        tweets: list[tuple[str, Any]] = [("data", data)]
    else:
        tweets = [(f"data[{n}]", t) for n, t in enumerate(_list(data, "data"))]
    media_kinds = _v2_media_kinds(response)
    messages = [_v2_tweet(_object(t, where), where, media_kinds, ctx) for where, t in tweets]
    return [m for m in messages if m is not None]
