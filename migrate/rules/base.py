"""The rule plugin: what every rule declares, the registry, and the never-raising runner.

A rule is a class registered with `@rule("rule-id")` in a module of this package and
named in `RULE_ORDER`, the order rules are listed and run in. It finds its pattern in a
`Source` (`find`) and, if it is a codemod, rewrites it: one file at a time (`fix`), or,
for a rule whose pattern spans files (`scope = "repository"`), all of them at once
(`fix_repository`). All are pure: text in, plain data out, no disk. `run_fix` and
`run_fix_repository` wrap them so an unexpected exception becomes a FAILED result
instead of escaping, and output that does not parse is never returned (`scan_file`
wraps `find` the same way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import libcst as cst

from infragap.migrate.analysis.trees import too_deep
from infragap.migrate.repository import RepositoryFiles
from infragap.migrate.results import Finding, NewFile, Note, RepositoryFix, RuleResult
from infragap.migrate.source import NotPython, Source
from infragap.migrate.walk import Language, language_of_name
from infragap.registry import Registry

Kind = Literal["safe", "unsafe", "report-only"]
Scope = Literal["file", "repository"]
LANGUAGE_NAMES = {"python": "Python", "shell": "shell", "notebook": "notebook"}
Options = Mapping[str, str]


@dataclass(frozen=True)
class Option:
    """A rule option, set with `--option NAME=VALUE`. A value must be one of `choices`
    when they are given, and match `pattern` (a regular expression) when it is."""

    default: str
    help: str
    choices: tuple[str, ...] = ()
    pattern: str = ""

    def problem(self, value: str) -> str:
        if self.choices and value not in self.choices:
            return f"choose one of {', '.join(self.choices)}"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return f"expected {self.help}"
        return ""


class Rule:
    id: ClassVar[str] = ""
    kind: ClassVar[Kind] = "safe"
    scope: ClassVar[Scope] = "file"
    languages: ClassVar[tuple[Language, ...]] = ("python",)
    summary: ClassVar[str] = ""  # one line, for `migrate list`
    why: ClassVar[str] = ""  # one sentence: why the pattern hurts
    fixes: ClassVar[tuple[str, ...]] = ()  # codemods that rewrite this rule's findings
    planned: ClassVar[str] = ""  # for report-only rules: the fix that is coming
    options: ClassVar[Mapping[str, Option]] = {}
    # Text that must occur for the rule to have anything to do; spares parsing most files.
    prefilter: ClassVar[re.Pattern[str] | None] = None

    def wants(self, text: str) -> bool:
        return self.prefilter is None or self.prefilter.search(text) is not None

    def find(self, source: Source) -> list[Finding]:
        raise NotImplementedError

    def fix(self, source: Source, options: Options) -> RuleResult:
        return RuleResult.unchanged(source.text)

    def fix_repository(self, sources: Sequence[Source], options: Options) -> RepositoryFix:
        """For `scope = "repository"`: every file of the rule's languages, in path order."""
        raise NotImplementedError

    def require(self) -> None:
        """Raise MissingDependency when a package the rule needs is not installed."""

    def options_problem(self, options: Options) -> str:
        """What is wrong with the options taken together (each value alone is vetted by
        its Option), as a message with the fix; "" when nothing. `apply` asks before it
        reads any file."""
        return ""

    def aggregate(self, findings: list[Finding]) -> list[Finding]:
        """Combine per-file findings across the repository (default: keep them all)."""
        return findings

    def option(self, options: Options, name: str) -> str:
        return options.get(name, self.options[name].default)

    def finding(
        self,
        source: Source,
        node: cst.CSTNode,
        message: str,
        unfixable: str = "",
        key: str = "",
        fixes: tuple[str, ...] | None = None,
    ) -> Finding:
        line = source.line_of(node)
        return Finding(
            rule=self.id,
            path=source.path,
            line=line,
            column=source.column_of(node),
            code=source.line_text(line),
            message=message,
            fixes=self.fixes if fixes is None else fixes,
            unfixable=unfixable,
            key=key,
        )


# The order the built-in rules are listed, scanned and run in, stated here rather than
# left to the order their modules happen to be imported. `apply` runs the unsafe
# (architecture) rules it was given first, then the safe ones, each group in this order.
# A new rule goes here; rules from extension modules come after these.
RULE_ORDER: tuple[str, ...] = (
    "duplicated-preprocessing",  # report-only
    "flask-to-triton",  # unsafe
    "model-load-in-handler",  # safe
    "per-request-client",  # safe
    "preprocessing-to-feast",  # unsafe
    "retry-loop-to-tenacity",  # safe
    "shell-pipeline",  # report-only
    "shell-to-airflow",  # unsafe
    "timing-log-to-metrics",  # safe
    "vm-batch-to-k8s-job",  # unsafe
)

RULES: Registry[Rule] = Registry("migrate rule")
# @rule fills _FOUND while `infragap.migrate.rules` imports its modules, then
# register_in_order() fills RULES in RULE_ORDER; a rule registered after that (from an
# extension module imported later) goes straight to the end of RULES.
_FOUND: Registry[Rule] = Registry("migrate rule")
_in_order = False


def rule(rule_id: str) -> Callable[[type[Rule]], type[Rule]]:
    """Class decorator: give the rule its id and register one instance of it."""

    def add(cls: type[Rule]) -> type[Rule]:
        cls.id = rule_id
        (RULES if _in_order else _FOUND).register(rule_id)(cls())
        return cls

    return add


