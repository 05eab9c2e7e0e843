"""The `luisterpost` command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from enrich.cli import classify
from ingest.importer import ImportResult
from ingest.registry import NormaliseContext
from luisterpost.errors import LuisterpostError
from luisterpost.services import LocalServices
from luisterpost.settings import Settings, get_settings
from luisterpost.topics import TopicNames
from route.oncall.cli import oncall_app
from route.report.cli import report_app

__all__ = ["app", "main"]

console = Console()
err = Console(stderr=True)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Luisterpost: social listening for Dutch municipalities.",
)
services_app = typer.Typer(
    no_args_is_help=True, help="The embedded Kafka broker and Elasticsearch API (noida-db)."
)
rules_app = typer.Typer(no_args_is_help=True, help="Routing rules.")
ingest_app = typer.Typer(no_args_is_help=True, help="Channel ingest: webhooks and imports.")
app.add_typer(services_app, name="services")
app.add_typer(ingest_app, name="ingest")
app.add_typer(rules_app, name="rules")
app.add_typer(report_app, name="report")
app.add_typer(oncall_app, name="oncall")
app.command("classify")(classify)
kibana_app = typer.Typer(no_args_is_help=True, help="Kibana dashboards (saved objects).")
app.add_typer(kibana_app, name="kibana")

SAMPLE = Path(__file__).resolve().parent.parent / "ingest" / "samples" / "vennebroek-4-weeks.jsonl"


def _local(settings: Settings) -> LocalServices:
    return LocalServices(
        settings.noida_data_dir, settings.local_kafka_port, settings.local_elasticsearch_port
    )


@services_app.command("up")
def services_up() -> None:
    """Start Kafka and Elasticsearch locally (nothing when external servers are configured)."""
    settings = get_settings()
    if not settings.uses_local_services:
        console.print(
            f"External servers configured (Kafka {settings.kafka_servers}, Elasticsearch {settings.es_url}); nothing to start."
        )
        return
    local = _local(settings)
    local.up()
    console.print(
        f"[green]✔[/] Kafka         {local.kafka_servers}\n[green]✔[/] Elasticsearch {local.elasticsearch_url}\n  data: {local.data_dir}"
    )


@services_app.command("down")
def services_down() -> None:
    """Stop the local services; their data stays for the next `up`."""
    settings = get_settings()
    if not settings.uses_local_services:
        console.print("External servers configured; nothing to stop.")
        return
    _local(settings).down()
    console.print(
        "[green]✔[/] local Kafka and Elasticsearch stopped (data kept in "
        f"{settings.noida_data_dir})"
    )


@services_app.command("status")
def services_status() -> None:
    """Show whether Kafka and Elasticsearch answer."""
    from luisterpost.services import elasticsearch_ready, wait_for_port

    settings = get_settings()
    if settings.uses_local_services:
        state = _local(settings).state()
        kafka_ok, es_ok = state.kafka, state.elasticsearch
    else:
        host, _, port = settings.kafka_servers.split(",")[0].rpartition(":")
        kafka_ok = wait_for_port(host, int(port), 2)
        es_ok = elasticsearch_ready(settings.es_url)
    mark = {True: "[green]up[/]", False: "[red]down[/]"}
    console.print(f"Kafka         {settings.kafka_servers}  {mark[kafka_ok]}")
    console.print(f"Elasticsearch {settings.es_url}  {mark[es_ok]}")
    if not (kafka_ok and es_ok):
        raise typer.Exit(1)


def _ensure_topics(settings: Settings) -> TopicNames:
    """Create missing topics; return the names (a missing topic would auto-create with one partition)."""
    from luisterpost.app import topic_names
    from luisterpost.kafka_admin import ensure_topics
    from route.rules import load_rules

    names = topic_names(settings, load_rules(settings.routing_rules))
    ensure_topics(
        settings.kafka_servers, names.specs(settings.partitions), settings.replication_factor
    )
    return names


def _ensure_index(settings: Settings) -> None:
    from route.index.elasticsearch import ensure_templates, sync_client
    from route.index.names import IndexNames
    from route.oncall.index import AlertIndexNames, ensure_alerts_template

    es = sync_client(settings.es_url, settings.es_api_key)
    ensure_templates(es, IndexNames(settings.index_prefix))
    ensure_alerts_template(es, AlertIndexNames(settings.index_prefix))


def _setup(settings: Settings) -> None:
    _ensure_topics(settings)
    _ensure_index(settings)


@app.command()
def setup() -> None:
    """Create every Kafka topic and install the Elasticsearch index template."""
    _setup(get_settings())
    console.print("[green]✔[/] topics and index template in place")


@app.command()
def worker(
    stages: Annotated[
        list[str] | None, typer.Argument(help="normalise, enrich, route, index, alert, or all")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus metrics port (default from settings)")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug")] = "warn",
) -> None:
    """Run pipeline stages: all in one process (default) or one stage for scale-out."""
    import faust
    from prometheus_client import start_http_server

    from luisterpost.app import STAGES, build_app

    settings = get_settings()
    chosen = list(STAGES) if not stages or stages == ["all"] else stages
    faust_app = build_app(settings, chosen)
    _ensure_topics(settings)
    if "index" in chosen or "alert" in chosen:
        _ensure_index(settings)
    port = metrics_port if metrics_port is not None else settings.metrics_port
    try:
        start_http_server(port, addr="127.0.0.1" if settings.uses_local_services else "0.0.0.0")
    except OSError as exc:
        raise LuisterpostError(
            f"cannot serve metrics on port {port}: {exc.strerror}; pass --metrics-port"
        ) from None
    err.print(f"luisterpost worker: stages {', '.join(chosen)}; metrics on :{port}/metrics")
    sys.argv = sys.argv[:1]  # faust's own option parser must not see ours
    faust.Worker(faust_app, loglevel=loglevel, quiet=True).execute_from_commandline()


@ingest_app.command("import")
def ingest_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl (export/v1) or .csv")
    ],
    source: Annotated[
        str | None, typer.Option(help="source format, when the file name does not tell")
    ] = None,
) -> None:
    """Import an export file: check every record, send the good ones to the raw topic."""
    _import(get_settings(), file, source)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)] = SAMPLE,
) -> None:
    """Replay an export file onto the raw topic (the same as `ingest import`)."""
    _import(get_settings(), file, None)


def _context(settings: Settings) -> NormaliseContext:
    from ingest.normalise import load_own_accounts

    return NormaliseContext(
        settings.pseudonym_secret(), datetime.now(UTC), load_own_accounts(settings.own_accounts)
    )


def _import(settings: Settings, file: Path, source: str | None) -> ImportResult:
    from rich.progress import Progress

    from ingest.importer import ImportResult, check_records, read_records
    from ingest.replay import send_dead_letters, send_records

    names = _ensure_topics(settings)
    total = sum(1 for _ in read_records(file, source))
    result = ImportResult()
    with Progress(console=console) as progress:
        task = progress.add_task(f"importing {file.name}", total=total)
        records = check_records(read_records(file, source), _context(settings), result)
        send_records(records, settings.kafka_servers, names.raw,
                     progress=lambda n: progress.update(task, completed=n + result.duplicate + result.rejected))  # fmt: skip
        progress.update(task, completed=total)
    if result.dead_letters:
        send_dead_letters(result.dead_letters, settings.kafka_servers, names.deadletter)
    table = Table(title=f"{file.name} → {names.raw}", title_justify="left")
    for column in ("accepted", "duplicate", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(str(result.accepted), str(result.duplicate), str(result.rejected))
    console.print(table)
    for example in result.examples:
        err.print(f"[yellow]rejected[/] {example}")
    if result.rejected:
        err.print(
            f"{result.rejected} rejected records kept on {names.deadletter} with their reasons"
        )
    return result


@ingest_app.command("serve")
def ingest_serve(
    port: Annotated[int, typer.Option(help="HTTP port")] = 8080,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
) -> None:
    """Serve the webhook endpoints and the app API (secrets from the environment)."""
    from aiohttp import web

    from ingest.http import IngestSecrets, create_app
    from ingest.publisher import KafkaPublisher

    settings = get_settings()
    names = _ensure_topics(settings)

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    meta_secret, x_secret = secret(settings.meta_app_secret), secret(settings.x_consumer_secret)
    keys = tuple(k.strip() for k in (secret(settings.app_api_keys) or "").split(",") if k.strip())
    secrets = IngestSecrets(
        meta_app_secret=meta_secret.encode() if meta_secret else None,
        meta_verify_token=secret(settings.meta_verify_token),
        x_consumer_secret=x_secret.encode() if x_secret else None,
        app_api_keys=keys,
    )
    publisher = KafkaPublisher(settings.kafka_servers, names.raw, names.deadletter)
    context = _context(settings)
    web_app = create_app(
        secrets,
        publisher,
        lambda: replace(context, ingested_at=datetime.now(UTC)),
        settings.ingest_max_body_bytes,
    )

    async def start(_: web.Application) -> None:
        await publisher.start()

    async def stop(_: web.Application) -> None:
        await publisher.stop()

    web_app.on_startup.append(start)
    web_app.on_cleanup.append(stop)
    configured = [
        name for name, on in (("meta", meta_secret), ("x", x_secret), ("app", keys)) if on
    ]
    err.print(
        f"luisterpost ingest: http://{host}:{port}  endpoints configured: {', '.join(configured) or 'none'}"
    )
    web.run_app(web_app, host=host, port=port, print=None, access_log=None)


@app.command()
def wait(timeout: Annotated[float, typer.Option(help="seconds")] = 600) -> None:
    """Wait until every stage has processed everything on its input topics."""
    _wait(get_settings(), timeout)


def _wait(
    settings: Settings, timeout: float, check_alive: Callable[[], None] = lambda: None
) -> None:
    from rich.progress import Progress

    from luisterpost.app import topic_names
    from luisterpost.pipeline import wait_until_drained
    from route.rules import load_rules

    names = topic_names(settings, load_rules(settings.routing_rules))
    with Progress(console=console) as progress:
        task = progress.add_task("processing", total=None)
        peak = [0]

        def show(lag: dict[str, int]) -> None:
            check_alive()
            backlog = sum(lag.values())
            peak[0] = max(peak[0], backlog)
            progress.update(
                task,
                total=peak[0] or 1,
                completed=peak[0] - backlog,
                description=f"processing (backlog {backlog})",
            )

        wait_until_drained(
            settings.kafka_servers, settings.app_id, names.pipeline, timeout, on_poll=show
        )
    console.print("[green]✔[/] every message processed")


@app.command()
def summary() -> None:
    """Print messages per channel, department and urgency from the index."""
    _summary(get_settings())


def _summary(settings: Settings) -> None:
    from luisterpost.summary import fetch_summary, render_summary
    from route.index.elasticsearch import sync_client
    from route.index.names import IndexNames

    es = sync_client(settings.es_url, settings.es_api_key)
    alias = IndexNames(settings.index_prefix).messages_alias
    es.indices.refresh(index=alias)
    render_summary(fetch_summary(es, alias), console)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)] = SAMPLE,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the pipeline")] = 900,
) -> None:
    """The demo: services, workers, replay of the sample data, summary."""
    from luisterpost.demo import run_demo

    run_demo(get_settings(), file, timeout, console)


@rules_app.command("check")
def rules_check(path: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Validate a routing rules file and show the topic -> department map."""
    from route.rules import load_rules

    rules = load_rules(path or get_settings().routing_rules)
    table = Table(title="topic → department")
    table.add_column("topic")
    table.add_column("department")
    for topic, dept in rules.topics.items():
        table.add_row(topic, dept)
    console.print(table)
    console.print(
        f"[green]✔[/] {len(rules.departments)} departments, {len(rules.overrides)} overrides, default {rules.default_department}"
    )


