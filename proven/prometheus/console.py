"""A Prometheus console page for the inference service, served by Prometheus itself.

Prometheus renders Go templates from `--web.console.templates=DIR` at
`/consoles/<file>.html`, evaluating the PromQL they hold on every page load, with the
`{{ define }}`d templates of every `*.lib` file in `--web.console.libraries=DIR`. So a
team without Grafana still gets a page of live answers from the server it already runs.

`write_console(folder)` writes the page (CONSOLE_FILE) and the small library it uses
(LIBRARY_FILE, ours: Debian's package ships no libraries, only examples) into one
folder; pass that folder as `start_prometheus(..., consoles=folder)`, which gives it to
both flags. The page shows, over the last `window`: p50 and p99 latency, request rate
and the share of error answers, overall and per scrape job (DashboardMetrics's
`variant_label`), and per Triton model the queue and compute time per request and the
mean batch size. Every query comes from the checked builders in `query`; the template
text is pure and built here, the one write is `write_console`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infragap.atomic import write_atomically
from infragap.proven.prometheus.dashboard import DashboardMetrics
from infragap.proven.prometheus.query import (
    Matcher,
    equal_to,
    histogram_quantile_query,
    rate_query,
)

CONSOLE_FILE = "infragap.html"
LIBRARY_FILE = "infragap.lib"
TITLE = "infragap: inference service"
TRITON_ROW_LABEL = "model"
MS = "%.3f"
PER_SECOND = "%.3f"
PERCENT = "%.2f%%"
MICROSECONDS = "%.1f"
RATIO = "%.2f"


@dataclass(frozen=True)
class ConsoleQueries:
    """The page's PromQL: overall answers, the same broken down by `by` (the scrape
    job by default), and Triton's answers per model."""

    by: str
    p50: str
    p99: str
    request_rate: str
    error_percent: str
    p50_by: str
    p99_by: str
    request_rate_by: str
    error_percent_by: str
    triton_requests: str
    triton_queue_us: str
    triton_compute_us: str
    triton_batch_size: str


def error_percent(errors: str, total: str) -> str:
    """Errors as a percentage of all requests; 0 (not "no data") where there were
    requests but no errors, since `errors` then has no series to divide."""
    return f"100 * ({errors} or {total} * 0) / {total}"


def console_queries(metrics: DashboardMetrics | None = None) -> ConsoleQueries:
    """The page's queries for these metric names (DashboardMetrics's defaults: the
    instrumented app's histogram in ms, `status` and `job` labels, all Triton models)."""
    m = metrics or DashboardMetrics()
    count = f"{m.latency_histogram}_count"
    every = equal_to(m.extra_matchers)
    failed: list[Matcher] = [*every, (m.status_label, "=~", m.error_status_regex)]
    per_row = [m.variant_label]

    def quantile(q: float, by: Sequence[str] = ()) -> str:
        return histogram_quantile_query(q, m.latency_histogram, m.window, m.extra_matchers, by)

    def requests(matchers: list[Matcher], by: Sequence[str] = ()) -> str:
        return rate_query(count, m.window, matchers, by)

    model = equal_to({"model": m.triton_model} if m.triton_model else None)

    def triton(counter: str) -> str:
        return rate_query(counter, m.window, model, [TRITON_ROW_LABEL])

    succeeded = triton("nv_inference_request_success")
    return ConsoleQueries(
        by=m.variant_label,
        p50=quantile(0.5),
        p99=quantile(0.99),
        request_rate=requests(every),
        error_percent=error_percent(requests(failed), requests(every)),
        p50_by=quantile(0.5, per_row),
        p99_by=quantile(0.99, per_row),
        request_rate_by=requests(every, per_row),
        error_percent_by=error_percent(requests(failed, per_row), requests(every, per_row)),
        triton_requests=succeeded,
        triton_queue_us=f"{triton('nv_inference_queue_duration_us')} / {succeeded}",
        triton_compute_us=f"{triton('nv_inference_compute_infer_duration_us')} / {succeeded}",
        triton_batch_size=f"{triton('nv_inference_count')} / {triton('nv_inference_exec_count')}",
    )


def go_string(text: str) -> str:
    """`text` as a Go string literal inside a template action: a raw `...` string, which
    reads PromQL as written, or a quoted one when the text holds a backquote."""
    if "`" not in text:
        return f"`{text}`"
    return json.dumps(text, ensure_ascii=False)  # JSON's escapes are a subset of Go's


@dataclass(frozen=True)
class Column:
    """One column of a table: its header, the query that answers it (one series per
    row), and the printf format of its values."""

    header: str
    query: str
    format: str


def summary_table(columns: Sequence[Column], element_id: str) -> str:
    """One row: each column's single answer, in a cell whose id is the column's."""
    headers = "".join(f"<th>{column.header}</th>" for column in columns)
    cells = "".join(
        f'<td id="{_cell_id(column.header)}" title="{{{{ {go_string(column.query)} }}}}">'
        f'{{{{ template "infragap.value" (args {go_string(column.query)} '
        f"{go_string(column.format)}) }}}}</td>"
        for column in columns
    )
    return f'<table id="{element_id}">\n<tr>{headers}</tr>\n<tr>{cells}</tr>\n</table>'


