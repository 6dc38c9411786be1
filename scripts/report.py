"""Write output/report.html from the DuckDB warehouse's dbt marts.

One self-contained page (plotly.js inlined: it works offline, no CDN): runs per day by
cloud and status, failure rate by command, the slowest runs (plotly charts) and the
latest failures (a table). Each chart's section states how many bars it draws, so a
browser test can check that everything rendered. `make demo` calls it; by hand:
`.venv/bin/python scripts/report.py [WAREHOUSE.duckdb] [REPORT.html]`.
"""

from __future__ import annotations

import datetime as dt
import html
import sys
import typing as t
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "output" / "warehouse.duckdb"
DEFAULT_REPORT = PROJECT_ROOT / "output" / "report.html"
SCHEMA = "analytics"
STATUS_COLOURS = {
    "success": "#2ca02c",
    "failed": "#d62728",
    "timed_out": "#ff7f0e",
    "running": "#1f77b4",
    "pending": "#9edae5",
    "cancelling": "#c5b0d5",
    "cancelled": "#7f7f7f",
    "unknown": "#bcbd22",
}
TOP = 15
LATEST_FAILURES = 20


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, t.Any]]:
    """Rows of a query as column -> value."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def runs_per_day(con: duckdb.DuckDBPyConnection) -> tuple[go.Figure, int]:
    """Stacked bars of runs per day and status, one panel per cloud."""
    rows = fetch(
        con,
        f"select cloud, day, status, sum(runs) as runs from {SCHEMA}.daily_run_counts "
        "group by cloud, day, status order by cloud, day, status",
    )
    clouds = sorted({r["cloud"] for r in rows}) or ["aws", "tencent"]
    figure = make_subplots(
        rows=len(clouds), cols=1, shared_xaxes=True, subplot_titles=clouds, vertical_spacing=0.12
    )
    points = 0
    for index, cloud in enumerate(clouds, start=1):
        for status, colour in STATUS_COLOURS.items():
            series = [r for r in rows if r["cloud"] == cloud and r["status"] == status]
            if not series:
                continue
            points += len(series)
            figure.add_trace(
                go.Bar(
                    x=[r["day"] for r in series],
                    y=[r["runs"] for r in series],
                    name=status,
                    legendgroup=status,
                    showlegend=index == 1 or cloud == clouds[0],
                    marker_color=colour,
                ),
                row=index,
                col=1,
            )
    figure.update_layout(barmode="stack", height=300 * len(clouds), title="Runs per day (UTC)")
    return figure, points


def failure_rate_by_command(con: duckdb.DuckDBPyConnection) -> tuple[go.Figure, int]:
    """Horizontal bars: the failure rate of the commands with the most failed runs.

    Ranked by failed runs, not by rate: a command that ran once and failed is 100 % but
    rarely the hot spot to look at first.
    """
    rows = fetch(
        con,
        "select cloud, command_name, failed_runs, finished_runs, failure_rate "
        f"from {SCHEMA}.failure_hotspots_by_command where failed_runs > 0 "
        f"order by failed_runs desc, failure_rate desc, command_name limit {TOP}",
    )
    rows.reverse()  # plotly draws the first category at the bottom
    figure = go.Figure(
        go.Bar(
            x=[r["failure_rate"] * 100 for r in rows],
            y=[f"{r['cloud']}: {r['command_name']}" for r in rows],
            orientation="h",
            marker_color=STATUS_COLOURS["failed"],
            text=[f"{r['failed_runs']} of {r['finished_runs']}" for r in rows],
            textposition="outside",
            customdata=[[r["failed_runs"], r["finished_runs"]] for r in rows],
            hovertemplate="%{y}<br>%{x:.1f}% failed (%{customdata[0]} of %{customdata[1]})"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title="Failure rate of the commands that fail most (failed or timed out, of finished runs)",
        xaxis_title="% of finished runs",
        height=120 + 28 * max(len(rows), 1),
        margin={"l": 260},
    )
    return figure, len(rows)


def slowest_runs(con: duckdb.DuckDBPyConnection) -> tuple[go.Figure, int]:
    """Horizontal bars: the longest runs that finished."""
    rows = fetch(
        con,
        "select cloud, region, command_name, instance_id, status, duration_seconds "
        f"from {SCHEMA}.cloud_command_runs where duration_seconds > 0 "
        f"order by duration_seconds desc, run_key limit {TOP}",
    )
    rows.reverse()
    figure = go.Figure(
        go.Bar(
            x=[r["duration_seconds"] for r in rows],
            y=[f"{r['command_name']} on {r['instance_id']}" for r in rows],
            orientation="h",
            marker_color=[STATUS_COLOURS.get(r["status"], "#333333") for r in rows],
            customdata=[[r["cloud"], r["region"], r["status"]] for r in rows],
            hovertemplate="%{y}<br>%{customdata[0]} %{customdata[1]}, %{customdata[2]}"
            "<br>%{x:.0f} s<extra></extra>",
        )
    )
    figure.update_layout(
        title="Slowest runs",
        xaxis_title="seconds from start to finish",
        height=120 + 28 * max(len(rows), 1),
        margin={"l": 320},
    )
    return figure, len(rows)


def latest_failures(con: duckdb.DuckDBPyConnection) -> str:
    """An HTML table of the most recent failed or timed-out runs."""
    rows = fetch(
        con,
        "select requested_at, cloud, region, instance_id, command_name, raw_status, exit_code "
        f"from {SCHEMA}.cloud_command_runs where status in ('failed', 'timed_out') "
        f"order by requested_at desc, run_key limit {LATEST_FAILURES}",
    )
    header = "".join(f"<th>{html.escape(name)}</th>" for name in (rows[0] if rows else ["none"]))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return (
        f'<table id="latest-failures"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'
    )


def cell(value: t.Any) -> str:  # noqa: ANN401 - any warehouse value
    """A warehouse value as table text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def write_report(warehouse: Path = DEFAULT_WAREHOUSE, output: Path = DEFAULT_REPORT) -> Path:
    """Read the marts and write the report.

    Args:
        warehouse: The DuckDB file dbt-duckdb built the marts in.
        output: Where the HTML goes.

    Returns:
        The report's path.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        charts = {
            "runs-per-day": runs_per_day(con),
            "failure-rate-by-command": failure_rate_by_command(con),
            "slowest-runs": slowest_runs(con),
        }
        failures = latest_failures(con)
        [(total, generated)] = con.execute(
            f"select count(*), max(requested_at) from {SCHEMA}.cloud_command_runs"
        ).fetchall()
    sections = []
    for index, (name, (figure, points)) in enumerate(charts.items()):
        figure.update_layout(template="plotly_white")
        # plotly.js goes inline once, with the first chart: the file needs nothing else.
        div = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=index == 0,
            config={"displaylogo": False, "responsive": True},
        )
        sections.append(
            f'<section class="chart" data-chart="{name}" data-points="{points}">{div}</section>'
        )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Cloud command runs</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
</style>
</head>
<body>
<h1>Cloud command runs</h1>
<p>{total} runs on AWS SSM and Tencent Cloud TAT;
latest requested {html.escape(cell(generated))} UTC.
From the dbt marts in {html.escape(warehouse.name)}.</p>
{"".join(sections)}
<section data-table="latest-failures">
<h2>Latest failures</h2>
{failures}
</section>
</body>
</html>
"""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return output


def main() -> None:
    """Write the report from the given (or the demo's) warehouse."""
    warehouse = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_WAREHOUSE
    output = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_REPORT  # noqa: PLR2004
    print(f"Report written to {write_report(warehouse, output)}")


if __name__ == "__main__":
    main()
