"""Edge cases of the incident transitions: late acks, expiry, superseded notices, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from route.oncall.delivery import alertmanager_alerts, notice_text
from route.oncall.incidents import (
    MAX_SUPERSEDED,
    AlertEvent,
    Incident,
    apply_event,
    due_deliveries,
    expire,
    expires_at,
    expiry_due,
    find_incident,
    forgettable,
    incident_chain,
    last_change,
    replace_incident,
)
from route.oncall.policy import DELETED_EXCERPT, on_deletion, on_message, render_text
from route.rules import load_rules
from tests.test_oncall.support import config, urgent

CALENDAR = load_rules().calendar
NOW = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
RECEIVERS = ["alertmanager", "webhook-1"]
BASE = timedelta(seconds=2)
DAY = timedelta(hours=24)  # policy.resolve_after
HOUR = timedelta(hours=1)


def message_in(
    current: Incident | None, pid: str, at: datetime, now: datetime | None = None
) -> tuple[Incident, str]:
    incident, outcome = on_message(
        current, urgent(pid, at), config(), CALENDAR,
        now=now or at, partition=0, receivers=RECEIVERS,
    )  # fmt: skip
    assert incident is not None
    return incident, outcome


def event(incident: Incident, kind: str, at: datetime, **kw: object) -> AlertEvent:
    return AlertEvent(kind=kind, incident_id=incident.incident_id, at=at, **kw)


def apply(incident: Incident, ev: AlertEvent) -> tuple[Incident, str]:
    return apply_event(incident, ev, RECEIVERS, timedelta(minutes=10), BASE)


def delivered(incident: Incident, receiver: str, kind: str, at: datetime) -> AlertEvent:
    return event(incident, "delivered", at, receiver=receiver, delivery_kind=kind)


def failed(incident: Incident, receiver: str, kind: str, at: datetime, attempt: int) -> AlertEvent:
    return event(
        incident, "failed", at, receiver=receiver, delivery_kind=kind, error="x", attempt=attempt
    )


def deliver_all(incident: Incident, at: datetime) -> Incident:
    for d in due_deliveries(incident, at):
        incident, _ = apply(incident, delivered(incident, d.receiver, d.kind, at))
    return incident


def pending(incident: Incident) -> list[tuple[str, str]]:
    return [(d.receiver, d.kind) for d in incident.deliveries if d.state == "pending"]


# 1. Only an open incident can be acknowledged.


def test_an_ack_after_expiry_is_ignored_and_the_next_message_pages() -> None:
    incident = deliver_all(message_in(None, "1", NOW)[0], NOW)
    expired, _ = apply(incident, event(incident, "expire", NOW + DAY, version=incident.version))
    at = NOW + DAY + timedelta(minutes=5)
    same, outcome = apply(expired, event(incident, "ack", at, by="bob"))
    assert outcome == "ignored-expired" and same is expired
    new, outcome = message_in(same, "2", at + timedelta(minutes=30))
    assert outcome == "raised" and new.status == "open"


def test_an_ack_on_a_stale_incident_is_ignored_and_a_live_message_pages() -> None:
    stale, outcome = message_in(None, "1", NOW - timedelta(hours=30), NOW)
    assert outcome == "stale"
    same, outcome = apply(stale, event(stale, "ack", NOW, by="dashboard"))
    assert outcome == "ignored-stale" and same is stale and same.acknowledged_at is None
    new, outcome = message_in(same, "2", NOW + timedelta(minutes=10))
    assert outcome == "raised" and pending(new) == [
        ("alertmanager", "raise"),
        ("webhook-1", "raise"),
    ]


# 2. The incident ends when its alert does: a joined message does not extend it.


def test_a_join_does_not_outlive_the_alert_and_a_message_after_it_pages() -> None:
    incident = deliver_all(message_in(None, "1", NOW)[0], NOW)
    [alert] = alertmanager_alerts(incident, incident.deliveries[0], config())
    joined, outcome = message_in(incident, "2", NOW + 23 * HOUR)
    assert outcome == "joined" and pending(joined) == []
    assert expires_at(joined, DAY).isoformat().replace("+00:00", "Z") == alert["endsAt"]
    assert expiry_due(joined, NOW + DAY, DAY)
    new, outcome = message_in(joined, "3", NOW + 25 * HOUR)
    assert outcome == "raised" and new.superseded is not None
    assert new.superseded.status == "expired"


# 3. A superseded incident's notices are still sent.


def test_a_replaced_incident_keeps_its_pending_notices_for_the_tick() -> None:
    incident = deliver_all(message_in(None, "1", NOW)[0], NOW)
    acked, _ = apply(incident, event(incident, "ack", NOW + timedelta(minutes=1)))
    for n in (1, 2, 3):  # Alertmanager is down
        at = NOW + timedelta(minutes=1 + n)
        acked, _ = apply(acked, failed(incident, "alertmanager", "ack", at, n))
    first, outcome = message_in(acked, "2", NOW + 3 * HOUR)
    assert outcome == "raised"
    # Another incident later: the first still has a pending ack, so it is kept too.
    first = deliver_all(apply(first, event(first, "ack", NOW + 3 * HOUR))[0], NOW + 3 * HOUR)
    second, outcome = message_in(first, "3", NOW + 6 * HOUR)
    assert outcome == "raised"
    chain = incident_chain(second)
    assert [i.incident_id for i in chain[1:]] == [first.incident_id, incident.incident_id]
    old = find_incident(second, incident.incident_id)
    assert old is not None and pending(old) == [("alertmanager", "ack"), ("webhook-1", "ack")]
    assert len(due_deliveries(old, NOW + 6 * HOUR)) == 2  # the tick sends them
    # Their delivered events land on the superseded one; the chain then drops it when replaced.
    done = deliver_all(old, NOW + 6 * HOUR)
    updated = replace_incident(second, done)
    assert updated.version == second.version + 1
    assert find_incident(updated, incident.incident_id) == done
    third, _ = message_in(
        deliver_all(apply(updated, event(updated, "ack", NOW + 6 * HOUR))[0], NOW + 6 * HOUR),
        "4",
        NOW + 9 * HOUR,
    )
    assert [i.incident_id for i in incident_chain(third)[1:]] == [second.incident_id]


def test_the_superseded_chain_is_bounded() -> None:
    current, _ = message_in(None, "0", NOW)
    for n in range(1, MAX_SUPERSEDED + 4):
        at = NOW + 3 * n * HOUR
        current, _ = apply(current, event(current, "ack", at))  # its acks never get through
        current, outcome = message_in(current, str(n), at + 3 * HOUR)
        assert outcome == "raised"
    assert len(incident_chain(current)) == MAX_SUPERSEDED + 1


# 4. The ack resolves every receiver a notice may have reached.


def test_an_ack_resolves_a_receiver_whose_raise_was_recorded_failed() -> None:
    incident, _ = message_in(None, "1", NOW)
    incident, _ = apply(incident, delivered(incident, "webhook-1", "raise", NOW))
    incident, _ = apply(incident, failed(incident, "alertmanager", "raise", NOW, 1))  # timed out
    acked, _ = apply(incident, event(incident, "ack", NOW + timedelta(seconds=1)))
    assert pending(acked) == [("alertmanager", "ack"), ("webhook-1", "ack")]


# 5. A notice accepted after the ack always gets its own ack notice.


def test_a_late_notice_gets_its_own_ack_notice_while_the_ack_is_pending() -> None:
    incident, _ = message_in(None, "1", NOW)
    incident, _ = apply(incident, delivered(incident, "webhook-1", "raise", NOW))
    acked, _ = apply(incident, event(incident, "ack", NOW + timedelta(seconds=1)))
    # The ack to Alertmanager was in flight and taken first; the raise lands after it.
    late, outcome = apply(acked, delivered(incident, "alertmanager", "raise", NOW))
    assert outcome == "delivered-late"
    assert pending(late) == [
        ("alertmanager", "ack"),
        ("webhook-1", "ack"),
        ("alertmanager", "ack-raise"),
    ]
    notice = late.deliveries[-1]
    [alert] = alertmanager_alerts(late, notice, config())
    assert alert["endsAt"] == (NOW + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert notice_text(late, notice, config()).startswith("✔ Bevestigd")


# 6. A failed event counts its attempt once.


def test_a_repeated_failed_event_counts_once() -> None:
    incident, _ = message_in(None, "1", NOW)
    once, outcome = apply(incident, failed(incident, "alertmanager", "raise", NOW, 1))
    assert outcome == "failed" and once.deliveries[0].attempts == 1
    twice, outcome = apply(once, failed(incident, "alertmanager", "raise", NOW, 1))
    assert outcome == "ignored" and twice is once
    again, _ = apply(once, failed(incident, "alertmanager", "raise", NOW + BASE, 2))
    assert again.deliveries[0].attempts == 2


# 7. A repeat of a firing notice taken after the resolve is resolved again.


def test_a_repeat_taken_after_the_resolve_gets_the_resolve_again() -> None:
    incident, _ = message_in(None, "1", NOW)
    # The raise went out, but its delivered event lagged past the in-flight hold, so the tick
    # sent a second copy. The ack came before either event was applied.
    acked, _ = apply(incident, event(incident, "ack", NOW + timedelta(seconds=1)))
    first, outcome = apply(acked, delivered(incident, "alertmanager", "raise", NOW))
    assert outcome == "delivered-late"
    resolved = deliver_all(first, NOW + timedelta(seconds=2))
    assert pending(resolved) == []
    # The second copy was taken after the resolve: Alertmanager fires again until told otherwise.
    repeat = delivered(incident, "alertmanager", "raise", NOW + timedelta(seconds=3))
    again, outcome = apply(resolved, repeat)
    assert outcome == "delivered-late"
    assert pending(again) == [("alertmanager", "ack-raise")]
    assert apply(again, repeat) == (again, "ignored")  # applied twice: no further change


def test_a_repeat_taken_before_the_resolve_needs_nothing_more() -> None:
    incident, _ = message_in(None, "1", NOW)
    acked, _ = apply(incident, event(incident, "ack", NOW + timedelta(seconds=1)))
    first, _ = apply(acked, delivered(incident, "alertmanager", "raise", NOW))
    resolved = deliver_all(first, NOW + timedelta(seconds=5))
    earlier = delivered(incident, "alertmanager", "raise", NOW + timedelta(seconds=4))
    assert apply(resolved, earlier) == (resolved, "ignored")
    # An open incident's repeat copies change nothing either: it is meant to fire.
    raised = deliver_all(incident, NOW)
    assert apply(raised, delivered(incident, "alertmanager", "raise", NOW)) == (raised, "ignored")


# 8. A conversation's incidents leave the state once settled and unchanged for the retention.

RETENTION = timedelta(days=30)


def test_settled_incidents_are_forgotten_after_the_retention_and_not_before() -> None:
    incident, _ = message_in(None, "1", NOW)
    assert not forgettable(incident, NOW + 2 * RETENTION, RETENTION)  # open: still paging
    acked, _ = apply(deliver_all(incident, NOW), event(incident, "ack", NOW + HOUR))
    assert not forgettable(acked, NOW + 2 * RETENTION, RETENTION)  # its ack notices are pending
    settled = deliver_all(acked, NOW + 2 * HOUR)
    assert last_change(settled) == NOW + 2 * HOUR
    assert not forgettable(settled, NOW + 2 * HOUR + RETENTION, RETENTION)
    assert forgettable(settled, NOW + 2 * HOUR + RETENTION + timedelta(seconds=1), RETENTION)


def test_a_superseded_incident_with_a_pending_notice_keeps_the_conversation() -> None:
    incident, _ = message_in(None, "1", NOW)
    acked, _ = apply(deliver_all(incident, NOW), event(incident, "ack", NOW + HOUR))
    # A new incident replaced it before its ack notices went out; the new one expired since.
    later = NOW + DAY + 2 * HOUR
    new, outcome = message_in(acked, "2", later)
    assert outcome == "raised" and new.superseded is not None
    expired = deliver_all(expire(new, later + DAY), later + DAY)
    assert expired.status == "expired"
    assert pending(expired.superseded) == [("alertmanager", "ack"), ("webhook-1", "ack")]
    assert not forgettable(expired, later + 2 * RETENTION, RETENTION)


# 9. A deleted message's words leave the incidents that quote it.


def test_a_deleted_raising_message_leaves_the_incident_text_and_places() -> None:
    incident, _ = message_in(None, "1", NOW)
    assert incident.excerpt and incident.location == "Molenweg"
    joined, outcome = message_in(incident, "2", NOW + timedelta(minutes=5))
    assert outcome == "joined"
    raising, follow_up = joined.message_ids
    # the follow-up is not quoted: its deletion changes nothing
    assert on_deletion(joined, follow_up) is None
    redacted = on_deletion(joined, raising)
    assert redacted is not None and redacted.version == joined.version + 1
    assert (redacted.excerpt, redacted.location) == (DELETED_EXCERPT, None)
    assert DELETED_EXCERPT in render_text(redacted, config())
    assert "Molenweg" not in json.dumps(
        alertmanager_alerts(redacted, redacted.deliveries[0], config())
    )
    assert on_deletion(redacted, raising) is None  # applied twice: nothing more
    assert on_deletion(None, raising) is None


def test_a_deletion_reaches_a_replaced_incident_in_the_chain() -> None:
    first, _ = message_in(None, "1", NOW)
    later = NOW + DAY + HOUR  # the first incident expired: a new one replaces it
    current, outcome = message_in(first, "2", later)
    assert outcome == "raised" and current.superseded is not None
    redacted = on_deletion(current, first.message_ids[0])
    assert redacted is not None and redacted.version == current.version + 1
    assert redacted.excerpt == current.excerpt  # the current incident quotes another message
    old = find_incident(redacted, first.incident_id)
    assert old is not None and old.excerpt == DELETED_EXCERPT and old.location is None
    assert old.version == current.superseded.version + 1  # so the worker indexes it again