def breakdown_table(label: str, rows_query: str, columns: Sequence[Column], element_id: str) -> str:
    """One row per value of `label` in `rows_query`'s answer, sorted; each cell the
    series of its column's query whose `label` has the row's value."""
    headers = "".join(f"<th>{column.header}</th>" for column in columns)
    cells = "".join(
        f'<td>{{{{ template "infragap.value_for" (args {go_string(column.query)} '
        f"{go_string(label)} $row {go_string(column.format)}) }}}}</td>"
        for column in columns
    )
    rows = (
        f"{{{{ range query {go_string(rows_query)} | sortByLabel {go_string(label)} }}}}"
        f"{{{{ $row := index .Labels {go_string(label)} }}}}\n"
        f"<tr><td>{{{{ $row }}}}</td>{cells}</tr>\n"
        f'{{{{ else }}}}<tr><td colspan="{len(columns) + 1}" class="none">no series in the '
        "window</td></tr>{{ end }}"
    )
    return f'<table id="{element_id}">\n<tr><th>{label}</th>{headers}</tr>\n{rows}\n</table>'


def _cell_id(header: str) -> str:
    return header.split(" (")[0].lower().replace(" ", "-")


def console_template(metrics: DashboardMetrics | None = None, title: str = TITLE) -> str:
    """The page's Go template text (it needs LIBRARY_FILE's templates)."""
    m = metrics or DashboardMetrics()
    q = console_queries(m)
    latency = [Column("p50 (ms)", q.p50, MS), Column("p99 (ms)", q.p99, MS)]
    traffic = [
        Column("request rate (/s)", q.request_rate, PER_SECOND),
        Column("errors (% of requests)", q.error_percent, PERCENT),
    ]
    per_job = [
        Column("p50 (ms)", q.p50_by, MS),
        Column("p99 (ms)", q.p99_by, MS),
        Column("request rate (/s)", q.request_rate_by, PER_SECOND),
        Column("errors (% of requests)", q.error_percent_by, PERCENT),
    ]
    triton = [
        Column("queue (µs per request)", q.triton_queue_us, MICROSECONDS),
        Column("compute (µs per request)", q.triton_compute_us, MICROSECONDS),
        Column("mean batch size (rows per execution)", q.triton_batch_size, RATIO),
    ]
    errors = f"status matching {m.error_status_regex}"
    return "\n".join(
        [
            f'{{{{ template "infragap.head" {go_string(title)} }}}}',
            f"<h1>{{{{ {go_string(title)} }}}}</h1>",
            f"<p>Over the last {m.window}, from the {{{{ {go_string(m.latency_histogram)} }}}} "
            "histogram: a quantile is exact only to the width of its bucket. Errors are "
            f"answers with a {{{{ {go_string(errors)} }}}}. Hover a value for its query.</p>",
            "<h2>All requests</h2>",
            summary_table([*latency, *traffic], "summary"),
            f"<h2>By {m.variant_label}</h2>",
            breakdown_table(m.variant_label, q.request_rate_by, per_job, "by-variant"),
            "<h2>Triton</h2>",
            "<p>Cumulative time per successful request; compute is its whole batch's.</p>",
            breakdown_table(TRITON_ROW_LABEL, q.triton_requests, triton, "triton"),
            '{{ template "infragap.tail" }}',
            "",
        ]
    )


# Written for Prometheus's console templates (Go html/template, with its `query`,
# `first`, `value`, `args` and `sortByLabel` functions). `value_for` needs Go 1.11's
# variable assignment, which every Prometheus 2.x release since 2.5 is built with.
LIBRARY = """{{/* infragap's console library: written by infragap, needs no other. */}}
{{ define "infragap.head" }}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ . }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.none { color: #888; }
</style>
</head>
<body>
{{ end }}
{{ define "infragap.tail" }}
</body>
</html>
{{ end }}
{{/* args query format: the first series' value, or "no data". */}}
{{ define "infragap.value" }}{{ $format := .arg1 }}{{ with query .arg0 }}\
{{ . | first | value | printf $format }}{{ else }}<span class="none">no data</span>{{ end }}\
{{ end }}
{{/* args query label value format: the value of the series whose label has that value. */}}
{{ define "infragap.value_for" }}{{ $label := .arg1 }}{{ $want := .arg2 }}\
{{ $format := .arg3 }}{{ $found := false }}{{ range query .arg0 }}\
{{ if eq (index .Labels $label) $want }}{{ $found = true }}{{ .Value | printf $format }}{{ end }}\
{{ end }}{{ if not $found }}<span class="none">no data</span>{{ end }}{{ end }}
"""


def console_library() -> str:
    """LIBRARY_FILE's text: the page's head and tail and its two value templates."""
    return LIBRARY


def write_console(
    folder: Path, metrics: DashboardMetrics | None = None, title: str = TITLE
) -> Path:
    """Write the page and its library into `folder` (created if need be); return the
    page's path. Prometheus serves it at /consoles/CONSOLE_FILE once started with
    `consoles=folder`."""
    write_atomically(folder / LIBRARY_FILE, console_library())
    page = folder / CONSOLE_FILE
    write_atomically(page, console_template(metrics, title))
    return page


def console_url(prometheus_url: str) -> str:
    """Where a Prometheus started with the folder serves the page."""
    return f"{prometheus_url.rstrip('/')}/consoles/{CONSOLE_FILE}"
