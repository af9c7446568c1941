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

A load a few calls away (`PredictPipeline().predict(x)` -> `load_object(path)` ->
`pickle.load`, across functions, methods and modules, up to `call_chains.MAX_CALLS`
calls) is reported with its call chain. The handler's call is cached only when the
chain stays in the file and caching it is the same behaviour (see `chain_loads`);
chains through other modules are found by `aggregate` from each file's call facts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.call_chains import Chain, handler_chains
from infragap.migrate.analysis.call_facts import FileFacts, file_facts
from infragap.migrate.analysis.chain_loads import (
    ChainLoad,
    chain_blocker,
    file_chain_loads,
)
from infragap.migrate.analysis.chain_loads import describe as describe_chain
from infragap.migrate.analysis.handlers import find_handlers
from infragap.migrate.analysis.loads import TORCH_KINDS, ModelLoad, handler_loads
from infragap.migrate.edits import (
    MARK,
    add_imports,
    cached_function,
    ensure_blank_lines,
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
    # `load`, or a route: a handler may reach a load in another module without the word.
    # Not `loads` alone: `json.loads` is in most files and no loader is called that.
    prefilter = re.compile(r"load(?!s\b)|route|add_url_rule|FastAPI|APIRouter")

    def find(self, source: Source) -> list[Finding]:
        found = []
        loads = handler_loads(source)
        for load in loads:
            fixes: tuple[str, ...] = ("model-load-in-handler",)
            if load.kind in TORCH_KINDS:
                fixes += ("flask-to-triton",)
            found.append(
                self.finding(
                    source, load.anchor, describe(source, load), unfixable=load.blocker, fixes=fixes
                )
            )
        facts = file_facts(source)
        for site in _chain_sites(source, loads, facts):
            found.append(self._chain_finding(site.chain, site.blocker, site.more))
        if _links_out(facts):
            found.append(self._facts_carrier(facts))
        return found

    def aggregate(self, findings: list[Finding]) -> list[Finding]:
        """Drop the call-fact carriers; add the chains that go through other files."""
        kept = [f for f in findings if not f.key.startswith(FACTS_KEY)]
        facts = {
            f.path: FileFacts.from_data(json.loads(f.key.removeprefix(FACTS_KEY)))
            for f in findings
            if f.key.startswith(FACTS_KEY)
        }
        by_entry: dict[tuple[str, int, int], list[Chain]] = {}
        for chain in handler_chains(facts):
            if chain.crosses_files:
                where = (chain.path, chain.entry.line, chain.entry.column)
                by_entry.setdefault(where, []).append(chain)
        for chains in by_entry.values():
            reasons = (chain_blocker(chain, facts) for chain in chains)
            why = next(why for why in reasons if why)
            kept.append(self._chain_finding(chains[0], why, len(chains) - 1))
        return kept

    def _chain_finding(self, chain: Chain, blocker: str, more: int = 0) -> Finding:
        entry = chain.entry
        return Finding(
            self.id, chain.path, entry.line, entry.column, entry.statement,
            describe_chain(chain, more), self.fixes, blocker,
        )  # fmt: skip

    def _facts_carrier(self, facts: FileFacts) -> Finding:
        """Not a finding: this file's call facts, for `aggregate` to follow across files."""
        key = FACTS_KEY + json.dumps(facts.as_data(), separators=(",", ":"))
        return Finding(self.id, facts.path, 1, 1, "", "call facts", key=key)

    def fix(self, source: Source, options: Options) -> RuleResult:
        loads = handler_loads(source)
        sites = _chain_sites(source, loads, file_facts(source))
        notes = tuple(
            Note(source.line_of(load.anchor), load.blocker) for load in loads if load.blocker
        ) + tuple(
            Note(site.chain.entry.line, f"{site.chain.text()}: {site.blocker}")
            for site in sites
            if site.blocker
        )
        hoisted = [site.load for site in sites if site.load is not None and not site.blocker]
        plan = _plan(source, [load for load in loads if not load.blocker] + hoisted)
        if not plan.loaders:
            return RuleResult.from_edits(source.text, source.text, notes)
        module = source.module.visit(_Hoist(plan))
        module = add_imports(module, [("functools", None, None)])
        return RuleResult.from_edits(source.text, module.code, notes)


FACTS_KEY = "call-facts:"


def _links_out(facts: FileFacts) -> bool:
    """Whether a chain may cross this file's edge: it calls into another module, or has
    functions other modules may call on the way to a load."""
    return any(
        step.imported or not function.handler
        for function in facts.functions.values()
        for step in function.steps
    )


def _chain_sites(source: Source, loads: list[ModelLoad], facts: FileFacts) -> list[ChainLoad]:
    """Chains in the file that start at a call `handler_loads` does not cover already."""
    if not any(function.handler for function in facts.functions.values()):
        return []
    covered = {(source.line_of(load.call), source.column_of(load.call)) for load in loads}
    return [
        site
        for site in file_chain_loads(source, find_handlers(source), facts)
        if (site.chain.entry.line, site.chain.entry.column) not in covered
    ]


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
    comment = f"Loaded once per process, not on every request ({MARK}: model-load-in-handler)."
    return cached_function(source.module, "functools.lru_cache", name, params, body, comment)


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
