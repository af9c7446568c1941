"""The scaling section on a real quick run (tests/fixtures/results/scaling-quick.json:
naive-hoisted and triton, SLO p99 30 ms, 4 trials a search, one start each), and on
edited copies of it for what that run did not show (no capacity, invalid manifests, a
bracketed search, an interrupted run)."""

import copy
import json
from pathlib import Path

import pytest
from test_html_report import check_golden

from infragap.reports.html import build_report
from infragap.reports.model import Callout, Figure, ItemList, Table, Text
from infragap.reports.sections import load_views
from infragap.reports.sections import scaling_charts as charts
from infragap.reports.sections import scaling_model as model
from infragap.reports.sections import scaling_tables as tables
from infragap.reports.sections.all import SECTIONS, section_for
from infragap.reports.sections.scaling import floor_words, validity_warnings

RESULTS = Path(__file__).parents[1] / "fixtures" / "results" / "scaling-quick.json"
ANCHOR = "suite-scaling"


@pytest.fixture(scope="module")
def pristine():
    return json.loads(RESULTS.read_text())["suites"]["scaling"]


@pytest.fixture
def section(pristine):
    return copy.deepcopy(pristine)


def contribute(section):
    return section_for("scaling").contribute(section, ANCHOR)


def part(contribution, suffix):
    return next(p for p in contribution.parts if p.anchor == f"{ANCHOR}-{suffix}")


def texts(table):
    return [[cell.text for cell in row] for row in table.rows]


def test_the_section_is_registered():
    assert "scaling" in SECTIONS
    assert section_for("scaling").title.startswith("Scaling")


def test_the_headline_keeps_measured_and_modelled_apart(pristine):
    verdicts = contribute(copy.deepcopy(pristine)).verdicts
    # capacity trials: naive-hoisted per second 388, 383; triton 3135, 3226:
    # 3180.5 / 385.5 = 8.25
    assert verdicts[0] == (
        "Measured: one Triton replica sustains 8.3× the SLO-compliant rate of the load-once "
        "Flask endpoint (95% CI 8.1–8.4×): 3,192 req/s against 386 req/s under p99=30ms."
    )
    assert verdicts[1] == (
        "Measured: from process start to ready, naive-hoisted 1.22 s and triton 4.04 s "
        "(one start each)."
    )
    assert verdicts[2].startswith("Model, not measured: over the seeded daily-with-spike trace")
    assert "assumed: 4 x the lowest measured per-replica capacity" in verdicts[2]
    assert "naive-hoisted 120 fixed for peak, 72 fixed for average, 84.5 HPA" in verdicts[2]
    assert verdicts[3] == (
        "Model: naive-hoisted under the HPA is over the SLO for 0.85 min of the day and absorbs "
        "the spike in 51.2 s; fixed for peak, 10 min, and never absorbs the spike."
    )
    assert "because its minReplicas of 2, kept for availability" in verdicts[5]
    assert verdicts[6] == (
        "Manifests for naive-hoisted, triton and the training Job validated offline against "
        "Kubernetes 1.33 and 1.37 with no problems; none was applied to a cluster."
    )
    assert all(v.startswith(("Measured", "Model", "Manifests", "All 2")) for v in verdicts)


def test_claims_label_what_is_measured_and_what_is_modelled(pristine):
    claims = contribute(copy.deepcopy(pristine)).claims
    assert [c.value for c in claims] == [
        "386 req/s",
        "3,192 req/s",
        "8.3×",
        "4.04 s vs 1.22 s",
        "24 vs 120",
        "24 vs 72",
        "48 vs 84.5",
        "0.85 vs 10 min",
        "0 vs 0.5 min",
    ]
    assert [c.label.split(":")[0] for c in claims] == ["measured"] * 4 + ["model"] * 5
    assert claims[0].detail == "0.87 cores, 252 MiB at that rate"
    assert claims[3].tone == "bad"  # Triton starts slower: said, not hidden
    # 120 - 24 = 96 replica-hours; 120 / 24 = 5.0
    assert claims[4].detail.startswith(
        "triton vs naive-hoisted: 96 fewer (naive-hoisted needs 5.0×)"
    )
    assert claims[7].detail == "surge: 51.2 s vs never"


