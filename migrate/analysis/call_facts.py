"""What each function of a file calls and loads, as plain data a call-chain walk can follow.

`file_facts()` reads one file; its result holds no syntax tree, so the facts of every
file of a repository can be gathered one file at a time (even in separate processes)
and followed together afterwards (see `call_chains`). A call's target is written as
the file sees it: a function or method of the file (`load_object`, `Pipeline.predict`),
or an imported name (`src.utils.load_object`, `src.pipeline.Pipeline.predict`).
Request data is tracked by name: a function's parameters may carry it (when its
caller passes it), and `request`/`g`/`session` from a web framework always do.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from functools import cached_property

import libcst as cst

from infragap.migrate.analysis.handlers import FRAMEWORKS, find_handlers
from infragap.migrate.analysis.loads import (
    LOADERS,
    MUTATORS,
    REQUEST_GLOBALS,
    _is_none_test,
    calls_in,
)
from infragap.migrate.analysis.names import Binding, bindings, names_read, param_names
from infragap.migrate.analysis.statements import small_statements, walk_statements
from infragap.migrate.source import Source

CACHE_WORDS = ("cache", "memoize")
# Methods that change what they are called on: `self.seen.append(x)` changes the object.
CHANGING_METHODS = MUTATORS | {
    "append", "extend", "insert", "remove", "pop", "clear", "add", "discard", "setdefault",
}  # fmt: skip


@dataclass(frozen=True)
class Step:
    """A call in a function: to another function (`target`), or a model load (`loader`)."""

    line: int
    column: int
    code: str  # the callee as written
    target: str = ""  # local "Pipeline.predict", or imported "pkg.mod.load_object"
    imported: bool = False
    loader: str = ""  # "pickle.load" when the call is a model load
    from_params: tuple[str, ...] = ()  # parameter-derived names the call reads
    from_request: str = ""  # the request global it reads, if any
    kept_as: str = ""  # `x` for `x = call(...)` alone on its line
    statement: str = ""  # the line's text, for a handler's calls (what a finding shows)


@dataclass(frozen=True)
class FunctionFacts:
    name: str  # "load_object" or "Pipeline.predict"
    line: int
    handler: bool
    steps: tuple[Step, ...] = ()
    cached: bool = False  # runs once per process already (`@lru_cache`, a `global`)
    changes_self: str = ""  # `self.n = ...` in a method: what one shared object would carry


@dataclass(frozen=True)
class FileFacts:
    path: str
    functions: dict[str, FunctionFacts] = field(default_factory=dict)

    def as_data(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, object]) -> FileFacts:
        raw = data["functions"]
        assert isinstance(raw, dict)
        functions = {
            name: FunctionFacts(
                value["name"],
                value["line"],
                value["handler"],
                tuple(
                    Step(**{**step, "from_params": tuple(step["from_params"])})
                    for step in value["steps"]
                ),
                value["cached"],
                value["changes_self"],
            )
            for name, value in raw.items()
        }
        return cls(str(data["path"]), functions)


def file_facts(source: Source) -> FileFacts:
    """The calls and loads of every top-level function and method of the file."""
    handler_funcs = [h.func for h in find_handlers(source)]
    handlers = {id(func) for func in handler_funcs}
    classes = {s.name.value for s in source.module.body if isinstance(s, cst.ClassDef)}
    functions: dict[str, FunctionFacts] = {}
    for func, owner in _functions(source.module, handler_funcs):
        name = f"{owner}.{func.name.value}" if owner else func.name.value
        facts = _facts(source, func, name, owner, classes, id(func) in handlers)
        if facts is not None:
            functions[name] = facts
    return FileFacts(source.path, functions)


def _functions(
    module: cst.Module, handlers: list[cst.FunctionDef]
) -> list[tuple[cst.FunctionDef, str]]:
    """Top-level functions, methods of top-level classes, and handlers at any depth."""
    found: list[tuple[cst.FunctionDef, str]] = []
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            found.append((stmt, ""))
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            found += [
                (s, stmt.name.value) for s in stmt.body.body if isinstance(s, cst.FunctionDef)
            ]
    seen = {id(func) for func, _ in found}
    return found + [(func, "") for func in handlers if id(func) not in seen]


def _facts(
    source: Source,
    func: cst.FunctionDef,
    name: str,
    owner: str,
    classes: set[str],
    handler: bool,
) -> FunctionFacts | None:
    """The function's facts; None when a chain has nothing to learn from it."""
    steps: list[Step] = []
    context = _Context(source, func, owner, classes)
    for call, stack in calls_in(source, func):
        qualname = source.qualname(call.func) or ""
        kind: dict[str, object]
        if qualname in LOADERS:
            if any(isinstance(node, cst.If) and _is_none_test(node.test) for node in stack):
                continue  # `if model is None: model = load(...)`: loads once already
            kind = {"loader": qualname}
        else:
            target, imported = _target(source, call, owner, classes, context)
            if not target:
                continue
            kind = {"target": target, "imported": imported}
        steps.append(Step(**context.common(call, stack, handler), **kind))  # type: ignore[arg-type]
    first = param_names(func)[:1]
    changes = _changes_self(source, func, first[0]) if owner and first else ""
    if not (steps or handler or changes):
        return None
    cached = any(
        word in source.code(d.decorator).lower() for d in func.decorators for word in CACHE_WORDS
    ) or _has_global(func)
    return FunctionFacts(name, source.line_of(func.name), handler, tuple(steps), cached, changes)


