"""The model loads a route handler makes on every request, classified.

Shared by `model-load-in-handler` (hoist the load into a cached loader) and
`flask-to-triton` (replace the local model with a Triton call). Analysis only: nothing
here edits a tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import libcst as cst

from infragap.migrate.analysis.handlers import FRAMEWORKS, Handler, find_handlers
from infragap.migrate.analysis.names import Binding, bindings, names_read, param_names
from infragap.migrate.analysis.statements import only_small, small_statements, walk_statements
from infragap.migrate.analysis.trees import walk
from infragap.migrate.source import Source

REQUEST_GLOBALS = frozenset({"request", "g", "session"})


LOADERS = {
    "torch.load": "torch",
    "torch.jit.load": "torchscript",
    "joblib.load": "joblib",
    "sklearn.externals.joblib.load": "joblib",
    "pickle.load": "pickle",
    "_pickle.load": "pickle",
    "cPickle.load": "pickle",
    "cloudpickle.load": "pickle",
    "dill.load": "pickle",
    "keras.models.load_model": "keras",
    "keras.saving.load_model": "keras",
    "tensorflow.keras.models.load_model": "keras",
}


TORCH_KINDS = frozenset({"torch", "torchscript"})
# Methods that change a model in place: one shared copy would carry the change across requests.


MUTATORS = frozenset(
    {"fit", "partial_fit", "train", "load_state_dict", "set_params", "update", "zero_grad"}
)


CACHE_DECORATOR_WORDS = ("cache", "memoize")


@dataclass(frozen=True)
class HelperLoad:
    """A module-level function whose body loads a model: the "one call away" case."""

    func: cst.FunctionDef
    load: cst.Call
    kind: str
    cached: bool


@dataclass(frozen=True)
class ModelLoad:
    """One per-request load in a handler.

    `call` is what the handler calls (the load itself, or the helper). `opener` is set for
    `with open(...) as f: model = pickle.load(f)`, which is hoisted whole. `blocker` says
    why the load cannot be cached ("" when it can); `params` are the handler or enclosing
    locals the cached loader must take as arguments.
    """

    handler: Handler
    call: cst.Call
    load: cst.Call
    kind: str
    via: cst.FunctionDef | None = None
    target: str | None = None
    statement: cst.SimpleStatementLine | None = None
    opener: cst.With | None = None
    cached: bool = False
    blocker: str = ""
    params: tuple[str, ...] = field(default=())
    # `model = Net(...)`, `model.load_state_dict(torch.load(...))`, `model.eval()`: the
    # load feeds a model the handler builds, and the whole construction is hoisted.
    construction: tuple[cst.SimpleStatementLine, ...] = ()
    built: str = ""  # the name the construction binds (`model`)

    @property
    def anchor(self) -> cst.CSTNode:
        """The node a finding points at."""
        if self.construction:
            return self.construction[0]
        return self.opener or self.call


def load_kind(source: Source, call: cst.Call) -> str | None:
    """What kind of model load `call` is, through import aliases; None if it is none."""
    qualname = source.qualname(call.func)
    if qualname is None:
        return None
    if qualname in LOADERS:
        return LOADERS[qualname]
    if qualname.rsplit(".", 1)[-1] != "load_model":
        return None
    head = call.func
    while isinstance(head, cst.Attribute):
        head = head.value
    name = head.value if isinstance(head, cst.Name) else ""
    if name in source.aliases:
        return "load_model"  # imported from a library or another module of the repo
    if isinstance(call.func, cst.Name) and name not in source.module_names:
        return "load_model"  # a bare load_model() from a star import
    return None


class _CallsIn(cst.CSTVisitor):
    """Calls in a function body, not in nested defs or lambdas, with the statements and
    `if` tests around each."""

    def __init__(self) -> None:
        self.stack: list[cst.CSTNode] = []
        self.calls: list[tuple[cst.Call, tuple[cst.CSTNode, ...]]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.stack.append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.stack.pop()

    def visit_With(self, node: cst.With) -> None:
        self.stack.append(node)

    def leave_With(self, original_node: cst.With) -> None:
        self.stack.pop()

    def visit_If(self, node: cst.If) -> None:
        self.stack.append(node)

    def leave_If(self, original_node: cst.If) -> None:
        self.stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append((node, tuple(self.stack)))


def calls_in(
    source: Source, func: cst.FunctionDef
) -> list[tuple[cst.Call, tuple[cst.CSTNode, ...]]]:
    """The calls in `func`'s own body (not in nested defs), each with the statements
    around it; once per function and file, for every rule that asks."""
    return source.once("calls_in", func, _calls_in)


def _calls_in(func: cst.FunctionDef) -> list[tuple[cst.Call, tuple[cst.CSTNode, ...]]]:
    visitor = _CallsIn()
    walk(func.body, visitor)
    return visitor.calls


class Helpers:
    """Module-level functions that load a model, looked at only when a handler calls them."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.seen: dict[str, HelperLoad | None] = {}

    def get(self, name: str) -> HelperLoad | None:
        if name not in self.seen:
            func = self.source.toplevel_functions.get(name)
            self.seen[name] = _helper_load(self.source, func) if func is not None else None
        return self.seen[name]


