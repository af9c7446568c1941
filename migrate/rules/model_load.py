"""model-load-in-handler: cache the model a route handler loads on every request.

Before::

    @app.route("/predict", methods=["POST"])
    def predict():
        model = torch.jit.load(MODEL_PATH)
        ...

After::

    # Loaded once per process, not on every request (infragap migrate: model-load-in-handler).
    @functools.lru_cache(maxsize=None)
    def _load_model():
        return torch.jit.load(MODEL_PATH)


    @app.route("/predict", methods=["POST"])
    def predict():
        model = _load_model()
        ...

The loader is lazy, so a missing file still fails on the first request, as before. A load
whose arguments are handler locals computed without request data takes them as
arguments (`lru_cache` keys on them). Left alone, with the reason: loads that depend on
request data, and handlers that change the loaded model in place. Two first requests
arriving together may both load (lru_cache does not lock); never worse than before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.loads import TORCH_KINDS, ModelLoad, handler_loads
from infragap.migrate.edits import (
    MARK,
    add_imports,
    blank_lines,
    ensure_blank_lines,
    parse_statement,
    unique_name,
)
from infragap.migrate.results import Finding, Note, RuleResult
from infragap.migrate.rules.base import Options, Rule, rule
from infragap.migrate.source import Source


def describe(source: Source, load: ModelLoad) -> str:
    handler = load.handler.func.name.value
    called = source.code(load.call.func)
    if load.construction:
        steps = len(load.construction) - 1
        return (
            f"{handler}() builds `{load.built}` and loads it with {called}() on every "
            f"request ({steps} step{'s' if steps != 1 else ''} after the constructor)"
        )
    if load.via is not None:
        loader = source.code(load.load.func)
        return f"{handler}() calls {called}(), which runs {loader}() on every request"
    return f"{handler}() runs {called}() on every request"


@rule("model-load-in-handler")
class ModelLoadInHandler(Rule):
    kind = "safe"
    summary = "Hoist a model load out of a Flask/FastAPI route handler into a cached loader."
    why = (
        "Loading the model inside the request handler pays the full deserialisation cost "
        "(often seconds, and the model's size in memory churn) on every request."
    )
    fixes = ("model-load-in-handler",)
    prefilter = re.compile(r"load")

    def find(self, source: Source) -> list[Finding]:
        found = []
        for load in handler_loads(source):
            fixes: tuple[str, ...] = ("model-load-in-handler",)
            if load.kind in TORCH_KINDS:
                fixes += ("flask-to-triton",)
            found.append(
                self.finding(
                    source, load.anchor, describe(source, load), unfixable=load.blocker, fixes=fixes
                )
            )
        return found

    def fix(self, source: Source, options: Options) -> RuleResult:
        loads = handler_loads(source)
        notes = tuple(
            Note(source.line_of(load.anchor), load.blocker) for load in loads if load.blocker
        )
        plan = _plan(source, [load for load in loads if not load.blocker])
        if not plan.loaders:
            return RuleResult.from_edits(source.text, source.text, notes)
        module = source.module.visit(_Hoist(plan))
        module = add_imports(module, [("functools", None, None)])
        return RuleResult.from_edits(source.text, module.code, notes)


@dataclass
class _Plan:
    calls: dict[cst.Call, cst.Call]
    openers: dict[cst.With, cst.SimpleStatementLine]
    loaders: dict[cst.CSTNode, list[cst.BaseStatement]]  # module-level stmt -> loaders before it
    # A hoisted construction: its first statement becomes `model = _load_model()`, the
    # others go (None).
    statements: dict[cst.SimpleStatementLine, cst.SimpleStatementLine | None]


def _plan(source: Source, loads: list[ModelLoad]) -> _Plan:
    plan = _Plan({}, {}, {}, {})
    taken = set(source.module_names)
    by_body: dict[tuple[str, tuple[str, ...]], str] = {}
    for load in loads:
        if load.construction and load.construction[0] in plan.statements:
            continue  # a second load in a construction already hoisted
        body = _loader_body(load)
        key = ("\n".join(source.code(stmt) for stmt in body), load.params)
        name = by_body.get(key)
        if name is None:
            name = unique_name(f"_load_{load.target or 'model'}", taken)
            taken.add(name)
            by_body[key] = name
            loader = _loader(source, name, load.params, body)
            plan.loaders.setdefault(load.handler.top, []).append(loader)
        call = cst.Call(cst.Name(name), [cst.Arg(cst.Name(param)) for param in load.params])
        if load.construction:
            first, *rest = load.construction
            assign = cst.Assign([cst.AssignTarget(cst.Name(load.built))], call)
            plan.statements[first] = cst.SimpleStatementLine(
                [assign], leading_lines=first.leading_lines
            )
            plan.statements.update(dict.fromkeys(rest))
        elif load.opener is not None and load.target is not None:
            assign = cst.Assign([cst.AssignTarget(cst.Name(load.target))], call)
            plan.openers[load.opener] = cst.SimpleStatementLine(
                [assign], leading_lines=load.opener.leading_lines
            )
        else:
            plan.calls[load.call] = call
    return plan


def _loader_body(load: ModelLoad) -> list[cst.BaseStatement]:
    if load.construction:
        first, *rest = load.construction
        returned = cst.SimpleStatementLine([cst.Return(cst.Name(load.built))])
        return [first.with_changes(leading_lines=[]), *rest, returned]
    if load.opener is not None and load.statement is not None:
        returned = load.statement.with_changes(body=[cst.Return(load.call)], leading_lines=[])
        block = load.opener.body.with_changes(body=[returned])
        return [load.opener.with_changes(body=block, leading_lines=[])]
    return [cst.SimpleStatementLine([cst.Return(load.call)])]


def _loader(
    source: Source, name: str, params: tuple[str, ...], body: list[cst.BaseStatement]
) -> cst.BaseStatement:
    template = parse_statement(
        f"@functools.lru_cache(maxsize=None)\ndef {name}({', '.join(params)}):\n    pass\n",
        source.module,
    )
    assert isinstance(template, cst.FunctionDef)
    comment = f"Loaded once per process, not on every request ({MARK}: model-load-in-handler)."
    return template.with_changes(
        body=template.body.with_changes(body=body),
        leading_lines=blank_lines(2, comment),
    )


class _Hoist(cst.CSTTransformer):
    def __init__(self, plan: _Plan) -> None:
        self.plan = plan

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self.plan.calls.get(original_node, updated_node)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement:
        return self.plan.openers.get(original_node, updated_node)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        if original_node not in self.plan.statements:
            return updated_node
        replacement = self.plan.statements[original_node]
        return cst.RemovalSentinel.REMOVE if replacement is None else replacement

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body: list[cst.BaseStatement] = []
        for original, updated in zip(original_node.body, updated_node.body, strict=True):
            loaders = self.plan.loaders.get(original)
            if loaders:
                body.extend(loaders)
                body.append(ensure_blank_lines(updated, 2))
            else:
                body.append(updated)
        return updated_node.with_changes(body=body)
