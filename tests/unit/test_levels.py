from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infragap.errors import ConfigError
from infragap.loadtests.latency_log import LevelLoad
from infragap.reports.records import ServerUsage
from infragap.suites.endpoint import Endpoint
from infragap.suites.levels import UnitRate, level_record, level_rows, level_warnings, parse_users
from infragap.suites.serving.steps import TritonBatching

SERVER = ServerUsage(cpu_s=1.0, wall_s=12.0, peak_rss_bytes=10)


def _load(**overrides: Any) -> LevelLoad:
    load = LevelLoad(
        users=8,
        window_s=10.0,
        latencies_ms=[1.0, 2.0, 3.0, 4.0],
        failures=0,
        failure_messages={},
        throughput_per_s=[0, 1, 1, 2],
        loadgen_cpu_percent=40.0,
        loadgen_cpu_peak=60.0,
    )
    return dataclasses.replace(load, **overrides)


def test_level_record_rates_and_percentiles():
    record = level_record(_load(), SERVER)
    assert record["requests"] == 4
    assert record["throughput_rps"] == 0.4
    assert record["latency_ms"]["p50"] == 2.0
    assert record["latency_ms"]["max"] == 4.0
    assert record["server"] == SERVER
    assert record["loadgen"] == {"cpu_percent_mean": 40.0, "cpu_percent_peak": 60.0, "cores": []}


def test_unit_rate_counts_units_of_successful_requests():
    assert UnitRate("rows_per_s", 4).after(_load()) == {"rows_per_s": 1.6}
    assert UnitRate("rows_per_s", 4).after(_load(window_s=0.0)) == {"rows_per_s": 0.0}


def test_triton_probe_records_none_without_a_metrics_endpoint():
    probe = TritonBatching(Endpoint("naive-hoisted", "flask", "http://127.0.0.1:1"))
    probe.before()
    assert probe.after(_load()) == {"triton": None}
    assert probe.note({"triton": None}) == ""
    assert probe.note({"triton": {"mean_batch_size": 11.6}}) == ", mean batch 11.6"


def test_level_warnings_flag_failures_and_busy_load_generator():
    record = level_record(_load(failures=3, loadgen_cpu_peak=97.0), SERVER)
    warnings = level_warnings("triton", record)
    assert any("3 failed requests" in w for w in warnings)
    assert any("load generator" in w for w in warnings)
    assert level_warnings("triton", level_record(_load(), SERVER)) == []


def test_level_warnings_flag_empty_level():
    record = level_record(_load(latencies_ms=[]), SERVER)
    assert record["latency_ms"]["p99"] is None
    assert any("no request completed" in w for w in level_warnings("x", record))


def test_level_rows_add_the_suite_columns():
    record: dict[str, Any] = {**level_record(_load(), SERVER), "rows_per_s": 1.6}
    section = {"variants": {"a": {"levels": [record]}}}
    rows = level_rows(section, [("rows/s", lambda level: f"{level['rows_per_s']:.1f}")])
    assert rows == [
        ["variant", "users", "req/s", "p50 ms", "p99 ms", "failures", "rows/s"],
        ["a", "8", "0.4", "2.0", "4.0", "0", "1.6"],
    ]


def test_parse_users():
    assert parse_users("1, 8,32") == [1, 8, 32]
    for bad in ("", "0", "a,b"):
        with pytest.raises(ConfigError):
            parse_users(bad)


def test_rotated_starts_each_level_with_the_next_variant():
    from infragap.suites.levels import rotated

    names = ["bare", "log", "otel"]
    assert [rotated(names, turn) for turn in range(4)] == [  # type: ignore[arg-type]
        ["bare", "log", "otel"],
        ["log", "otel", "bare"],
        ["otel", "bare", "log"],
        ["bare", "log", "otel"],
    ]
    assert rotated([], 3) == []


def test_interleaved_sweep_runs_each_level_on_every_endpoint_in_turn(tmp_path):
    from infragap.suites.levels import LevelDriver, LoadPlan

    ran: list[tuple[str, int]] = []

    class Driver(LevelDriver):
        def run(self, endpoint, spec):  # type: ignore[no-untyped-def]
            ran.append((endpoint.name, spec.users))
            return {"users": spec.users}

    class Results:
        def save(self) -> None:
            return None

    class Ctx:
        results = Results()

    plan = LoadPlan(users=[1, 8], warmup_s=0.0, duration_s=1.0, requests_file=tmp_path / "r")
    section: dict[str, Any] = {}
    endpoints = [Endpoint("a", "flask", "http://x"), Endpoint("b", "flask", "http://y")]
    Driver(Ctx(), section, plan, print).interleaved_sweep(endpoints)  # type: ignore[arg-type]
    assert ran == [("a", 1), ("b", 1), ("b", 8), ("a", 8)]
    assert section["variants"]["a"]["levels"] == [{"users": 1}, {"users": 8}]
