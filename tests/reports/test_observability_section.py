"""The observability section on a real quick run (tests/fixtures/results/observability-quick.json:
tiny model, users 1 and 4, 2 s windows), and on edited copies of it for what that run
did not show (a quantile past the last bucket, a missing answer, an alert that failed)."""

import copy
import dataclasses
import json
from pathlib import Path

import pytest
from test_html_report import check_golden

from infragap.reports.bootstrap import RatioEstimate
from infragap.reports.html import build_report
from infragap.reports.model import Callout, Figure, ItemList, KeyValues, Table
from infragap.reports.sections import observability_charts as charts
from infragap.reports.sections import observability_tables as tables
from infragap.reports.sections.all import SECTIONS, section_for
from infragap.reports.sections.observability import (
    alert_claims,
    overhead_sentence,
    validity_warnings,
)

RESULTS = Path(__file__).parents[1] / "fixtures" / "results" / "observability-quick.json"
ANCHOR = "suite-observability"


@pytest.fixture(scope="module")
def pristine():
    return json.loads(RESULTS.read_text())["suites"]["observability"]


@pytest.fixture
def section(pristine):
    return copy.deepcopy(pristine)


def contribute(section):
    return section_for("observability").contribute(section, ANCHOR)


def level(section, variant, users):
    return next(lv for lv in section["variants"][variant]["levels"] if lv["users"] == users)


def item(section, variant, users, question):
    answers = level(section, variant, users)["answers"]["items"]
    return next(a for a in answers if a["question"] == question)


def part(contribution, suffix):
    return next(p for p in contribution.parts if p.anchor == f"{ANCHOR}-{suffix}")


def test_the_section_is_registered():
    assert "observability" in SECTIONS
    assert section_for("observability").title.startswith("Observability")


def test_the_headline_states_each_finding(pristine):
    verdicts = contribute(copy.deepcopy(pristine)).verdicts
    text = "\n".join(verdicts)
    assert (
        "One observation costs: log-line 10.2 µs, otel-record 3.86 µs, otel-record-attributes "
        "6.74 µs, prometheus-client-observe 1.99 µs"
    ) in text
    assert "(the empty loop, 6.40 ns, subtracted)" in text
    # log at 4 users: 10,205.5 ns × 789.5 req/s = 0.81% of one core, the most of any level
    assert "at most 0.81% of one CPU core (log at 4 users)" in text
    assert "is off by: otel +30%, prometheus-client +7.1%, slo +2.7%" in text
    assert (
        "fired on the slowed app (requests delayed 200 ms) 6.55 s after its slow-down began" in text
    )
    assert "The log side cannot alert: the timing log is a file on the server" in text
    assert "Prometheus answered 7 of the operator's 7 questions and the timing log 4" in text
    assert "All 5 variants returned the same scores" in verdicts[-1]


def test_claims_in_headline_order(pristine):
    claims = contribute(copy.deepcopy(pristine)).claims
    assert [c.value for c in claims] == [
        "10.2 µs",
        "6.74 µs",
        "1.99 µs",
        "+30%",
        "+7.1%",
        "+2.7%",
        "6.55 s",
        "7 vs 4",
        "0.90×",
        "0.60×",
        "0.83×",
    ]
    assert claims[0].tone == "bad"  # the log line is the dearest way
    assert claims[1].detail.endswith("; 3.86 µs without them")


def test_overheads_are_against_bare_at_the_same_users_and_triton_is_not_compared(pristine):
    levels = tables.levels_of(pristine)
    assert list(levels) == ["bare", "log", "otel", "prometheus-client", "triton"]
    found = {(o.variant, o.users): o for o in tables.overheads(levels)}
    assert sorted(found) == [(v, u) for v in ("log", "otel", "prometheus-client") for u in (1, 4)]
    log4 = found[("log", 4)]
    # mean per-second throughput (824 + 755) / 2 over bare's (905 + 854) / 2; p99 by nearest rank
    assert log4.throughput.point == pytest.approx(789.5 / 879.5)
    # latencies_ms are stored to the µs, the summary's p99 unrounded
    assert log4.p99.point == pytest.approx(11.283991511390923 / 9.272422930052926, rel=1e-4)
    assert log4.throughput.direction == -1 and log4.p99.direction == 1
    assert [o.users for o in tables.top_overheads(list(found.values()))] == [4, 4, 4]

    table = tables.overhead_table(pristine, levels)
    triton = [row for row in table.rows if row[0].text == "triton"]
    assert [row[2].text for row in triton] == ["another server: not compared"] * 2
    assert all(cell.text == "–" for row in triton for cell in row[5:])