def test_parts_are_headed_measured_manifests_or_model(pristine):
    contribution = contribute(copy.deepcopy(pristine))
    titles = [p.title for p in contribution.parts]
    assert titles == [
        "Measured: per-replica capacity and start-up",
        "Measured: the SLO capacity search",
        "Manifests (validated offline, not applied)",
        "Model: replicas, cost and time over the SLO",
        "Model: offered load against ready capacity",
        "Model: inputs, strategies and rules",
        "Model: sensitivity",
        "Measured: equivalence check",
    ]
    for p in contribution.parts:
        if p.title.startswith("Model"):
            for block in p.blocks:
                if isinstance(block, (Table, Figure, ItemList)):
                    assert block.title.startswith("Model"), block.title
                if isinstance(block, (Table, Figure)):
                    assert "model" in block.caption.lower()
    assert isinstance(part(contribution, "model").blocks[0], Callout)
    figures = part(contribution, "model-chart").blocks
    assert len(figures) == 2 and all(isinstance(f, Figure) for f in figures)
    assert all(f.uri.startswith("data:image/svg+xml;base64,") for f in figures)


def test_measured_table_and_the_reused_capacity_search(pristine):
    contribution = contribute(copy.deepcopy(pristine))
    (table,) = part(contribution, "measured").blocks
    assert table.title.endswith("under p99=30ms")
    # rss_mib 251.8 and 284.0; start-up 1.224 and 4.045 s, one start each
    assert texts(table) == [
        ["naive-hoisted", "386 req/s", "383 req/s", "0.87", "252 MiB", "1.22 s"],
        ["triton", "3,192 req/s", "3,189 req/s", "1.28", "284 MiB", "4.04 s"],
    ]
    assert table.rows[0][5].note == "1 start: 1.22 s"
    search = part(contribution, "capacity")
    trials = next(b for b in search.blocks if isinstance(b, Table) and b.title.startswith("Every"))
    assert len(trials.rows) == 8
    assert [r[0].note for r in trials.rows].count("capacity") == 2


def test_manifests_part(pristine):
    blocks = tables.manifest_blocks(pristine["manifests"])
    assert isinstance(blocks[0], Callout) and blocks[0].tone == "good"
    assert blocks[0].text.endswith("Kubernetes 1.33 and 1.37: no problems.")
    assert isinstance(blocks[1], Text)
    assert "assumed (not measured by this suite): 1 core, 1024 MiB" in blocks[1].text
    files = blocks[-1]
    assert [r[:2] for r in texts(files)] == [
        ["naive-hoisted", "serving"],
        ["triton", "serving"],
        ["triton", "queue-time-hpa"],
        ["triton", "prometheus-adapter"],
        ["train", "job"],
    ]
    assert "No manifests were written" in tables.manifest_blocks(None)[0].text


def test_model_tables_per_trace(pristine):
    plan = pristine["plan"]
    daily = texts(model.outcome_table(plan, "daily-with-spike"))
    assert daily[0] == [
        "naive-hoisted",
        "fixed for peak",
        "5 fixed",
        "120",
        "10 min",
        "686 k",
        "never",
    ]
    assert daily[2] == ["naive-hoisted", "HPA", "2–10", "84.5", "0.85 min", "46.2 k", "51.2 s"]
    assert daily[5] == ["triton", "HPA", "2–10", "48", "0 min", "0", "at once"]
    hpa = model.outcome_table(plan, "daily-with-spike").rows[2]
    assert hpa[2].note == "reached 10"
    assert hpa[5].note == "0.062% of 74.7 M"
    step = texts(model.outcome_table(plan, "step"))
    assert step[2][:5] == ["naive-hoisted", "HPA", "2–10", "5.3", "0.35 min"]
    traces = model.traces_blocks(plan)[0]
    assert [r[3].note for r in traces.rows] == ["10:00–10:10", "10–60 min"]
    assert "assumed: 4 x the lowest measured per-replica capacity" in traces.caption


