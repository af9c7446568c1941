"""The edits preprocessing-to-feast makes in Python files, applied in one LibCST pass.

In a module holding a migrated copy: a deprecation comment on the copy, its
`<name>_from_feast()` twin right after it, and a cached `feature_store()` accessor
after the imports. In every module calling a copy: the calls (and their imports) point
at the twin. Everything else is left as it was written.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field

import libcst as cst

from infragap.migrate.analysis.call_sites import CallSite, import_of
from infragap.migrate.analysis.feature_functions import DEPRECATED, FeatureFunction
from infragap.migrate.analysis.names import bindings
from infragap.migrate.analysis.trees import walk
from infragap.migrate.edits import (
    add_imports,
    blank_lines,
    imported_names,
    insert_after_imports,
    parse_statement,
    parse_statements,
    unique_name,
    with_leading,
)
from infragap.migrate.results import Note
from infragap.migrate.source import Source

SUFFIX = "_from_feast"
STORE = "STORE"  # where the lookup templates name the accessor


@dataclass
class ModuleEdits:
    source: Source
    deprecate: dict[cst.FunctionDef, list[str]] = field(default_factory=dict)
    twins: dict[cst.FunctionDef, cst.FunctionDef] = field(default_factory=dict)
    calls: dict[cst.Call, cst.BaseExpression] = field(default_factory=dict)
    imports: dict[cst.ImportFrom, tuple[str, str, bool]] = field(default_factory=dict)
    store: str = ""  # the accessor's name, when this module reads from Feast
    notes: list[Note] = field(default_factory=list)

    def renamed(self) -> list[tuple[int, str, str]]:
        """(line, "calls" or "imports", original function) for each rewritten site."""
        found = []
        for call, func in self.calls.items():
            name = func.value if isinstance(func, cst.Name) else _attr(func)
            found.append((self.source.line_of(call), "calls", name.removesuffix(SUFFIX)))
        for statement, (old, _, _) in self.imports.items():
            found.append((self.source.line_of(statement), "imports", old))
        return sorted(set(found))


def _attr(func: cst.BaseExpression) -> str:
    return func.attr.value if isinstance(func, cst.Attribute) else ""


def local_names(function: FeatureFunction) -> set[str]:
    return set(bindings(function.node.body.body)) | set(function.params)


def add_twin(edits: ModuleEdits, function: FeatureFunction, lookup: list[str], doc: str) -> str:
    """Deprecate `function` and add its twin: same set-up and return, `lookup` between.

    `lookup` is code with STORE where the accessor's name goes. Returns the twin's name.
    """
    edits.store = edits.store or unique_name("feature_store", edits.source.module_names)
    twin = f"{function.name}{SUFFIX}"
    module = edits.source.module
    body = function.node.body
    assert isinstance(body, cst.IndentedBlock)
    looked_up = [parse_statement(code.replace(STORE, edits.store), module) for code in lookup]
    docstring = parse_statement(f'"""{function.name}(), from Feast: {doc}."""', module)
    edits.twins[function.node] = function.node.with_changes(
        name=cst.Name(twin),
        decorators=[],
        leading_lines=blank_lines(2),
        body=body.with_changes(body=[docstring, *function.setup, *looked_up, *function.tail]),
    )
    return twin


def rename_call(edits: ModuleEdits, site: CallSite, function: FeatureFunction, twin: str) -> None:
    """Point one call of `function` at its twin; an imported name is renamed where imported."""
    func = site.call.func
    if isinstance(func, cst.Attribute):
        edits.calls[site.call] = func.with_changes(attr=cst.Name(twin))
        return
    if isinstance(func, cst.Name) and func.value == function.name:
        edits.calls[site.call] = cst.Name(twin)  # an `as` alias keeps its name: renamed below
    for statement in import_of(site.source, function.path, function.name):
        edits.imports[statement] = (function.name, twin, _used_otherwise(edits, function.name))


def _used_otherwise(edits: ModuleEdits, name: str) -> bool:
    """Whether the imported `name` is read in the file other than as a renamed callee."""
    reads = _Reads(name, {id(call.func) for call in edits.calls})
    walk(edits.source.module, reads)
    return reads.found


class _Reads(cst.CSTVisitor):
    """Whether `name` is read outside imports, other than by the nodes `renamed`."""

    def __init__(self, name: str, renamed: set[int]) -> None:
        super().__init__()
        self.name, self.renamed = name, renamed
        self.found = False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name and id(node) not in self.renamed:
            self.found = True


def apply(edits: ModuleEdits, repository: str) -> str:
    """The file's new text: the edits, and the accessor when the module reads from Feast."""
    module = edits.source.module.visit(_Rewrite(edits))
    if not edits.store:
        return module.code
    source = edits.source
    names, needed = imported_names(source, ("os", "functools", "feast"))
    module = add_imports(module, needed)
    folder = posixpath.dirname(source.path) or "."
    parts = ", ".join(json.dumps(p) for p in posixpath.relpath(repository, folder).split("/"))
    repo = unique_name("FEAST_REPO", source.module_names)
    os_, functools_, feast_ = names["os"], names["functools"], names["feast"]
    here = f"{os_}.path.dirname({os_}.path.abspath(__file__))"
    code = (
        f"{repo} = {os_}.environ.get(\n"
        f'    "FEAST_REPO", {os_}.path.join({here}, {parts})\n'
        ")\n\n\n"
        f"@{functools_}.lru_cache(maxsize=None)\n"
        f"def {edits.store}():\n"
        f'    """The Feast feature store in {repository}/ (FEAST_REPO names another copy)."""\n'
        f"    return {feast_}.FeatureStore(repo_path={repo})\n"
    )
    stmts = parse_statements(code, module)
    comment = f"Features are read from Feast now ({DEPRECATED}); see {repository}/."
    stmts[0] = with_leading(stmts[0], blank_lines(2, comment))
    stmts[-1] = with_leading(stmts[-1], blank_lines(2))
    return insert_after_imports(module, stmts).code


class _Rewrite(cst.CSTTransformer):
    def __init__(self, edits: ModuleEdits) -> None:
        self.edits = edits

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = self.edits.calls.get(original_node)
        return updated_node if func is None else updated_node.with_changes(func=func)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        edit = self.edits.imports.get(original_node)
        if edit is None or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        old, new, keep_old = edit
        names: list[cst.ImportAlias] = []
        for alias in updated_node.names:
            if not (isinstance(alias.name, cst.Name) and alias.name.value == old):
                names.append(alias)
                continue
            if keep_old and alias.asname is None:  # `from m import f` -> `from m import f, f2`
                comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                names.append(alias.with_changes(comma=comma))
            names.append(alias.with_changes(name=cst.Name(new)))
        return updated_node.with_changes(names=names)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body: list[cst.BaseStatement] = []
        for original, stmt in zip(original_node.body, updated_node.body, strict=True):
            if isinstance(original, cst.FunctionDef) and isinstance(stmt, cst.FunctionDef):
                comment = self.edits.deprecate.get(original, [])
                lines = [cst.EmptyLine(comment=cst.Comment(f"# {text}")) for text in comment]
                stmt = stmt.with_changes(leading_lines=[*stmt.leading_lines, *lines])
                body.append(stmt)
                if original in self.edits.twins:
                    body.append(self.edits.twins[original])
            else:
                body.append(stmt)
        return updated_node.with_changes(body=body)
