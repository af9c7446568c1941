import argparse
from pathlib import Path

import pytest

from infragap.errors import ResultsError
from infragap.reports.cli import add_report_command

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="infragap")
    add_report_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_report_command_writes_the_page_and_returns_zero(tmp_path, capsys):
    output = tmp_path / "site" / "report.html"
    args = parse(
        [
            "report",
            str(FIXTURES / "serving-before.json"),
            str(FIXTURES / "serving-after.json"),
            "-o",
            str(output),
            "--benchmarks",
            str(FIXTURES / "microbench.json"),
        ]
    )
    assert args.func(args) == 0
    html = output.read_text(encoding="utf-8")
    assert "Comparison" in html and "Micro-benchmarks" in html
    assert f"report written to {output}" in capsys.readouterr().err.replace("\n", "")


def test_defaults_and_errors_reach_the_cli_handler(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = parse(["report", "missing.json"])
    assert args.output == Path("report.html") and args.benchmarks == []
    with pytest.raises(ResultsError, match=r"cannot read missing\.json"):
        args.func(args)
    assert not (tmp_path / "report.html").exists()
