"""`luisterpost report ...`: reports for the organisation, from the index."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ingest.events import CHANNELS
from ingest.localtime import AMSTERDAM
from luisterpost.errors import LuisterpostError
from luisterpost.settings import Settings, get_settings

__all__ = ["report_app", "write_gap_report"]

report_app = typer.Typer(
    no_args_is_help=True, help="Reports: response times and out-of-hours gaps."
)
console = Console()

DEFAULT_OUT = Path("reports") / "gaps.html"


def _moment(text: str | None, option: str) -> datetime | None:
    """'2026-11-01' (midnight, Amsterdam) or an ISO date-time (Amsterdam unless it says)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=AMSTERDAM)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (2026-11-01) or date-time (2026-11-01T18:00)",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=AMSTERDAM)


def write_gap_report(
    settings: Settings,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    department: str | None = None,
    channel: str | None = None,
    out: Path = DEFAULT_OUT,
    show: bool = True,
) -> Path:
    """Collect the gap report from the index, print it, write the HTML page; return its path."""
    from elasticsearch import ApiError, TransportError

    from route.index.elasticsearch import sync_client
    from route.index.names import IndexNames
    from route.report.gaps import Filters, collect
    from route.report.render import print_report, render_html
    from route.rules import load_rules

    rules = load_rules(settings.routing_rules)
    if department is not None and department not in rules.departments:
        raise LuisterpostError(
            f"unknown department {department!r}; choose from {', '.join(rules.departments)}"
        )
    if channel is not None and channel not in CHANNELS:
        raise LuisterpostError(f"unknown channel {channel!r}; choose from {', '.join(CHANNELS)}")
    if start and end and end <= start:
        raise LuisterpostError("--to must be after --from")
    filters = Filters(start, end, department, channel)
    es = sync_client(settings.es_url, settings.es_api_key)
    try:
        report = collect(es, IndexNames(settings.index_prefix).messages_alias, filters, _now())
    except (ApiError, TransportError) as exc:
        raise LuisterpostError(f"cannot read the index at {settings.es_url}: {exc}") from None
    finally:
        es.close()
    if show:
        print_report(report, console)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, rules.calendar_for(department or rules.default_department)))
    return out


def _now() -> datetime:
    return datetime.now(UTC)


@report_app.command("gaps")
def gaps(
    start: Annotated[
        str | None, typer.Option("--from", help="first day or moment (Amsterdam time)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="up to, not including")] = None,
    department: Annotated[str | None, typer.Option(help="one department id")] = None,
    channel: Annotated[str | None, typer.Option(help="one channel")] = None,
    out: Annotated[Path, typer.Option(help="where to write the HTML page")] = DEFAULT_OUT,
) -> None:
    """Response times and out-of-hours gaps: terminal tables and an HTML page with pictures."""
    path = write_gap_report(
        get_settings(),
        start=_moment(start, "--from"),
        end=_moment(end, "--to"),
        department=department,
        channel=channel,
        out=out,
    )
    console.print(f"[green]✔[/] gap report written to {path.resolve()}")