def test_inputs_carry_their_sources_and_the_rules_are_listed(pristine):
    plan = pristine["plan"]
    table = model.inputs_table(plan)
    assert len(table.rows) == 2 * 6
    measured = [r for r in table.rows if r[2].tone == "good"]
    assert [(r[0].text, r[1].note, r[3].text) for r in measured] == [
        ("naive-hoisted", "capacity_rps", "386 req/s"),
        ("naive-hoisted", "startup_s", "1.22 s"),
        ("triton", "capacity_rps", "3,192 req/s"),
        ("triton", "startup_s", "4.04 s"),
    ]
    assert all(r[2].text.startswith("assumed:") for r in table.rows if r[2].tone == "warn")
    (rules,) = model.rules_blocks(plan)
    assert len(rules.items) == 7 and rules.items[0].startswith("1. load is a fluid")
    settings = texts(model.strategies_table(plan))
    assert settings[2][2].startswith("min 2, max 10, CPU target 60% of request")
    assert "up: 100% per 15 s or 4 pods per 15 s, no stabilisation" in settings[2][2]


def test_sensitivity_folds_start_up_factors_that_change_nothing(pristine):
    (table,) = model.sensitivity_blocks(pristine["plan"])
    rows = texts(table)
    naive = [r for r in rows if r[0] == "naive-hoisted"]
    # fixed replicas are ready from t=0: one row per capacity factor; the HPA: 3 x 3
    assert len(naive) == 3 + 3 + 9
    assert naive[0][:6] == ["naive-hoisted", "fixed for peak", "×0.75", "any", "120", "40 min"]
    assert [r[3] for r in naive if r[1] == "HPA"][:3] == ["×0.5", "×1", "×2"]
    triton = [r for r in rows if r[0] == "triton"]
    assert len(triton) == 9  # its HPA never ran short, so start-up changed nothing either
    assert "±25%" in table.caption


def test_the_run_s_unbracketed_searches_are_warned_about(pristine):
    warnings = contribute(copy.deepcopy(pristine)).warnings
    # naive-hoisted: 455.43 / 382.97 = +19%; triton: 4509.9 / 3189 = +41%
    assert warnings[0].startswith(
        "naive-hoisted: the capacity search did not bracket the capacity within 10%: 383 req/s "
        "offered met the SLO and the next rate tried, 455 req/s, missed (+19%)"
    )
    assert "4,510 req/s, missed (+41%)" in warnings[1]
    assert any("rests on 2 per-second throughput samples" in w for w in warnings)


def test_a_bracketed_search_and_one_that_never_missed(section):
    capacity = section["variants"]["triton"]["capacity"]
    capacity["first_miss_offered_rps"] = 3189.0 * 1.08
    assert not any(
        w.startswith("triton") for w in validity_warnings(section, load_views.capacities(section))
    )
    capacity["first_miss_offered_rps"] = None
    warnings = validity_warnings(section, load_views.capacities(section))
    assert (
        "triton: no rate tried missed the SLO, so 3,189 req/s offered is only a lower bound"
    ) in warnings


def test_a_variant_without_capacity(section):
    section["per_replica"]["naive-hoisted"] = None
    capacity = section["variants"]["naive-hoisted"]["capacity"]
    for key in ("capacity_trial", "capacity_rps", "capacity_offered_rps"):
        capacity[key] = None
    for trial in capacity["trials"]:
        trial["slo"] = {"met": False, "reasons": ["p99 40 ms > 30 ms"]}
    del section["plan"]["variants"]["naive-hoisted"]
    contribution = contribute(section)
    assert contribution.warnings[0] == (
        "naive-hoisted: no rate tried met the SLO, so it has no per-replica capacity, no "
        "manifests and no capacity plan"
    )
    claim = contribution.claims[0]
    assert (claim.value, claim.tone) == ("none", "bad")
    assert not any("Triton's per-replica capacity over" in c.label for c in contribution.claims)
    assert "the load-once Flask endpoint sustained no rate tried" in contribution.verdicts[0]
    row = part(contribution, "measured").blocks[0].rows[0]
    assert (row[1].text, row[1].tone) == ("none met the SLO", "bad")


