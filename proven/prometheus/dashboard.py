"""A Grafana dashboard for the inference service, as a dict ready for `json.dump`.

Grafana imports it as is (Dashboards -> Import): the Prometheus data source is a
dashboard variable, so the file names no data source of ours. Every panel's PromQL comes
from the checked builders in `query`, with a fixed rate window instead of Grafana's
`$__rate_interval`, so the same expressions run unchanged against a real Prometheus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from infragap.errors import ConfigError
from infragap.proven.prometheus.query import (
    Matcher,
    check_label_name,
    equal_to,
    histogram_quantile_query,
    rate_query,
)

SCHEMA_VERSION = 39  # Grafana 10.4 / 11
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
GRAFANA_UNITS = {"ms": "ms", "s": "s"}


@dataclass(frozen=True)
class DashboardMetrics:
    """Names of the series the dashboard reads.

    `latency_histogram` is the request-duration histogram's base name, observed in
    `latency_unit`; `status_label` holds the HTTP status code on it; answers are broken
    down per variant by `variant_label` (each variant is its own scrape job by default).
    `triton_model` limits Triton's panels to one model (all models when None).
    """

    latency_histogram: str = "model_inference_duration_ms"
    latency_unit: str = "ms"
    status_label: str = "status"
    variant_label: str = "job"
    triton_model: str | None = None
    window: str = "1m"
    error_status_regex: str = "[45].."
    extra_matchers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.latency_unit not in GRAFANA_UNITS:
            raise ConfigError(
                f"latency unit {self.latency_unit!r} is not one of {', '.join(GRAFANA_UNITS)}"
            )
        check_label_name(self.status_label)
        check_label_name(self.variant_label)


@dataclass(frozen=True)
class Query:
    """One line of a panel: its PromQL and the legend Grafana draws for it."""

    expr: str
    legend: str


@dataclass(frozen=True)
class PanelSpec:
    title: str
    unit: str
    queries: Sequence[Query]
    description: str = ""


def by_label(label: str) -> str:
    """A legend that names each series by `label`'s value (Grafana's {{label}})."""
    return "{{" + label + "}}"


def latency_panels(m: DashboardMetrics) -> list[PanelSpec]:
    def quantile(q: float, by: Sequence[str] = ()) -> str:
        return histogram_quantile_query(q, m.latency_histogram, m.window, m.extra_matchers, by)

    unit = GRAFANA_UNITS[m.latency_unit]
    return [
        PanelSpec(
            "Latency p50 and p99",
            unit,
            [Query(quantile(0.5), "p50"), Query(quantile(0.99), "p99")],
            f"From the {m.latency_histogram} histogram: exact only to its bucket width.",
        ),
        PanelSpec(
            f"Latency p99 by {m.variant_label}",
            unit,
            [Query(quantile(0.99, [m.variant_label]), by_label(m.variant_label))],
        ),
    ]


def traffic_panels(m: DashboardMetrics) -> list[PanelSpec]:
    count = f"{m.latency_histogram}_count"
    every = equal_to(m.extra_matchers)
    errors: list[Matcher] = [*every, (m.status_label, "=~", m.error_status_regex)]
    total = rate_query(count, m.window, every)
    by_status = rate_query(count, m.window, errors, [m.status_label])
    return [
        PanelSpec(
            "Request rate",
            "reqps",
            [
                Query(total, "all"),
                Query(
                    rate_query(count, m.window, every, [m.variant_label]), by_label(m.variant_label)
                ),
            ],
        ),
        PanelSpec(
            f"Error rate by {m.status_label}",
            "percentunit",
            # Each status's share of all requests: one series per status, over one total.
            [
                Query(
                    f"{by_status} / ignoring({m.status_label}) group_left {total}",
                    by_label(m.status_label),
                )
            ],
            f"Share of requests answered with a status matching {m.error_status_regex}.",
        ),
    ]


def triton_panels(m: DashboardMetrics) -> list[PanelSpec]:
    model = equal_to({"model": m.triton_model} if m.triton_model else None)

    def per_second(counter: str) -> str:
        return rate_query(counter, m.window, model)

    succeeded = per_second("nv_inference_request_success")
    return [
        PanelSpec(
            "Triton queue vs compute time per request",
            "µs",
            [
                Query(f"{per_second('nv_inference_queue_duration_us')} / {succeeded}", "queue"),
                Query(
                    f"{per_second('nv_inference_compute_infer_duration_us')} / {succeeded}",
                    "compute (infer)",
                ),
            ],
            "Cumulative microseconds per successful request; compute is its whole batch's.",
        ),
        PanelSpec(
            "Triton mean batch size",
            "short",
            [
                Query(
                    f"{per_second('nv_inference_count')} / {per_second('nv_inference_exec_count')}",
                    "rows per forward pass",
                )
            ],
            "Rows scored (nv_inference_count) per forward pass (nv_inference_exec_count).",
        ),
    ]


def grid_position(index: int) -> dict[str, int]:
    """Panels two to a row, left to right, top to bottom."""
    per_row = GRID_COLUMNS // PANEL_WIDTH
    return {
        "h": PANEL_HEIGHT,
        "w": PANEL_WIDTH,
        "x": (index % per_row) * PANEL_WIDTH,
        "y": (index // per_row) * PANEL_HEIGHT,
    }


def panel_json(spec: PanelSpec, index: int) -> dict[str, Any]:
    ref_ids = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": spec.title,
        "description": spec.description,
        "datasource": DATASOURCE,
        "gridPos": grid_position(index),
        "fieldConfig": {"defaults": {"unit": spec.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {
                "refId": ref_ids[number],
                "datasource": DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
            }
            for number, query in enumerate(spec.queries)
        ],
    }


def grafana_dashboard(
    metrics: DashboardMetrics | None = None,
    title: str = "infragap: inference service",
    uid: str = "infragap-inference",
) -> dict[str, Any]:
    """The dashboard: latency quantiles, request and error rates, Triton's queue, compute
    and batching panels."""
    m = metrics or DashboardMetrics()
    specs = [*latency_panels(m), *traffic_panels(m), *triton_panels(m)]
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "tags": ["infragap", "inference"],
        "timezone": "browser",
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "5s",
        "time": {"from": "now-15m", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "panels": [panel_json(spec, index) for index, spec in enumerate(specs)],
    }
