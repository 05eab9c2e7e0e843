"""Every Kafka topic of the pipeline, named in one place and created explicitly.

All message topics are keyed by conversation id, so a conversation stays on one partition
and in order; the raw topic is keyed by delivery id (the conversation is unknown before parsing).
"""

from __future__ import annotations

from dataclasses import dataclass

from route.router import department_topic

__all__ = ["TopicNames", "TopicSpec"]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


@dataclass(frozen=True)
class TopicNames:
    prefix: str
    departments: tuple[str, ...]

    @property
    def raw(self) -> str:
        return f"{self.prefix}.raw"

    @property
    def ingested(self) -> str:
        """Normalised but not yet deduplicated."""
        return f"{self.prefix}.messages.ingested"

    @property
    def normalised(self) -> str:
        return f"{self.prefix}.messages.normalised"

    @property
    def enriched(self) -> str:
        return f"{self.prefix}.messages.enriched"

    @property
    def routed(self) -> str:
        """Every message with its routing decision; what the indexer reads."""
        return f"{self.prefix}.messages.routed"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts.urgent"

    @property
    def alert_events(self) -> str:
        """Acks and the alert stage's own escalate/delivered/failed events, keyed by conversation."""
        return f"{self.prefix}.alerts.events"

    @property
    def alert_incidents_changelog(self) -> str:
        """The alert stage's open-incidents table (compacted)."""
        return f"{self.prefix}.state.alert-incidents-changelog"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def dedupe_changelog(self) -> str:
        return f"{self.prefix}.state.dedupe-changelog"

    @property
    def conversations_changelog(self) -> str:
        """Conversation tracking state of the route stage (first responses)."""
        return f"{self.prefix}.state.conversations-changelog"

    def department(self, department: str) -> str:
        return department_topic(self.prefix, department)

    @property
    def pipeline(self) -> tuple[str, ...]:
        """Topics a stage consumes, in pipeline order (their consumer lag is the backlog)."""
        return (self.raw, self.ingested, self.normalised, self.enriched, self.routed)

    def specs(self, partitions: int) -> list[TopicSpec]:
        """All topics with their partition counts and configs."""
        week = str(7 * 24 * 3600 * 1000)
        keep = {"retention.ms": week}
        specs = [TopicSpec(name, partitions, keep) for name in self.pipeline]
        specs += [TopicSpec(self.department(d), partitions, keep) for d in self.departments]
        specs.append(TopicSpec(self.alerts, partitions, keep))
        specs.append(TopicSpec(self.alert_events, partitions, keep))
        specs.append(
            TopicSpec(self.alert_incidents_changelog, partitions, {"cleanup.policy": "compact"})
        )
        # Dead letters wait for a person: keep them a month.
        specs.append(
            TopicSpec(self.deadletter, partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)})
        )
        specs.append(TopicSpec(self.dedupe_changelog, partitions, {"cleanup.policy": "compact"}))
        specs.append(
            TopicSpec(self.conversations_changelog, partitions, {"cleanup.policy": "compact"})
        )
        return specs
