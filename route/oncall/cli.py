"""`luisterpost oncall`: who is on call, acknowledge an alert, serve the ack endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.localtime import AMSTERDAM
from luisterpost.settings import get_settings

__all__ = ["oncall_app", "parse_moment"]

console = Console()
err = Console(stderr=True)
oncall_app = typer.Typer(no_args_is_help=True, help="On-call roster and alert acknowledgement.")


def parse_moment(text: str | None) -> datetime:
    """'now', ISO date-time with or without offset (without = Europe/Amsterdam), or a date (00:00).

    :raises typer.BadParameter: for anything else.
    """
    if text is None or text.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not 'now' or an ISO time like 2026-12-26T23:00 (+01:00 optional)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=AMSTERDAM)
    return moment.astimezone(UTC)


@oncall_app.command("who")
def who(
    at: Annotated[str | None, typer.Option(help="'now' (default) or an ISO local time")] = None,
    team: Annotated[str | None, typer.Option(help="only this team")] = None,
) -> None:
    """Who is on call (per team), and who an unacknowledged alert escalates to."""
    from route.oncall.config import load_oncall
    from route.oncall.roster import on_call
    from route.rules import load_rules

    settings = get_settings()
    config = load_oncall(settings.oncall_rules)
    rules = load_rules(settings.routing_rules)
    moment = parse_moment(at)
    teams = [team] if team else list(config.teams)
    unknown = [t for t in teams if t not in config.teams]
    if unknown:
        raise typer.BadParameter(f"unknown team {unknown[0]!r}; choose from {list(config.teams)}")
    local = moment.astimezone(AMSTERDAM)
    table = Table(title=f"on call at {local:%a %Y-%m-%d %H:%M %Z}", title_justify="left")
    for column in ("team", "shift", "on call", "then", "why"):
        table.add_column(column)
    for tid in teams:
        roster = on_call(config, rules.calendar, tid, moment)
        person = config.people[roster.person]
        table.add_row(
            tid,
            roster.shift.replace("_", " "),
            f"{person.name} {person.contact}".strip(),
            " → ".join(roster.chain[1:]),
            roster.reason,
        )
    console.print(table)


@oncall_app.command("ack")
def ack(
    incident_id: Annotated[str, typer.Argument(help="the alert id shown in the alert")],
    by: Annotated[str | None, typer.Option(help="who takes it (default: $USER)")] = None,
) -> None:
    """Acknowledge an alert: stops its escalation and records the time to acknowledge."""
    import os

    from luisterpost.cli import _ensure_topics
    from route.oncall.acks import ack_event, send_ack

    settings = get_settings()
    try:
        event = ack_event(incident_id, by or os.environ.get("USER"))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    names = _ensure_topics(settings)
    send_ack(settings.kafka_servers, names.alert_events, event)
    console.print(
        f"[green]✔[/] ack for {event.incident_id} recorded at {event.at.astimezone(AMSTERDAM):%H:%M:%S}"
    )


@oncall_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="HTTP port")] = 8081,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
) -> None:
    """Serve POST /api/v1/alerts/{id}/ack (keys in LUISTERPOST_ONCALL_API_KEYS)."""
    from aiohttp import web

    from luisterpost.cli import _ensure_topics
    from route.oncall.acks import AckPublisher, create_ack_app

    settings = get_settings()
    names = _ensure_topics(settings)
    raw = settings.oncall_api_keys.get_secret_value() if settings.oncall_api_keys else ""
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    publisher = AckPublisher(settings.kafka_servers, names.alert_events)
    web_app = create_ack_app(publisher, keys)

    async def start(_: web.Application) -> None:
        await publisher.start()

    async def stop(_: web.Application) -> None:
        await publisher.stop()

    web_app.on_startup.append(start)
    web_app.on_cleanup.append(stop)
    err.print(
        f"luisterpost oncall: http://{host}:{port}/api/v1/alerts/ID/ack"
        + ("" if keys else "  (no LUISTERPOST_ONCALL_API_KEYS: answers 503)")
    )
    web.run_app(web_app, host=host, port=port, print=None, access_log=None)
