"""shell-to-airflow (unsafe): a shell script of Python steps becomes an Airflow DAG.

Reads the script with a real shell parser (tree-sitter's bash grammar; never by regex,
never by running it) and writes `<script>_dag.py` beside it: a task per step, calling
the same command, in script order, with the script's variables, shell options and
working folder, retries and a retry delay, `catchup` off and the schedule left to the
user. A loop over dates becomes one DAG run per logical date. What cannot be split
faithfully stays one task with a comment saying why (see `shell.translate`), and the
summary says so too.

The script itself only gains a comment naming its DAG: the mark that it is migrated,
so a second run changes nothing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import ClassVar

from infragap.migrate.generators.airflow_dag import render_dag
from infragap.migrate.results import Finding, NewFile, Note, RuleResult
from infragap.migrate.rules.base import Option, Options, Rule, rule
from infragap.migrate.rules.shell_pipeline import MIGRATED, ShellPipeline
from infragap.migrate.shell.steps import shell_steps
from infragap.migrate.shell.syntax import NotShell, parse_script, require_parser
from infragap.migrate.shell.translate import translate
from infragap.migrate.source import Source

MARK = MIGRATED


def dag_file_name(script_name: str) -> str:
    stem = script_name.rsplit(".", 1)[0] if "." in script_name else script_name
    return f"{re.sub(r'[^A-Za-z0-9_]+', '_', stem).strip('_') or 'pipeline'}_dag.py"


def with_mark(text: str, dag_file: str) -> str:
    """The script with a comment naming its DAG, after the shebang line if there is one."""
    newline = "\r\n" if "\r\n" in text else "\n"
    comment = f"# Runs as an Airflow DAG now: {dag_file}, beside this script ({MARK}).{newline}"
    if text.startswith("#!"):
        first, sep, rest = text.partition("\n")
        return f"{first}{sep or newline}{comment}{rest}"
    return comment + text


@rule("shell-to-airflow")
class ShellToAirflow(Rule):
    kind = "unsafe"
    languages = ("shell",)
    summary = "Turn a shell script of Python steps into an Airflow DAG, a task per step."
    why = ShellPipeline.why
    fixes = ("shell-to-airflow",)
    prefilter = re.compile(r"(?i)python")
    options: ClassVar[Mapping[str, Option]] = {
        "retries": Option("2", "retries of each task, a whole number", pattern=r"[0-9]+"),
        "retry_delay_s": Option(
            "300", "seconds between a task's tries, a whole number", pattern=r"[0-9]+"
        ),
    }

    def require(self) -> None:
        require_parser()

    def find(self, source: Source) -> list[Finding]:
        return []  # shell-pipeline reports these scripts and names this rule as the fix

    def fix(self, source: Source, options: Options) -> RuleResult:
        if MARK in source.text or len(shell_steps(source.text)) < 2:
            return RuleResult.unchanged(source.text)
        try:
            script = parse_script(source.text)
        except NotShell as err:
            return RuleResult.skipped(source.text, (Note(1, str(err)),))
        name = posixpath.basename(source.path)
        dag_file = dag_file_name(name)
        dag_id = dag_file.removesuffix("_dag.py")
        translation = translate(
            script,
            name,
            dag_id,
            int(self.option(options, "retries")),
            int(self.option(options, "retry_delay_s")),
        )
        dag = NewFile(dag_file, render_dag(translation.spec))
        return RuleResult.changed(with_mark(source.text, dag_file), translation.notes, (dag,))
