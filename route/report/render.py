"""The gap report for people: terminal tables, and one self-contained HTML page with pictures.

The HTML needs no network and no JavaScript: heatmaps are coloured table cells, bar charts are
inline SVG, so the page can be mailed around or opened from a share.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from route.office_hours import OfficeHours
from route.report.gaps import GapReport, GroupStats

__all__ = ["print_report", "render_html"]

DAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")


def _minutes(value: float | None) -> str:
    """Minutes as people read them: 45 min, 3.5 h, 2.1 d."""
    if value is None:
        return "–"
    if value < 90:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} d"


def _compact(value: float) -> str:
    """Minutes in a heatmap cell: 45m, 5h, 3d."""
    if value < 60:
        return f"{value:.0f}m"
    if value < 48 * 60:
        return f"{value / 60:.0f}h"
    return f"{value / 1440:.0f}d"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _group_table(title: str, groups: Sequence[GroupStats]) -> Table:
    # light borders and unbroken names, so the table fits an 80-column terminal
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("", no_wrap=True)
    for column in ("msgs", "answered", "open", "overdue", "median\nwait", "office\ntime", "in SL"):
        width = max(len(line) for line in column.splitlines())
        table.add_column(column, justify="right", no_wrap=True, min_width=width)
    for g in groups:
        table.add_row(
            g.name + ("" if g.exact else " *"),
            str(g.messages),
            str(g.answered),
            str(g.unanswered),
            str(g.overdue),
            _minutes(g.median_wall),
            _minutes(g.median_business),
            _share(g.within_share),
        )
    return table


def print_report(report: GapReport, console: Console) -> None:
    """The report as terminal tables."""
    console.rule(f"Out-of-hours gap report — {report.filters.describe()}")
    console.print(
        _group_table(
            "In and out of office hours", [report.in_hours, report.out_of_hours, report.total]
        )
    )
    console.print(_group_table("By department", report.departments))
    console.print(_group_table("By channel", report.channels))
    backlog = Table(title="Unanswered backlog", title_justify="left")
    for column in ("department", "urgency", "unanswered", "overdue"):
        backlog.add_column(
            column, justify="right" if column in ("unanswered", "overdue") else "left"
        )
    for department, urgency, waiting, overdue in report.backlog:
        backlog.add_row(department, urgency, str(waiting), str(overdue))
    console.print(backlog)
    console.print(_shade_grid(report.received))
    if not all(g.exact for g in (report.total, *report.departments, *report.channels)):
        console.print("* median over the most frequent response times only (too many distinct).")


SHADES = " ░▒▓█"


def _shade_grid(counts: Sequence[Sequence[int]]) -> Text:
    """Messages per hour of the week as shaded cells (one line per day, 52 columns wide)."""
    top = max((c for row in counts for c in row), default=0)
    lines = Text("Messages received per hour of the week (Amsterdam time)\n", style="italic")
    lines.append("    " + "".join(f"{h:<6d}" for h in range(0, 24, 3)) + "  total\n")
    for day, row in zip(DAYS, counts, strict=True):
        cells = "".join(
            2 * (SHADES[min(4, 1 + int(4 * c / top))] if c and top else "·") for c in row
        )
        lines.append(f"{day}  {cells}  {sum(row):>5d}\n")
    lines.append(f"    · none  {SHADES[1]} few … {SHADES[4]} most ({top} in one hour)")
    return lines


def _colour(value: float, top: float, hue: int) -> str:
    """Light to dark in one hue; an empty cell stays white."""
    if top <= 0 or value <= 0:
        return "#ffffff"
    lightness = 96 - 58 * min(value / top, 1.0)
    return f"hsl({hue}, 70%, {lightness:.0f}%)"


def _heatmap(
    title: str,
    cells: Sequence[Sequence[float | None]],
    label: str,
    hue: int,
    open_cells: set[tuple[int, int]],
) -> str:
    values = [v for row in cells for v in row if v is not None]
    top = max(values, default=0.0)
    head = "".join(f"<th>{h:02d}</th>" for h in range(24))
    rows = []
    for day, row in enumerate(cells):
        tds = []
        for hour, value in enumerate(row):
            shown = (
                "" if value is None else (_compact(value) if label == "wait" else f"{value:.0f}")
            )
            css = "open" if (day, hour) in open_cells else ""
            tip = f"{DAYS[day]} {hour:02d}:00 – {shown or 'none'}"
            colour = _colour(value or 0.0, top, hue)
            tds.append(
                f'<td class="{css}" style="background:{colour}" title="{escape(tip)}">'
                f"{escape(shown)}</td>"
            )
        rows.append(f"<tr><th>{DAYS[day]}</th>{''.join(tds)}</tr>")
    return (
        f"<h2>{escape(title)}</h2><table class='heat'><tr><th></th>{head}</tr>"
        f"{''.join(rows)}</table>"
        f"<p class='note'>Darkest cell: {escape(_minutes(top) if label == 'wait' else f'{top:.0f}')}. "
        "Outlined cells are webcare office hours (Amsterdam time).</p>"
    )


def _bars(title: str, rows: Sequence[tuple[str, float | None, str]], unit: str) -> str:
    """Horizontal SVG bars: (label, value, text shown)."""
    top = max((v for _, v, _ in rows if v is not None), default=0.0) or 1.0
    height = 22 * len(rows) + 10
    parts = []
    for i, (label, value, text) in enumerate(rows):
        y = 5 + 22 * i
        width = 0 if value is None else 420 * value / top
        parts.append(
            f'<text x="0" y="{y + 14}" class="lbl">{escape(label)}</text>'
            f'<rect x="190" y="{y}" width="{width:.1f}" height="16" rx="2"></rect>'
            f'<text x="{196 + width:.1f}" y="{y + 13}" class="val">{escape(text)}</text>'
        )
    return (
        f"<h2>{escape(title)}</h2>"
        f'<svg class="bars" width="720" height="{height}" role="img" aria-label="{escape(title)}">'
        f"{''.join(parts)}</svg><p class='note'>{escape(unit)}</p>"
    )


def _group_rows(groups: Sequence[GroupStats]) -> str:
    rows = "".join(
        f"<tr><td>{escape(g.name)}</td><td>{g.messages}</td><td>{g.answered}</td>"
        f"<td>{g.unanswered}</td><td>{g.overdue}</td><td>{_minutes(g.median_wall)}</td>"
        f"<td>{_minutes(g.median_business)}</td><td>{_share(g.within_share)}</td></tr>"
        for g in groups
    )
    return (
        "<table class='data'><tr><th></th><th>messages</th><th>answered</th><th>unanswered</th>"
        "<th>overdue</th><th>median wait</th><th>median office time</th>"
        f"<th>within service level</th></tr>{rows}</table>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
.kpis{display:flex;gap:1rem;flex-wrap:wrap}.kpi{border:1px solid #d5dbe1;border-radius:6px;
padding:.6rem 1rem;min-width:150px}.kpi b{display:block;font-size:1.4rem}
table.heat{border-collapse:collapse;font-size:.7rem}table.heat td{width:28px;height:22px;
text-align:center;border:1px solid #eef1f4}table.heat td.open{outline:2px solid #1d2733;
outline-offset:-2px}table.data{border-collapse:collapse;font-size:.85rem}
table.data td,table.data th{padding:.25rem .6rem;border-bottom:1px solid #e4e8ec;text-align:right}
table.data td:first-child{text-align:left}svg.bars rect{fill:#2f6f9f}
svg.bars .lbl{font-size:12px}svg.bars .val{font-size:11px;fill:#444}.note{color:#5b6672;font-size:.8rem}
"""