class _Context:
    """A function's names: which carry its parameters or the request, and which hold
    instances of known classes; each worked out the first time a call needs it."""

    def __init__(self, source: Source, func: cst.FunctionDef, owner: str, classes: set[str]):
        self.source, self.func, self.owner, self.classes = source, func, owner, classes

    @cached_property
    def local(self) -> dict[str, list[Binding]]:
        return bindings(self.func.body.body)

    @cached_property
    def from_params(self) -> set[str]:
        # `self` counts as a parameter: what it holds came from some caller.
        return _derived(self.local, set(param_names(self.func)))

    @cached_property
    def from_request(self) -> set[str]:
        source = self.source
        request = {n for n in REQUEST_GLOBALS if _is_request_global(source, n, self.local)}
        return _derived(self.local, request)

    @cached_property
    def instances(self) -> dict[str, str]:
        return _instances(self.source, self.local, self.owner, self.classes)

    def common(self, call: cst.Call, stack: list[cst.CSTNode], handler: bool) -> dict[str, object]:
        source = self.source
        read = names_read(call.func.value) if isinstance(call.func, cst.Attribute) else []
        read += names_read(*call.args)
        line = stack[-1] if stack and isinstance(stack[-1], cst.SimpleStatementLine) else None
        return {
            "line": source.line_of(call),
            "column": source.column_of(call),
            "code": source.code(call.func),
            "from_params": tuple(dict.fromkeys(n for n in read if n in self.from_params)),
            "from_request": next((n for n in read if n in self.from_request), ""),
            "kept_as": _kept_as(line, call),
            "statement": source.line_text(source.line_of(call)) if handler else "",
        }


def _has_global(func: cst.FunctionDef) -> bool:
    """A `global` statement in the function's own body (not in nested defs)."""
    return any(
        isinstance(small, (cst.Global, cst.Nonlocal))
        for stmt in walk_statements(func.body.body, into_defs=False)
        for small in small_statements(stmt)
    )


def _changes_self(source: Source, func: cst.FunctionDef, self_name: str) -> str:
    """The first `self.x = ...` (or `+=`) in the method, as written; "" when none."""
    for stmt in walk_statements(func.body.body, into_defs=False):
        for small in small_statements(stmt):
            targets: list[cst.BaseExpression] = (
                [t.target for t in small.targets] if isinstance(small, cst.Assign) else []
            )
            if isinstance(small, (cst.AugAssign, cst.AnnAssign)):
                targets = [small.target]
            for target in targets:
                base: cst.BaseExpression = target
                while isinstance(base, (cst.Attribute, cst.Subscript)):
                    base = base.value
                if target is not base and isinstance(base, cst.Name) and base.value == self_name:
                    return source.code(target)
    for call, _ in calls_in(source, func):
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in CHANGING_METHODS:
            receiver: cst.BaseExpression = call.func.value
            while isinstance(receiver, (cst.Attribute, cst.Subscript)):
                receiver = receiver.value
            if isinstance(receiver, cst.Name) and receiver.value == self_name:
                return source.code(call)
    return ""


