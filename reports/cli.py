"""`infragap report RESULTS.json [MORE.json ...] -o report.html [--benchmarks BENCH.json ...]`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

DEFAULT_OUTPUT = Path("report.html")


def add_report_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="render results files as one self-contained HTML page",
        description="Render a results file as an HTML report. With several files of the same "
        "suite the report also compares them, the first file being the baseline.",
    )
    parser.add_argument(
        "results",
        nargs="+",
        type=Path,
        metavar="RESULTS.json",
        help="results files written by `infragap bench`",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the page (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--benchmarks",
        nargs="+",
        type=Path,
        default=[],
        metavar="BENCH.json",
        help="pytest-benchmark JSON files to show as micro-benchmarks",
    )
    parser.set_defaults(func=run_report)
    return parser


def run_report(args: argparse.Namespace) -> int:
    """Render the report; errors (ResultsError, MissingDependency) reach the CLI's handler."""
    from infragap.reports.html import render_report

    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status("rendering the report"):
        path = render_report(args.results, args.output, args.benchmarks)
    size_kib = path.stat().st_size / 1024
    console.print(
        f"report written to {path} ({size_kib:,.0f} KiB, {time.perf_counter() - start:.1f} s)"
    )
    return 0
