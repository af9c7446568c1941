"""The `infragap` command line."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from infragap import __version__
from infragap.errors import InfragapError, Interrupted, interrupt_cause

if TYPE_CHECKING:
    from rich.console import Console

EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM exits 143


LIGHT_COMMANDS = ("migrate", "report", "compare")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; for a command other than bench, bench's options (which
    import every suite) are left out, so `infragap migrate scan` starts in a fraction of
    the time."""
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
    light = argv[0] if argv and argv[0] in LIGHT_COMMANDS else None
    if light is None:
        from infragap import bench

        bench.add_arguments(bench_parser)
        bench_parser.set_defaults(func=bench.run_bench)
    _add_optional_commands(commands, light)
    return parser


def _add_optional_commands(commands: argparse._SubParsersAction, only: str | None) -> None:
    """Add report, compare and migrate; only the one `only` names when it names one, so
    `infragap migrate` does not import the report modules (and rich with them)."""
    # Each imports its heavy dependencies lazily and fail politely when they are missing.
    if only in (None, "report"):
        from infragap.reports.cli import add_report_command

        add_report_command(commands)
    if only in (None, "compare"):
        from infragap.reports.gate_cli import add_compare_command

        add_compare_command(commands)
    if only in (None, "migrate"):
        from infragap.migrate.cli import add_migrate_command

        add_migrate_command(commands)


class _InterruptOnce:
    """SIGINT and SIGTERM: the first raises Interrupted, so results are saved and children
    stopped on the way out; later ones only say that this is under way, since raising
    again would cut that clean-up short and leave servers running. SIGKILL still ends
    it at once, and then each Supervisor's watchdog stops the children."""

    def __init__(self) -> None:
        self.first: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.first is None:
            self.first = signum
            raise Interrupted(signum)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        with contextlib.suppress(OSError):
            os.write(2, f"{name}: already stopping, waiting for the children to stop\n".encode())


@contextlib.contextmanager
def _interrupt_handlers() -> Iterator[None]:
    handler = _InterruptOnce()
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_DFL if old is None else old)


def _console() -> Console:
    from rich.console import Console  # only an error or an interrupt prints through it

    return Console(stderr=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    with _interrupt_handlers():
        try:
            code = int(args.func(args))
            sys.stdout.flush()  # a reader gone shows here, not in Python's exit
            return code
        except InfragapError as error:
            _console().print(f"[red]error:[/] {error}")
            return 2
        except KeyboardInterrupt as interrupt:
            from infragap.processes import children_left_running

            console = _console()
            cause = interrupt_cause(interrupt)
            left = children_left_running()
            if left:
                names = ", ".join(f"{child.name} (pid {child.pid})" for child in left)
                console.print(
                    f"[red]interrupted[/] ({cause}): still running: {names}; "
                    "their watchdog stops them as infragap exits"
                )
            else:
                console.print(f"[yellow]interrupted[/] ({cause}): every child process was stopped")
            signum = interrupt.signum if isinstance(interrupt, Interrupted) else signal.SIGINT
            return 128 + signum
        except BrokenPipeError:
            # The reader of our output left (`infragap migrate list | head`): as other
            # command-line tools, stop quietly; stdout goes nowhere so the exit cannot fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
