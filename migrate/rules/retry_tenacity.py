"""retry-loop-to-tenacity: a hand-written retry loop becomes a `tenacity.Retrying` loop.

Rewritten only when provably equivalent; every other retry loop is reported with the
reason. The accepted shape::

    for attempt in range(N):            # N: a literal or module constant >= 1
        try:
            ...                         # ends in `break` or `return`, or `else: break`
        except Types [as e]:            # exactly one handler
            ...                         # optional: code that does not use `attempt`
            if attempt == N - 1: raise  # optional: give up loudly
            time.sleep(WAIT)            # optional: fixed, `B * K ** attempt`,
                                        #   `B * (attempt + 1)`, or `min(CAP, ...)` of those

becomes::

    for attempt in tenacity.Retrying(
        stop=tenacity.stop_after_attempt(N),
        wait=tenacity.wait_exponential(multiplier=B, exp_base=K),
        retry=tenacity.retry_if_exception_type(Types),
        reraise=True,                   # or: give up silently, as the loop did
    ):
        with attempt:
            ...

Same attempts, same waits between them, same exceptions retried, same result: the
value returned, the last exception re-raised, or (for a loop that gave up silently)
control continuing after the loop. Extra statements in the except block run on every
failure, as before, from an inner try. One difference: the loop slept once more after
its last failed attempt; tenacity does not.
"""

from __future__ import annotations

import re

import libcst as cst

from infragap.migrate.analysis.names import names_read
from infragap.migrate.analysis.retry_loops import RetryLoop, find_loops
from infragap.migrate.edits import add_imports, parse_statement, unique_name
from infragap.migrate.results import Finding, Note, RuleResult
from infragap.migrate.rules.base import Options, Rule, rule
from infragap.migrate.source import Source

GIVE_UP_SILENTLY = "retry_error_callback=lambda retry_state: None"


@rule("retry-loop-to-tenacity")
class RetryLoopToTenacity(Rule):
    kind = "safe"
    summary = "Turn a hand-written `for attempt in range(n): try/except/sleep` loop into tenacity."
    why = (
        "Hand-written retry loops hide their policy (attempts, waits, which errors) in "
        "control flow, and quietly differ from one copy to the next."
    )
    fixes = ("retry-loop-to-tenacity",)
    prefilter = re.compile(r"sleep")

    def find(self, source: Source) -> list[Finding]:
        found = []
        for loop in find_loops(source):
            message = f"hand-written retry loop ({loop.bound})"
            found.append(self.finding(source, loop.node, message, unfixable=loop.blocker))
        return found

    def fix(self, source: Source, options: Options) -> RuleResult:
        loops = find_loops(source)
        notes = tuple(
            Note(source.line_of(loop.node), f"reported only: {loop.blocker}")
            for loop in loops
            if loop.blocker
        )
        replacements: dict[cst.CSTNode, cst.BaseStatement] = {
            loop.node: _replacement(source, loop) for loop in loops if not loop.blocker
        }
        if not replacements:
            return RuleResult.from_edits(source.text, source.text, notes)
        module = source.module.visit(_Replace(replacements))
        module = add_imports(module, [("tenacity", None, None)])
        return RuleResult.from_edits(source.text, module.code, notes)


def _replacement(source: Source, loop: RetryLoop) -> cst.BaseStatement:
    assert isinstance(loop.node, cst.For) and loop.try_ is not None and loop.handler is not None
    var = loop.var if loop.var != "_" else unique_name("attempt", set(names_read(source.module)))
    retry_on = loop.retry_on
    lines = [f"stop=tenacity.stop_after_attempt({loop.attempts}),"]
    if loop.wait:
        lines.append(f"wait={loop.wait},")
    lines.append(f"retry=tenacity.retry_if_exception_type({retry_on}),")
    lines.append("reraise=True," if loop.reraise else f"{GIVE_UP_SILENTLY},")
    arguments = "".join(f"    {line}\n" for line in lines)
    template = f"for {var} in tenacity.Retrying(\n{arguments}):\n    with {var}:\n        pass\n"
    new = parse_statement(template, source.module)
    assert isinstance(new, cst.For) and isinstance(new.body, cst.IndentedBlock)
    with_ = new.body.body[0]
    assert isinstance(with_, cst.With) and isinstance(with_.body, cst.IndentedBlock)
    inner: list[cst.BaseStatement] = list(loop.body)
    if loop.extras:
        handler = loop.handler
        reraise = cst.SimpleStatementLine([cst.Raise()])
        handler = handler.with_changes(body=handler.body.with_changes(body=[*loop.extras, reraise]))
        inner = [
            loop.try_.with_changes(
                body=loop.try_.body.with_changes(body=inner),
                handlers=[handler],
                orelse=None,
                leading_lines=[],
            )
        ]
    with_ = with_.with_changes(
        body=with_.body.with_changes(body=inner), leading_lines=loop.try_.leading_lines
    )
    leading = list(loop.node.leading_lines)
    if not loop.reraise:
        comment = "# After the last failed attempt, carry on past the loop, as the old loop did."
        leading.append(cst.EmptyLine(comment=cst.Comment(comment)))
    return new.with_changes(body=new.body.with_changes(body=[with_]), leading_lines=leading)


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[cst.CSTNode, cst.BaseStatement]) -> None:
        self.replacements = replacements

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.BaseStatement:
        return self.replacements.get(original_node, updated_node)