def _is_request_global(source: Source, name: str, local: dict[str, list]) -> bool:
    if name in local:
        return False
    origin = source.aliases.get(name, "")
    return origin.split(".", 1)[0] in FRAMEWORKS or name not in source.module_names


def _derived(local: dict[str, list], seeds: set[str]) -> set[str]:
    """`seeds` and every local computed from them (a fixed point, no recursion)."""
    found = set(seeds)
    changed = True
    while changed:
        changed = False
        for name, binds in local.items():
            if name in found:
                continue
            for binding in binds:
                node = binding.value if binding.kind == "assign" else binding.node
                if node is not None and binding.kind != "def" and found & set(names_read(node)):
                    found.add(name)
                    changed = True
                    break
    return found


def _instances(
    source: Source, local: dict[str, list], owner: str, classes: set[str]
) -> dict[str, str]:
    """Local name -> the class it is an instance of (`p = Pipeline()`), when certain."""
    found = {"self": owner} if owner else {}
    for name, binds in local.items():
        if len(binds) != 1 or binds[0].kind != "assign" or not isinstance(binds[0].value, cst.Call):
            continue
        cls = _class_of(source, binds[0].value.func, classes)
        if cls:
            found[name] = cls
    return found


def _class_of(source: Source, func: cst.BaseExpression, classes: set[str]) -> str:
    """The class `func` names (by its capital), local or imported; "" for anything else."""
    if isinstance(func, cst.Name) and func.value in classes:
        return func.value
    head = func
    while isinstance(head, cst.Attribute):
        head = head.value
    if not (isinstance(head, cst.Name) and head.value in source.aliases):
        return ""
    qualname = source.qualname(func) or ""
    return qualname if "." in qualname and qualname.rsplit(".", 1)[-1][:1].isupper() else ""


def _target(
    source: Source,
    call: cst.Call,
    owner: str,
    classes: set[str],
    context: _Context,
) -> tuple[str, bool]:
    """What `call` calls, as (target, imported); ("", False) when it cannot be told."""
    func = call.func
    if isinstance(func, cst.Name):
        name = func.value
        if name in classes:
            return f"{name}.__init__", False
        if name in source.toplevel_functions:
            return name, False
        origin = source.aliases.get(name, "")
        if _maybe_ours(origin):
            init = ".__init__" if origin.rsplit(".", 1)[-1][:1].isupper() else ""
            return origin + init, True
        return "", False
    if not isinstance(func, cst.Attribute):
        return "", False
    method = func.attr.value
    receiver = func.value
    cls = ""
    if isinstance(receiver, cst.Name):
        cls = context.instances.get(receiver.value, "")
    elif isinstance(receiver, cst.Call):
        cls = _class_of(source, receiver.func, classes)
    if cls:
        return f"{cls}.{method}", cls not in classes
    if isinstance(receiver, cst.Name) and receiver.value in source.aliases:
        qualname = source.qualname(func) or ""  # `utils.load_object()`, `import src.utils as utils`
        return (qualname, True) if _maybe_ours(qualname) else ("", False)
    return "", False


def _maybe_ours(qualname: str) -> bool:
    """Whether an imported name may be the repository's own (not the standard library's)."""
    root = qualname.split(".", 1)[0]
    return "." in qualname and (root == "" or root not in sys.stdlib_module_names)


def _kept_as(line: cst.SimpleStatementLine | None, call: cst.Call) -> str:
    small = line.body[0] if line is not None and len(line.body) == 1 else None
    if isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1:
        target = small.targets[0].target
        return target.value if isinstance(target, cst.Name) else ""
    return ""
