"""Pure routing: a message and the rules in, the department and alert decision out."""

from __future__ import annotations

from ingest.events import Alert, Message, Routing
from route.rules import Condition, RoutingConfig

__all__ = ["condition_holds", "department_topic", "route"]


def department_topic(prefix: str, department: str) -> str:
    """Kafka topic name of a department."""
    return f"{prefix}.dept.{department}"


def condition_holds(condition: Condition, message: Message) -> bool:
    """Whether an enriched message meets every field of a rule's condition."""
    enrichment = message.enrichment
    if enrichment is None:
        return False
    checks = (
        (condition.topic, enrichment.topic),
        (condition.urgency, enrichment.urgency),
        (condition.intent, enrichment.intent),
        (condition.channel, message.channel),
    )
    if any(allowed and value not in allowed for allowed, value in checks):
        return False
    pattern = condition.keyword_pattern
    return pattern is None or bool(pattern.search(message.text))


def route(message: Message, config: RoutingConfig, topic_prefix: str) -> Routing:
    """Decide where an enriched inbound message goes.

    :param message: must carry its enrichment.
    :param config: the validated routing rules.
    :param topic_prefix: prefix of the department topics.
    :raises ValueError: if the message was not enriched.
    """
    if message.enrichment is None:
        raise ValueError("cannot route a message without enrichment")
    department, rule = (
        config.topics.get(message.enrichment.topic, config.default_department),
        "topic",
    )
    if message.enrichment.topic not in config.topics:
        rule = "default"
    for override in config.overrides:
        if override.active and condition_holds(override.when, message):
            department, rule = override.department, override.name
            break
    office_hours = config.calendar_for(department).is_open(message.received_at)
    return Routing(
        department=department,
        department_topic=department_topic(topic_prefix, department),
        rule=rule,
        office_hours=office_hours,
        alert=_alert(message, config, office_hours),
    )


def _alert(message: Message, config: RoutingConfig, office_hours: bool) -> Alert | None:
    assert message.enrichment is not None
    urgency = message.enrichment.urgency
    severity = config.alerts.severity(urgency, message.enrichment.urgency_score, office_hours)
    if severity == "critical":
        return Alert(reason=f"urgency {urgency}", severity="critical")
    if severity == "warning":
        return Alert(reason=f"urgency {urgency} outside office hours", severity="warning")
    return None
