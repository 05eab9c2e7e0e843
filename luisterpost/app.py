"""The one place that builds the faust app, its topics, and attaches the chosen stages.

Every stage joins one consumer group (``settings.app_id``): offsets are kept per topic, and each
stage consumes its own topics, so the stages can run together in one process or apart in
several (``luisterpost worker STAGE``) without losing their position.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import faust

from enrich import stage as enrich_stage
from enrich.pipeline import Enricher, freeze_startup_objects
from ingest import stage as ingest_stage
from ingest.normalise import load_own_accounts
from ingest.registry import NormaliseContext
from luisterpost.consumer_watch import register_consumer_watch
from luisterpost.settings import Settings
from luisterpost.topics import TopicNames
from route import stage as route_stage
from route.index import stage as index_stage
from route.index.elasticsearch import async_client
from route.index.names import IndexNames
from route.rules import RoutingConfig, load_rules

__all__ = ["STAGES", "build_app", "topic_names"]

log = logging.getLogger(__name__)

STAGES = ("normalise", "enrich", "route", "index", "alert")


def topic_names(settings: Settings, rules: RoutingConfig) -> TopicNames:
    return TopicNames(settings.topic_prefix, tuple(rules.departments))


def build_app(settings: Settings, stages: Sequence[str]) -> faust.App:
    """A faust app with the agents of ``stages`` attached."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(STAGES)}")
    rules = load_rules(settings.routing_rules)
    names = topic_names(settings, rules)
    (settings.state_dir / "faust").mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_servers.split(",")],
        store=settings.faust_store,
        datadir=str(settings.state_dir / "faust"),
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # >0 keeps faust's own assignor in every process, tables or not: stage processes
        # without the dedupe table would otherwise propose 'roundrobin' and never agree.
        table_standby_replicas=1,
    )

    def topic(name: str) -> faust.TopicT:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
        )

    def changelog(name: str) -> faust.TopicT:
        # Tables write JSON; recovery must read their changelog back the same way.
        return app.topic(
            name,
            key_type=str,
            value_type=str,
            key_serializer="json",
            value_serializer="json",
            partitions=settings.partitions,
        )

    register_consumer_watch(app, busy=index_stage.is_retrying)
    deadletter = topic(names.deadletter)
    if "normalise" in stages:
        secret = settings.pseudonym_secret()
        own_accounts = load_own_accounts(settings.own_accounts)
        ingest_stage.register(
            app,
            raw=topic(names.raw),
            ingested=topic(names.ingested),
            normalised=topic(names.normalised),
            deadletter=deadletter,
            dedupe_changelog=changelog(names.dedupe_changelog),
            context=lambda: NormaliseContext(secret, datetime.now(UTC), own_accounts),
            retention=settings.state_retention,
        )
    if "enrich" in stages:
        classifier = Enricher(  # the trained pipeline, urgency rules, the municipality's places
            settings.classifier_model,
            rules=settings.urgency_rules,
            gazetteer=settings.gazetteer,
        )
        freeze_startup_objects()
        enrich_stage.register(
            app,
            normalised=topic(names.normalised),
            enriched=topic(names.enriched),
            deadletter=deadletter,
            classifier=classifier,
        )
    if "route" in stages:
        route_stage.register(
            app,
            enriched=topic(names.enriched),
            routed=topic(names.routed),
            alerts=topic(names.alerts),
            departments={d: topic(names.department(d)) for d in rules.departments},
            deadletter=deadletter,
            conversations_changelog=changelog(names.conversations_changelog),
            rules=rules,
            retention=settings.state_retention,
            topic_prefix=settings.topic_prefix,
        )
    if "index" in stages:
        index_stage.register(
            app,
            routed=topic(names.routed),
            deadletter=deadletter,
            client=lambda: async_client(settings.es_url, settings.es_api_key),
            names=IndexNames(settings.index_prefix),
            batch_size=settings.index_batch_size,
            batch_seconds=settings.index_batch_seconds,
        )
    if "alert" in stages:
        _register_alert_stage(app, settings, rules, names, topic, changelog, deadletter)
    return app


def _register_alert_stage(
    app: faust.App,
    settings: Settings,
    rules: RoutingConfig,
    names: TopicNames,
    topic: Callable[[str], faust.TopicT],
    changelog: Callable[[str], faust.TopicT],
    deadletter: faust.TopicT,
) -> None:
    from route.oncall import stage as alert_stage
    from route.oncall.config import load_oncall
    from route.oncall.delivery import receivers_from
    from route.oncall.index import AlertIndexNames

    oncall = load_oncall(settings.oncall_rules)
    oncall.check_departments(set(rules.departments))
    alert_stage.register(
        app,
        alerts=topic(names.alerts),
        events=topic(names.alert_events),
        changelog=changelog(names.alert_incidents_changelog),
        deadletter=deadletter,
        config=oncall,
        calendar=rules.calendar,
        receivers=receivers_from(settings.alertmanager_url, settings.alert_webhook_urls),
        es_client=lambda: async_client(settings.es_url, settings.es_api_key),
        index_names=AlertIndexNames(settings.index_prefix),
        retention=settings.state_retention,
        tick_seconds=settings.alert_tick_seconds,
        retry_base=timedelta(seconds=settings.alert_retry_seconds),
    )