def _helper_load(source: Source, func: cst.FunctionDef) -> HelperLoad | None:
    for call, stack in calls_in(source, func):
        kind = load_kind(source, call)
        if kind is None:
            continue
        decorated = any(
            word in source.code(d.decorator).lower()
            for d in func.decorators
            for word in CACHE_DECORATOR_WORDS
        )
        has_global = any(
            isinstance(small, cst.Global)
            for stmt in walk_statements(func.body.body, into_defs=False)
            for small in small_statements(stmt)
        )
        guarded = any(isinstance(node, cst.If) and _is_none_test(node.test) for node in stack)
        return HelperLoad(func, call, kind, decorated or has_global or guarded)
    return None


def _is_none_test(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return True
    return "None" in names_read(test)


def find_loads(
    source: Source, handler: Handler, helpers: Helpers, include_cached: bool = False
) -> list[ModelLoad]:
    """Every model load the handler makes per request, classified (see ModelLoad).

    With `include_cached`, calls to helpers that already cache count too: the model
    still lives in the web process (what flask-to-triton cares about).
    """
    scope = _Scope.of(handler)
    loads: list[ModelLoad] = []
    for call, stack in calls_in(source, handler.func):
        kind = load_kind(source, call)
        load, via = call, None
        helper = helpers.get(call.func.value) if isinstance(call.func, cst.Name) else None
        if kind is None and helper is not None:
            if (helper.cached and not include_cached) or helper.func is handler.func:
                continue
            kind, load, via = helper.kind, helper.load, helper.func
        if kind is None:
            continue
        found = ModelLoad(handler, call, load, kind, via)
        found = _place(found, stack)
        if found.target is None and found.via is None:
            found = _construction(found, stack)
        if (
            found.target
            and scope.is_global(found.target)
            and any(isinstance(node, cst.If) and _is_none_test(node.test) for node in stack)
        ):
            continue  # a hand-written `global` cache: the load runs once already
        loads.append(_classify(source, found, scope))
    return loads


def _place(found: ModelLoad, stack: tuple[cst.CSTNode, ...]) -> ModelLoad:
    """Find the `target = load(...)` statement and a `with open(...) as f:` around it."""
    line = stack[-1] if stack and isinstance(stack[-1], cst.SimpleStatementLine) else None
    small = only_small(line) if line is not None else None
    target = None
    if isinstance(small, cst.Assign) and small.value is found.call and len(small.targets) == 1:
        assigned = small.targets[0].target
        target = assigned.value if isinstance(assigned, cst.Name) else None
    elif isinstance(small, cst.AnnAssign) and small.value is found.call:
        target = small.target.value if isinstance(small.target, cst.Name) else None
    if target is None or line is None:
        return found
    found = replace(found, target=target, statement=line)
    opener = stack[-2] if len(stack) >= 2 else None
    if (
        found.via is None
        and isinstance(opener, cst.With)
        and isinstance(opener.body, cst.IndentedBlock)
        and len(opener.body.body) == 1
        and opener.body.body[0] is line
        and len(opener.items) == 1
        and opener.items[0].asname is not None
        and isinstance(opener.items[0].asname.name, cst.Name)
        and isinstance(opener.items[0].item, cst.Call)
        and names_read(opener.items[0].item.func) == ["open"]
        and [names_read(arg.value) for arg in found.call.args]
        == [[opener.items[0].asname.name.value]]
    ):
        found = replace(found, opener=opener)
    return found


# The steps of building a model for inference, hoisted with it: loading weights, eval
# mode, placing it. Not `train()` or an optimizer step: those belong to the request.
CONSTRUCTION_STEPS = frozenset(
    {"load_state_dict", "eval", "to", "cpu", "cuda", "half", "float", "double", "bfloat16"}
    | {"requires_grad_", "share_memory", "fuse_model"}
)


def _step_on(stmt: cst.CSTNode) -> str:
    """`m` for a statement that builds a model in place: `m.eval()`, `m.to(device)`,
    `m.load_state_dict(...)`, or `m = m.to(device)`; "" for any other statement."""
    small = only_small(stmt)
    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
    if isinstance(small, cst.Assign) and len(small.targets) != 1:
        return ""
    if not (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and isinstance(value.func.value, cst.Name)
        and value.func.attr.value in CONSTRUCTION_STEPS
    ):
        return ""
    name = value.func.value.value
    if isinstance(small, cst.Assign):
        target = small.targets[0].target
        if not (isinstance(target, cst.Name) and target.value == name):
            return ""
    return name


def _construction(found: ModelLoad, stack: tuple[cst.CSTNode, ...]) -> ModelLoad:
    """The statements that build the model the load feeds, when they sit together in one
    block: `m = Ctor(...)`, then steps on `m` (one of them holds the load)."""
    line = stack[-1] if stack and isinstance(stack[-1], cst.SimpleStatementLine) else None
    if line is None or found.opener is not None:
        return found
    name = _step_on(line)
    owner = stack[-2] if len(stack) >= 2 else found.handler.func
    block = getattr(owner, "body", None)
    statements = list(block.body) if isinstance(block, cst.IndentedBlock) else []
    index = next((i for i, stmt in enumerate(statements) if stmt is line), None)
    if not name or index is None:
        return found
    start = index
    while start > 0 and _step_on(statements[start - 1]) == name:
        start -= 1
    first = only_small(statements[start - 1]) if start > 0 else None
    if not (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and first.targets[0].target.value == name
        and isinstance(first.value, cst.Call)
    ):
        return found
    end = index + 1
    while end < len(statements) and _step_on(statements[end]) == name:
        end += 1
    built = statements[start - 1 : end]
    if not all(isinstance(stmt, cst.SimpleStatementLine) for stmt in built):
        return found
    lines = tuple(stmt for stmt in built if isinstance(stmt, cst.SimpleStatementLine))
    return replace(found, construction=lines, built=name)


@dataclass(frozen=True)
class _Scope:
    """The names a handler and its enclosing functions bind."""

    params: frozenset[str]
    local: dict[str, list[Binding]]
    enclosing: frozenset[str]
    declared_global: frozenset[str]

    @classmethod
    def of(cls, handler: Handler) -> _Scope:
        local = bindings(handler.func.body.body)
        enclosing: set[str] = set()
        for outer in handler.outer:
            enclosing.update(param_names(outer), bindings(outer.body.body))
        declared = {n for n, bs in local.items() if any(b.kind == "global" for b in bs)}
        return cls(
            frozenset(param_names(handler.func)), local, frozenset(enclosing), frozenset(declared)
        )

    def is_global(self, name: str) -> bool:
        return name in self.declared_global


def _classify(source: Source, found: ModelLoad, scope: _Scope) -> ModelLoad:
    evaluated = found.opener.items[0].item if found.opener else found.call
    args = evaluated.args if isinstance(evaluated, cst.Call) else ()
    read = names_read(*args)
    if found.construction:
        read = [name for name in names_read(*found.construction) if name != found.built]
    needed: list[str] = []
    for name in dict.fromkeys(read):
        why = _request_dependence(source, name, scope, set())
        if why:
            return replace(found, blocker=why)
        if (name in scope.local and not scope.is_global(name)) or (
            name in scope.enclosing and name not in scope.local
        ):
            needed.append(name)
    if found.via is not None:
        reads = set(names_read(found.via.body)) & REQUEST_GLOBALS
        for name in sorted(reads):
            if source.aliases.get(name, "").split(".", 1)[0] in FRAMEWORKS:
                helper = found.via.name.value
                return replace(found, blocker=f"{helper}() reads `{name}`, i.e. the request")
    if found.target or found.built:
        change = _mutation(
            source, found.handler, found.target or found.built, set(found.construction)
        )
        if change:
            return replace(
                found,
                blocker=f"the handler changes the loaded model (`{change}`), so one shared copy "
                "would carry that change from request to request",
            )
    return replace(found, params=tuple(needed))


MAX_CHAIN = 50


def _request_dependence(source: Source, name: str, scope: _Scope, seen: set[str]) -> str:
    """Why `name` may differ between requests ("" when it cannot)."""
    if name in scope.params:
        return f"it depends on the handler argument `{name}`, i.e. on the request"
    if name in scope.local and not scope.is_global(name):
        if name in seen:
            return f"`{name}` is computed in a cycle the rule cannot follow"
        if len(seen) >= MAX_CHAIN:  # bounded: how long the chain is is up to the input
            return f"`{name}` is computed through more than {MAX_CHAIN} names"
        seen.add(name)
        for binding in scope.local[name]:
            if binding.kind != "assign":
                return f"it uses `{name}`, which the handler binds in a `{binding.kind}`"
            for inner in dict.fromkeys(names_read(binding.value)):
                if _request_dependence(source, inner, scope, seen):
                    return f"it uses `{name}`, which is computed from request data"
        return ""
    if name in REQUEST_GLOBALS and name not in scope.enclosing:
        origin = source.aliases.get(name, "")
        if origin.split(".", 1)[0] in FRAMEWORKS or name not in source.module_names:
            return f"it reads `{name}`, i.e. the request"
    return ""


class _Mutations(cst.CSTVisitor):
    def __init__(self, source: Source, target: str, skip: set[cst.CSTNode]) -> None:
        self.source = source
        self.target = target
        self.skip = skip
        self.found = ""

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return node not in self.skip

    def _base_is_target(self, expr: cst.BaseExpression) -> bool:
        while isinstance(expr, (cst.Attribute, cst.Subscript)):
            expr = expr.value
        return isinstance(expr, cst.Name) and expr.value == self.target

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, (cst.Attribute, cst.Subscript)) and self._base_is_target(
            node.target
        ):
            self.found = self.found or self.source.code(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, (cst.Attribute, cst.Subscript)) and self._base_is_target(
            node.target
        ):
            self.found = self.found or self.source.code(node.target)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in MUTATORS):
            return
        if self._base_is_target(func.value):
            self.found = self.found or self.source.code(node)


def _mutation(
    source: Source, handler: Handler, target: str, skip: set[cst.CSTNode] | None = None
) -> str:
    """How the handler changes `target` in place ("" when it does not), outside `skip`
    (the statements that build it, which are hoisted with the load)."""
    visitor = _Mutations(source, target, skip or set())
    walk(handler.func.body, visitor)
    return visitor.found


def handler_loads(source: Source, include_cached: bool = False) -> list[ModelLoad]:
    """Every per-request model load in every route handler of the file."""
    handlers = find_handlers(source)
    if not handlers:
        return []
    helpers = Helpers(source)
    return [
        load
        for handler in handlers
        for load in find_loads(source, handler, helpers, include_cached)
    ]


def call_load(
    source: Source, handler: Handler, call: cst.Call, stack: tuple[cst.CSTNode, ...], kind: str
) -> ModelLoad:
    """A handler's call whose value is a model loaded further down (see `call_chains`),
    placed and classified as a load: its arguments, and what the handler does to it."""
    found = _place(ModelLoad(handler, call, call, kind), stack)
    return _classify(source, found, _Scope.of(handler))
