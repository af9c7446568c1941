"""The `migrate` command: `scan`, `apply` and `list`.

`add_migrate_command()` hangs it under the main `infragap` parser; `main()` runs it on
its own (`python -m infragap.migrate`). Each sub-command's `func` takes the parsed
arguments and returns the exit code: 0 clean or written, 1 changes pending (`--check`),
2 errors. Importing this module stays cheap and works without LibCST, so the main CLI
can always offer `migrate`; the commands import the machinery when they run.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from infragap.errors import InfragapError, MissingDependency
from infragap.migrate.pool import default_jobs

EXIT_OK, EXIT_PENDING, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "sarif")  # keys of report_formats.FORMATTERS


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of processes")
    return jobs


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """Add scan/apply/list to `parser` (the `migrate` parser, or a standalone one)."""
    parser.set_defaults(func=lambda args: _usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="{scan,apply,list}")

    scan_parser = commands.add_parser(
        "scan",
        help="list every naive pattern in a repository",
        description="List every naive pattern the toolkit knows, with why it hurts and "
        "which codemod fixes it. Reads files as text; never imports or runs them. Exit 0 "
        "(findings are not errors), 2 when the scan itself fails.",
    )
    scan_parser.add_argument("path", type=Path, help="repository folder or one file")
    scan_parser.add_argument("--format", choices=FORMATS, default="text")
    scan_parser.add_argument("--output", "-o", type=Path, help="write the report here")
    scan_parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=default_jobs(),
        help="worker processes (default: one per CPU)",
    )
    scan_parser.set_defaults(func=run_scan)

    apply_parser = commands.add_parser(
        "apply",
        help="rewrite the patterns (diff by default)",
        description="Run the codemods: every safe rule, or the ones named with --rule "
        "(unsafe rules run only when named). Exit 0: clean or written; 1: changes pending "
        "(--check); 2: errors.",
    )
    apply_parser.add_argument("path", type=Path, help="repository folder or one file")
    apply_parser.add_argument(
        "--rule", action="append", metavar="ID", help="run this rule (repeatable)"
    )
    mode = apply_parser.add_mutually_exclusive_group()
    for flag, help_text in (
        ("diff", "print a unified diff, write nothing (default)"),
        ("check", "write nothing; exit 1 if anything would change"),
        ("write", "write the changes (atomically, keeping file modes)"),
    ):
        mode.add_argument(
            f"--{flag}", dest="mode", action="store_const", const=flag, help=help_text
        )
    apply_parser.add_argument(
        "--option", action="append", metavar="NAME=VALUE", help="rule option (see `list`)"
    )
    apply_parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=default_jobs(),
        help="worker processes (default: one per CPU)",
    )
    apply_parser.set_defaults(func=run_apply, mode=None)

    list_parser = commands.add_parser("list", help="show the rules and their options")
    list_parser.set_defaults(func=run_list)


def add_migrate_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `migrate` (with scan/apply/list) to the main CLI's sub-commands."""
    parser = subparsers.add_parser(
        "migrate",
        help="find naive ML-infrastructure patterns in a repository and rewrite them",
        description="Scan a legacy ML repository for naive patterns and rewrite the Python "
        "ones with codemods (LibCST: formatting and comments survive).",
    )
    add_subcommands(parser)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def _require_libcst() -> None:
    # Finding it, not importing it: a scan that parses nothing never pays for LibCST.
    try:
        found = sys.modules.get("libcst", True) and importlib.util.find_spec("libcst")
    except (ImportError, ValueError):
        found = None
    if not found:
        raise MissingDependency("LibCST (needed by infragap migrate)", "migrate")


def _fail(err: InfragapError) -> int:
    print(f"error: {err}", file=sys.stderr)
    return EXIT_ERROR


def run_scan(args: argparse.Namespace) -> int:
    try:
        _require_libcst()
        from infragap.migrate.dataclass_cache import compiled_once

        with compiled_once("scan"):  # the rules are imported in there, when files need them
            from infragap.migrate.report_formats import FORMATTERS
            from infragap.migrate.scan import scan

            report = scan(args.path, args.jobs)
    except InfragapError as err:
        return _fail(err)
    text = FORMATTERS[args.format](report)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(report.findings)} findings)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_ERROR if report.errors else EXIT_OK


def run_apply(args: argparse.Namespace) -> int:
    mode = args.mode or "diff"
    try:
        _require_libcst()
        from infragap.migrate.dataclass_cache import compiled_once

        with compiled_once("apply"):
            from infragap.migrate.apply import (
                diff_text,
                parse_options,
                plan,
                select_rules,
                summary,
                write_fix,
            )
            from infragap.migrate.results import Status
            from infragap.migrate.rules import RULES

        rule_ids = select_rules(args.rule)
        for rule_id in rule_ids:
            RULES.get(rule_id).require()
        options = parse_options(args.option, rule_ids)
        result = plan(args.path, rule_ids, options, args.jobs)
    except InfragapError as err:
        return _fail(err)
    fixes = []
    for fix in result.fixes:
        if fix.status is Status.CHANGED:
            if mode == "diff":
                sys.stdout.write(diff_text(fix))
            elif mode == "write":
                fix = write_fix(result.root, fix)
        fixes.append(fix)
    sys.stderr.write(summary(mode, rule_ids, fixes, result.skipped, result.left_out))
    if any(fix.status is Status.FAILED for fix in fixes):
        return EXIT_ERROR
    if mode == "check" and any(fix.status is Status.CHANGED for fix in fixes):
        return EXIT_PENDING
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    try:
        _require_libcst()
        from infragap.migrate.dataclass_cache import compiled_once

        with compiled_once("list"):
            from infragap.migrate.rules import RULES
    except InfragapError as err:
        return _fail(err)
    width = max(len(rule_id) for rule_id in RULES.names())
    kinds = ("safe", "unsafe", "report-only")
    for rule_id, rule in sorted(RULES, key=lambda item: kinds.index(item[1].kind)):
        print(f"{rule_id:<{width}}  {rule.kind:<11}  {rule.summary}")
        for name, option in rule.options.items():
            value = "|".join(option.choices) if option.choices else "VALUE"
            default = f" (default: {option.default})" if option.default else ""
            print(f"{'':<{width}}  {'':<11}  --option {name}={value}: {option.help}{default}")
    print(
        "\nsafe rules run by default; unsafe ones only when named with --rule; "
        "report-only ones are shown by `scan`."
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="infragap migrate",
        description="Find naive ML-infrastructure patterns in a repository and rewrite them.",
    )
    add_subcommands(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))
