"""`infragap bench`: the main flow, written down as a list of steps.

configure -> open the results file -> run each suite (start, warm up, drive, collect,
stop) -> close the results file -> print the summary. Results are saved after every
level, so Ctrl-C or a crash still leaves everything measured so far, marked incomplete.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from infragap.environment import run_metadata, utc_now
from infragap.errors import ConfigError, InfragapError, ResultsSaveError, interrupt_cause
from infragap.output import as_output_error, check_output_folder, recover_abandoned_results
from infragap.processes import Supervisor
from infragap.reports.schema import new_document
from infragap.suites.all import SUITES
from infragap.suites.base import BenchContext, ResultsRecorder, Suite
from infragap.suites.levels import add_load_arguments


@dataclass
class BenchRun:
    args: argparse.Namespace
    console: Console
    suites: list[tuple[str, Suite]] = field(default_factory=list)
    run_dir: Path = Path()
    results: ResultsRecorder | None = None
    failed: list[str] = field(default_factory=list)


HELP_EPILOG = "`infragap bench SUITE --help` shows the common options and that suite's alone."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add bench's options to `parser`, which must be made with add_help=False: bench
    brings its own -h/--help, which after suite names shows only their options."""
    parser.epilog = HELP_EPILOG
    _add_common_arguments(parser)
    for _name, suite in SUITES:
        _add_suite_arguments(parser, suite)


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-h",
        "--help",
        action=_SuiteHelp,
        help="show this help (after SUITE names: only their options) and exit",
    )
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"suites to run (default: all of {', '.join(SUITES.names())})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small model and short levels: a few minutes on 2 cores",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for models, data and requests")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="folder for results files and run logs (default: ./results)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="where generated models are cached (default: ~/.cache/infragap)",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="skip the HTML report at the end (`infragap report` renders it later)",
    )
    add_load_arguments(parser)


def _add_suite_arguments(parser: argparse.ArgumentParser, suite: Suite) -> None:
    """The suite's own option group(s), each headed by the suite's description."""
    # argparse lists a parser's groups only in this private attribute.
    first_new = len(parser._action_groups)
    suite.add_arguments(parser)
    for group in parser._action_groups[first_new:]:
        group.description = group.description or suite.description


class _SuiteHelp(argparse.Action):
    """-h/--help. argparse has read the SUITE names before the flag, so `infragap bench
    serving --help` can show the common options and the serving suite's alone."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        names = getattr(namespace, "suites", None) or []
        if names:
            try:
                suites = [SUITES.get(name) for name in dict.fromkeys(names)]
            except ConfigError as error:
                parser.error(str(error))
            parser = _help_parser(parser, suites)
        parser.print_help()
        parser.exit()


def _help_parser(parser: argparse.ArgumentParser, suites: list[Suite]) -> argparse.ArgumentParser:
    """A parser like `parser` that holds the common options and only these suites'."""
    shown = argparse.ArgumentParser(
        prog=parser.prog,
        description=parser.description,
        epilog=parser.epilog,
        formatter_class=parser.formatter_class,
        add_help=False,
    )
    _add_common_arguments(shown)
    for suite in suites:
        _add_suite_arguments(shown, suite)
    return shown


def check_output(run: BenchRun) -> None:
    """Before any server starts: the output folder takes files, and older runs killed
    without a chance to say so are marked interrupted."""
    check_output_folder(run.args.out)
    for path, suites in recover_abandoned_results(run.args.out):
        run.console.print(
            f"[yellow]note:[/] {path.name} was left running by an infragap process that is "
            f"gone: {', '.join(suites)} marked interrupted"
        )


def configure(run: BenchRun) -> None:
    names = run.args.suites or SUITES.names()
    run.suites = [(name, SUITES.get(name)) for name in names]
    configs = {name: suite.config(run.args) for name, suite in run.suites}
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run.run_dir = run.args.out / f"run-{run_id}"
    doc = new_document(run_metadata(run_id, run.args.seed, {"suites": configs}))
    for name, config in configs.items():
        doc["suites"][name] = {"status": "pending", "error": None, "config": config}
    run.results = ResultsRecorder(run.args.out / f"results-{run_id}.json", doc)
    run.results.save()
    run.console.print(f"results: {run.results.path}")


def run_suites(run: BenchRun) -> None:
    assert run.results is not None
    for name, suite in run.suites:
        section = run.results.section(name)
        section["status"] = "running"
        work_dir = run.run_dir / name
        work_dir.mkdir(parents=True, exist_ok=True)
        try:
            with Supervisor(work_dir / "logs") as supervisor:
                ctx = BenchContext(run.args, work_dir, supervisor, run.results, run.console)
                suite.run(ctx, section)
            section["status"] = "complete"
        except KeyboardInterrupt as interrupt:
            section["status"] = "incomplete"
            section["error"] = (
                f"interrupted ({interrupt_cause(interrupt)}); the levels measured so far are kept"
            )
            run.results.save()
            raise
        except ResultsSaveError:
            raise  # the results cannot be written: stop; the last good file stays
        except InfragapError as error:
            section["status"] = "failed"
            section["error"] = str(error)
            run.failed.append(name)
            run.console.print(f"[red]{name} failed:[/] {error}")
        except Exception as error:
            # A bug, not a user error: keep what was measured, mark why, show the traceback.
            section["status"] = "failed"
            output_error = as_output_error(error)
            if output_error is not None:  # a full or read-only disk: say so, no traceback
                section["error"] = str(output_error)
                raise output_error from error
            section["error"] = f"internal error: {error!r}"
            raise
        finally:
            run.results.save()


def finish(run: BenchRun) -> None:
    assert run.results is not None
    doc = run.results.doc
    doc["run"]["finished_at"] = utc_now()
    doc["complete"] = all(s["status"] == "complete" for s in doc["suites"].values())
    run.results.save()


def print_summary(run: BenchRun) -> None:
    assert run.results is not None
    for name, suite in run.suites:
        section = run.results.doc["suites"][name]
        rows = suite.summary_rows(section)
        if len(rows) > 1:
            table = Table(title=f"{name} ({section['status']})")
            for header in rows[0]:
                table.add_column(header, justify="left" if header == "variant" else "right")
            for row in rows[1:]:
                table.add_row(*row)
            run.console.print(table)
        for warning in section.get("warnings", []):
            run.console.print(f"[yellow]warning:[/] {warning}")
    run.console.print(f"results written to {run.results.path}")


def write_report(run: BenchRun) -> None:
    assert run.results is not None
    if run.args.no_report:
        return
    from infragap.errors import MissingDependency
    from infragap.reports.html import render_report

    output = run.results.path.with_suffix(".html")
    try:
        with run.console.status("rendering the report"):
            render_report([run.results.path], output)
    except MissingDependency as error:
        run.console.print(f"[yellow]no report:[/] {error}")
        return
    run.console.print(f"report written to {output}")


STEPS = [check_output, configure, run_suites, finish, print_summary, write_report]


def run_bench(args: argparse.Namespace) -> int:
    """Run the chosen suites; 0 when all complete, 1 when one failed."""
    run = BenchRun(args, Console(stderr=True))
    for step in STEPS:
        step(run)
    return 1 if run.failed else 0
