"""The `infragap` command line."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from rich.console import Console

from infragap import __version__, bench
from infragap.errors import InfragapError

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infragap",
        description="Measure what proven AI infrastructure buys over naive code, then migrate.",
    )
    parser.add_argument("--version", action="version", version=f"infragap {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    bench_parser = commands.add_parser(
        "bench",
        help="run benchmark suites side by side",
        description="Run benchmark suites side by side and write a results file.",
        add_help=False,  # bench brings its own -h/--help, which can show one suite
    )
    bench.add_arguments(bench_parser)
    bench_parser.set_defaults(func=bench.run_bench)
    _add_optional_commands(commands)
    return parser


def _add_optional_commands(commands: argparse._SubParsersAction) -> None:
    # Both import their heavy dependencies lazily and fail politely when they are missing.
    from infragap.migrate.cli import add_migrate_command
    from infragap.reports.cli import add_report_command

    add_report_command(commands)
    add_migrate_command(commands)


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same path as Ctrl-C, so results are saved and children stopped.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    console = Console(stderr=True)
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InfragapError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: every child process was stopped")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
