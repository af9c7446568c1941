"""The serving section on the hand-checked fixture (see tests/fixtures/results/README.md)."""

import copy
import json
from pathlib import Path

import pytest

from infragap.reports.bootstrap import RatioEstimate
from infragap.reports.model import Figure, Table
from infragap.reports.sections.all import SECTIONS, section_for
from infragap.reports.sections.serving import sentence, validity_warnings
from infragap.reports.sections.serving_data import (
    Advantage,
    advantages,
    headline,
    levels_of,
    metrics,
    variant_names,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"


@pytest.fixture(scope="module")
def section():
    doc = json.loads((FIXTURES / "serving-before.json").read_text())
    return doc["suites"]["serving"]


def test_serving_is_registered_and_unknown_suites_get_the_generic_section():
    assert "serving" in SECTIONS
    generic = section_for("no-such-suite")
    assert generic.title == "no-such-suite"
    assert generic.contribute({}, "x").parts == []


def test_variants_in_naive_then_proven_order(section):
    reordered = dict(section, variants=dict(reversed(list(section["variants"].items()))))
    assert variant_names(reordered) == ["naive-reload", "naive-hoisted", "triton"]


def test_headline_is_at_the_highest_shared_level_and_matches_the_hand_check(section):
    top = {adv.baseline: adv for adv in headline(advantages(levels_of(section)))}
    reload, hoisted = top["naive-reload"], top["naive-hoisted"]
    assert reload.users == hoisted.users == 8
    assert reload.throughput.point == pytest.approx(49.0 / 4.8)
    assert hoisted.throughput.point == pytest.approx(49.0 / 24.0)
    assert reload.tail.point == pytest.approx(2330.428 / 277.021)
    assert hoisted.tail.point == pytest.approx(733.101 / 277.021)
    assert sentence(reload).startswith(
        "Triton served 10× the requests of the reload-per-request endpoint at 8 users (95% CI"
    )
    assert "p99 fell from 2.33 s to 277 ms (8.4× lower" in sentence(reload)


def _advantage(throughput, tail, before=70.0, after=68.0):
    return Advantage("naive-hoisted", 8, throughput, tail, before, after)


def test_an_interval_spanning_one_is_said_in_words():
    text = sentence(_advantage(RatioEstimate(1.04, 0.97, 1.11), RatioEstimate(1.03, 0.9, 1.2)))
    assert "within noise" in text and "includes 1" in text
    assert "do not clearly differ" in text
    assert "served 1" not in text


def test_a_loss_is_called_a_loss():
    text = sentence(
        _advantage(RatioEstimate(0.6, 0.5, 0.7), RatioEstimate(0.5, 0.4, 0.6), 34.0, 68.0)
    )
    assert "only 0.60× the requests" in text and "fewer, not more" in text
    assert "p99 rose from 34.0 ms to 68.0 ms (2.0× higher" in text


def test_contribution_has_claims_parts_and_charts(section):
    contribution = section_for("serving").contribute(section, "suite-serving")
    assert len(contribution.verdicts) == 3  # two baselines + the equivalence check
    assert "same scores" in contribution.verdicts[-1]
    assert [c.value for c in contribution.claims[:4]] == ["10×", "8.4×", "2.0×", "2.6×"]
    assert contribution.claims[4].value == "6.35"  # Triton's mean batch at 8 users
    titles = [part.title for part in contribution.parts]
    assert titles[:2] == ["Triton's advantage at every level", "Throughput and latency by level"]
    assert "Failed requests" in titles
    figures = [b for p in contribution.parts for b in p.blocks if isinstance(b, Figure)]
    assert len(figures) == 6
    assert all(f.uri.startswith("data:image/svg+xml;base64,") for f in figures)
    assert all(p.anchor.startswith("suite-serving-") for p in contribution.parts)
    tables = [b for p in contribution.parts for b in p.blocks if isinstance(b, Table)]
    assert all(len(row) == len(t.columns) for t in tables for row in t.rows)


def test_validity_warnings_for_missing_equivalence_and_short_windows(section):
    broken = copy.deepcopy(section)
    broken.pop("equivalence")
    broken["variants"]["triton"]["levels"][0]["throughput_per_s"] = [19, 18]
    warnings = validity_warnings(broken, levels_of(broken))
    assert any("no equivalence check" in w for w in warnings)
    assert any("triton at 1 user: only 2 per-second" in w for w in warnings)
    assert validity_warnings(section, levels_of(section)) == []


def test_no_triton_means_no_headline_but_still_tables(section):
    partial = copy.deepcopy(section)
    del partial["variants"]["triton"]
    contribution = section_for("serving").contribute(partial, "s")
    assert contribution.claims == []
    assert "no user level that Triton and a naive variant both ran" in contribution.verdicts[0]
    assert any(p.title == "Throughput and latency by level" for p in contribution.parts)


def test_metrics_have_stable_keys_and_samples(section):
    found = {m.key: m for m in metrics(section)}
    assert len(found) == 3 * 2 * 3
    assert found["triton/8/throughput"].value == 49.0
    assert found["triton/8/p99"].value == 277.021
    assert found["naive-reload/8/p99"].better == "lower"
