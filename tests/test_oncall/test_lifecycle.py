"""Incident lifecycle gaps: expiry, upgrade to critical, published records, late deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from route.oncall.bench import due, next_due
from route.oncall.delivery import alertmanager_alerts, notice_text, permanent_failure
from route.oncall.incidents import (
    INFO_KINDS,
    MAX_RETRY,
    AlertEvent,
    Incident,
    apply_event,
    due_deliveries,
    escalation_due,
    expires_at,
    expiry_due,
    incident_record,
    retry_delay,
)
from route.oncall.index import AlertIndexNames, alert_document
from route.oncall.policy import on_message
from route.rules import load_rules
from tests.test_oncall.support import config, urgent

CALENDAR = load_rules().calendar
NOW = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # a Saturday night: chain bob, cas, ann, fb
RECEIVERS = ["alertmanager", "webhook-1"]
BASE = timedelta(seconds=2)
DAY = timedelta(hours=24)  # policy.resolve_after


def message_in(
    current: Incident | None, pid: str, at: datetime, now: datetime, severity: str = "critical"
) -> tuple[Incident | None, str]:
    return on_message(
        current, urgent(pid, at, severity=severity), config(), CALENDAR,
        now=now, partition=3, receivers=RECEIVERS,
    )  # fmt: skip


def raised(severity: str = "critical") -> Incident:
    incident, outcome = message_in(None, "1", NOW, NOW, severity)
    assert outcome == "raised" and incident is not None
    return incident


def event(incident: Incident, kind: str, at: datetime, **kw: object) -> AlertEvent:
    return AlertEvent(kind=kind, incident_id=incident.incident_id, at=at, **kw)


def apply(incident: Incident, ev: AlertEvent, after: timedelta = BASE) -> tuple[Incident, str]:
    return apply_event(incident, ev, RECEIVERS, after, BASE)


def delivered(incident: Incident, receiver: str, kind: str, at: datetime) -> AlertEvent:
    return event(incident, "delivered", at, receiver=receiver, delivery_kind=kind)


# 1. Open incidents end when their alert does.


def test_a_message_after_resolve_after_opens_a_new_incident_and_expires_the_old() -> None:
    incident = raised()
    late = NOW + DAY + timedelta(minutes=1)
    new, outcome = message_in(incident, "2", late, late)
    assert outcome == "raised" and new is not None
    assert new.incident_id != incident.incident_id and new.status == "open"
    old = new.superseded
    assert old is not None and old.incident_id == incident.incident_id
    assert old.status == "expired" and old.expired_at == late and old.escalate_at is None
    assert due_deliveries(old, late) == []  # its unsent notices are pointless now
    assert {d.state for d in old.deliveries} == {"cancelled"}
    assert [d.kind for d in due_deliveries(new, late)] == ["raise", "raise"]


def test_a_message_within_resolve_after_of_the_last_notice_joins_without_extending_it() -> None:
    incident = raised()
    at = NOW + timedelta(hours=20)
    joined, outcome = message_in(incident, "2", at, at)
    assert outcome == "joined" and joined is not None
    later = NOW + timedelta(hours=23)
    again, outcome = message_in(joined, "3", later, later)
    assert outcome == "joined" and again is not None
    # A join sends no notice, so Alertmanager's alert still ends a day after the raise.
    assert expires_at(again, DAY) == NOW + DAY


def test_a_live_message_does_not_join_an_incident_whose_alert_already_ended() -> None:
    incident = raised()
    posted, processed = NOW + DAY - timedelta(minutes=5), NOW + DAY + timedelta(minutes=5)
    new, outcome = message_in(incident, "2", posted, processed)
    assert outcome == "raised" and new is not None and new.superseded is not None


def test_the_tick_expires_an_unacknowledged_incident_once_its_alert_ended() -> None:
    incident = raised()
    assert not expiry_due(incident, NOW + DAY - timedelta(seconds=1), DAY)
    at = NOW + DAY
    assert expiry_due(incident, at, DAY)
    seen = incident.version
    changed, _ = apply(incident, delivered(incident, "webhook-1", "raise", at))
    stale_view, outcome = apply(changed, event(incident, "expire", at, version=seen))
    assert outcome == "ignored" and stale_view is changed  # changed since the tick looked
    expired, outcome = apply(changed, event(incident, "expire", at, version=changed.version))
    assert outcome == "expired" and expired.status == "expired"
    assert not expiry_due(expired, at + DAY, DAY)  # no longer counted as open
    assert escalation_due(expired, at + DAY) is None
    again = event(incident, "expire", at, version=expired.version)
    assert apply(expired, again)[1] == "ignored"
    doc = alert_document(expired, at)
    assert doc["status"] == "expired" and doc["expired_at"] == at.isoformat()


def test_acknowledged_incidents_never_expire_and_expired_ones_are_never_rejoined() -> None:
    incident = raised()
    acked, _ = apply(incident, event(incident, "ack", NOW))
    assert not expiry_due(acked, NOW + 10 * DAY, DAY)
    at = NOW + DAY
    expired, _ = apply(incident, event(incident, "expire", at, version=incident.version))
    soon = at + timedelta(minutes=1)
    new, outcome = message_in(expired, "2", soon, soon)
    assert outcome == "raised" and new is not None and new.incident_id != incident.incident_id


def test_alertmanager_ends_the_alert_when_the_incident_expires() -> None:
    incident = raised()
    at = NOW + timedelta(hours=5)
    joined, _ = message_in(incident, "2", at, at)
    assert joined is not None
    [alert] = alertmanager_alerts(joined, joined.deliveries[0], config())
    assert alert["endsAt"] == (NOW + DAY).isoformat().replace("+00:00", "Z")
    assert expires_at(joined, DAY) == NOW + DAY


# 2. A spoed in a thread with an open hoog incident upgrades it.


def test_a_spoed_upgrades_an_open_warning_incident_to_critical() -> None:
    incident = raised("warning")
    assert incident.escalate_at == NOW + timedelta(minutes=30)
    at = NOW + timedelta(minutes=5)
    upgraded, outcome = message_in(incident, "2", at, at, "critical")
    assert outcome == "upgraded" and upgraded is not None
    assert upgraded.severity == "critical" and upgraded.upgraded_at == at
    assert upgraded.escalate_at == at + timedelta(minutes=10)  # critical escalation time
    notices = [(d.receiver, d.kind) for d in due_deliveries(upgraded, at) if d.kind == "upgrade"]
    assert notices == [("alertmanager", "upgrade"), ("webhook-1", "upgrade")]
    [upgrade] = [d for d in upgraded.deliveries if d.kind == "upgrade"][:1]
    alerts = alertmanager_alerts(upgraded, upgrade, config())
    by_severity = {a["labels"]["severity"]: a for a in alerts}
    assert by_severity["warning"]["endsAt"] == at.isoformat().replace("+00:00", "Z")  # resolved
    assert by_severity["critical"]["endsAt"] > at.isoformat()  # firing, routed as critical
    assert by_severity["critical"]["labels"]["responder"] == "bob"
    assert notice_text(upgraded, upgrade, config()).startswith("⬆ Opgeschaald naar spoed")
    assert "[critical]" in notice_text(upgraded, upgrade, config())

    again, outcome = message_in(upgraded, "3", at, at, "critical")
    assert outcome == "joined" and again is not None  # upgraded once
    assert [d.kind for d in again.deliveries].count("upgrade") == 2

    reached, _ = apply(upgraded, delivered(upgraded, "alertmanager", "upgrade", at))
    acked, _ = apply(reached, event(upgraded, "ack", at))
    ack = next(d for d in acked.deliveries if d.kind == "ack")
    resolved = {a["labels"]["severity"] for a in alertmanager_alerts(acked, ack, config())}
    assert resolved == {"warning", "critical"}


def test_an_earlier_deadline_stays_and_acknowledged_or_critical_incidents_are_not_upgraded() -> (
    None
):
    incident = raised("warning")
    at = NOW + timedelta(minutes=25)  # the hoog deadline (30 m) is sooner than 25 + 10
    upgraded, _ = message_in(incident, "2", at, at, "critical")
    assert upgraded is not None and upgraded.escalate_at == NOW + timedelta(minutes=30)
    acked, _ = apply(incident, event(incident, "ack", NOW))
    joined, outcome = message_in(acked, "3", at, at, "critical")
    assert outcome == "joined" and joined is not None and joined.severity == "warning"
    critical = raised("critical")
    joined, outcome = message_in(critical, "4", at, at, "critical")
    assert outcome == "joined"


# 4. Every raise, upgrade, escalation, ack and expiry is published as a record.


def test_incident_records_carry_the_alert_and_a_stable_dedupe_key() -> None:
    incident = raised()
    record = incident_record(incident, "raised", NOW, "the text")
    assert (record.kind, record.severity, record.team, record.responder) == (
        "raised",
        "critical",
        "web",
        "bob",
    )
    assert record.conversation_id == incident.conversation_id and record.text == "the text"
    later = incident_record(incident, "raised", NOW + timedelta(seconds=5), "the text")
    assert record.dedupe_key == later.dedupe_key  # a repeat after a crash is recognisable
    escalated, _ = apply(incident, event(incident, "escalate", NOW, level=1))
    escalation = incident_record(escalated, "escalated", NOW, "x")
    assert escalation.responder == "cas" and escalation.dedupe_key != record.dedupe_key
    parsed = AlertEvent.model_validate_json(record.to_json())
    assert parsed == record and json.loads(record.to_json())["kind"] == "raised"
    with pytest.raises(ValueError, match="informational"):
        incident_record(incident, "ack", NOW, "x")
    with pytest.raises(ValueError, match="severity, team and responder"):
        event(incident, "raised", NOW)


@pytest.mark.parametrize("kind", sorted(INFO_KINDS))
def test_records_change_no_incident(kind: str) -> None:
    incident = raised()
    record = incident_record(incident, kind, NOW, "x")
    assert apply(incident, record) == (incident, "ignored")


# 6. A notice accepted after the ack is resolved too.


def test_a_notice_delivered_after_the_ack_gets_its_own_ack_notice() -> None:
    incident = raised()
    acked, _ = apply(incident, event(incident, "ack", NOW, by="bob"))
    # Nobody confirmed the raise yet, but it may be in flight: both get an ack.
    assert [d.kind for d in acked.deliveries] == ["raise", "raise", "ack", "ack"]
    late, outcome = apply(acked, delivered(incident, "alertmanager", "raise", NOW))
    assert outcome == "delivered-late"
    assert [(d.receiver, d.kind) for d in due_deliveries(late, NOW)] == [
        ("alertmanager", "ack"),
        ("webhook-1", "ack"),
        ("alertmanager", "ack-raise"),
    ]
    assert apply(late, delivered(incident, "alertmanager", "raise", NOW))[1] == "ignored"
    failed = event(incident, "failed", NOW, receiver="webhook-1", delivery_kind="raise", error="x")
    assert apply(late, failed)[1] == "ignored"


def test_a_late_escalation_after_a_delivered_ack_gets_a_second_ack_notice() -> None:
    incident = raised()
    up, _ = apply(incident, event(incident, "escalate", NOW, level=1))
    up, _ = apply(up, delivered(incident, "alertmanager", "raise", NOW))
    acked, _ = apply(up, event(incident, "ack", NOW))
    acked, _ = apply(acked, delivered(incident, "alertmanager", "ack", NOW))
    late, outcome = apply(acked, delivered(incident, "alertmanager", "escalate-1", NOW))
    assert outcome == "delivered-late"
    [notice] = [d for d in due_deliveries(late, NOW) if d.receiver == "alertmanager"]
    assert notice.kind == "ack-escalate-1"
    resolved = alertmanager_alerts(late, notice, config())
    assert [a["labels"]["escalation_level"] for a in resolved] == ["0", "1"]
    assert all(a["endsAt"] == NOW.isoformat().replace("+00:00", "Z") for a in resolved)
    assert notice_text(late, notice, config()).startswith("✔ Bevestigd")


# 8. Permanent failures back off at once.


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (404, True), (408, False), (429, False), (500, False), (503, False)],
)
def test_client_errors_other_than_timeout_and_busy_are_permanent(
    status: int, permanent: bool
) -> None:
    assert permanent_failure(status) is permanent


def test_permanent_failures_wait_the_longest_backoff_at_once() -> None:
    assert retry_delay(1, BASE) == BASE
    assert retry_delay(1, BASE, permanent=True) == MAX_RETRY


# 7. The benchmark sends on an exact schedule.


@pytest.mark.parametrize("rate", [0.5, 3.0, 15.0, 20.0])
def test_bench_schedule_sends_exactly_the_rate(rate: float) -> None:
    assert due(100.0, 100.0, rate) == 1
    assert due(100.0, 99.0, rate) == 0
    assert due(100.0, 100.0 + 10 - 1e-9, rate) == round(10 * rate)
    assert next_due(100.0, 3, rate) == pytest.approx(100.0 + 3 / rate)
    assert due(100.0, 1e9, 0.0) == 0 and next_due(100.0, 0, 0.0) == float("inf")


def test_alert_documents_fit_the_strict_mapping() -> None:
    properties = AlertIndexNames("x").template_body()["template"]["mappings"]["properties"]
    assert set(alert_document(raised(), NOW)) == set(properties)
