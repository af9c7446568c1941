"""The latency SLO alert rule as data and text (promtool runs in test_prometheus_live)."""

from __future__ import annotations

import pytest

from infragap.errors import ConfigError
from infragap.proven.prometheus.rules import (
    LatencySloAlert,
    alert_expr,
    alert_rule,
    rule_file_text,
    rules_document,
)


def test_expr_compares_the_p99_with_the_slo_in_the_histogram_unit():
    in_ms = LatencySloAlert(slo_ms=250, window="5m")
    assert alert_expr(in_ms) == (
        "histogram_quantile(0.99, sum by (le) "
        "(rate(model_inference_duration_ms_bucket[5m]))) > 250.0"
    )
    in_seconds = LatencySloAlert(slo_ms=300, histogram="request_duration_seconds", unit="s")
    assert alert_expr(in_seconds).endswith("(rate(request_duration_seconds_bucket[1m]))) > 0.3")


def test_rule_has_for_labels_and_annotations():
    rule = alert_rule(LatencySloAlert(slo_ms=100, for_duration="2m", matchers={"job": "proven"}))
    assert rule["alert"] == "InferenceLatencyP99AboveSLO"
    assert rule["for"] == "2m"
    assert rule["labels"] == {"severity": "page", "slo_ms": "100"}
    assert '{job="proven"}' in rule["expr"]
    assert "{{ $value | humanize }} ms" in rule["annotations"]["summary"]
    assert "for 2m" in rule["annotations"]["description"]


def test_rule_file_text_is_the_document_in_yaml():
    yaml = pytest.importorskip("yaml")
    alerts = [LatencySloAlert(slo_ms=100), LatencySloAlert(slo_ms=900, name="Slow")]
    text = rule_file_text(alerts, group="slo")
    assert yaml.safe_load(text) == rules_document(alerts, group="slo")
    assert text.startswith('groups:\n  - name: "slo"\n')


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slo_ms": 0}, "positive"),
        ({"slo_ms": 10, "unit": "us"}, "unit"),
        ({"slo_ms": 10, "for_duration": "1 minute"}, "duration"),
        ({"slo_ms": 10, "name": "p99 too high"}, "metric name"),
    ],
)
def test_bad_alert_parameters_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LatencySloAlert(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"histogram": "latency-ms"}, "histogram name"),
        ({"quantile": 99}, "outside"),
        ({"window": "1 m"}, "duration"),
    ],
)
def test_bad_query_parameters_are_refused_up_front(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LatencySloAlert(slo_ms=10, **kwargs)