def test_an_interval_that_includes_1_is_called_no_measurable_overhead(pristine):
    levels = tables.levels_of(pristine)
    log1 = next(o for o in tables.overheads(levels) if (o.variant, o.users) == ("log", 1))
    assert log1.throughput.spans_one and log1.p99.spans_one
    assert tables.reading(log1) == "no measurable overhead at this load"
    assert "no measurable overhead at this load" in overhead_sentence(log1)
    rows = tables.overhead_table(pristine, levels).rows
    row = next(r for r in rows if (r[0].text, r[1].text) == ("log", "1"))
    assert row[2].text == "no measurable overhead at this load"
    assert row[5].tone == row[6].tone == "neutral"


def test_a_loss_beyond_the_observations_own_cost_is_said(pristine):
    levels = tables.levels_of(pristine)
    otel4 = next(o for o in tables.overheads(levels) if (o.variant, o.users) == ("otel", 4))
    share = tables.timing_cpu_share(pristine, otel4.timed)
    assert share == pytest.approx(6739.7 * 531.0 / 1e9)
    text = overhead_sentence(otel4, share)
    assert text.startswith("otel at 4 users served 0.60× bare's requests (95% CI")
    assert "p99 rose 9.27 ms → 17.1 ms" in text
    assert "cost only 0.36% of one core at that rate, far less than this 40% loss" in text


def test_doing_better_than_bare_is_flagged_as_drift(pristine):
    levels = tables.levels_of(pristine)
    better = [o for o in tables.overheads(levels) if o.better_than_bare]
    assert [(o.variant, o.users) for o in better] == [("otel", 1), ("prometheus-client", 1)]
    warnings = validity_warnings(pristine, levels)
    assert any(w.startswith("prometheus-client at 1 user did measurably better") for w in warnings)
    drifted = dataclasses.replace(
        better[0], throughput=RatioEstimate(1.2, 1.1, 1.3), p99=RatioEstimate(1.0, 0.9, 1.1)
    )
    assert tables.reading(drifted) == "better than bare: drift"
    text = overhead_sentence(drifted)
    assert "served more than bare, 1.2× (95% CI 1.1–1.3×)" in text
    assert "Timing cannot make a server faster" in text


def test_each_variant_is_read_for_its_own_questions(pristine):
    top = {a.variant: a for a in tables.top_asked(tables.levels_of(pristine))}
    assert list(top) == ["log", "otel", "prometheus-client", "triton"]
    assert len(top["log"].items) == 7  # the log side is asked everything
    assert list(top["otel"].items) == list(tables.APP_QUESTIONS)
    assert list(top["triton"].items) == list(tables.TRITON_QUESTIONS)
    assert tables.answered_by(list(top.values()), "log") == {
        "p50_latency",
        "p99_latency",
        "request_rate",
        "p99_by_variant",
    }
    assert len(tables.answered_by(list(top.values()), "promql")) == 7


def test_answers_table_lines_up_both_sides_with_the_exact_figure(pristine):
    top = tables.top_asked(tables.levels_of(pristine))
    table = tables.answers_table(top)
    assert len(table.rows) == 5 * 3 + 2 * 2
    p99 = table.rows[3]
    assert [c.text for c in p99] == [
        "p99 latency",
        "log",
        "6.60 ms",
        "11.3 ms",
        "-42%",
        "513 KiB",
        "65.1 ms",
    ]
    status = next(r for r in table.rows if r[0].text == "share by status")
    assert (status[2].text, status[2].tone) == ("cannot answer", "bad")
    assert (
        status[2].note == "the line has no HTTP status, and a failed request writes no line at all"
    )
    queue = next(r for r in table.rows if r[1].text == "triton" and "queue" in r[2].text)
    assert queue[2].text == "queue: 0.512 ms, compute: 0.396 ms"
    assert "miss the HTTP server's own time" in table.caption


