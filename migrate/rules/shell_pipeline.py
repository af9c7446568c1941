"""shell-pipeline (report only): Python steps chained by a script instead of a scheduler.

Finds `python extract.py; python preprocess.py; python train.py` in shell scripts, and
the same chain built from `subprocess`/`os.system` calls in Python. `shell-to-airflow`
turns such a shell script into an Airflow DAG; a Python launcher is migrated by hand.
"""

from __future__ import annotations

import re

import libcst as cst

from infragap.migrate.analysis.statements import small_statements, walk_statements
from infragap.migrate.results import Finding
from infragap.migrate.rules.base import Rule, rule
from infragap.migrate.shell.steps import STEP, shell_steps
from infragap.migrate.source import Source

MIGRATED = "infragap migrate: shell-to-airflow"  # the mark shell-to-airflow leaves
LAUNCHERS = frozenset(
    {
        "os.system",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
    }
)


def _strings(call: cst.Call) -> list[str]:
    found: list[str] = []
    for arg in call.args:
        value = arg.value
        elements = value.elements if isinstance(value, (cst.List, cst.Tuple)) else [value]
        for element in elements:
            node = element.value if isinstance(element, cst.BaseElement) else element
            if isinstance(node, cst.SimpleString):
                found.append(str(node.evaluated_value))
    return found


def python_steps(source: Source) -> list[tuple[cst.Call, str]]:
    steps: list[tuple[cst.Call, str]] = []
    for stmt in walk_statements(source.module.body):
        for small in small_statements(stmt):
            value = getattr(small, "value", None)
            if not (isinstance(value, cst.Call) and source.qualname(value.func) in LAUNCHERS):
                continue
            strings = _strings(value)
            joined = " ".join(strings)
            names = [m.group("script") or m.group("module") for m in STEP.finditer(joined)]
            if not names and strings and strings[0].startswith("python"):
                names = [s for s in strings[1:] if s.endswith(".py")][:1]
            steps.extend((value, name) for name in names)
    return steps


@rule("shell-pipeline")
class ShellPipeline(Rule):
    kind = "report-only"
    languages = ("shell", "python")
    summary = "Report pipelines chained by a shell script or subprocess calls (no scheduler)."
    why = (
        "A script that runs the steps one after another has no retries, no record of "
        "past runs and no way to backfill a date; one failure means starting over by hand."
    )
    fixes = ("shell-to-airflow",)
    prefilter = re.compile(r"(?i)python")

    def find(self, source: Source) -> list[Finding]:
        if source.language == "python":
            return self._find_python(source)
        steps = shell_steps(source.text)
        if len(steps) < 2 or MIGRATED in source.text:
            return []
        line = steps[0][0]
        chain = " -> ".join(step for _, step in steps)
        message = f"{len(steps)} Python steps chained by a shell script: {chain}"
        code = source.text.splitlines()[line - 1].strip()
        return [Finding(self.id, source.path, line, 1, code, message, self.fixes)]

    def _find_python(self, source: Source) -> list[Finding]:
        steps = python_steps(source)
        if len(steps) < 2:
            return []
        chain = " -> ".join(step for _, step in steps)
        message = f"{len(steps)} Python steps chained by subprocess calls: {chain}"
        unfixable = "shell-to-airflow reads shell scripts; list these steps in a DAG by hand"
        return [self.finding(source, steps[0][0], message, unfixable=unfixable)]
