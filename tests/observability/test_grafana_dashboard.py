"""The Grafana dashboard's structure (Grafana cannot run here; its PromQL runs against the
real Prometheus in test_prometheus_live)."""

from __future__ import annotations

import json

import pytest

from infragap.errors import ConfigError
from infragap.proven.prometheus.dashboard import DashboardMetrics, grafana_dashboard


def all_exprs(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_dashboard_top_level_is_importable_json():
    dashboard = grafana_dashboard()
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["uid"] and dashboard["title"]
    (variable,) = dashboard["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    assert json.loads(json.dumps(dashboard)) == dashboard


def test_every_panel_is_complete():
    panels = grafana_dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["type"] == "timeseries"
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids)
        for target in panel["targets"]:
            assert target["expr"] and target["datasource"] == panel["datasource"]


def test_panels_do_not_overlap():
    cells: set[tuple[int, int]] = set()
    for panel in grafana_dashboard()["panels"]:
        grid = panel["gridPos"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_panels_answer_the_operator_questions():
    dashboard = grafana_dashboard(DashboardMetrics(triton_model="ranker"))
    exprs = all_exprs(dashboard)
    assert any(e.startswith("histogram_quantile(0.5,") for e in exprs)
    assert any(e.startswith("histogram_quantile(0.99,") for e in exprs)
    assert any("sum by (le, job)" in e for e in exprs)
    assert "sum(rate(model_inference_duration_ms_count[1m]))" in exprs
    assert any('status=~"[45].."' in e and "group_left" in e for e in exprs)
    triton = " ".join(e for e in exprs if "nv_inference" in e)
    for counter in (
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
        "nv_inference_count",
        "nv_inference_exec_count",
    ):
        assert f'{counter}{{model="ranker"}}' in triton
    units = {
        panel["title"]: panel["fieldConfig"]["defaults"]["unit"] for panel in dashboard["panels"]
    }
    assert units["Latency p50 and p99"] == "ms"
    assert units["Request rate"] == "reqps"


def test_names_are_checked():
    with pytest.raises(ConfigError, match="metric name"):
        grafana_dashboard(DashboardMetrics(latency_histogram="latency ms"))
    with pytest.raises(ConfigError, match="label name"):
        DashboardMetrics(status_label="http.status")
