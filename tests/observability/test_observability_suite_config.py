"""The observability suite's options: checked before anything starts."""

from __future__ import annotations

import argparse

import pytest

from infragap.bench import add_arguments
from infragap.errors import ConfigError
from infragap.suites.observability import alerting
from infragap.suites.observability.suite import ObservabilitySuite


def config(*argv: str):
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    args = parser.parse_args(["observability", *argv])
    return ObservabilitySuite().config(args)


def test_defaults_run_every_variant_with_a_100_ms_alert():
    cfg = config("--quick")
    assert cfg["variants"] == ["bare", "log", "otel", "prometheus-client", "triton"]
    assert cfg["alert_slo_ms"] == 100.0
    assert cfg["users"] == [1, 8]


def test_the_alert_follows_the_slo_p99():
    assert config("--quick", "--slo", "p99=40ms")["alert_slo_ms"] == 40.0
    assert config("--quick", "--slo", "p99=40ms", "--alert-slo-ms", "25")["alert_slo_ms"] == 25.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--observability-variants", "log,nope"], "unknown observability variant 'nope'"),
        (["--observability-variants", " , "], "is empty"),
        (["--alert-slo-ms", "0"], "positive"),
    ],
)
def test_bad_options_say_what_is_wrong(argv, message):
    with pytest.raises(ConfigError, match=message):
        config("--quick", *argv)


def test_one_alert_per_job_with_a_valid_name():
    alerts = alerting.slo_alerts({"prometheus-client": "h", "otel": "h_milliseconds"}, 50.0)
    assert [a.name for a in alerts] == [
        "InferenceP99AboveSLO_prometheus_client",
        "InferenceP99AboveSLO_otel",
    ]
    assert all(a.matchers for a in alerts) and alerts[0].threshold == 50.0
