"""The open-loop views (SLO capacity, curve, rates) on a real recorded run and by hand.

serving-slo.json is a real `infragap bench serving --quick --rates ... --slo p99=30ms`
run (see tests/fixtures/results/README.md); the older fixtures have no open-loop data and
must get none of these views.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infragap.reports.bootstrap import ratio_of_means
from infragap.reports.charts import Colours
from infragap.reports.gate import gate, parse_rules
from infragap.reports.html import build_report
from infragap.reports.model import Figure, Table
from infragap.reports.sections import load_views
from infragap.reports.sections.all import section_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"
SLO = FIXTURES / "serving-slo.json"
BEFORE = FIXTURES / "serving-before.json"


@pytest.fixture(scope="module")
def section():
    return json.loads(SLO.read_text())["suites"]["serving"]


@pytest.fixture(scope="module")
def old_section():
    return json.loads(BEFORE.read_text())["suites"]["serving"]


def level(offered, achieved, per_second, p99, met=None, connections=4):
    record = {
        "users": connections,
        "window_s": float(len(per_second)),
        "requests": sum(per_second),
        "failures": 0,
        "failure_messages": {},
        "throughput_rps": achieved,
        "throughput_per_s": per_second,
        "latency_ms": {"p50": p99 / 3, "p99": p99},
        "latencies_ms": [p99 / 3] * 98 + [p99] * 2,
        "arrival": {"kind": "poisson", "offered_rps": offered, "connections": connections},
        "sends": {
            "count": sum(per_second),
            "late": 0,
            "backlogged": 0,
            "max_delay_ms": 1.0,
            "generator_behind": False,
        },
    }
    if met is not None:
        record["slo"] = {"met": met, "reasons": [] if met else [f"p99 {p99} ms > 30 ms"]}
    return record


def search(trials, complete=True):
    met = [i for i, t in enumerate(trials) if t["slo"]["met"]]
    best = max(met, key=lambda i: trials[i]["arrival"]["offered_rps"], default=None)
    offered = trials[best]["arrival"]["offered_rps"] if best is not None else 0.0
    misses = [
        t["arrival"]["offered_rps"]
        for t in trials
        if not t["slo"]["met"] and t["arrival"]["offered_rps"] > offered
    ]
    record = {
        "slo": {"text": "p99=30ms", "limits_ms": {"p99": 30.0}, "error_budget": 0.001},
        "trials": trials,
        "capacity_rps": trials[best]["throughput_rps"] if best is not None else None,
        "capacity_offered_rps": offered if best is not None else None,
        "capacity_trial": best,
        "first_miss_offered_rps": min(misses, default=None),
    }
    if complete:
        record["search_complete"] = True
    return record


def hand_section(proven_trials, base_trials, complete=True):
    return {
        "status": "complete",
        "variants": {
            "naive-hoisted": {"levels": [], "capacity": search(base_trials)},
            "triton": {"levels": [], "capacity": search(proven_trials, complete)},
        },
    }


PROVEN = [
    level(100, 100.0, [100] * 6, 5.0, True),
    level(200, 200.0, [198, 202] * 3, 8.0, True),
    level(400, 300.0, [300] * 6, 90.0, False),
    level(283, 280.0, [278, 282] * 3, 20.0, True),
    level(336, 330.0, [330] * 6, 40.0, False),
    level(308, 300.0, [300] * 6, 28.0, True),
]
BASE = [
    level(100, 70.0, [70] * 6, 400.0, False),
    level(50, 50.0, [49, 51] * 3, 25.0, True),
    level(71, 70.0, [70] * 6, 45.0, False),
]


def test_capacity_is_the_best_passing_trial_and_the_search_says_how_it_ended():
    found = load_views.capacities(hand_section(PROVEN, BASE))
    assert list(found) == ["naive-hoisted", "triton"]
    triton, hoisted = found["triton"], found["naive-hoisted"]
    assert triton.capacity_rps == 300.0 and triton.offered_rps == 308
    assert triton.first_miss_rps == 336 and triton.samples == [300] * 6
    assert triton.search.startswith("complete: the next rate up missed (+9.1%)")
    assert hoisted.capacity_rps == 50.0 and hoisted.first_miss_rps == 71
    assert hoisted.search.startswith("bounded")
    interrupted = load_views.capacities(hand_section(PROVEN[:2], BASE, complete=False))
    assert interrupted["triton"].search == "interrupted"


def test_the_headline_ratio_bootstraps_the_two_capacity_trials():
    found = load_views.capacities(hand_section(PROVEN, BASE))
    [ratio] = load_views.capacity_ratios(found, "triton", ["naive-reload", "naive-hoisted"])
    assert ratio.estimate == ratio_of_means([300] * 6, [49, 51] * 3)
    assert ratio.estimate.point == pytest.approx(6.0)
    text = load_views.capacity_sentence(ratio, "Triton", str)
    assert text.startswith("Triton sustains 6.0× the SLO-compliant rate of naive-hoisted (95% CI")
    assert "300 req/s against 50.0 req/s under p99=30ms" in text
    [claim] = load_views.capacity_claims([ratio])
    assert claim.value == "6.0×" and claim.tone == "good"
    assert claim.label == "SLO-compliant rate of naive-hoisted (p99=30ms)"


def test_a_variant_that_met_the_slo_at_no_rate_gets_words_not_a_ratio():
    never = [level(50, 40.0, [40] * 6, 90.0, False), level(25, 25.0, [25] * 6, 45.0, False)]
    found = load_views.capacities(hand_section(PROVEN, never))
    assert found["naive-hoisted"].best is None
    assert found["naive-hoisted"].search == "no rate tried met it"
    [ratio] = load_views.capacity_ratios(found, "triton", ["naive-hoisted"])
    text = load_views.capacity_sentence(ratio, "Triton", str)
    assert text == (
        "Triton sustains 300 req/s under p99=30ms; naive-hoisted sustained no rate tried "
        "(the lowest, 25.0 req/s offered, missed), so there is no ratio to state."
    )
    [claim] = load_views.capacity_claims([ratio])
    assert claim.value == "–" and "sustained no rate tried" in claim.detail
    reversed_ = load_views.capacities(hand_section(never, BASE))
    [ratio] = load_views.capacity_ratios(reversed_, "triton", ["naive-hoisted"])
    assert "Triton sustained no rate tried under p99=30ms" in load_views.capacity_sentence(
        ratio, "Triton", str
    )


def test_capacity_and_trials_tables():
    found = load_views.capacities(hand_section(PROVEN, BASE))
    summary = load_views.capacity_table(found)
    assert [c.text for c in summary.rows[1]][:6] == [
        "triton",
        "p99=30ms",
        "300 req/s",
        "308 req/s",
        "336 req/s",
        "6",
    ]
    trials = load_views.trials_table(found)
    assert len(trials.rows) == len(PROVEN) + len(BASE)
    best = [row for row in trials.rows if row[0].note == "capacity"]
    assert [row[0].text + " " + row[2].text for row in best] == [
        "naive-hoisted 50.0 req/s",
        "triton 308 req/s",
    ]
    missed = trials.rows[0]
    assert missed[7].text == "missed" and missed[7].note == "p99 400.0 ms > 30 ms"


def test_interrupted_searches_and_short_capacity_trials_are_warned_about():
    short = [level(100, 100.0, [100, 100], 5.0, True)]
    warnings = load_views.load_warnings(hand_section(short, BASE, complete=False))
    assert "triton: the SLO search was interrupted after 1 trials" in warnings[0]
    assert "triton: its SLO capacity rests on 2 per-second throughput samples" in warnings[1]
    assert load_views.load_warnings(hand_section(PROVEN, BASE)) == []


def test_the_gate_reads_capacity_from_both_runs():
    def document(section):
        return {"schema": "infragap.results", "schema_version": 1, "suites": {"serving": section}}

    before = hand_section(PROVEN, BASE)
    slower = [dict(t) for t in PROVEN]
    slower[5] = level(308, 240.0, [240] * 6, 28.0, True)
    after = hand_section(slower, BASE)
    result = gate(document(before), document(after), parse_rules(["capacity<-5%"]))
    broken = [c for c in result.checks if c.failed]
    assert [c.change.key for c in broken] == ["triton/capacity"]
    assert broken[0].change.name == "SLO capacity"


# --- the real run -------------------------------------------------------------------------


def test_the_recorded_run_has_a_capacity_per_variant(section):
    found = load_views.capacities(section)
    assert list(found) == ["naive-reload", "naive-hoisted", "triton"]
    for cap in found.values():
        assert cap.complete and cap.trials and cap.slo_text == "p99=30ms"
        for trial in cap.trials:
            assert trial.slo["met"] == (trial.level.latency("p99") <= 30.0)
        if cap.best is not None:
            assert cap.capacity_rps == section["variants"][cap.variant]["capacity"]["capacity_rps"]


def test_the_curve_has_every_open_loop_level_in_order_of_offered_rate(section):
    points = load_views.curve_points(section)
    for name, variant in section["variants"].items():
        expected = len(variant.get("rates") or []) + len(variant["capacity"]["trials"])
        offered = [lv.offered for lv in points[name]]
        assert len(offered) == expected and offered == sorted(offered)
    # Overloaded (drawn hollow): naive-reload at 100 and 300 req/s (every send waited for a
    # busy connection; at 300 it achieved 20.5), Triton at 1,447 (its 256 connections busy).
    overloaded = {(name, lv.offered) for name, lvs in points.items() for lv in lvs if lv.overloaded}
    assert overloaded == {("naive-reload", 100.0), ("naive-reload", 300.0), ("triton", 1447.0)}
    found = load_views.capacities(section)
    from infragap.reports.sections.load_charts import latency_throughput_curve

    figure = latency_throughput_curve(points, found, Colours(["triton"]))
    assert isinstance(figure, Figure) and figure.uri.startswith("data:image/svg+xml;base64,")


def test_the_rates_table_has_one_row_per_rate(section):
    found = load_views.rate_levels(section)
    table = load_views.rates_table(found)
    rates = [r for v in section["variants"].values() for r in v.get("rates") or []]
    assert len(table.rows) == len(rates)
    assert table.columns[:2] == ["variant", "offered"]


def test_the_serving_section_leads_with_capacity(section):
    contribution = section_for("serving").contribute(section, "serving")
    titles = [p.title for p in contribution.parts]
    assert "Capacity under the SLO" in titles and "Open-loop levels" in titles
    assert "Load generator calibration" in titles
    capacity = contribution.parts[titles.index("Capacity under the SLO")]
    assert isinstance(capacity.blocks[0], Table) and isinstance(capacity.blocks[1], Figure)
    assert contribution.claims[0].label.startswith("SLO-compliant rate of naive-reload")
    assert contribution.claims[0].value == "–"
    reload, hoisted = contribution.verdicts[:2]
    assert reload.startswith("Triton sustains 1,320 req/s under p99=30ms; naive-reload sustained")
    # 1,320 / 461 = 2.86, from the capacity trials' per-second samples 1329, 1299 / 466, 454.
    assert hoisted.startswith(
        "Triton sustains 2.9× the SLO-compliant rate of naive-hoisted (95% CI"
    )
    assert hoisted.endswith(": 1,320 req/s against 461 req/s under p99=30ms.")


def test_metrics_add_capacity_and_rates(section):
    keys = [m.key for m in section_for("serving").metrics(section)]
    assert "triton/capacity" in keys and "naive-hoisted/capacity" in keys
    assert "triton/r100/p99" in keys and "naive-hoisted/r300/throughput" in keys
    assert "naive-reload/capacity" not in keys  # it met the SLO at no rate


def test_the_page_shows_the_new_parts_and_an_old_run_shows_none(old_section):
    html = build_report([SLO])
    for text in (
        "Capacity under the SLO",
        "Every rate the search tried",
        "Latency–throughput curve on the open loop",
        "Open-loop levels",
        "Load generator calibration",
        "the SLO-compliant rate of naive-hoisted",
    ):
        assert text in html
    old = build_report([BEFORE])
    for text in ("Capacity under the SLO", "Open-loop levels", "SLO-compliant", "calibration"):
        assert text not in old
    assert load_views.capacities(old_section) == {}
    assert load_views.rate_levels(old_section) == {}
    assert load_views.load_metrics(old_section) == []
    assert load_views.load_warnings(old_section) == []


def test_the_features_section_states_feast_against_naive(section):
    variants = section["variants"]
    features = {
        "status": "complete",
        "variants": {"naive": variants["naive-hoisted"], "feast": variants["triton"]},
        "calibration": section["calibration"],
    }
    contribution = section_for("features").contribute(features, "features")
    assert contribution.verdicts[0].startswith(
        "Feast's feature server sustains 2.9× the SLO-compliant rate of the naive endpoint"
    )
    assert contribution.claims[0].label == "SLO-compliant rate of naive (p99=30ms)"
    titles = [p.title for p in contribution.parts]
    assert titles[:2] == ["Throughput and latency by level", "Capacity under the SLO"]
    assert "Open-loop levels" in titles and titles[-1] == "Load generator calibration"
    assert any("reached only 70% of hey's" in w for w in contribution.warnings)
    keys = [m.key for m in section_for("features").metrics(features)]
    assert "feast/capacity" in keys and "naive/r300/p99" in keys
