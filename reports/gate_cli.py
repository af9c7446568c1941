"""`infragap compare BASE.json NEW.json [--fail-if RULE ...] [--suite S] [--metric GLOB]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from infragap.reports.gate import GateResult

EXIT_PASS, EXIT_FAIL = 0, 1  # bad input is 2, from the CLI's error handler or argparse
# Wide enough for the whole table in a CI log, where there is no terminal to measure.
LOG_WIDTH = 180

DESCRIPTION = """\
Compare two results files of the same suites figure by figure and, with --fail-if rules,
act as a regression gate: the way to guard a serving configuration in CI. Run
`infragap bench` on the base configuration once and keep its results file; on every
change, run the same bench and `infragap compare BASE.json NEW.json --fail-if ...`.

Every figure's change (NEW / BASE) gets a 95% bootstrap interval from the raw samples of
both runs. A rule fails a figure only when the whole interval lies beyond its threshold
in the rule's direction; a change beyond the threshold whose interval reaches back
across it is reported as within noise and passes. pytest-benchmark's
--benchmark-compare-fail is the model, without intervals: a point estimate there fails
on noise alone.

The interval knows the noise inside each run only; runs on a shared machine can differ
by more, so leave the thresholds some room.
"""

EPILOG = """\
rules: <metric><op><sign><N>%, <op> > or <; repeat --fail-if for several.
  p99>+10%          fail when a p99 latency rose by more than 10%
  throughput<-5%    fail when a throughput fell by more than 5%
  capacity<-5%      fail when an SLO capacity fell by more than 5%
  triton/*/p99>+10% only Triton's p99 at every level
<metric> is the end of a figure's key (p50, p99, throughput, capacity, 32/p99), its
name with _ for spaces (p99_latency), or a glob over the key; keys look like
triton/32/p99.

exit status: 0 pass, 1 a rule failed, 2 bad input (unreadable file, bad rule, a rule or
filter that matches nothing).

example (CI):
  infragap bench serving --quick --out results/
  infragap compare baseline/serving.json "$(ls -t results/results-*.json | head -1)" \\
      --fail-if 'p99>+10%' --fail-if 'throughput<-5%' --suite serving
"""


def add_compare_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="compare two runs; with --fail-if, a regression gate for CI",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("base", type=Path, metavar="BASE.json", help="the baseline run")
    parser.add_argument("new", type=Path, metavar="NEW.json", help="the run to judge")
    parser.add_argument(
        "--fail-if",
        action="append",
        default=[],
        metavar="RULE",
        dest="rules",
        help="fail when a figure changed beyond this threshold, e.g. 'p99>+10%%' (repeatable)",
    )
    parser.add_argument(
        "--suite",
        action="append",
        default=[],
        metavar="SUITE",
        dest="suites",
        help="compare only this suite (repeatable; default: every suite both runs hold)",
    )
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="GLOB",
        dest="metrics",
        help="keep only figures whose key matches, e.g. 'triton/*' or '*/p99' (repeatable)",
    )
    parser.set_defaults(func=run_compare)
    return parser


def run_compare(args: argparse.Namespace) -> int:
    """Print the table and the verdict; ConfigError and ResultsError reach the CLI (exit 2)."""
    # Imported here: the gate reads every report section, which `infragap migrate` never needs.
    from infragap.reports.gate import gate, parse_rules
    from infragap.reports.schema import load

    rules = parse_rules(args.rules)  # bad rules fail before any file is read
    result = gate(load(args.base), load(args.new), rules, args.suites, args.metrics)
    console = Console()
    if not console.is_terminal:
        console = Console(width=LOG_WIDTH)
    print_result(console, result, f"{args.base} → {args.new}")
    return EXIT_PASS if result.passed else EXIT_FAIL


def print_result(console: Console, result: GateResult, title: str) -> None:
    from infragap.reports.gate import COLUMNS, rows

    table = Table(title=title, title_justify="left")
    for index, column in enumerate(COLUMNS):
        table.add_column(column, justify="right" if 3 <= index <= 5 else "left")
    styles = {"FAIL": "bold red", "within noise": "yellow", "ok": "green"}
    for row, check in zip(rows(result), result.checks, strict=True):
        style = next((s for word, s in styles.items() if check.result.startswith(word)), "")
        table.add_row(*(Text(cell) for cell in row[:-1]), Text(row[-1], style=style))
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    colour = ("green" if result.passed else "bold red") if result.rules else ""
    console.print(Text(result.summary(), style=colour))