def render_html(report: GapReport, calendar: OfficeHours | None = None) -> str:
    """One self-contained HTML page with the report's pictures and tables."""
    open_cells: set[tuple[int, int]] = set()
    if calendar is not None:
        for day, periods in calendar.weekly.items():
            for start, end in periods:
                last = 24 if end is None else end.hour + (1 if end.minute else 0)
                open_cells |= {(day - 1, h) for h in range(start.hour, last)}
    t, inside, outside = report.total, report.in_hours, report.out_of_hours
    out_share = outside.messages / t.messages if t.messages else None
    kpis = [
        ("resident messages", str(t.messages)),
        ("outside office hours", _share(out_share)),
        ("median wait", _minutes(t.median_wall)),
        ("median wait, out of hours", _minutes(outside.median_wall)),
        ("within service level", _share(t.within_share)),
        ("unanswered now", str(t.unanswered)),
        ("of which overdue", str(t.overdue)),
    ]
    kpi_html = "".join(f"<div class='kpi'><b>{escape(v)}</b>{escape(k)}</div>" for k, v in kpis)
    backlog_rows = "".join(
        f"<tr><td>{escape(d)}</td><td>{escape(u)}</td><td>{w}</td><td>{o}</td></tr>"
        for d, u, w, o in report.backlog
    )
    oldest_rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape(str(m.get("local", {}).get("timestamp", m.get("received_at", "")))[:16]),
            escape(str(m.get("channel", ""))),
            escape(str(m.get("routing", {}).get("department", ""))),
            escape(str(m.get("enrichment", {}).get("urgency", ""))),
            escape(str(m.get("enrichment", {}).get("topic", ""))),
        )
        for m in report.oldest_unanswered
    )
    sections = [
        f"<h1>Out-of-hours gap report</h1><p class='note'>{escape(report.filters.describe())}; "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC from the index.</p>",
        f"<div class='kpis'>{kpi_html}</div>",
        _heatmap(
            "Messages received per hour of the week", report.received, "count", 210, open_cells
        ),
        _heatmap(
            "Median wait for a first reply, by hour of the week the message arrived",
            report.median_wait,
            "wait",
            20,
            open_cells,
        ),
        _bars(
            "Share answered within the service level",
            [
                (g.name, g.within_share, _share(g.within_share))
                for g in (inside, outside, *report.channels)
            ],
            "Of the messages whose outcome is known: answered, or unanswered past their due time.",
        ),
        _bars(
            "Median wait by department",
            [(g.name, g.median_wall, _minutes(g.median_wall)) for g in report.departments],
            "Wall-clock time from the message to the first reply in its conversation.",
        ),
        _bars(
            "Median wait by channel",
            [(g.name, g.median_wall, _minutes(g.median_wall)) for g in report.channels],
            "Wall-clock time from the message to the first reply in its conversation.",
        ),
        "<h2>In and out of office hours</h2>" + _group_rows([inside, outside, t]),
        "<h2>By department</h2>" + _group_rows(report.departments),
        "<h2>By channel</h2>" + _group_rows(report.channels),
        "<h2>Unanswered backlog</h2><table class='data'><tr><th>department</th><th>urgency</th>"
        f"<th>unanswered</th><th>overdue</th></tr>{backlog_rows}</table>",
        "<h2>Waiting longest</h2><table class='data'><tr><th>received</th><th>channel</th>"
        f"<th>department</th><th>urgency</th><th>topic</th></tr>{oldest_rows}</table>",
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Luisterpost gap report</title><style>{_CSS}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
