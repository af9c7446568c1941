"""`infragap compare BASE NEW --fail-if ...`: the table, and exit 0 / 1 / 2."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from infragap.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"
BEFORE = str(FIXTURES / "serving-before.json")
AFTER = str(FIXTURES / "serving-after.json")


@pytest.fixture(autouse=True)
def _keep_the_sigterm_handler():
    # main() turns SIGTERM into KeyboardInterrupt; the test process keeps its own.
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


def compare(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["compare", *argv])
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_a_passing_gate_prints_every_figure_and_exits_0(capsys):
    code, out, _ = compare(
        capsys, BEFORE, AFTER, "--fail-if", "p99>+10%", "--fail-if", "throughput<-5%"
    )
    assert code == 0
    for column in ("before", "after", "change", "95% interval", "gate"):
        assert column in out
    assert out.count("serving") >= 18  # one row per figure
    assert "PASS: none of the 12 figures the rules check breaks one" in out


def test_a_failing_gate_names_the_rule_and_exits_1(capsys):
    code, out, _ = compare(
        capsys, AFTER, BEFORE, "--fail-if", "p50>+10%", "--fail-if", "throughput<-5%"
    )
    assert code == 1
    assert "FAIL: throughput<-5%" in out and "FAIL: p50>+10%" in out
    assert "within noise: throughput<-5%" in out
    assert "FAIL: 2 of the 12 figures" in " ".join(out.split())


def test_noise_alone_does_not_fail(capsys):
    code, out, _ = compare(capsys, AFTER, BEFORE, "--fail-if", "p99>+10%", "--metric", "triton/*")
    assert code == 0
    assert "within noise: p99>+10%" in out and "naive" not in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--fail-if", "p99>10%"], "write the sign of the change"),
        (["--fail-if", "latency>+10%"], "matches no figure"),
        (["--suite", "features"], "--suite features: not in both runs"),
        (["--metric", "nosuch/*"], "matches no figure"),
    ],
)
def test_bad_input_exits_2_with_the_fix(capsys, argv, says):
    code, out, err = compare(capsys, BEFORE, AFTER, *argv)
    assert code == 2 and out == ""
    assert says in err


def test_an_unreadable_file_exits_2(capsys, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"run": ')
    code, _, err = compare(capsys, BEFORE, str(broken), "--fail-if", "p99>+10%")
    assert code == 2 and "not valid JSON" in err
    code, _, err = compare(capsys, BEFORE, str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_a_missing_argument_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", BEFORE])
    assert exit_.value.code == 2


def test_help_documents_the_ci_gate(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "guard a serving configuration in CI" in out
    assert "--benchmark-compare-fail" in out and "bootstrap interval" in out
    assert "p99>+10%" in out and "capacity<-5%" in out
    assert "0 pass, 1 a rule failed, 2 bad input" in out
