"""Where a module-level function is called, across the files of a repository.

A call counts when its callee resolves, through the calling file's imports, to the
function: `build_features(...)` in its own module; `from serving.features import
build_features` (also relative, `from .features import ...`, or as a sibling script,
`from features import ...`) then `build_features(...)`; `import serving.features as
sf` then `sf.build_features(...)`. Module names may start below the repository root
(`src/serving/features.py` is `serving.features`). Nothing is imported or run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.handlers import find_handlers
from infragap.migrate.analysis.imports import dotted
from infragap.migrate.analysis.statements import small_statements, walk_statements
from infragap.migrate.analysis.trees import too_deep, walk
from infragap.migrate.source import NotPython, Source


@dataclass(frozen=True)
class CallSite:
    source: Source
    call: cst.Call
    caller: cst.FunctionDef | None  # the innermost function the call is in

    @property
    def line(self) -> int:
        return self.source.line_of(self.call)


def module_name(path: str) -> str:
    """`serving/features.py` -> `serving.features`; a package's `__init__.py` -> the package."""
    stem = path.removesuffix(".py")
    parts = stem.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolves_to(qualname: str, importer: str, target: str, paths: Collection[str] = ()) -> bool:
    """Whether `qualname`, as written in file `importer`, names module `target` (a path).

    A module name may start below the repository root (`src/`, one of several projects);
    then, of the `paths` it could name, the one nearest the importer wins.
    """
    module = module_name(target)
    if qualname == module:
        return True
    if "." in qualname.strip(".") and module.endswith(f".{qualname}"):
        rivals = [p for p in paths if p != target and _names_module(p, qualname)]
        if any(module_name(p) == qualname for p in rivals):
            return False
        near = len(posixpath.commonpath([importer, target]))
        return all(near >= len(posixpath.commonpath([importer, p])) for p in rivals)
    if qualname.startswith("."):
        dots = len(qualname) - len(qualname.lstrip("."))
        package = module_name(importer).split(".")
        if not importer.endswith("__init__.py"):
            package = package[:-1]  # a module's package; a package's __init__ is its own
        package = package[: len(package) - (dots - 1)]
        rest = qualname.lstrip(".")
        return ".".join([*package, *([rest] if rest else [])]) == module
    folder = posixpath.dirname(importer)
    sibling = posixpath.join(folder, *qualname.split(".")) + ".py"
    return folder != "" and posixpath.normpath(sibling) == target  # a script beside it


def _names_module(path: str, qualname: str) -> bool:
    module = module_name(path)
    return module == qualname or module.endswith(f".{qualname}")


class CallIndex:
    """The calls of some function names across the files, found in one pass per file.

    Only files whose text holds one of the names are parsed (files that do not parse
    are passed over); `sites()` then answers for any function of those names.
    """

    def __init__(self, sources: Iterable[Source], names: Iterable[str]) -> None:
        sources = list(sources)
        wanted = set(names)
        self._paths = [source.path for source in sources]
        self._calls: dict[str, list[tuple[str, CallSite]]] = {}
        self._handlers: dict[str, set[int]] = {}
        self.passed_over: dict[str, str] = {}  # path -> why (too deep for LibCST's walk)
        for source in sources:
            present = {name for name in wanted if name in source.text}
            if not present:
                continue
            try:
                visitor = _Calls(source, present)
                walk(source.module, visitor)
            except NotPython:
                continue
            except RecursionError:
                self.passed_over[source.path] = too_deep()
                continue
            for name, module, site in visitor.found:
                self._calls.setdefault(name, []).append((module, site))

    def sites(self, path: str, name: str) -> list[CallSite]:
        """Every call of `name`, defined at the top of file `path`."""
        found = []
        for module, site in self._calls.get(name, []):
            if module:
                hit = resolves_to(module, site.source.path, path, self._paths)
            else:  # a bare name: the function itself, in its own module
                hit = site.source.path == path and name not in site.source.aliases
            if hit:
                found.append(site)
        return found

    def in_handler(self, site: CallSite) -> bool:
        """Whether the call is made by a web route handler (Flask, FastAPI, ...)."""
        path = site.source.path
        if path not in self._handlers:
            self._handlers[path] = {id(h.func) for h in find_handlers(site.source)}
        return site.caller is not None and id(site.caller) in self._handlers[path]


class _Calls(cst.CSTVisitor):
    def __init__(self, source: Source, names: set[str]) -> None:
        self.source = source
        self.names = names
        self.functions: list[cst.FunctionDef] = []
        self.found: list[tuple[str, str, CallSite]] = []  # name, module it is called in, site

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.source.qualname(node.func)
        if qualname is None:
            return
        module, _, function = qualname.rpartition(".")
        if function in self.names:
            caller = self.functions[-1] if self.functions else None
            self.found.append((function, module, CallSite(self.source, node, caller)))


def import_of(source: Source, path: str, name: str) -> list[cst.ImportFrom]:
    """The `from <module of path> import name` statements of a file."""
    found = []
    for stmt in walk_statements(source.module.body):
        for small in small_statements(stmt):
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            base = "." * len(small.relative) + (dotted(small.module) if small.module else "")
            if not resolves_to(base, source.path, path):
                continue
            if any(dotted(alias.name) == name for alias in small.names):
                found.append(small)
    return found
