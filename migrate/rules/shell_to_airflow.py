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

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from infragap.migrate.repository import RepositoryFiles
from infragap.migrate.results import Finding, NewFile, Note, RepositoryFix, RuleResult, Status
from infragap.migrate.rules.base import Option, Options, Rule, rule
from infragap.migrate.rules.shell_pipeline import MIGRATED, ShellPipeline
from infragap.migrate.shell.steps import shell_steps
from infragap.migrate.source import Source

if TYPE_CHECKING:  # the translation is imported when a script is migrated, not for a scan
    from infragap.migrate.shell.syntax import Script
    from infragap.migrate.shell.translate import Translation

MARK = MIGRATED
WORKDIR = "WORKDIR"  # the DAG's name for the folder the steps start in


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
    # A repository rule: the folder a script runs from and the variables set for it are
    # told by other files (step code, README, Dockerfile, .env); it rewrites scripts only.
    scope = "repository"
    languages = ("shell", "python")
    summary = "Turn a shell script of Python steps into an Airflow DAG, a task per step."
    why = ShellPipeline.why
    fixes = ("shell-to-airflow",)
    prefilter = re.compile(r"(?i)python")
    options: ClassVar[Mapping[str, Option]] = {
        "retries": Option("2", "retries of each task, a whole number", pattern=r"[0-9]+"),
        "retry_delay_s": Option(
            "300", "seconds between a task's tries, a whole number", pattern=r"[0-9]+"
        ),
        "workdir": Option(
            "",
            "the folder the script is run from, relative to the repository root (. for "
            "the root); default: as the repository tells, else a TODO",
            pattern=r"[A-Za-z0-9_.][A-Za-z0-9_./-]*",
        ),
    }

    def require(self) -> None:
        from infragap.migrate.shell.syntax import require_parser

        require_parser()

    def find(self, source: Source) -> list[Finding]:
        return []  # shell-pipeline reports these scripts and names this rule as the fix

    def fix(self, source: Source, options: Options) -> RuleResult:
        """One script on its own (no repository around it: the folder it runs from is
        the script's own unless `--option workdir` says otherwise)."""
        return self._fix(source, options, {})

    def fix_repository(self, sources: Sequence[Source], options: Options) -> RepositoryFix:
        python = {s.path: s.text for s in sources if s.language == "python"}
        results: dict[str, RuleResult] = {}
        new_files: list[NewFile] = []
        for source in sources:
            if source.language != "shell" or not self.wants(source.text):
                continue
            result = self._fix(source, options, python)
            if result.status is Status.UNCHANGED:
                continue
            results[source.path] = replace(result, new_files=())
            folder = posixpath.dirname(source.path)
            new_files += [
                NewFile(posixpath.normpath(posixpath.join(folder, f.path)), f.text)
                for f in result.new_files
            ]
        return RepositoryFix(results, tuple(new_files))

    def _fix(self, source: Source, options: Options, python: Mapping[str, str]) -> RuleResult:
        from infragap.migrate.generators.airflow_dag import render_dag
        from infragap.migrate.shell.syntax import NotShell, parse_script
        from infragap.migrate.shell.translate import translate

        if MARK in source.text or len(shell_steps(source.text)) < 2:
            return RuleResult.unchanged(source.text)
        try:
            script = parse_script(source.text)
        except NotShell as err:
            return RuleResult.skipped(source.text, (Note(1, str(err)),))
        name = posixpath.basename(source.path)
        dag_file = dag_file_name(name)
        dag_id = dag_file.removesuffix("_dag.py")
        retries = int(self.option(options, "retries"))
        delay = int(self.option(options, "retry_delay_s"))
        named = self.option(options, "workdir")
        repository = source.repository
        if repository is None and not named:  # the text alone: nothing to weigh
            translation = translate(script, name, dag_id, retries, delay)
        else:
            translation = self._placed(script, source, dag_id, retries, delay, named, python)
        if repository is not None:
            translation = _with_environment(translation, source, repository, python)
        dag = NewFile(dag_file, render_dag(translation.spec))
        return RuleResult.changed(with_mark(source.text, dag_file), translation.notes, (dag,))

    def _placed(
        self,
        script: Script,
        source: Source,
        dag_id: str,
        retries: int,
        delay: int,
        named: str,
        python: Mapping[str, str],
    ) -> Translation:
        """The translation with the steps in the folder the evidence (or the option)
        names; a TODO where the evidence does not settle it."""
        from infragap.migrate.generators.airflow_dag import TODO
        from infragap.migrate.shell.evidence import Workdir, decide_workdir, shown
        from infragap.migrate.shell.translate import translate
        from infragap.migrate.shell.words import SCRIPT_DIR

        name = posixpath.basename(source.path)
        probe = translate(script, name, dag_id, retries, delay, start=WORKDIR)
        started = [t for t in probe.spec.tasks if WORKDIR in t.cwd]
        if not started:  # every step runs after a `cd` of its own: nothing to decide
            return translate(script, name, dag_id, retries, delay)
        here = posixpath.dirname(source.path)
        commands = [t.command for t in started if t.cwd == WORKDIR]
        if named:
            folder = posixpath.normpath(named).removeprefix("./").lstrip(".")
            folder = "" if folder in (".", "") else folder
            decided: Workdir | None = Workdir(folder, "--option workdir")
        else:
            repository = source.repository or RepositoryFiles()
            decided = decide_workdir(source.path, commands, repository, python)
        if decided is None or decided.folder == here:
            return translate(script, name, dag_id, retries, delay)
        notes = list(probe.notes)
        if decided.folder is None:
            expr = SCRIPT_DIR
            comment = (
                f"{TODO}: {name} does not cd before its steps, so they run in the folder "
                f"it was started from, and the repository does not settle which "
                f"({decided.evidence}). The script's own folder is assumed: set WORKDIR, "
                "or run apply again with --option workdir=FOLDER (relative to the "
                "repository root)."
            )
            notes.append(
                Note(
                    1,
                    "the folder the steps run in is not settled (a TODO in the DAG; "
                    f"--option workdir=FOLDER): {decided.evidence}",
                )
            )
        else:
            relative = posixpath.relpath(decided.folder or ".", here or ".")
            expr = f"os.path.normpath(os.path.join(SCRIPT_DIR, {json.dumps(relative)}))"
            comment = (
                f"The folder the steps run in: {shown(decided.folder)}, as {name} was run "
                f"({decided.evidence})."
            )
            notes.append(Note(1, f"the steps run in {shown(decided.folder)}: {decided.evidence}"))
        spec = replace(probe.spec, workdir=expr, workdir_comment=comment)
        return replace(probe, spec=spec, notes=tuple(notes))


