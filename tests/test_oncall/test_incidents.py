"""Alert policy, incident transitions, payloads and config errors (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from route.oncall.config import OncallConfigError, load_oncall
from route.oncall.delivery import alertmanager_alerts, receivers_from, webhook_body
from route.oncall.incidents import (
    AlertEvent,
    Incident,
    apply_event,
    conversation_of,
    due_deliveries,
    escalation_due,
)
from route.oncall.policy import excerpt, on_message
from route.rules import load_rules
from tests.test_oncall.support import ROSTER, config, urgent

CALENDAR = load_rules().calendar
NOW = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # a Saturday night
RECEIVERS = ["alertmanager", "webhook-1"]
BASE = timedelta(seconds=2)


def raise_one(**kw: object) -> Incident:
    incident, outcome = on_message(
        None, urgent("1", NOW - timedelta(minutes=1), **kw), config(), CALENDAR,  # type: ignore[arg-type]
        now=NOW, partition=3, receivers=RECEIVERS,
    )  # fmt: skip
    assert outcome == "raised" and incident is not None
    return incident


def event(incident: Incident, kind: str, at: datetime, **kw: object) -> AlertEvent:
    return AlertEvent(kind=kind, incident_id=incident.incident_id, at=at, **kw)  # type: ignore[arg-type]


def test_an_urgent_message_raises_one_incident_for_the_responder_with_text() -> None:
    incident = raise_one()
    assert conversation_of(incident.incident_id) == incident.conversation_id
    assert incident.responders == ["bob", "cas", "ann", "fb"]  # week 46 out of hours
    assert incident.escalate_at == NOW + timedelta(minutes=10)
    assert [(d.receiver, d.kind) for d in due_deliveries(incident, NOW)] == [
        ("alertmanager", "raise"),
        ("webhook-1", "raise"),
    ]
    text = webhook_body(incident, incident.deliveries[1], config())["text"]
    assert "Molenweg" in text and "Webcare" in text and incident.link in text
    assert "Bob (@bob)" in text


def test_later_messages_join_the_open_incident_and_replays_are_dropped() -> None:
    incident = raise_one()
    joined, outcome = on_message(
        incident, urgent("2", NOW), config(), CALENDAR, now=NOW, partition=3, receivers=RECEIVERS
    )
    assert outcome == "joined" and joined is not None
    assert len(joined.message_ids) == 2 and joined.deliveries == incident.deliveries
    again, outcome = on_message(
        joined, urgent("2", NOW), config(), CALENDAR, now=NOW, partition=3, receivers=RECEIVERS
    )
    assert outcome == "duplicate" and again is joined


def test_a_quiet_acknowledged_conversation_opens_a_new_incident() -> None:
    incident, _ = apply_event(raise_one(), event(raise_one(), "ack", NOW), RECEIVERS, BASE, BASE)
    later = NOW + timedelta(hours=3)
    new, outcome = on_message(
        incident, urgent("9", later), config(), CALENDAR, now=later, partition=3, receivers=[]
    )
    assert outcome == "raised" and new is not None
    assert new.incident_id != incident.incident_id
    assert new.superseded is not None and new.superseded.incident_id == incident.incident_id


def test_old_messages_are_recorded_as_stale_and_never_paged() -> None:
    old = urgent("1", NOW - timedelta(days=20))
    incident, outcome = on_message(
        None, old, config(), CALENDAR, now=NOW, partition=0, receivers=RECEIVERS
    )
    assert outcome == "stale" and incident is not None
    assert incident.deliveries == [] and escalation_due(incident, NOW + timedelta(days=1)) is None


def test_escalation_walks_the_chain_until_acknowledged() -> None:
    incident = raise_one()
    assert escalation_due(incident, NOW + timedelta(minutes=9)) is None
    at = NOW + timedelta(minutes=10)
    assert escalation_due(incident, at) == 1
    after = timedelta(minutes=10)
    escalated, outcome = apply_event(
        incident, event(incident, "escalate", at, level=1), RECEIVERS, after, BASE
    )
    assert outcome == "escalated" and escalated.responder == "cas"
    assert {d.kind for d in due_deliveries(escalated, at)} == {"raise", "escalate-1"}
    same, outcome = apply_event(
        escalated, event(incident, "escalate", at, level=1), RECEIVERS, after, BASE
    )
    assert outcome == "ignored" and same is escalated
    acked, _ = apply_event(escalated, event(incident, "ack", at, by="cas"), RECEIVERS, after, BASE)
    assert escalation_due(acked, at + timedelta(hours=1)) is None
    assert acked.minutes_to_ack == 10.0 and acked.acknowledged_by == "cas"


def test_deliveries_retry_with_backoff_and_ack_cancels_what_is_still_pending() -> None:
    incident = raise_one()
    failed, _ = apply_event(
        incident, event(incident, "failed", NOW, receiver="webhook-1", delivery_kind="raise", error="503"), RECEIVERS, BASE, BASE
    )  # fmt: skip
    assert [d.receiver for d in due_deliveries(failed, NOW)] == ["alertmanager"]
    assert due_deliveries(failed, NOW + timedelta(seconds=2))[-1].attempts == 1
    done, _ = apply_event(
        failed, event(incident, "delivered", NOW, receiver="alertmanager", delivery_kind="raise"), RECEIVERS, BASE, BASE
    )  # fmt: skip
    assert done.delivered_at == NOW
    acked, outcome = apply_event(done, event(incident, "ack", NOW), RECEIVERS, BASE, BASE)
    assert outcome == "acknowledged"
    states = {(d.receiver, d.kind): d.state for d in acked.deliveries}
    assert states == {
        ("alertmanager", "raise"): "delivered",
        ("webhook-1", "raise"): "cancelled",
        ("alertmanager", "ack"): "pending",  # resolves the alert in Alertmanager
        ("webhook-1", "ack"): "pending",  # its failed raise may have been accepted after all
    }
    assert apply_event(acked, event(incident, "ack", NOW), RECEIVERS, BASE, BASE)[1] == "ignored"


def test_alertmanager_payload_labels_and_resolve_on_ack() -> None:
    incident = raise_one()
    [alert] = alertmanager_alerts(incident, incident.deliveries[0], config())
    assert alert["labels"]["team"] == "web" and alert["labels"]["severity"] == "critical"
    assert alert["labels"]["responder"] == "bob" and alert["generatorURL"] == incident.link
    at = NOW + timedelta(minutes=12)
    up, _ = apply_event(incident, event(incident, "escalate", at, level=1), RECEIVERS, BASE, BASE)
    up, _ = apply_event(
        up, event(incident, "delivered", at, receiver="alertmanager", delivery_kind="raise"), RECEIVERS, BASE, BASE
    )  # fmt: skip
    acked, _ = apply_event(up, event(incident, "ack", at), RECEIVERS, BASE, BASE)
    [ack] = [d for d in acked.deliveries if d.kind == "ack" and d.receiver == "alertmanager"]
    resolved = alertmanager_alerts(acked, ack, config())
    assert [a["labels"]["responder"] for a in resolved] == ["bob", "cas"]
    assert all(a["endsAt"] == at.isoformat().replace("+00:00", "Z") for a in resolved)


def test_ids_excerpts_and_receivers_are_checked() -> None:
    with pytest.raises(ValueError, match="not an alert id"):
        conversation_of("twitter-c-123")
    assert excerpt("een  twee\ndrie vier", 12) == "een twee…"
    with pytest.raises(ValueError, match="http"):
        receivers_from("alertmanager:9093", [])
    assert (
        next(r.name for r in receivers_from("http://am:9093/", ["https://chat/x"]))
        == "alertmanager"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fallback": "nobody"}, "fallback: person 'nobody' is not declared"),
        ({"rotation_start": "2026-01-06"}, "not a handover day"),
        ({"escalation": {"critical": "soon"}}, "escalation.critical"),
        ({"policy": {"text": "{excerpt} {secret}"}}, "policy.text"),
        ({"teams": {**ROSTER["teams"], "x": {"name": "X", "departments": ["klantcontact"]}}}, "already covered"),
        ({"overrides": [{"team": "web", "person": "ann", "from": "2026-02-02", "until": "2026-01-01"}]}, "'until' is not after"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    import yaml

    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump({**ROSTER, **change}))
    with pytest.raises(OncallConfigError, match="invalid on-call file") as info:
        load_oncall(path)
    assert message in str(info.value)


def test_shipped_roster_is_valid_against_the_routing_rules() -> None:
    shipped = load_oncall()
    shipped.check_departments(set(load_rules().departments))
    with pytest.raises(OncallConfigError, match="klantcontact"):
        config().check_departments({"handhaving"})
