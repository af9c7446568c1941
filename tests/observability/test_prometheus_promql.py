"""PromQL builders, name checks and the API client's error mapping (no server)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import requests

from infragap.errors import ConfigError
from infragap.proven.prometheus import query
from infragap.proven.prometheus.query import (
    PrometheusClient,
    PrometheusError,
    api_data,
    check_duration,
    check_metric_name,
    histogram_quantile_query,
    instant_samples,
    rate_query,
    series_selector,
)


def test_histogram_quantile_query_is_the_standard_form():
    assert histogram_quantile_query(0.99, "model_inference_duration_ms", "1m") == (
        "histogram_quantile(0.99, sum by (le) (rate(model_inference_duration_ms_bucket[1m])))"
    )


def test_histogram_quantile_query_with_matchers_and_breakdown():
    promql = histogram_quantile_query(
        0.5, "http:latency_ms", "30s", {"job": "proven", "route": '/v1/"x"'}, by=["variant"]
    )
    assert promql == (
        "histogram_quantile(0.5, sum by (le, variant) "
        '(rate(http:latency_ms_bucket{job="proven",route="/v1/\\"x\\""}[30s])))'
    )


@pytest.mark.parametrize("name", ["2xx_latency", "latency-ms", "latency ms", "", "lat{x}"])
def test_malformed_metric_names_say_what_is_allowed(name):
    with pytest.raises(ConfigError, match=r"\[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*"):
        histogram_quantile_query(0.99, name)


@pytest.mark.parametrize("name", ["up", "a:b_c", "_x9", "nv_inference_count"])
def test_valid_metric_names_pass(name):
    assert check_metric_name(name) == name


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan])
def test_quantile_outside_zero_one_is_refused(q):
    with pytest.raises(ConfigError, match="outside"):
        histogram_quantile_query(q, "latency")


def test_le_cannot_be_a_breakdown_label():
    with pytest.raises(ConfigError, match="'le'"):
        histogram_quantile_query(0.9, "latency", by=["le"])


@pytest.mark.parametrize("window", ["1m", "30s", "500ms", "1h30m", "2d"])
def test_durations_prometheus_accepts(window):
    assert check_duration(window) == window


@pytest.mark.parametrize("window", ["", "0s", "1.5m", "m", "30", "1s1m", "-1m"])
def test_durations_prometheus_refuses(window):
    with pytest.raises(ConfigError, match="not a Prometheus duration"):
        rate_query("requests_total", window)


def test_rate_query_sums_by_labels_and_checks_label_names():
    assert rate_query("requests_total", "1m", [("status", "=~", "5..")], ["status"]) == (
        'sum by (status) (rate(requests_total{status=~"5.."}[1m]))'
    )
    with pytest.raises(ConfigError, match="label name"):
        series_selector("requests_total", [("bad-label", "=", "x")])
    with pytest.raises(ConfigError, match="operator"):
        series_selector("requests_total", [("status", "==", "x")])


def test_error_answer_carries_prometheus_error_type_and_message():
    body = json.dumps(
        {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'}
    )
    with pytest.raises(PrometheusError) as caught:
        api_data(400, body, "query 'x}'")
    message = str(caught.value)
    assert "HTTP 400" in message and "bad_data" in message
    assert 'unexpected "}"' in message and "fix the PromQL" in message


def test_non_api_answer_is_named_as_such():
    with pytest.raises(PrometheusError, match="not Prometheus API JSON"):
        api_data(404, "<html>404 page not found</html>", "listing rules")


def test_instant_samples_reads_vectors_and_scalars():
    vector = {
        "resultType": "vector",
        "result": [{"metric": {"job": "a"}, "value": [1700000000.5, "NaN"]}],
    }
    (sample,) = instant_samples(vector, "q")
    assert sample.labels == {"job": "a"} and math.isnan(sample.value)
    assert sample.timestamp == 1700000000.5
    (scalar,) = instant_samples({"resultType": "scalar", "result": [1.0, "+Inf"]}, "q")
    assert scalar.value == math.inf and scalar.labels == {}
    with pytest.raises(PrometheusError, match="range selector"):
        instant_samples({"resultType": "matrix", "result": []}, "q")


class FakeResponse:
    def __init__(self, status_code: int, payload: Any) -> None:
        self.status_code = status_code
        self.text = json.dumps(payload)


def test_client_returns_plain_data_and_maps_errors(monkeypatch):
    answers = {
        "/api/v1/query": FakeResponse(
            422,
            {"status": "error", "errorType": "execution", "error": "many-to-many matching"},
        ),
        "/api/v1/rules": FakeResponse(
            200,
            {
                "status": "success",
                "data": {"groups": [{"name": "g", "rules": [{"name": "A", "type": "alerting"}]}]},
            },
        ),
    }
    asked = []

    def fake_get(url: str, params: dict[str, str], timeout: float) -> FakeResponse:
        path = url.removeprefix("http://prom:9090")
        asked.append((path, params))
        return answers[path]

    monkeypatch.setattr(query.requests, "get", fake_get)
    client = PrometheusClient("http://prom:9090/")
    assert client.rules() == [{"name": "A", "type": "alerting", "group": "g"}]
    with pytest.raises(PrometheusError, match="execution: many-to-many matching"):
        client.query("a / b", at=12.5)
    assert asked[-1] == ("/api/v1/query", {"query": "a / b", "time": "12.500"})


def test_unreachable_prometheus_is_a_clear_error(monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(query.requests, "get", refuse)
    with pytest.raises(PrometheusError, match="could not reach Prometheus at http://x:1"):
        PrometheusClient("http://x:1").targets()
