"""`infragap bench --help` groups options by suite; `bench SUITE --help` shows one suite."""

from __future__ import annotations

import signal

import pytest

from infragap.cli import build_parser, main
from infragap.suites.all import SUITES

SERVING_OPTION = "--triton-queue-delay-us"
FEATURES_OPTION = "--online-store"
PIPELINES_OPTION = "--fault-rate"
COMMON_OPTION = "--cache-dir"


@pytest.fixture(autouse=True)
def _keep_the_sigterm_handler():
    # main() turns SIGTERM into KeyboardInterrupt; the test process keeps its own.
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", *argv])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal


def test_every_suite_has_its_own_heading_and_description(capsys):
    out = help_text(capsys, "--help")
    for name, suite in SUITES:
        assert f"{name} suite: {suite.description}" in out
    for option in (SERVING_OPTION, FEATURES_OPTION, PIPELINES_OPTION, COMMON_OPTION):
        assert option in out
    assert "`infragap bench SUITE --help`" in out


def test_one_suite_shows_the_common_options_and_its_own_alone(capsys):
    out = help_text(capsys, "serving", "--help")
    assert "serving suite: " + SUITES.get("serving").description in out
    assert SERVING_OPTION in out and COMMON_OPTION in out and "--quick" in out
    assert FEATURES_OPTION not in out and PIPELINES_OPTION not in out
    assert "features suite" not in out and "pipelines suite" not in out


def test_several_suites_after_other_options(capsys):
    out = help_text(capsys, "--quick", "pipelines", "serving", "-h")
    assert SERVING_OPTION in out and PIPELINES_OPTION in out
    assert FEATURES_OPTION not in out


def test_an_unknown_suite_is_named_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "nosuch", "--help"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown suite 'nosuch'" in err and "serving" in err


def test_suites_and_options_still_parse_without_help():
    args = build_parser().parse_args(["bench", "serving", "--quick", "--rows", "4"])
    assert (args.suites, args.quick, args.rows) == (["serving"], True, 4)
    assert not hasattr(args, "help")
