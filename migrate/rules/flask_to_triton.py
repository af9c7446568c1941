"""flask-to-triton (unsafe): serve a handler's PyTorch model from Triton instead.

For a route handler that loads a PyTorch/TorchScript model and calls it, this rule:

* generates a Triton model repository next to the app (`triton_models/<name>/`:
  config.pbtxt with dynamic batching, a Python-backend model.py, a README on exporting
  the model), with input names taken from the model call's arguments;
* removes the per-request load and rewrites `model(user_id, item_id, dense)` into
  `triton_infer(user_id=user_id, item_id=item_id, dense=dense)`, a small module-level
  client over `tritonclient.http` (KServe v2 HTTP) that returns the first output as a
  tensor again, so the handler's request and response JSON stay as they were.

The app then needs a running Triton: `TRITON_URL` (default 127.0.0.1:8000) and
`TRITON_MODEL` (default: the derived model name) say where. That is an architecture
change, hence opt-in. Handlers whose model is used other than by calling it, whose load
depends on the request, or that serve a second model from the same module are left
alone, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from infragap.migrate.analysis.loads import TORCH_KINDS, ModelLoad, handler_loads
from infragap.migrate.analysis.names import bindings
from infragap.migrate.analysis.statements import only_small
from infragap.migrate.analysis.tensors import guess_dtype, model_name_from
from infragap.migrate.analysis.trees import walk
from infragap.migrate.edits import (
    MARK,
    add_imports,
    blank_lines,
    drop_statements,
    imported_names,
    insert_after_imports,
    parse_statements,
    with_leading,
)
from infragap.migrate.results import Finding, NewFile, Note, RuleResult
from infragap.migrate.rules.base import Option, Options, Rule, rule
from infragap.migrate.source import Source

if TYPE_CHECKING:  # a scan never writes a repository: the generator loads on a fix
    from infragap.migrate.generators.triton_repo import TritonModelSpec

SETTLE_METHODS = frozenset({"eval", "to", "cpu", "cuda", "float", "half", "double"})
INFER = "triton_infer"


@dataclass
class _Site:
    load: ModelLoad
    calls: list[cst.Call] = field(default_factory=list)
    drop: list[cst.CSTNode] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    output: str | None = None
    blocker: str = ""


@rule("flask-to-triton")
class FlaskToTriton(Rule):
    kind = "unsafe"
    summary = "Serve a handler's PyTorch model from Triton: generate the model repository, call it."
    why = "A model inside the web process runs one request at a time with no batching."
    fixes = ("flask-to-triton",)
    prefilter = re.compile(r"torch")
    options: ClassVar[Mapping[str, Option]] = {
        "model_name": Option(
            "",
            "the Triton model name (default: from the model file name)",
            pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
        ),
        "output_name": Option(
            "",
            "the model's output name (default: the variable it is assigned to)",
            pattern=r"[A-Za-z_][A-Za-z0-9_]*",
        ),
        "max_batch_size": Option(
            "256", "rows per batch, a positive integer", pattern=r"[1-9][0-9]*"
        ),
        "repository": Option(
            "triton_models",
            "the model repository folder, next to the app",
            pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
        ),
        "triton_url": Option(
            "127.0.0.1:8000",
            "host:port of Triton's HTTP endpoint",
            pattern=r"[A-Za-z0-9_.-]+:[0-9]+",
        ),
    }

    def find(self, source: Source) -> list[Finding]:
        return []  # model-load-in-handler reports these sites and names this rule as a fix

    def fix(self, source: Source, options: Options) -> RuleResult:
        loads = handler_loads(source, include_cached=True)
        sites = [_site(source, load) for load in loads if load.kind in TORCH_KINDS]
        if not sites:
            return RuleResult.unchanged(source.text)
        notes: list[Note] = []
        chosen: list[_Site] = []
        model_name = ""
        for site in sites:
            name = self.option(options, "model_name") or _derive_name(source, site.load)
            if not site.blocker and INFER in source.module_names:
                site.blocker = (
                    f"this module already calls Triton through {INFER}(); migrate by hand"
                )
            if not site.blocker and model_name and name != model_name:
                site.blocker = f"a second model ({name}) in one module; migrate it by hand"
            if site.blocker:
                notes.append(Note(source.line_of(site.load.anchor), site.blocker))
                continue
            model_name = name
            chosen.append(site)
        if not chosen:
            return RuleResult.skipped(source.text, tuple(notes))
        spec = _spec(source, chosen[0], model_name, options, self)
        repository = self.option(options, "repository")
        module = _rewrite(source, chosen, spec, self.option(options, "triton_url"), repository)
        from infragap.migrate.generators.triton_repo import render_repository

        files = tuple(
            NewFile(path, text) for path, text in render_repository(spec, repository).items()
        )
        return RuleResult.from_edits(source.text, module.code, tuple(notes), files)


def _site(source: Source, load: ModelLoad) -> _Site:
    site = _Site(load, blocker=load.blocker)
    if site.blocker:
        return site
    target = load.target
    if target is None or load.statement is None or load.opener is not None:
        site.blocker = "the model is not loaded by a plain `model = ...` statement"
        return site
    uses = _Uses(target)
    walk(load.handler.func.body, uses)
    site.calls = uses.calls
    site.drop = [load.statement, *uses.settle]
    accounted = 1 + len(uses.calls) + uses.settle_names
    if uses.names != accounted or uses.starred:
        site.blocker = f"the handler uses `{target}` for more than calling it"
    elif not uses.calls:
        site.blocker = f"the handler never calls `{target}`"
    else:
        first = [_input_name(arg, i) for i, arg in enumerate(uses.calls[0].args)]
        if any([_input_name(a, i) for i, a in enumerate(c.args)] != first for c in uses.calls):
            site.blocker = f"the calls to `{target}` pass different inputs"
        site.inputs = first
        site.output = uses.output
    return site


def _input_name(arg: cst.Arg, index: int) -> str:
    if arg.keyword is not None:
        return arg.keyword.value
    if isinstance(arg.value, cst.Name):
        return arg.value.value
    return f"input__{index}"


class _Uses(cst.CSTVisitor):
    """How a handler uses the loaded model: calls, `model.eval()`-like statements, the rest."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.names = 0
        self.calls: list[cst.Call] = []
        self.settle: list[cst.CSTNode] = []
        self.settle_names = 0
        self.starred = False
        self.output: str | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.target:
            self.names += 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        walk(node.value, self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        walk(node.value, self)
        return False

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        small = only_small(node)
        value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
        if isinstance(small, cst.Assign) and not (
            len(small.targets) == 1 and _is_name(small.targets[0].target, self.target)
        ):
            value = None
        if self._is_settle(value):
            self.settle.append(node)
            self.settle_names += 2 if isinstance(small, cst.Assign) else 1
        calls_model = (
            isinstance(small, cst.Assign)
            and isinstance(small.value, cst.Call)
            and _is_name(small.value.func, self.target)
        )
        if calls_model and self.output is None:
            assert isinstance(small, cst.Assign)
            target = small.targets[0].target
            self.output = target.value if isinstance(target, cst.Name) else None

    def _is_settle(self, value: cst.BaseExpression | None) -> bool:
        return (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in SETTLE_METHODS
            and _is_name(value.func.value, self.target)
        )

    def visit_Call(self, node: cst.Call) -> None:
        if _is_name(node.func, self.target):
            self.calls.append(node)
            self.starred = self.starred or any(arg.star for arg in node.args)


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def _derive_name(source: Source, load: ModelLoad) -> str:
    return model_name_from(source, [arg.value for arg in load.load.args]) or "model"


def _spec(source: Source, site: _Site, name: str, options: Options, rule_: Rule) -> TritonModelSpec:
    from infragap.migrate.generators.triton_repo import TensorSpec, TritonModelSpec

    local = bindings(site.load.handler.func.body.body)
    inputs = []
    for input_name, arg in zip(site.inputs, site.calls[0].args, strict=True):
        value = arg.value
        if isinstance(value, cst.Name) and value.value in local:
            assigned = [b.value for b in local[value.value] if b.kind == "assign"]
            value = assigned[-1] if assigned and assigned[-1] is not None else value
        dtype = guess_dtype(source, value)
        if dtype is None:
            inputs.append(
                TensorSpec(input_name, "FP32", (-1,), "type and shape not in the handler")
            )
        elif dtype.startswith(("INT", "UINT")):
            inputs.append(TensorSpec(input_name, dtype, (1,)))
        else:
            inputs.append(TensorSpec(input_name, dtype, (-1,), "set the per-row feature count"))
    output = rule_.option(options, "output_name") or site.output or "output__0"
    return TritonModelSpec(
        name=name,
        inputs=tuple(inputs),
        outputs=(TensorSpec(output, "FP32", (1,), "one value per row assumed"),),
        max_batch_size=int(rule_.option(options, "max_batch_size")),
        loader="torch.jit.load" if site.load.kind == "torchscript" else "torch.load",
        origin=f"{source.path}: {site.load.handler.func.name.value}()",
    )


def _rewrite(
    source: Source, sites: list[_Site], spec: TritonModelSpec, url: str, repository: str
) -> cst.Module:
    modules = ("os", "threading", "numpy", "torch", "tritonclient.http", "tritonclient.utils")
    names, needed = imported_names(source, modules)
    calls = {call: _infer_call(call, site.inputs) for site in sites for call in site.calls}
    doomed = {node for site in sites for node in site.drop}
    module = source.module.visit(_Replace(calls, doomed))
    module = add_imports(module, needed)
    code = _client_code(spec, url, names)
    return insert_after_imports(module, _with_spacing(parse_statements(code, module), repository))


def _infer_call(call: cst.Call, inputs: list[str]) -> cst.Call:
    args = [
        arg.with_changes(
            keyword=cst.Name(name),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
        )
        for name, arg in zip(inputs, call.args, strict=True)
    ]
    return call.with_changes(func=cst.Name(INFER), args=args)


class _Replace(cst.CSTTransformer):
    def __init__(self, calls: dict[cst.Call, cst.Call], doomed: set[cst.CSTNode]) -> None:
        self.calls = calls
        self.doomed = doomed

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        replacement = self.calls.get(original_node)
        if replacement is None:
            return updated_node
        return replacement.with_changes(
            args=[
                new.with_changes(value=old.value)
                for new, old in zip(replacement.args, updated_node.args, strict=True)
            ]
        )

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not any(stmt in self.doomed for stmt in original_node.body):
            return updated_node
        body = drop_statements(updated_node.body, self.doomed, original_node.body)
        return updated_node.with_changes(body=body)


def _with_spacing(stmts: Sequence[cst.BaseStatement], repository: str) -> list[cst.BaseStatement]:
    comment = f"The model is served by Triton now ({MARK}: flask-to-triton); see {repository}/."
    spaced = []
    for index, stmt in enumerate(stmts):
        if index == 0:
            stmt = with_leading(stmt, blank_lines(2, comment))
        elif isinstance(stmt, cst.FunctionDef):
            stmt = with_leading(stmt, blank_lines(2))
        spaced.append(stmt)
    return spaced


def _client_code(spec: TritonModelSpec, url: str, names: dict[str, str]) -> str:
    threading, os_, np = names["threading"], names["os"], names["numpy"]
    torch, http, utils = names["torch"], names["tritonclient.http"], names["tritonclient.utils"]
    return f'''TRITON_URL = {os_}.environ.get("TRITON_URL", "{url}")
TRITON_MODEL = {os_}.environ.get("TRITON_MODEL", "{spec.name}")
_triton = {threading}.local()


def triton_client():
    """This thread's client: a tritonclient.http client must not be shared across threads."""
    client = getattr(_triton, "client", None)
    if client is None:
        client = _triton.client = {http}.InferenceServerClient(url=TRITON_URL)
    return client


def {INFER}(**tensors):
    """Run TRITON_MODEL on Triton: one input per keyword; the first output, as a tensor."""
    inputs = []
    for name, tensor in tensors.items():
        if isinstance(tensor, {torch}.Tensor):
            tensor = tensor.detach().cpu().numpy()
        array = {np}.asarray(tensor)
        if array.ndim == 1:
            array = array.reshape(-1, 1)  # one value per row: Triton batches along axis 0
        datatype = {utils}.np_to_triton_dtype(array.dtype)
        infer_input = {http}.InferInput(name, list(array.shape), datatype)
        infer_input.set_data_from_numpy(array)
        inputs.append(infer_input)
    result = triton_client().infer(TRITON_MODEL, inputs)
    output = result.get_response()["outputs"][0]["name"]
    return {torch}.from_numpy({np}.array(result.as_numpy(output)))
'''