def _with_environment(
    translation: Translation,
    source: Source,
    repository: RepositoryFiles,
    python: Mapping[str, str],
) -> Translation:
    """Carry the values the repository gives the variables the steps read and the script
    does not set; list the rest in the DAG and the summary."""
    from infragap.migrate.generators.airflow_dag import Variable
    from infragap.migrate.shell.evidence import env_evidence, python_env_reads, step_files

    spec = translation.spec
    name = posixpath.basename(source.path)
    reads = {var: f"${var} in {name}:{line}" for var, line in translation.read_unset}
    here = posixpath.dirname(source.path)
    folder = _folder_of(spec.workdir, here)
    set_by_script = {v.name for v in spec.variables}
    for task in spec.tasks:
        for path in step_files([task.command], folder, python):
            for var, where in python_env_reads(path, python[path]).items():
                if var not in set_by_script:
                    reads.setdefault(var, where)
    if not reads:
        return translation
    known, unread = env_evidence(repository)
    secrets = {var: value for var, value in known.items() if value.secret(var)}
    known = {var: value for var, value in known.items() if var not in secrets}
    carried = tuple(
        Variable(var, f"os.environ.get({json.dumps(var)}, {json.dumps(known[var].value)})",
                 0, f"read at {where}; set in {known[var].where}")
        for var, where in sorted(reads.items())
        if var in known
    )  # fmt: skip
    unset = tuple(
        f"{var} ({where}; set in {secrets[var].where}, not copied: it looks like a secret)"
        if var in secrets
        else f"{var} ({where})"
        for var, where in sorted(reads.items())
        if var not in known
    )
    notes = list(translation.notes)
    notes += [Note(1, f"environment evidence skipped: {why}") for why in unread]
    if carried:
        listed = ", ".join(f"{v.name} ({v.note.rsplit('set in ', 1)[-1]})" for v in carried)
        notes.append(Note(1, f"environment carried from the repository: {listed}"))
    if unset:
        notes.append(
            Note(1, f"the steps read variables with no value to carry into the DAG: "
                 f"{', '.join(unset)}; set them in the DAG's ENV or the workers' environment")
        )  # fmt: skip
    return replace(
        translation, spec=replace(spec, carried=carried, unset=unset), notes=tuple(notes)
    )


def _folder_of(workdir: str, here: str) -> str:
    """The root-relative folder of a WORKDIR expression written by `_placed`."""
    match = re.search(r'os\.path\.join\(SCRIPT_DIR, "([^"]*)"\)', workdir)
    if not match:
        return here
    return posixpath.normpath(posixpath.join(here, match.group(1))).lstrip(".")
