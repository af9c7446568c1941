"""Flask/FastAPI route handlers: decorated views (also nested in app factories) and
views registered with `add_url_rule`. Class-based views are not handlers here."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.statements import child_blocks, small_statements, walk_statements
from infragap.migrate.source import Source

ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "delete", "patch", "api_route"})


FRAMEWORKS = frozenset({"flask", "fastapi", "quart", "starlette", "sanic"})


@dataclass(frozen=True)
class Handler:
    func: cst.FunctionDef
    outer: tuple[cst.FunctionDef, ...]
    top: cst.CSTNode  # the module-level statement that holds the handler


def uses_web_framework(source: Source) -> bool:
    return any(name.split(".", 1)[0] in FRAMEWORKS for name in source.aliases.values())


def find_handlers(source: Source) -> list[Handler]:
    """Route handlers in the file, including routes nested in app factories; not methods."""
    if not uses_web_framework(source):
        return []
    views = _url_rule_views(source)
    found: list[Handler] = []
    for top in source.module.body:
        _collect(top, top, (), found, views)
    return found


def _collect(
    stmt: cst.CSTNode,
    top: cst.CSTNode,
    outer: tuple[cst.FunctionDef, ...],
    found: list[Handler],
    views: set[str],
) -> None:
    if type(stmt) is cst.ClassDef:  # exact types: an isinstance miss on an ABC is slow
        return
    if type(stmt) is cst.FunctionDef:
        if stmt.name.value in views or any(_is_route(d.decorator) for d in stmt.decorators):
            found.append(Handler(stmt, outer, top))
            return
        outer = (*outer, stmt)
    for block in child_blocks(stmt):
        if isinstance(block, cst.IndentedBlock):
            for inner in block.body:
                _collect(inner, top, outer, found, views)


def _is_route(decorator: cst.BaseExpression) -> bool:
    if not isinstance(decorator, cst.Call) or not isinstance(decorator.func, cst.Attribute):
        return False
    method = decorator.func.attr.value
    if method not in ROUTE_DECORATORS:
        return False
    if method in ("route", "api_route"):
        return True
    # `.get("/path")` is a route; `.get("key")` on a dict-like object is not.
    for arg in decorator.args:
        if arg.keyword is None or arg.keyword.value in ("path", "rule"):
            value = arg.value
            return isinstance(value, cst.SimpleString) and str(value.evaluated_value).startswith(
                "/"
            )
    return False


def _url_rule_views(source: Source) -> set[str]:
    """Functions registered with `app.add_url_rule(rule, endpoint, view_func)`."""
    views: set[str] = set()
    for stmt in walk_statements(source.module.body):
        for small in small_statements(stmt):
            call = small.value if type(small) is cst.Expr else None
            if not (type(call) is cst.Call and type(call.func) is cst.Attribute):
                continue
            if call.func.attr.value != "add_url_rule":
                continue
            for index, arg in enumerate(call.args):
                is_view = (arg.keyword is None and index == 2) or (
                    arg.keyword is not None and arg.keyword.value == "view_func"
                )
                if is_view and isinstance(arg.value, cst.Name):
                    views.add(arg.value.value)
    return views
