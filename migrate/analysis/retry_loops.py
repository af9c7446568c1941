"""Hand-written retry loops, and whether tenacity can replace one exactly.

`find_loops` returns every loop that retries (a try/except with a sleep); each carries a
`blocker` ("" when the rewrite is exact) and, when it has none, the pieces the rewrite
needs: attempts, wait, exception types, the attempt body, extra except statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from infragap.migrate.analysis.names import bindings, names_read
from infragap.migrate.analysis.statements import child_blocks, only_small, walk_statements
from infragap.migrate.analysis.trees import walk
from infragap.migrate.source import Source

SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep"})


@dataclass
class RetryLoop:
    """One retry loop. `blocker` says why it cannot be rewritten exactly ("" if it can);
    then `attempts`, `wait` (a tenacity wait, "" for none) and `retry_on` are code, `body`
    the statements of one attempt, `extras` the except-block statements to keep."""

    node: cst.For | cst.While
    blocker: str = ""
    bound: str = ""  # how many attempts, in words ("3 (MAX_RETRIES = 3)", "unbounded")
    var: str = ""
    attempts: str = ""
    wait: str = ""
    retry_on: str = ""
    reraise: bool = False
    body: list[cst.BaseStatement] = field(default_factory=list)
    extras: list[cst.BaseStatement] = field(default_factory=list)
    try_: cst.Try | None = None
    handler: cst.ExceptHandler | None = None


class _Sleeps(cst.CSTVisitor):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.found = False
        self.has_try = False

    def visit_Call(self, node: cst.Call) -> None:
        self.found = self.found or self.source.qualname(node.func) in SLEEPS

    def visit_Try(self, node: cst.Try) -> None:
        self.has_try = True


def _is_retry_like(source: Source, loop: cst.For | cst.While) -> bool:
    """A loop that retries an operation after a failure: a try/except and a sleep, and
    either an attempt counter (`range(n)`), or an exit on success, with nothing stepping
    the loop on whatever the outcome (`while day <= end: ...; day += month` is a walk
    over dates that waits between them, not a retry)."""
    visitor = _Sleeps(source)
    walk(loop.body, visitor)
    if not (visitor.found and visitor.has_try):
        return False
    body = list(loop.body.body) if isinstance(loop.body, cst.IndentedBlock) else []
    if isinstance(loop, cst.For):
        if _counts_attempts(source, loop.iter):
            return True
        return _exits_on_success(body)  # `for mirror in mirrors: try ...; break`
    condition = set(names_read(loop.test))
    always = [stmt for stmt in body if not isinstance(stmt, (cst.Try, cst.TryStar))]
    for stmt in body:  # a `finally:` runs whatever happened too
        if isinstance(stmt, (cst.Try, cst.TryStar)) and stmt.finalbody is not None:
            always += (
                list(stmt.finalbody.body.body)
                if isinstance(stmt.finalbody.body, cst.IndentedBlock)
                else []
            )
    if condition & set(bindings(always)):
        return False  # the loop steps on (a date, an index) whether or not the try failed
    if condition:
        return True  # `while attempt < n:` / `while not done:`
    return _exits_on_success(body)


def _counts_attempts(source: Source, iterable: cst.BaseExpression) -> bool:
    return isinstance(iterable, cst.Call) and source.qualname(iterable.func) in (
        "range",
        "itertools.count",
    )


def _exits_on_success(body: list[cst.BaseStatement]) -> bool:
    """Whether a try in the loop body leaves the loop once its attempt succeeded."""
    for stmt in body:
        if not isinstance(stmt, cst.Try):
            continue
        blocks = [stmt.body] + ([stmt.orelse.body] if stmt.orelse is not None else [])
        for block in blocks:
            stmts = list(block.body) if isinstance(block, cst.IndentedBlock) else [block]
            for inner in walk_statements(stmts, into_defs=False):
                if isinstance(inner, (cst.For, cst.While)):
                    continue
                simple = (cst.SimpleStatementLine, cst.SimpleStatementSuite)
                smalls = inner.body if isinstance(inner, simple) else ()
                if any(isinstance(small, (cst.Break, cst.Return)) for small in smalls):
                    return True
    return False


def describe_bound(source: Source, loop: cst.For | cst.While, scope: cst.CSTNode | None) -> str:
    """How many attempts the loop makes, in words, saying only what the code says."""
    if isinstance(loop, cst.For):
        iterable = loop.iter
        if isinstance(iterable, cst.Call) and source.qualname(iterable.func) == "range":
            count = _range_count(source, iterable, scope)
            return count or f"`{source.code(iterable)}` attempts"
        if _counts_attempts(source, iterable):
            return "unbounded"
        return f"one attempt per item of `{source.code(iterable)}`"
    test = loop.test
    constant = isinstance(test, cst.Name) and test.value == "True"
    constant = constant or (isinstance(test, cst.Integer) and test.value != "0")
    if not constant:
        return f"while `{source.code(test)}`"
    exits = _Exits()
    for stmt in loop.body.body if isinstance(loop.body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.Try):
            for handler in stmt.handlers:
                walk(handler.body, exits)
    return "until the except block gives up" if exits.found else "unbounded"


def _range_count(source: Source, call: cst.Call, scope: cst.CSTNode | None) -> str:
    """`range(3)` -> "3 attempts"; `range(MAX_RETRIES)` -> "3 attempts, MAX_RETRIES = 3";
    `range(n)` with `n=5` as the function's default -> "5 attempts, n is 5 by default";
    "" when the code does not say."""
    args = [arg.value for arg in call.args if arg.keyword is None]
    if len(args) not in (1, 2) or len(args) != len(call.args):
        return ""
    values = [_int_value(source, arg, scope) for arg in args]
    if any(value is None for value in values):
        return ""
    numbers = [value[0] for value in values if value is not None]
    count = numbers[-1] - (numbers[0] if len(numbers) == 2 else 0)
    named = [value[1] for value in values if value is not None and value[1]]
    return f"{count} attempts" + "".join(f", {how}" for how in named)


def _int_value(
    source: Source, expr: cst.BaseExpression, scope: cst.CSTNode | None
) -> tuple[int, str] | None:
    """(value, how it is known) of an int literal, module constant or parameter default,
    or of one of those plus or minus a literal."""
    if isinstance(expr, cst.Integer):
        return int(expr.value.replace("_", ""), 0), ""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Subtract)):
        left = _int_value(source, expr.left, scope)
        right = _int_value(source, expr.right, scope)
        if left is None or right is None:
            return None
        sign = 1 if isinstance(expr.operator, cst.Add) else -1
        return left[0] + sign * right[0], left[1] or right[1]
    if not isinstance(expr, cst.Name):
        return None
    name = expr.value
    if isinstance(scope, cst.FunctionDef):
        params = scope.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            if param.name.value == name:
                default = param.default
                if isinstance(default, cst.Integer):
                    value = int(default.value.replace("_", ""), 0)
                    return value, f"{name} is {value} by default"
                return None
    constants = _int_constants(source.module)
    if name in constants:
        return constants[name], f"{name} = {constants[name]}"
    return None


def find_loops(source: Source) -> list[RetryLoop]:
    constants = _int_constants(source.module)
    scopes: list[tuple[cst.CSTNode | None, list[cst.CSTNode]]] = [(None, list(source.module.body))]
    scopes += [
        (stmt, list(stmt.body.body))
        for stmt in walk_statements(source.module.body)
        if isinstance(stmt, cst.FunctionDef) and isinstance(stmt.body, cst.IndentedBlock)
    ]
    loops = []
    for owner, scope in scopes:
        for stmt in walk_statements(scope, into_defs=False):
            if isinstance(stmt, (cst.For, cst.While)) and _is_retry_like(source, stmt):
                loop = RetryLoop(stmt, bound=describe_bound(source, stmt, owner))
                loop.blocker = _analyze(source, loop, scope, constants)
                loops.append(loop)
    return loops


def _int_constants(module: cst.Module) -> dict[str, int]:
    """Module-level names assigned an int literal once (`MAX_RETRIES = 3`, or annotated)."""
    found: dict[str, int] = {}
    assigned = bindings(module.body)
    for stmt in module.body:
        small = only_small(stmt)
        target: cst.BaseExpression | None = None
        value: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, cst.AnnAssign):
            target, value = small.target, small.value
        once = isinstance(target, cst.Name) and len(assigned.get(target.value, [])) == 1
        if once and isinstance(target, cst.Name) and isinstance(value, cst.Integer):
            found[target.value] = int(value.value.replace("_", ""), 0)
    return found


def _analyze(
    source: Source, loop: RetryLoop, scope: list[cst.CSTNode], constants: dict[str, int]
) -> str:
    """Fill in `loop` and return "" if it can be rewritten exactly, else the reason."""
    node = loop.node
    if isinstance(node, cst.While):
        return "a `while` retry loop: its attempt count is not fixed up front"
    if not isinstance(node.target, cst.Name):
        return "the loop variable is not a plain name"
    loop.var = var = node.target.value
    attempts = _attempts(source, node.iter, constants)
    if attempts is None:
        return (
            f"the attempt count in `{source.code(node.iter)}` is not a literal or module "
            "constant of at least 1 (tenacity always makes one attempt)"
        )
    loop.attempts = attempts
    if node.orelse is not None:
        return "the loop has an `else:` block"
    stmts = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    if len(stmts) != 1 or not isinstance(stmts[0], cst.Try):
        return "the loop body does more than one try statement"
    try_ = loop.try_ = stmts[0]
    if try_.finalbody is not None or len(try_.handlers) != 1:
        return "the try has a `finally:` or several except clauses"
    problem = _success_exit(loop, try_)
    if problem:
        return problem
    if var in names_read(*loop.body):
        return f"the attempt uses the loop counter `{var}`"
    if _awaits_or_yields(loop.body):
        return "the attempt awaits or yields"
    handler = loop.handler = try_.handlers[0]
    loop.retry_on = source.code(handler.type) if handler.type is not None else "BaseException"
    problem = _except_body(source, loop, handler)
    if problem:
        return problem
    outside = names_read(*scope).count(var) - names_read(node).count(var)
    if outside:
        return f"the loop counter `{var}` is used outside the loop"
    return ""


def _attempts(
    source: Source, iterable: cst.BaseExpression, constants: dict[str, int]
) -> str | None:
    if not (isinstance(iterable, cst.Call) and source.qualname(iterable.func) == "range"):
        return None
    args = iterable.args
    if len(args) == 2 and isinstance(args[0].value, cst.Integer) and args[0].value.value == "0":
        args = args[1:]
    if len(args) != 1 or args[0].keyword is not None:
        return None
    count = args[0].value
    if isinstance(count, cst.Integer) and int(count.value.replace("_", ""), 0) >= 1:
        return count.value
    if isinstance(count, cst.Name) and constants.get(count.value, 0) >= 1:
        return count.value
    return None


def _is_stmt(stmt: cst.CSTNode, kind: type) -> bool:
    return isinstance(only_small(stmt), kind)


def _success_exit(loop: RetryLoop, try_: cst.Try) -> str:
    body = list(try_.body.body) if isinstance(try_.body, cst.IndentedBlock) else []
    if try_.orelse is not None:
        else_body = try_.orelse.body.body if isinstance(try_.orelse.body, cst.IndentedBlock) else ()
        if not (len(else_body) == 1 and _is_stmt(else_body[0], cst.Break)):
            return "the try has an `else:` block that does more than `break`"
    elif body and _is_stmt(body[-1], cst.Break):
        body = body[:-1]
    elif not (body and _is_stmt(body[-1], cst.Return)):
        return "the loop does not stop after a successful attempt"
    if not body or _leaves_loop(body):
        return "the attempt leaves the loop in more than one place"
    loop.body = body
    return ""


def _leaves_loop(stmts: list[cst.BaseStatement]) -> bool:
    """A `break` or `continue` that belongs to this loop (not to a loop nested in it)."""
    for stmt in stmts:
        if any(isinstance(s, (cst.Break, cst.Continue)) for s in _smalls(stmt)):
            return True
        if isinstance(stmt, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef)):
            continue
        for block in child_blocks(stmt):
            if isinstance(block, cst.IndentedBlock) and _leaves_loop(list(block.body)):
                return True
    return False


def _smalls(stmt: cst.CSTNode) -> tuple[cst.BaseSmallStatement, ...]:
    if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return tuple(stmt.body)
    return ()


class _Flow(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Await(self, node: cst.Await) -> None:
        self.found = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _awaits_or_yields(stmts: list[cst.BaseStatement]) -> bool:
    visitor = _Flow()
    for stmt in stmts:
        walk(stmt, visitor)
    return visitor.found


class _Exits(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Raise(self, node: cst.Raise) -> None:
        self.found = True

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True

    def visit_Break(self, node: cst.Break) -> None:
        self.found = True

    def visit_Continue(self, node: cst.Continue) -> None:
        self.found = True


def _except_body(source: Source, loop: RetryLoop, handler: cst.ExceptHandler) -> str:
    stmts = list(handler.body.body) if isinstance(handler.body, cst.IndentedBlock) else []
    while stmts and (_is_stmt(stmts[-1], cst.Continue) or _is_stmt(stmts[-1], cst.Pass)):
        stmts.pop()
    sleep = raise_if = None
    tail = 0
    for stmt in reversed(stmts):
        if sleep is None and _sleep_call(source, stmt) is not None:
            sleep = stmt
        elif raise_if is None and _is_last_attempt_raise(source, loop, handler, stmt):
            raise_if = stmt
        else:
            break
        tail += 1
    extras = stmts[: len(stmts) - tail]
    for stmt in extras:
        exits = _Exits()
        walk(stmt, exits)
        if exits.found or _awaits_or_yields([stmt]) or _sleep_call(source, stmt) is not None:
            return "the except block does more than log, wait and re-raise on the last attempt"
        if loop.var in names_read(stmt):
            return f"the except block uses the loop counter `{loop.var}`"
    loop.extras = extras
    loop.reraise = raise_if is not None
    if sleep is not None:
        call = _sleep_call(source, sleep)
        assert call is not None
        if source.qualname(call.func) != "time.sleep" or len(call.args) != 1:
            return f"the wait `{source.code(call)}` is not a plain time.sleep"
        wait = _wait(source, call.args[0].value, loop.var)
        if wait.startswith("!"):
            return wait[1:]
        if set(bindings([*loop.body, *extras])) & set(names_read(call)):
            return "the wait depends on a value the loop changes"
        loop.wait = wait
    return ""


def _sleep_call(source: Source, stmt: cst.CSTNode) -> cst.Call | None:
    small = only_small(stmt)
    value = small.value if isinstance(small, cst.Expr) else None
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(value, cst.Call) and source.qualname(value.func) in SLEEPS:
        return value
    return None


def _squash(code: str) -> str:
    return re.sub(r"[\s()]", "", code)


def _is_last_attempt_raise(
    source: Source, loop: RetryLoop, handler: cst.ExceptHandler, stmt: cst.CSTNode
) -> bool:
    if not isinstance(stmt, cst.If) or stmt.orelse is not None:
        return False
    body = stmt.body.body  # an indented block, or `if ...: raise` on one line
    if len(body) != 1:
        return False
    raised = body[0] if isinstance(body[0], cst.Raise) else only_small(body[0])
    if not isinstance(raised, cst.Raise) or raised.cause is not None:
        return False
    caught = handler.name.name if handler.name is not None else None
    reraised = raised.exc is None or (
        isinstance(raised.exc, cst.Name)
        and isinstance(caught, cst.Name)
        and raised.exc.value == caught.value
    )
    i, n = loop.var, _squash(loop.attempts)
    last = {f"{i}=={n}-1", f"{i}+1=={n}", f"{i}>={n}-1", f"{i}+1>={n}", f"{n}-1=={i}"}
    if n.isdigit():
        last |= {f"{i}=={int(n) - 1}", f"{i}>={int(n) - 1}"}
    return reraised and _squash(source.code(stmt.test)) in last


def _number(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.Integer, cst.Float)) and float(node.value.replace("_", "")) >= 0:
        return node.value
    return None


def _wait(source: Source, expr: cst.BaseExpression, var: str) -> str:
    """The tenacity wait for `time.sleep(expr)`; "!reason" when there is no exact one."""
    code = source.code(expr).strip()
    if "random" in code:
        return "!the wait is random (jitter): tenacity's jitter waits draw differently"
    if var not in names_read(expr):
        return f"tenacity.wait_fixed({code})"
    if isinstance(expr, cst.Call) and source.qualname(expr.func) == "min" and len(expr.args) == 2:
        cap, inner = expr.args[0].value, expr.args[1].value
        if _number(cap) is None:
            cap, inner = inner, cap
        growth = _growth(inner, var)
        if _number(cap) is not None and growth is not None and growth.startswith("exp"):
            return f"tenacity.wait_exponential({growth[4:]}max={_number(cap)})".replace(", )", ")")
    growth = _growth(expr, var)
    if growth is None:
        return f"!the wait `{code}` has no exact tenacity equivalent"
    kind, args = growth.split(":", 1)
    name = "wait_exponential" if kind == "exp" else "wait_incrementing"
    return f"tenacity.{name}({args.rstrip(', ')})"


def _growth(expr: cst.BaseExpression, var: str) -> str | None:
    """`B * K ** i` -> "exp:multiplier=B, exp_base=K, "; `B * (i + 1)` -> "inc:start=B, ..."."""
    factor, rest = "1", expr
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
        for number, other in ((expr.left, expr.right), (expr.right, expr.left)):
            if _number(number) is not None:
                factor, rest = str(_number(number)), other
                break
    if (
        isinstance(rest, cst.BinaryOperation)
        and isinstance(rest.operator, cst.Power)
        and _number(rest.left) is not None
        and isinstance(rest.right, cst.Name)
        and rest.right.value == var
    ):
        base = str(_number(rest.left))
        if float(base) <= 1:
            return None
        parts = [] if factor == "1" else [f"multiplier={factor}"]
        parts += [] if base == "2" else [f"exp_base={base}"]
        return "exp:" + "".join(f"{p}, " for p in parts)
    if isinstance(rest, cst.Name) and rest.value == var:
        return f"inc:start=0, increment={factor}, "
    if (
        isinstance(rest, cst.BinaryOperation)
        and isinstance(rest.operator, cst.Add)
        and isinstance(rest.left, cst.Name)
        and rest.left.value == var
        and isinstance(rest.right, cst.Integer)
        and rest.right.value == "1"
    ):
        return f"inc:start={factor}, increment={factor}, "
    return None
