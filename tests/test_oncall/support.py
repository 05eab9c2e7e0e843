"""Builders shared by the on-call tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.events import Alert, Author, Direction, Enrichment, Location, Message, Routing
from route.oncall.config import OncallConfig

ROSTER: dict[str, Any] = {
    "version": 1,
    "handover": {"weekday": 1, "time": "09:00"},
    "rotation_start": "2026-01-05",
    "people": {
        p: {"name": p.title(), "contact": f"@{p}"} for p in ("ann", "bob", "cas", "dirk", "fb")
    },
    "fallback": "fb",
    "default_team": "web",
    "teams": {
        "web": {
            "name": "Webcare",
            "departments": ["klantcontact"],
            "office_hours": ["dirk"],
            "out_of_hours": ["ann", "bob", "cas"],
        },
        "empty": {"name": "Nobody", "departments": ["handhaving"]},
    },
}


def config(**changes: Any) -> OncallConfig:
    return OncallConfig.model_validate({**ROSTER, **changes})


def urgent(
    pid: str,
    at: datetime,
    *,
    conversation: str = "conv-1",
    severity: str = "critical",
    department: str = "klantcontact",
    text: str = "Er ligt een boom over de weg op de Molenweg",
) -> Message:
    message = Message.create(
        channel="twitter",
        platform_message_id=pid,
        platform_conversation_id=conversation,
        direction=Direction.INBOUND,
        author=Author(pseudonym="p"),
        text=text,
        received_at=at,
        ingested_at=at,
        source="test",
    )
    return message.model_copy(
        update={
            "enrichment": Enrichment(
                topic="wegen-verkeer",
                urgency="spoed" if severity == "critical" else "hoog",
                intent="melding",
                topic_score=1,
                urgency_score=1,
                intent_score=1,
                classifier="test",
                locations=[Location(text="Molenweg")],
            ),
            "routing": Routing(
                department=department,
                department_topic=f"x.dept.{department}",
                rule="topic",
                office_hours=False,
                alert=Alert(reason="test", severity=severity),  # type: ignore[arg-type]
            ),
        }
    )