@kibana_app.command("import")
def kibana_import(
    url: Annotated[str | None, typer.Option(help="Kibana URL (LUISTERPOST_KIBANA_URL)")] = None,
    file: Annotated[Path | None, typer.Option(help="saved objects (NDJSON)")] = None,
) -> None:
    """Import the data view, Lens views, urgent-messages search and dashboard (overwrites)."""
    from luisterpost.kibana import SAVED_OBJECTS, import_saved_objects, read_saved_objects

    settings = get_settings()
    key = settings.kibana_api_key.get_secret_value() if settings.kibana_api_key else None
    target = url or settings.kibana_url
    report = import_saved_objects(target, read_saved_objects(file or SAVED_OBJECTS), key)
    console.print(f"[green]✔[/] {report.success_count} saved objects imported into {target}")


@app.command()
def retention(
    months: Annotated[
        int | None, typer.Option(min=1, help="months kept (LUISTERPOST_RETENTION_MONTHS)")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="only show what would be deleted")] = False,
    ilm: Annotated[
        bool, typer.Option(help="real Elasticsearch: install and attach the ILM policy instead")
    ] = False,
) -> None:
    """Delete monthly message indices older than the retention (the current month always stays)."""
    from route.index.elasticsearch import sync_client
    from route.index.names import IndexNames
    from route.index.retention import apply_retention, attach_ilm

    settings = get_settings()
    keep = months or settings.retention_months
    es = sync_client(settings.es_url, settings.es_api_key)
    names = IndexNames(settings.index_prefix)
    if ilm:
        attached = attach_ilm(es, names, keep)
        console.print(
            f"[green]✔[/] ILM policy {names.prefix}-messages-retention ({keep} months) on "
            f"{len(attached)} indices"
        )
        return
    plan = apply_retention(es, names, keep, datetime.now(UTC).date(), dry_run)
    verb = "would delete" if dry_run else "deleted"
    for name in plan.delete:
        console.print(f"{verb} {name}")
    console.print(
        f"[green]✔[/] keeping {len(plan.keep)} monthly indices from {plan.oldest_kept_month:%Y-%m}"
        f" ({keep} months); {verb} {len(plan.delete)}"
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except LuisterpostError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    except (
        ValueError
    ) as exc:  # invalid configuration files raise ValueError subclasses with a reason
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
