"""The features report section on a hand-made results section."""

from __future__ import annotations

import pytest

from infragap.atomic import write_json_atomically as write_atomically
from infragap.loadtests.latency_log import LevelLoad
from infragap.reports.model import Figure, Table
from infragap.reports.records import ServerUsage
from infragap.reports.schema import new_document
from infragap.reports.sections.all import SECTIONS, section_for
from infragap.suites.features.records import FeaturesLevel
from infragap.suites.levels import level_record

FEATURES = ("age_bucket", "location_code", "events_7d", "events_30d", "purchases_30d")


def level(users, latencies, per_second):
    load = LevelLoad(
        users=users,
        window_s=float(len(per_second)),
        latencies_ms=latencies,
        failures=0,
        failure_messages={},
        throughput_per_s=per_second,
        loadgen_cpu_percent=10.0,
        loadgen_cpu_peak=12.0,
    )
    server = ServerUsage(cpu_s=1.0, wall_s=5.0, peak_rss_bytes=2**28)
    return FeaturesLevel(**level_record(load, server), entities_per_s=sum(per_second) / 5)


def skew(share):
    return {
        "entities": 100,
        "features": {
            f: {"differ": int(share * 100), "share": share, "examples": []} for f in FEATURES
        },
        "values_compared": 500,
        "values_differ": int(share * 500),
        "values_share": share,
        "entities_share": share,
        "prediction": {
            "mean_abs_diff": share / 10,
            "max_abs_diff": share,
            "label_flips": int(share * 20),
            "flip_share": share / 5,
        },
    }


def leak(share):
    return {
        "rows": 1000,
        "leaked_rows": int(share * 1000),
        "share": share,
        "features": {
            f: {"leaked_rows": int(share * 1000), "share": share, "future_events_mean": 3.0}
            for f in ("events_7d", "events_30d", "purchases_30d")
        },
    }


@pytest.fixture
def section():
    slow = [100.0 + i % 7 for i in range(50)]
    fast = [10.0 + i % 5 for i in range(400)]
    return {
        "status": "complete",
        "error": None,
        "config": {"data_size": "tiny"},
        "warnings": [],
        "data": {"size": "tiny", "events": 13401, "users": 400, "labels": 782},
        "setup": {
            "naive": {"training_table_s": 0.06},
            "feast": {
                "online_store": "sqlite",
                "pipeline_s": 0.03,
                "apply_s": 4.9,
                "materialize_s": 0.1,
                "historical_s": 0.1,
            },
        },
        "answers": {"passed": True, "entities": 100},
        "oracle": {"passed": True, "entities": 782, "values_differ": 0},
        "consistency": {"passed": True, "entities": 400, "values_differ": 0},
        "skew": {"naive": skew(0.16), "feast": skew(0.0)},
        "leakage": {
            "naive": leak(0.79),
            "feast": leak(0.0),
            "metrics": {
                "metric": "ROC AUC",
                "naive_offline_auc": 0.87,
                "naive_point_in_time_auc": 0.60,
                "naive_inflation": 0.27,
                "feast_offline_auc": 0.69,
            },
        },
        "variants": {
            "naive": {"levels": [level(4, slow, [10, 9, 11, 10, 10])]},
            "feast": {"levels": [level(4, fast, [80, 81, 79, 80, 80])]},
        },
        "lookups": {
            "entities_per_request": 1,
            "feast-sdk": {"calls": 10, "calls_per_s": 150.0, "latency_ms": {"p50": 6.0}},
        },
    }


def test_features_section_is_registered():
    assert "features" in SECTIONS


def test_contribution_states_the_figures(section):
    contribution = section_for("features").contribute(section, "suite-features")
    text = " ".join(contribution.verdicts)
    assert "answered 8.0× the requests of the naive endpoint at 4 users" in text
    assert "16% of the naive endpoint's feature values differ" in text
    assert "Feast's served values differ in 0 of 500" in text
    assert "79% of the naive training rows" in text and "0.870" in text
    assert "`feast apply` (4.90 s)" in text
    values = [claim.value for claim in contribution.claims]
    assert values[:2] == ["8.0×", "7.6×"]  # 106 ms / 14 ms
    assert "16%" in values and "0%" in values and "+0.270" in values
    titles = [part.title for part in contribution.parts]
    assert titles[:4] == [
        "Throughput and latency by level",
        "Training/serving skew",
        "Point-in-time leakage",
        "Checks",
    ]
    skew_part = contribution.parts[1]
    assert any(isinstance(b, Figure) for b in skew_part.blocks)
    assert isinstance(skew_part.blocks[0], Table)


def test_an_empty_section_still_renders(section):
    contribution = section_for("features").contribute({"status": "failed"}, "x")
    assert contribution.verdicts == [] and contribution.parts


def test_the_report_page_renders(section, tmp_path):
    from infragap.reports.html import render_report

    doc = new_document({"id": "20240601T000000Z", "started_at": "2024-06-01T00:00:00+00:00"})
    doc["complete"] = True
    doc["suites"]["features"] = section
    path = tmp_path / "results.json"
    write_atomically(path, doc)
    out = tmp_path / "report.html"
    render_report([path], out)
    html = out.read_text()
    assert "Training/serving skew" in html and "Point-in-time leakage" in html
