"""The regression gate's rules and verdicts, on the committed serving runs.

serving-after.json is serving-before.json with Triton's queue delay raised: Triton at 8
users got faster (throughput +19%, interval +13% to +27%; p50 -15%, -20% to -12%), and
nothing else moved beyond its noise. Read backwards (after as BASE) those are
regressions whose whole interval is beyond the thresholds below.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from infragap.errors import ConfigError, ResultsError
from infragap.reports.bootstrap import RatioEstimate
from infragap.reports.gate import COLUMNS, Rule, gate, parse_rule, parse_rules, rows
from infragap.reports.schema import load

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"


@pytest.fixture(scope="module")
def before() -> dict:
    return load(FIXTURES / "serving-before.json")


@pytest.fixture(scope="module")
def after() -> dict:
    return load(FIXTURES / "serving-after.json")


def by_key(result) -> dict:
    return {check.change.key: check for check in result.checks}


def test_rules_parse_with_sign_spaces_and_decimals():
    assert parse_rule("p99>+10%") == Rule("p99>+10%", "p99", ">", 10.0)
    assert parse_rule(" throughput < -5% ") == Rule("throughput<-5%", "throughput", "<", -5.0)
    rule = parse_rule("triton/*/capacity<-2.5%")
    assert (rule.metric, rule.op, rule.percent) == ("triton/*/capacity", "<", -2.5)
    assert rule.threshold == pytest.approx(0.975)
    assert parse_rule("p99>+10%").threshold == pytest.approx(1.1)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("p99>10%", "write the sign"),
        ("p99>+10", "ending in %"),
        ("p99=+10%", "<op> > or <"),
        ("p99 >> +10%", "not a rule"),
        (">+10%", "not a rule"),
        ("", "not a rule"),
        ("throughput<-100%", "cannot fall by 100%"),
    ],
)
def test_bad_rules_say_how_to_write_one(text, says):
    with pytest.raises(ConfigError, match="--fail-if") as error:
        parse_rule(text)
    assert says in str(error.value)
    assert "p99>+10%" in str(error.value) or "-100%" in str(error.value)


def test_a_rule_fails_only_when_the_whole_interval_is_beyond_it():
    rise = Rule("p99>+10%", "p99", ">", 10.0)
    assert rise.judge(RatioEstimate(1.30, 1.15, 1.50)) == "breaks"
    assert rise.judge(RatioEstimate(1.30, 1.05, 1.50)) == "within noise"
    assert rise.judge(RatioEstimate(1.05, 0.95, 1.20)) == "ok"
    assert rise.judge(RatioEstimate(None, None, None)) == "no data"
    fall = Rule("throughput<-5%", "throughput", "<", -5.0)
    assert fall.judge(RatioEstimate(0.80, 0.75, 0.90)) == "breaks"
    assert fall.judge(RatioEstimate(0.90, 0.80, 0.97)) == "within noise"
    assert fall.judge(RatioEstimate(1.20, 1.10, 1.30)) == "ok"


def test_improvements_pass(before, after):
    rules = parse_rules(["p99>+10%", "throughput<-5%"])
    result = gate(before, after, rules)
    assert result.passed and result.failures == []
    checks = by_key(result)
    assert len(checks) == 18  # 3 variants x 2 levels x (throughput, p50, p99)
    assert checks["triton/8/throughput"].result == "ok"  # +19%: better, not worse
    assert checks["triton/8/p50"].result == ""  # no rule names p50
    assert result.summary().startswith("PASS: none of the 12 figures")


def test_regressions_beyond_their_interval_fail(before, after):
    result = gate(after, before, parse_rules(["p50>+10%", "throughput<-5%"]))
    assert not result.passed
    failed = {(c.change.key, c.result) for c in result.failures}
    assert failed == {
        ("triton/8/throughput", "FAIL: throughput<-5%"),  # -16%, interval -21% to -11%
        ("triton/8/p50", "FAIL: p50>+10%"),  # +18%, interval +13% to +25%
    }
    assert result.summary().startswith("FAIL: 2 of the 12 figures")


def test_a_change_beyond_the_threshold_within_noise_passes(before, after):
    # Triton's p99 at 8 users rose 27% read backwards, but its interval starts at -1.7%.
    result = gate(after, before, parse_rules(["p99>+10%"]), metrics=["triton/*"])
    checks = by_key(result)
    assert checks["triton/8/p99"].change.estimate.point > 1.1  # type: ignore[operator]
    assert checks["triton/8/p99"].result == "within noise: p99>+10%"
    assert result.passed
    assert "beyond a threshold but within the noise" in result.summary()


def test_rules_name_figures_by_key_suffix_name_or_glob(before, after):
    for text in ("8/p99>+10%", "triton/8/p99>+10%", "triton/*/p99>+10%"):
        result = gate(after, before, parse_rules([text]), metrics=["triton/*"])
        judged = [c.change.key for c in result.checks if c.outcomes]
        assert "triton/8/p99" in judged and "triton/8/p50" not in judged
    named = gate(before, after, parse_rules(["p99_latency>+10%"]))  # "p99 latency"
    assert sum(1 for c in named.checks if c.outcomes) == 6


def test_metric_and_suite_filters(before, after):
    result = gate(before, after, [], suites=["serving"], metrics=["*/8/*"])
    assert {c.change.key.split("/")[1] for c in result.checks} == {"8"}
    assert result.passed and "nothing can fail" in result.summary()
    with pytest.raises(ConfigError, match="--suite features: not in both runs"):
        gate(before, after, [], suites=["features"])
    with pytest.raises(ConfigError, match=r"--metric nosuch/\* matches no figure"):
        gate(before, after, [], metrics=["nosuch/*"])


def test_a_rule_that_matches_nothing_is_bad_input(before, after):
    with pytest.raises(ConfigError, match=r"'capacity<-5%' matches no figure.*p50, p99, thr"):
        gate(before, after, parse_rules(["capacity<-5%"]))


def test_a_new_run_without_the_figures_is_bad_input(before):
    emptied = copy.deepcopy(before)
    emptied["suites"]["serving"]["status"] = "failed"
    emptied["suites"]["serving"]["variants"] = {}
    with pytest.raises(ConfigError, match="none of its 6 figures can be compared"):
        gate(before, emptied, parse_rules(["p99>+10%"]))


def test_runs_without_a_shared_suite_are_bad_input(before):
    other = copy.deepcopy(before)
    other["suites"] = {"features": other["suites"].pop("serving")}
    with pytest.raises(ConfigError, match="share no suite"):
        gate(before, other, [])


def test_rows_show_before_after_change_interval_and_rule(before, after):
    result = gate(after, before, parse_rules(["throughput<-5%"]))
    table = {(row[1], row[2]): row for row in rows(result)}
    row = table[("triton at 8 users", "throughput")]
    assert len(row) == len(COLUMNS)
    assert row == [
        "serving",
        "triton at 8 users",
        "throughput",
        "58.4 req/s",
        "49.0 req/s",
        "-16%",
        "-21% to -11%",
        "FAIL: throughput<-5%",
    ]


def test_a_malformed_section_is_a_results_error(before):
    broken = copy.deepcopy(before)
    level = next(iter(broken["suites"]["serving"]["variants"]["triton"]["levels"]))
    del level["users"]
    with pytest.raises(ResultsError, match="NEW's serving section is malformed"):
        gate(before, broken, [])