@pytest.mark.parametrize(
    ("question", "value", "text"),
    [
        ("p50_latency", 0.2, "0.200 ms"),
        ("request_rate", 790.0, "790 req/s"),
        ("status_share", {"200": 0.99, "500": 0.01}, "200: 99%, 500: 1.0%"),
        ("p99_by_variant", {"otel": 4.95}, "otel: 4.95 ms"),
        ("triton_batch_size", 2.9005, "2.9"),
        ("p99_latency", None, "–"),
    ],
)
def test_answers_read_in_their_question_s_unit(question, value, text):
    assert tables.answer_text(question, value) == text


def test_fidelity_table_flags_a_quantile_above_the_last_bound(section):
    p99 = section["fidelity"]["layouts"]["prometheus-client"]["answers"]["p99"]
    p99.update(exact_ms=14.0, histogram_ms=10.0, rel_error=-4 / 14, above_last_bound=True)
    blocks = tables.fidelity_blocks(section["fidelity"])
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.columns[1:] == [
        "buckets",
        "p50 exact",
        "p50 read",
        "p50 error",
        "p99 exact",
        "p99 read",
        "p99 error",
    ]
    row = next(r for r in table.rows if r[0].text == "prometheus-client")
    assert (row[6].text, row[6].tone, row[6].note) == ("10.0 ms", "bad", "cannot see above 10 ms")
    assert row[1].note == "0.005 ms … 10 ms"
    contribution = contribute(section)
    claim = next(c for c in contribution.claims if "prometheus-client bucket" in c.label)
    assert claim.tone == "bad" and "cannot see above" in claim.detail
    assert "prometheus-client -29% (stuck at its last bound, 10.0 ms)" in " ".join(
        contribution.verdicts
    )


def test_a_p99_answer_at_the_last_bucket_bound_is_warned_about(section):
    item(section, "prometheus-client", 4, "p99_latency")["value"] = 10.0
    warnings = validity_warnings(section, tables.levels_of(section))
    assert (
        "prometheus-client at 4 users: its p99 answer, 10.0 ms, is its default layout's last "
        "finite bound: the true p99 is somewhere above 10 ms"
    ) in warnings


def test_a_missing_prometheus_answer_is_warned_about(section):
    item(section, "otel", 4, "p99_latency")["value"] = None
    del level(section, "log", 1)["answers"]
    warnings = validity_warnings(section, tables.levels_of(section))
    assert "otel at 4 users: Prometheus gave no answer to p99_latency" in warnings
    assert "log at 1 user: no answers were recorded" in warnings
    # Triton's missing app histogram and the apps' missing Triton series are not asked for
    assert not any(w.startswith("triton") for w in warnings)


def test_alerting_part_says_what_each_job_could_do(pristine):
    blocks = tables.alert_blocks(pristine)
    rule = next(b for b in blocks if isinstance(b, KeyValues))
    assert rule.items[0] == ("alert rule", "p99 over 10s above 100 ms, held for 2s")
    table = next(b for b in blocks if isinstance(b, Table))
    rows = {r[0].text: r for r in table.rows}
    assert rows["slowed"][1].text == "fired"
    assert rows["slowed"][2].text == "6.55 s after the slow-down began"
    assert rows["prometheus-client"][3].text == "cannot fire: its buckets end at 10 ms"
    assert rows["otel"][3].text == "should stay silent"
    naive = next(b for b in blocks if isinstance(b, Callout))
    assert naive.text.startswith("The log side cannot alert")
    assert tables.blind_to_slo(pristine, "otel") is None
    warnings = validity_warnings(pristine, tables.levels_of(pristine))
    assert any("prometheus-client's SLO alert cannot fire" in w for w in warnings)


