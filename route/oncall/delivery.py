"""Delivery I/O: Prometheus Alertmanager (v2 API) and generic chat webhooks.

The payloads are built by pure functions; ``Deliverer`` only sends them. Alertmanager
deduplicates by label set, so re-sending an alert is harmless; webhooks get an
``Idempotency-Key`` header (incident id + notice kind) that stays the same on every retry.
A 4xx answer other than 408/429 is a permanent failure (wrong URL, rejected payload): it is
still retried, at the longest backoff, and logged as an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiohttp

from route.oncall.config import OncallConfig
from route.oncall.incidents import Delivery, Incident, expires_at
from route.oncall.policy import render_text

__all__ = [
    "ALERTNAME",
    "Deliverer",
    "DeliveryError",
    "Receiver",
    "alertmanager_alerts",
    "notice_text",
    "permanent_failure",
    "receivers_from",
    "webhook_body",
]

ALERTNAME = "LuisterpostUrgentMessage"


class DeliveryError(Exception):
    """A receiver did not take the notice; the reason is kept in the incident."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def permanent_failure(status: int) -> bool:
    """A client error that repeating the same request will not fix (not 408 Timeout, 429 Busy)."""
    return 400 <= status < 500 and status not in (408, 429)


@dataclass(frozen=True)
class Receiver:
    name: str
    kind: Literal["alertmanager", "webhook"]
    url: str


def receivers_from(alertmanager_url: str | None, webhooks: list[str]) -> list[Receiver]:
    """Named receivers; a webhook's name comes from its URL, so reordering the list is harmless.

    :raises ValueError: for a URL that is not http(s).
    """
    found: list[Receiver] = []
    if alertmanager_url:
        found.append(Receiver("alertmanager", "alertmanager", alertmanager_url.rstrip("/")))
    for url in webhooks:
        digest = hashlib.sha256(url.encode()).hexdigest()[:8]
        found.append(Receiver(f"webhook-{digest}", "webhook", url))
    for receiver in found:
        if not receiver.url.startswith(("http://", "https://")):
            raise ValueError(
                f"alert receiver URL must start with http:// or https:// ({receiver.name})"
            )
    return found


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _labels(incident: Incident, level: int, severity: str) -> dict[str, str]:
    return {
        "alertname": ALERTNAME,
        "incident": incident.incident_id,
        "team": incident.team,
        "severity": severity,
        "responder": incident.responders[min(level, len(incident.responders) - 1)],
        "escalation_level": str(level),
        "department": incident.department,
        "channel": incident.channel,
    }


def notice_text(incident: Incident, delivery: Delivery, config: OncallConfig) -> str:
    text = render_text(incident, config)
    if delivery.kind.startswith("ack"):
        by = incident.acknowledged_by or "onbekend"
        return f"✔ Bevestigd door {by} na {incident.minutes_to_ack} min: {incident.excerpt} {incident.link}"
    if delivery.kind.startswith("escalate"):
        waited = config.escalation.after(incident.severity).total_seconds() / 60
        return f"⚠ Escalatie {delivery.level}: niet bevestigd binnen {waited:g} min. {text}"
    if delivery.kind == "upgrade":
        return f"⬆ Opgeschaald naar spoed (critical): {text}"
    return text


def alertmanager_alerts(
    incident: Incident, delivery: Delivery, config: OncallConfig
) -> list[dict[str, Any]]:
    """The POST /api/v2/alerts body.

    An alert is one label set (severity and escalation level included). A raise or escalation
    fires until the incident expires; an ack resolves every level raised so far, in every
    severity the incident had; an upgrade re-raises every level as critical and resolves the
    warning ones, so Alertmanager routes the incident as critical from then on.
    """
    firing_until = expires_at(incident, config.policy.resolve_after)
    plan: list[tuple[int, str, datetime]] = []  # level, severity, endsAt
    severities = ["warning", "critical"] if incident.upgraded_at else [incident.severity]
    if delivery.kind.startswith("ack"):
        ends = incident.acknowledged_at or incident.raised_at
        plan = [(lvl, sev, ends) for lvl in range(incident.level + 1) for sev in severities]
    elif delivery.kind == "upgrade":
        upgraded = incident.upgraded_at or incident.raised_at
        for lvl in range(delivery.level + 1):
            plan += [(lvl, "warning", upgraded), (lvl, "critical", firing_until)]
    else:
        plan = [(delivery.level, incident.severity, firing_until)]
    alerts = []
    for level, severity, ends in plan:
        starts = incident.raised_at if level == 0 else incident.escalated_at or incident.raised_at
        alerts.append(
            {
                "labels": _labels(incident, level, severity),
                "annotations": {
                    "summary": notice_text(incident, delivery, config),
                    "excerpt": incident.excerpt,
                    "location": incident.location or "",
                    "conversation": incident.conversation_id,
                    "ack": f"luisterpost oncall ack {incident.incident_id}",
                },
                "startsAt": _iso(starts),
                "endsAt": _iso(max(ends, starts)),
                "generatorURL": incident.link,
            }
        )
    return alerts


def webhook_body(incident: Incident, delivery: Delivery, config: OncallConfig) -> dict[str, Any]:
    """Slack, Mattermost and Teams (incoming webhook) all show ``text``."""
    return {"text": notice_text(incident, delivery, config)}


class Deliverer:
    """Sends one notice to one receiver; raises ``DeliveryError`` unless it was accepted."""

    def __init__(
        self, receivers: list[Receiver], config: OncallConfig, timeout: float = 10.0
    ) -> None:
        self.receivers = {r.name: r for r in receivers}
        self.config = config
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def deliver(self, incident: Incident, delivery: Delivery) -> None:
        receiver = self.receivers.get(delivery.receiver)
        if receiver is None:
            raise DeliveryError(f"receiver {delivery.receiver} is no longer configured")
        headers = {
            "Idempotency-Key": delivery.idempotency_key(incident.incident_id),
            "X-Luisterpost-Incident": incident.incident_id,
            "X-Luisterpost-Kind": delivery.kind,
        }
        if receiver.kind == "alertmanager":
            url = f"{receiver.url}/api/v2/alerts"
            body: Any = alertmanager_alerts(incident, delivery, self.config)
        else:
            url, body = receiver.url, webhook_body(incident, delivery, self.config)
        try:
            async with self._client().post(url, json=body, headers=headers) as response:
                if response.status >= 300:
                    detail = (await response.text())[:200]
                    raise DeliveryError(
                        f"{receiver.name}: HTTP {response.status} {detail}".strip(),
                        permanent=permanent_failure(response.status),
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{receiver.name}: {type(exc).__name__} {exc}".strip()) from None
