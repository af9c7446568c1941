"""The rule plugin: what every rule declares, the registry, and the never-raising runner.

A rule is a class registered with `@rule("rule-id")`. It finds its pattern in a
`Source` (`find`) and, if it is a codemod, rewrites it (`fix`). Both are pure: text in,
plain data out, no disk. `run_fix` and `run_find` wrap them so an unexpected exception
becomes a FAILED result instead of escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import libcst as cst

from infragap.migrate.results import Finding, RuleResult
from infragap.migrate.source import NotPython, Source
from infragap.migrate.walk import Language
from infragap.registry import Registry

Kind = Literal["safe", "unsafe", "report-only"]
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


RULES: Registry[Rule] = Registry("migrate rule")


def rule(rule_id: str) -> Callable[[type[Rule]], type[Rule]]:
    """Class decorator: give the rule its id and register one instance of it."""

    def add(cls: type[Rule]) -> type[Rule]:
        cls.id = rule_id
        RULES.register(rule_id)(cls())
        return cls

    return add


def run_find(rule_: Rule, source: Source) -> list[Finding]:
    """Findings of one rule; NotPython propagates (the caller skips the file)."""
    if not rule_.wants(source.text):
        return []
    return rule_.find(source)


def run_fix(rule_: Rule, source: Source, options: Options) -> RuleResult:
    """Run one codemod; never raises, and never returns text that does not parse."""
    if not rule_.wants(source.text):
        return RuleResult.unchanged(source.text)
    try:
        result = rule_.fix(source, options)
    except NotPython as err:
        return RuleResult.failed(source.text, str(err))
    except Exception as err:  # a rule bug must not stop the run or touch the file
        return RuleResult.failed(source.text, f"internal error in {rule_.id}: {err!r}")
    if result.text != source.text:
        problem = _compile_problem(result.text, source.path)
        if problem:
            return RuleResult.failed(
                source.text, f"{rule_.id} produced invalid Python ({problem}); file left as is"
            )
    return result


def _compile_problem(text: str, path: str) -> str:
    try:
        cst.parse_module(text)
        compile(text, path, "exec", dont_inherit=True)  # compiles only; nothing runs
    except (cst.ParserSyntaxError, SyntaxError, ValueError) as err:
        return str(err).splitlines()[0]
    return ""


def fix_text(rule_id: str, text: str, options: Options | None = None) -> RuleResult:
    """Run a rule on a string: the entry point for tests and for library use."""
    source = Source(text)
    try:
        source.module  # noqa: B018 - parse once, so bad input is a failure, not a crash
    except NotPython as err:
        return RuleResult.failed(text, str(err))
    return run_fix(RULES.get(rule_id), source, options or {})