def test_an_alert_that_never_fired_is_a_bad_claim_and_a_warning(section):
    section["alerting"]["jobs"]["slowed"] = {"fired": False, "first_firing_s_after_start": None}
    section["alerting"]["jobs"]["otel"] = {"fired": True, "first_firing_s_after_start": 30.0}
    (claim,) = alert_claims(section["alerting"])
    assert (claim.value, claim.tone) == ("never", "bad")
    warnings = validity_warnings(section, tables.levels_of(section))
    assert "the SLO alert never fired on the slowed app" in warnings
    assert "the SLO alert fired on otel during the load levels" in warnings


def test_artifacts_and_a_failed_console_page(section):
    items = dict(tables.artifact_items(section["artifacts"]))
    assert items["Prometheus version"] == "2.42.0"
    assert items["alert rules (passed promtool)"].endswith("alert-rules.yml")
    assert items["Grafana dashboard, otel"].endswith("grafana-otel.json")
    assert items["console page, as Prometheus served it"].startswith("HTTP 200, 2.00 KiB from ")
    section["artifacts"]["console"]["status"] = 500
    warnings = validity_warnings(section, tables.levels_of(section))
    assert "Prometheus served the console page with HTTP 500, not 200" in warnings
    assert any(isinstance(b, Callout) for b in tables.artifact_blocks(section["artifacts"]))


def test_parts_charts_and_warnings(pristine):
    contribution = contribute(copy.deepcopy(pristine))
    assert [p.title for p in contribution.parts] == [
        "What timing costs under load",
        "The operator's questions",
        "Bucket layouts and the p99",
        "The SLO alert",
        "The cost of one observation",
        "Throughput and latency by level",
        "Server and load generator resources",
        "Load generator calibration",
        "Equivalence check",
        "Artifacts",
    ]
    figures = [b for p in contribution.parts for b in p.blocks if isinstance(b, Figure)]
    assert len(figures) == 4
    assert all(f.uri.startswith("data:image/svg+xml;base64,") for f in figures)
    questions = part(contribution, "answers").blocks[0]
    assert isinstance(questions, ItemList) and len(questions.items) == 7
    assert contribution.warnings[0] == (
        "10 of 10 levels have only 2 per-second throughput samples (fewer than 5), so their "
        "throughput intervals are rough"
    )
    assert any("78% of hey's throughput" in w for w in contribution.warnings)


def test_charts_draw_nothing_without_data(pristine):
    palette = charts.colours([])
    assert charts.answers_chart([], palette) is None
    assert charts.layouts_chart(None, palette) is None
    assert charts.overhead_forest([], palette) is None
    pairs = charts.answer_pairs(tables.all_asked(tables.levels_of(pristine)), palette)
    assert [p.label for p in pairs][:2] == ["log, 1 user", "log, 4 users"]
    assert (pairs[0].exact, pairs[0].read) == pytest.approx((3.9787812556824065, 0.3))


def test_an_interrupted_run_still_renders(pristine):
    for cut in ({}, {"observation_cost": pristine["observation_cost"]}, {"variants": {}}):
        contribution = contribute(copy.deepcopy(cut))
        titles = [p.title for p in contribution.parts]
        assert "Bucket layouts and the p99" in titles and "Artifacts" in titles
    partial = copy.deepcopy(pristine)
    for name in ("fidelity", "alerting", "artifacts", "equivalence"):
        del partial[name]
    contribution = contribute(partial)
    assert "no equivalence check was recorded" in contribution.warnings[0]


def test_metrics_give_throughput_and_tails_per_variant_and_level(pristine):
    metrics = section_for("observability").metrics(pristine)
    assert [m.group for m in metrics[::3]] == [
        f"{variant} at {users}"
        for variant in ("bare", "log", "otel", "prometheus-client", "triton")
        for users in ("1 user", "4 users")
    ]
    found = {m.key: m for m in metrics}
    assert len(found) == 5 * 2 * 3
    assert found["otel/4/throughput"].samples == (619.0, 443.0)
    assert found["bare/1/p99"].percentile == 99.0
    assert found["triton/4/p99"].value == pytest.approx(5.155048255574002, abs=1e-3)


def test_golden_page():
    check_golden("observability-quick.html", build_report([RESULTS]))