def test_manifest_problems_and_a_missing_equivalence_check(section):
    section["manifests"]["problems"] = ["1.33 Deployment/naive-hoisted: spec.replicas: -1 < 0"]
    del section["equivalence"]
    contribution = contribute(section)
    assert (
        "the manifests failed schema validation (1 problems, the first: 1.33 "
        "Deployment/naive-hoisted: spec.replicas: -1 < 0): do not apply them as written"
    ) in contribution.warnings
    assert any("no equivalence check was recorded" in w for w in contribution.warnings)
    callout = part(contribution, "manifests").blocks[0]
    assert (callout.tone, callout.title) == ("bad", "invalid")
    assert "with 1 problems" in " ".join(contribution.verdicts)


def test_the_hpa_floor_sentence_only_when_the_floor_decides(pristine):
    plan = pristine["plan"]
    assert floor_words(plan, "daily-with-spike", "naive-hoisted") == []  # HPA cheaper there
    assert floor_words(plan, "daily-with-spike", "triton")[0].startswith(
        "Model: for triton the HPA costs more than fixed for peak (48 vs 24 replica-hours)"
    )


def test_an_interrupted_run_still_renders(pristine):
    for cut in ({}, {"startup": pristine["startup"]}, {"variants": pristine["variants"]}):
        contribution = contribute(copy.deepcopy(cut))
        titles = [p.title for p in contribution.parts]
        assert titles[0] == "Measured: per-replica capacity and start-up"
        assert not any(t.startswith("Model") for t in titles)
    partial = copy.deepcopy(pristine)
    del partial["plan"]
    contribution = contribute(partial)
    assert "no capacity plan was recorded: the model part is missing" in contribution.warnings
    assert not any(c.label.startswith("model") for c in contribution.claims)


def test_the_chart_draws_nothing_without_series(pristine):
    plan = pristine["plan"]
    trace = plan["traces"]["step"]
    assert charts.load_vs_capacity(trace, {}) is None
    assert charts.load_vs_capacity(trace, {"x": {"hpa": {"series": {}}}}) is None
    figure = charts.load_vs_capacity(trace, tables.outcomes(plan, "step"))
    assert figure is not None and figure.title.startswith("Model:")
    assert "per 15 s" in figure.caption


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (0, "0"), (832.86, "833"), (46167.6, "46.2 k"), (5846168.9, "5.85 M")],
)
def test_modelled_counts_read_to_three_figures(value, text):
    assert tables.count(value) == text


def test_metrics_give_capacity_and_start_up_per_variant(pristine):
    metrics = section_for("scaling").metrics(pristine)
    found = {m.key: m for m in metrics}
    assert list(found) == [
        "naive-hoisted/capacity",
        "triton/capacity",
        "naive-hoisted/startup",
        "triton/startup",
    ]
    assert found["triton/capacity"].samples == (3135.0, 3226.0)
    assert found["triton/capacity"].name == "SLO capacity under p99=30ms"
    assert found["naive-hoisted/startup"].samples == (1.224,)
    assert found["naive-hoisted/startup"].better == "lower"
    assert {m.group for m in metrics} == {"naive-hoisted, one replica", "triton, one replica"}


def test_comparing_two_runs_lists_the_metrics():
    html = build_report([RESULTS, RESULTS])
    assert "start-up, process start to ready" in html
    assert "SLO capacity under p99=30ms" in html


def test_golden_page():
    check_golden("scaling-quick.html", build_report([RESULTS]))