def in_order(found: Mapping[str, Rule], order: Sequence[str]) -> list[Rule]:
    """The built-in rules of `found` in `order`, then the others (extensions) by id.

    Raises ValueError unless `order` names every built-in rule exactly once.
    """
    twice = sorted({name for name in order if order.count(name) > 1})
    if twice:
        raise ValueError(f"RULE_ORDER names {', '.join(twice)} more than once: keep one")
    builtin = [name for name, found_rule in found.items() if _is_builtin(found_rule)]
    missing = [name for name in builtin if name not in order]
    if missing:
        raise ValueError(
            f"{', '.join(missing)}: not in RULE_ORDER (migrate/rules/base.py); "
            "add each rule where it should run"
        )
    unknown = [name for name in order if name not in builtin]
    if unknown:
        raise ValueError(
            f"RULE_ORDER names {', '.join(unknown)}, which no rule module registers: "
            "remove the name or restore the rule"
        )
    extensions = sorted(name for name in found if name not in builtin)
    return [found[name] for name in (*order, *extensions)]


def _is_builtin(rule_: Rule) -> bool:
    return type(rule_).__module__.startswith(f"{__package__}.")


def register_in_order() -> None:
    """Fill RULES from the rules found; `infragap.migrate.rules` calls it once, after
    importing every rule module."""
    global _in_order
    for found in in_order(dict(_FOUND), RULE_ORDER):
        RULES.register(found.id)(found)
    _in_order = True


def run_fix(rule_: Rule, source: Source, options: Options) -> RuleResult:
    """Run one codemod; never raises, and never returns text that does not parse."""
    if not rule_.wants(source.text):
        return RuleResult.unchanged(source.text)
    try:
        result = rule_.fix(source, options)
    except NotPython as err:
        return RuleResult.failed(source.text, str(err))
    except RecursionError:  # the input's depth, not a rule bug: pass the file over
        return RuleResult.skipped(source.text, (Note(1, f"file passed over: {too_deep()}"),))
    except Exception as err:  # a rule bug must not stop the run or touch the file
        return RuleResult.failed(source.text, f"internal error in {rule_.id}: {err!r}")
    problem = _output_problem(rule_, source, result)
    if problem:
        return RuleResult.failed(source.text, f"{problem}; file left as is")
    return result


def run_fix_repository(rule_: Rule, sources: Sequence[Source], options: Options) -> RepositoryFix:
    """Run one repository codemod; never raises, and fails whole if any output is invalid."""
    try:
        fix = rule_.fix_repository(sources, options)
    except RecursionError:  # a rule should pass such a file over itself; say which rule
        return RepositoryFix(failure=f"{rule_.id}: a file is {too_deep()}")
    except Exception as err:  # a rule bug must not stop the run or touch any file
        return RepositoryFix(failure=f"internal error in {rule_.id}: {err!r}")
    by_path = {source.path: source for source in sources}
    for path, result in fix.results.items():
        problem = _output_problem(rule_, by_path[path], result)
        if problem:
            return RepositoryFix(failure=f"{path}: {problem}; nothing written")
    problem = _new_files_problem(rule_, fix.new_files)
    if problem:
        return RepositoryFix(failure=f"{problem}; nothing written")
    return fix


def _output_problem(rule_: Rule, source: Source, result: RuleResult) -> str:
    """Why a rule's output must not be written (it does not parse), or ""."""
    if result.text != source.text:
        problem = _syntax_problem(result.text, source.path, source.language)
        if problem:
            return f"{rule_.id} produced invalid {LANGUAGE_NAMES[source.language]} ({problem})"
    return _new_files_problem(rule_, result.new_files)


def _new_files_problem(rule_: Rule, files: Sequence[NewFile]) -> str:
    for new in files:
        language = language_of_name(new.path)
        problem = _syntax_problem(new.text, new.path, language) if language else ""
        if problem and language:
            what = LANGUAGE_NAMES[language]
            return f"{rule_.id} would create invalid {what} in {new.path} ({problem})"
    return ""


def _syntax_problem(text: str, path: str, language: Language) -> str:
    if language == "shell":
        from infragap.migrate.shell.syntax import shell_problem

        return shell_problem(text)
    try:
        cst.parse_module(text)
        compile(text, path, "exec", dont_inherit=True)  # compiles only; nothing runs
    except (cst.ParserSyntaxError, SyntaxError, ValueError) as err:
        return str(err).splitlines()[0]
    return ""


def fix_text(
    rule_id: str, text: str, options: Options | None = None, path: str = "<string>"
) -> RuleResult:
    """Run a rule on a string: the entry point for tests and for library use.

    The language comes from `path`'s suffix (Python when it has none we know)."""
    source = Source(text, path, language_of_name(path) or "python")
    problem = source.parse_problem()  # bad input is a failure, not a crash
    if problem:
        return RuleResult.failed(text, problem)
    return run_fix(RULES.get(rule_id), source, options or {})


def fix_sources(
    rule_id: str,
    texts: Mapping[str, str],
    options: Options | None = None,
    repository: RepositoryFiles | None = None,
) -> RepositoryFix:
    """Run a repository rule on {path: text}: the entry point for tests and library use.

    Each text's language comes from its path's suffix (Python when it has none we
    know); `repository` is what else the repository holds (paths, documents)."""
    sources = [
        Source(text, path, language_of_name(path) or "python", repository)
        for path, text in sorted(texts.items())
    ]
    return run_fix_repository(RULES.get(rule_id), sources, options or {})
