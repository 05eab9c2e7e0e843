"""The alerts index: one document per incident, so dashboards can show time to acknowledge.

Dated indices (``<prefix>-alerts-YYYY.MM`` by the first message's month, so a replay rewrites
the same document) under the read alias ``<prefix>-alerts``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from ingest.localtime import AMSTERDAM, to_utc
from route.oncall.incidents import Incident

__all__ = ["AlertIndexNames", "alert_document", "ensure_alerts_template"]

_TEMPLATE = Path(__file__).parent / "alerts-template.json"


class AlertIndexNames:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def alias(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def template(self) -> str:
        return f"{self.prefix}-alerts"

    def index(self, received_at: datetime) -> str:
        return f"{self.prefix}-alerts-{to_utc(received_at):%Y.%m}"

    def template_body(self) -> dict[str, Any]:
        body = json.loads(_TEMPLATE.read_text())
        body.pop("_comment", None)
        body["index_patterns"] = [f"{self.prefix}-alerts-*"]
        body["template"]["aliases"] = {self.alias: {}}
        return body


def ensure_alerts_template(es: Elasticsearch, names: AlertIndexNames) -> None:
    from route.index.elasticsearch import put_template

    put_template(es, names.template, names.template_body(), f"{names.alias}-*")


def alert_document(incident: Incident, indexed_at: datetime) -> dict[str, Any]:
    """The indexed form of an incident (strict mapping: every field is declared)."""
    local = incident.received_at.astimezone(AMSTERDAM)
    delivery_seconds = (
        round((incident.delivered_at - incident.raised_at).total_seconds(), 3)
        if incident.delivered_at
        else None
    )
    return {
        "incident_id": incident.incident_id,
        "conversation_id": incident.conversation_id,
        "message_ids": incident.message_ids,
        "message_count": len(incident.message_ids),
        "team": incident.team,
        "department": incident.department,
        "severity": incident.severity,
        "channel": incident.channel,
        "status": incident.status,
        "office_hours": incident.office_hours,
        "responder": incident.responder,
        "responders": incident.responders,
        "escalation_level": incident.level,
        "received_at": incident.received_at.isoformat(),
        "raised_at": incident.raised_at.isoformat(),
        "delivered_at": incident.delivered_at.isoformat() if incident.delivered_at else None,
        "acknowledged_at": incident.acknowledged_at.isoformat()
        if incident.acknowledged_at
        else None,
        "acknowledged_by": incident.acknowledged_by,
        "escalated_at": incident.escalated_at.isoformat() if incident.escalated_at else None,
        "upgraded_at": incident.upgraded_at.isoformat() if incident.upgraded_at else None,
        "expired_at": incident.expired_at.isoformat() if incident.expired_at else None,
        "minutes_to_ack": incident.minutes_to_ack,
        "seconds_to_delivery": delivery_seconds,
        "local_hour": local.hour,
        "local_weekday": local.isoweekday(),
        "location": incident.location,
        "excerpt": incident.excerpt,
        "link": incident.link,
        "deliveries": [
            {
                "receiver": d.receiver,
                "kind": d.kind,
                "state": d.state,
                "attempts": d.attempts,
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                "last_error": d.last_error,
            }
            for d in incident.deliveries
        ],
        "version": incident.version,
        "indexed_at": indexed_at.isoformat(),
    }
