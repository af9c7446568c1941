"""per-request-client: create once per process the clients a route handler makes on
every request (a database engine, a cloud SDK client), when that is the same behaviour.

Before::

    @app.route("/s3")
    def s3_route():
        s3 = boto3.client("s3", region_name="eu-west-1")  # slow: a new client per request
        ...

After::

    # Created once per process, not on every request (infragap migrate: per-request-client).
    @functools.lru_cache(maxsize=None)
    def _s3_client():
        return boto3.client("s3", region_name="eu-west-1")


    @app.route("/s3")
    def s3_route():
        s3 = _s3_client()  # slow: a new client per request
        ...

A site is rewritten only when one per process is the same behaviour ("shareable"):

- the client is a kind documented as safe to share between threads (a boto3 client, a
  MongoClient, a redis client, a SQLAlchemy engine, an OpenAI client);
- every argument is a literal or a module constant: a name the module binds once (an
  assignment or an import), no function rebinds (`global`) and nothing changes in place
  (`CONFIG["x"] = ...`, `CONFIG.update(...)`; a constant handed to a function that
  changes it is not seen); and the client's module is imported at module level, where
  the factory can see it;
- the handler keeps it in a name and only uses that name's attributes and items: it does
  not close it (also `x.pool.dispose()`), use it in a `with`, return it, hand it to other
  code, make the name global, or change the client (`x.timeout = ...`, `x.meta.events.
  register(...)`, `engine.update_execution_options(...)`), any of which one shared client
  would carry from request to request.

Everything else stays as it was and is reported with the reason: connections (sqlite3,
psycopg2, MySQL: one thread, one transaction), logins (side effects), boto3 resources
and GCS clients (not documented as thread-safe), and the sites that fail a check above.

The factory is lazy, so nothing new runs at import time and a client that cannot be made
still fails on the first request, as before (lru_cache does not keep exceptions, so the
next request tries again); made after a server forks its workers, each worker gets its
own. The client reads its configuration (credentials, environment) once, when made. Two
sites that make the same client with the same arguments share one factory, in one
handler or in two: each request already got an identical, independent client, the checks
above say one client may serve every request of a handler, and so it may serve those of
two handlers as well, with one connection pool per process instead of one per handler.
Two first requests arriving together may both create the client (lru_cache does not
lock); one is kept, never worse than before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from infragap.migrate.analysis.handlers import FRAMEWORKS, Handler, find_handlers
from infragap.migrate.analysis.loads import REQUEST_GLOBALS, calls_in
from infragap.migrate.analysis.names import Binding, all_names, bindings, names_read, param_names
from infragap.migrate.analysis.trees import walk
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


@dataclass(frozen=True)
class ClientKind:
    label: str
    unshared: str = ""  # why one per process is not the same behaviour ("" if it is)


_CONNECTION = (
    "a connection carries one transaction at a time, so requests sharing it would share "
    "transactions: create a pool once instead"
)
CLIENTS = {
    "sqlite3.connect": ClientKind(
        "a SQLite connection",
        "a sqlite3 connection only works on the thread that made it, and requests run on others",
    ),
    "psycopg2.connect": ClientKind("a PostgreSQL connection", _CONNECTION),
    "psycopg.connect": ClientKind("a PostgreSQL connection", _CONNECTION),
    "pymysql.connect": ClientKind("a MySQL connection", _CONNECTION),
    "mysql.connector.connect": ClientKind("a MySQL connection", _CONNECTION),
    "pymongo.MongoClient": ClientKind("a MongoDB client"),
    "redis.Redis": ClientKind("a Redis client"),
    "redis.StrictRedis": ClientKind("a Redis client"),
    "redis.from_url": ClientKind("a Redis client"),
    "sqlalchemy.create_engine": ClientKind("a SQLAlchemy engine"),
    "boto3.client": ClientKind("a boto3 client"),
    "boto3.resource": ClientKind(
        "a boto3 resource", "boto3 resources are not thread-safe: share a boto3.client instead"
    ),
    "google.cloud.storage.Client": ClientKind(
        "a Google Cloud Storage client",
        "the client is not documented as safe to share between threads",
    ),
    "hopsworks.login": ClientKind(
        "a Hopsworks login",
        "a login opens a session with side effects: log in once at startup, by hand",
    ),
    "openai.OpenAI": ClientKind("an OpenAI client"),
    "openai.AsyncOpenAI": ClientKind("an OpenAI client"),
}
CLOSERS = frozenset({"close", "dispose", "disconnect", "logout", "shutdown"})
# Methods that change a client for every later user: botocore event hooks, SQLAlchemy's
# engine-wide options, redis-py's reply parsers.
CLIENT_MUTATORS = frozenset(
    {
        "register",
        "register_first",
        "register_last",
        "unregister",
        "update_execution_options",
        "set_response_callback",
    }
)
# Methods that change a module-level dict, list or set in place.
CONTAINER_MUTATORS = frozenset(
    {
        "update",
        "setdefault",
        "pop",
        "popitem",
        "clear",
        "append",
        "extend",
        "insert",
        "remove",
        "sort",
        "reverse",
        "add",
        "discard",
    }
)
FACTORY_COMMENT = f"Created once per process, not on every request ({MARK}: per-request-client)."


@dataclass(frozen=True)
class Site:
    """One client made in a handler: `why` says why it stays per request ("" = hoist)."""

    handler: Handler
    call: cst.Call
    client: ClientKind
    why: str
    target: str = ""  # the name the handler keeps it in


@rule("per-request-client")
class PerRequestClient(Rule):
    kind = "safe"
    summary = "Create a client a route handler makes per request once per process instead."
    why = (
        "A client or connection made in the handler pays the connect, TLS and login cost on "
        "every request, and leaks connections when it is not closed."
    )
    fixes = ("per-request-client",)
    prefilter = re.compile(
        r"connect|MongoClient|Redis|from_url|create_engine|boto3|storage|hopsworks|OpenAI"
    )

    def find(self, source: Source) -> list[Finding]:
        found = []
        for site in client_sites(source):
            message = (
                f"{site.handler.func.name.value}() creates {site.client.label} on every request"
            )
            if not site.why:
                message += (
                    "; it could be created once per process: built from constants, "
                    "safe to share between threads, and never closed, changed or handed on here"
                )
            fixes = () if site.why else self.fixes
            found.append(self.finding(source, site.call, message, unfixable=site.why, fixes=fixes))
        return found

    def fix(self, source: Source, options: Options) -> RuleResult:
        sites = client_sites(source)
        notes = tuple(
            Note(source.line_of(site.call), f"{site.client.label} left per request: {site.why}")
            for site in sites
            if site.why
        )
        shared = [site for site in sites if not site.why]
        if not shared:
            return RuleResult.from_edits(source.text, source.text, notes)
        decorator, imports, problem = _lru_cache(source)
        if problem:
            notes += tuple(Note(source.line_of(site.call), problem) for site in shared)
            return RuleResult.from_edits(source.text, source.text, notes)
        module = source.module.visit(_Hoist(_plan(source, shared, decorator)))
        module = add_imports(module, imports)
        return RuleResult.from_edits(source.text, module.code, notes)


def client_sites(source: Source) -> list[Site]:
    """Every client, connection and login a route handler of the file makes."""
    handlers = find_handlers(source)
    if not handlers:
        return []
    found = []
    module = _ModuleFacts.of(source)
    for handler in handlers:
        for call, stack in calls_in(source, handler.func):
            client = CLIENTS.get(source.qualname(call.func) or "")
            if client is None:
                continue
            target = _kept_in(call, stack)
            why = client.unshared or _why_not_shared(source, module, handler, call, stack, target)
            found.append(Site(handler, call, client, why, target))
    return found


def _kept_in(call: cst.Call, stack: tuple[cst.CSTNode, ...]) -> str:
    """The name of `name = <call>`, the only statement on its line; "" otherwise."""
    line = stack[-1] if stack and isinstance(stack[-1], cst.SimpleStatementLine) else None
    small = line.body[0] if line is not None and len(line.body) == 1 else None
    if (
        isinstance(small, cst.Assign)
        and small.value is call
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return small.targets[0].target.value
    return ""


def _why_not_shared(
    source: Source,
    module: _ModuleFacts,
    handler: Handler,
    call: cst.Call,
    stack: tuple[cst.CSTNode, ...],
    target: str,
) -> str:
    """Why this client must stay per request ("" when one per process is the same)."""
    local = set(param_names(handler.func)) | set(bindings(handler.func.body.body))
    enclosing = _enclosing_names(handler)
    for name in names_read(*call.args):
        if _is_request(source, name):
            return f"it is built from `{name}`, i.e. the request"
        if name in local:
            return f"it is built from `{name}`, which the handler computes or receives"
        if name in enclosing:
            return (
                f"it is built from `{name}`, which a function around the handler binds, "
                "out of a module-level factory's sight"
            )
    if any(_in_items(node, call) for node in stack):
        return "the handler opens it in a `with` block, which closes it after the request"
    if not target:
        return "the handler does not keep it in a name, so its uses cannot be checked"
    head = _head(call.func)
    if head in local or head in enclosing or head not in module.bindings:
        return f"`{head}` is not imported at module level, where a shared factory would need it"
    for arg in call.args:
        why = _not_constant(source, module, arg.value)
        if why:
            return why
    return _use_problem(source, handler.func, target)


def _enclosing_names(handler: Handler) -> set[str]:
    names: set[str] = set()
    for outer in handler.outer:
        names.update(param_names(outer), bindings(outer.body.body))
    return names


def _head(expr: cst.BaseExpression) -> str:
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else ""


def _is_request(source: Source, name: str) -> bool:
    origin = source.aliases.get(name, "").split(".", 1)[0]
    return name in REQUEST_GLOBALS and (origin in FRAMEWORKS or name not in source.module_names)


def _in_items(node: cst.CSTNode, call: cst.Call) -> bool:
    return isinstance(node, cst.With) and any(item.item is call for item in node.items)


def _root(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`a` of `a.b[c].d`."""
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr


# -- arguments: literals and module constants -------------------------------------------

_LITERALS = (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary)


@dataclass
class _ModuleFacts:
    """How the module binds and changes its names, for telling constants apart."""

    bindings: dict[str, list[Binding]]
    rebound: set[str] = field(default_factory=set)  # declared `global` in some function
    changed: dict[str, str] = field(default_factory=dict)  # name -> code that changes it

    @classmethod
    def of(cls, source: Source) -> _ModuleFacts:
        facts = cls(bindings(source.module.body))
        walk(source.module, _ModuleChanges(source, facts))
        return facts

    def constant_problem(self, name: str) -> str:
        """Why `name` may hold another value on a later request ("" when it cannot)."""
        found = self.bindings.get(name, [])
        if not found:
            return (
                f"it is built from `{name}`, which the module does not assign (a builtin or a "
                "star import?), so the rule cannot tell it is constant"
            )
        if len(found) > 1:
            return f"it is built from `{name}`, which the module assigns more than once"
        if found[0].kind not in ("assign", "import"):
            return f"it is built from `{name}`, which the module binds in a `{found[0].kind}`"
        if name in self.rebound:
            return f"it is built from `{name}`, which a function rebinds (`global {name}`)"
        if name in self.changed:
            return f"it is built from `{name}`, which the module changes (`{self.changed[name]}`)"
        return ""


class _ModuleChanges(cst.CSTVisitor):
    def __init__(self, source: Source, facts: _ModuleFacts) -> None:
        self.source = source
        self.facts = facts

    def _changed(self, target: cst.BaseExpression, code: cst.CSTNode) -> None:
        root = _root(target)
        if root is not target and isinstance(root, cst.Name):
            self.facts.changed.setdefault(root.value, self.source.code(code).strip())

    def visit_Global(self, node: cst.Global) -> None:
        self.facts.rebound.update(item.name.value for item in node.names)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._changed(node.target, node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._changed(node.target, node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._changed(node.target, node.target)

    def visit_Del(self, node: cst.Del) -> None:
        targets = node.target.elements if isinstance(node.target, cst.Tuple) else ()
        for target in (*(element.value for element in targets), node.target):
            self._changed(target, node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in CONTAINER_MUTATORS:
            root = _root(func.value)
            if isinstance(root, cst.Name):
                self.facts.changed.setdefault(root.value, self.source.code(node).strip())


def _not_constant(source: Source, module: _ModuleFacts, expr: cst.BaseExpression) -> str:
    """Why `expr` may differ between requests ("" for literals and module constants)."""
    parts: list[cst.BaseExpression]
    if isinstance(expr, _LITERALS):
        return ""
    if isinstance(expr, cst.Name):
        if expr.value in ("True", "False", "None"):
            return ""
        return module.constant_problem(expr.value)
    if isinstance(expr, cst.ConcatenatedString):
        parts = [expr.left, expr.right]
    elif isinstance(expr, cst.FormattedString):
        parts = [
            part.expression
            for part in expr.parts
            if isinstance(part, cst.FormattedStringExpression)
        ]
    elif isinstance(expr, cst.UnaryOperation):
        parts = [expr.expression]
    elif isinstance(expr, cst.BinaryOperation):
        parts = [expr.left, expr.right]
    elif isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        parts = [element.value for element in expr.elements]
    elif isinstance(expr, cst.Dict):
        parts = []
        for element in expr.elements:
            if isinstance(element, cst.DictElement):
                parts.append(element.key)
            parts.append(element.value)
    else:
        return (
            f"it is built from `{source.code(expr).strip()}`, which is neither a literal nor a "
            "module constant, so it may differ between requests"
        )
    return next((why for why in (_not_constant(source, module, p) for p in parts) if why), "")


# -- the handler's uses of the client ----------------------------------------------------


class _Uses(cst.CSTVisitor):
    """How a handler uses the name bound to the client, beyond its attributes and items."""

    def __init__(self, source: Source, name: str) -> None:
        self.source = source
        self.name = name
        self.problem = ""
        self.seen: set[cst.Name] = set()  # uses already judged

    def _is_name(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Name) and node.value == self.name

    def _report(self, problem: str) -> None:
        self.problem = self.problem or problem

    def _changes(self, target: cst.BaseExpression) -> None:
        if target is not _root(target) and self._is_name(_root(target)):
            self._report(
                f"the handler changes it (`{self.source.code(target).strip()} = ...`), and one "
                "shared client would carry the change from request to request"
            )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and self._is_name(_root(func)):
            method = func.attr.value
            if method in CLOSERS:
                self._report(f"the handler closes it (`.{method}()`)")
            elif method in CLIENT_MUTATORS:
                self._report(
                    f"the handler changes it (`{self.source.code(func).strip()}(...)`), and one "
                    "shared client would carry the change from request to request"
                )
        if any(self._is_name(arg.value) for arg in node.args):
            self._report("the handler hands it to other code, which may close it")

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if self._is_name(node.item):
            self._report("the handler uses it in a `with` block, which closes it")

    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        elements = value.elements if isinstance(value, (cst.Tuple, cst.List)) else ()
        if value is not None and any(
            self._is_name(v) for v in (value, *(e.value for e in elements))
        ):
            self._report("the handler returns it")

    def visit_Global(self, node: cst.Global) -> None:
        if any(self._is_name(item.name) for item in node.names):
            self._report(f"the handler makes it a global (`global {self.name}`)")

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        if any(self._is_name(item.name) for item in node.names):
            self._report(f"the handler shares it with an outer function (`nonlocal {self.name}`)")

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, cst.Name):
            self.seen.add(node.target)  # rebinding the name leaves the client alone
        self._changes(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._changes(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._changes(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        targets = node.target.elements if isinstance(node.target, cst.Tuple) else ()
        for target in (*(element.value for element in targets), node.target):
            self._changes(target)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.seen.add(node.attr)  # `boto3.client` does not use a variable `client`
        if isinstance(node.value, cst.Name):
            self.seen.add(node.value)  # `client.method(...)`, `client.attr`

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.seen.add(node.keyword)  # `f(client=...)` names a parameter

    def visit_Param(self, node: cst.Param) -> None:
        self.seen.add(node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.seen.add(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.seen.add(node.name)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if isinstance(node.value, cst.Name):
            self.seen.add(node.value)  # `client["db"]`

    def visit_Name(self, node: cst.Name) -> None:
        if self._is_name(node) and node not in self.seen:
            self._report(
                f"the handler uses `{self.name}` as a value, not only through its methods, so "
                "the rule cannot follow where it goes"
            )


def _use_problem(source: Source, func: cst.FunctionDef, name: str) -> str:
    uses = _Uses(source, name)
    walk(func.body, uses)
    return uses.problem


# -- the rewrite --------------------------------------------------------------------------


def _lru_cache(source: Source) -> tuple[str, list[tuple[str, str | None, str | None]], str]:
    """How the file names `functools.lru_cache` (`functools.lru_cache`, `ft.lru_cache`,
    `lru_cache`), the import to add for it, and why it cannot be named ("" when it can)."""
    module_bindings = bindings(source.module.body)
    imported = {
        local: qualname
        for local, qualname in sorted(source.aliases.items())
        if module_bindings.get(local)
        and all(binding.kind == "import" for binding in module_bindings[local])
    }
    for wanted, spelled in (("functools", "{}.lru_cache"), ("functools.lru_cache", "{}")):
        local = next((local for local, qualname in imported.items() if qualname == wanted), None)
        if local is not None:
            return spelled.format(local), [], ""
    if "functools" in module_bindings:
        why = "the module binds `functools` itself, so `import functools` cannot be added"
        return "", [], why
    return "functools.lru_cache", [("functools", None, None)], ""


@dataclass
class _Plan:
    calls: dict[cst.Call, cst.Call]
    factories: dict[cst.CSTNode, list[cst.BaseStatement]]  # module statement -> before it


def _plan(source: Source, sites: list[Site], decorator: str) -> _Plan:
    plan = _Plan({}, {})
    taken = set(source.module_names) | set(all_names(source.module))
    by_client: dict[tuple[object, ...], str] = {}
    for site in sites:
        key = (source.qualname(site.call.func), *(_arg_key(source, arg) for arg in site.call.args))
        name = by_client.get(key)
        if name is None:
            name = unique_name(_factory_name(site.target), taken)
            taken.add(name)
            by_client[key] = name
            plan.factories.setdefault(site.handler.top, []).append(
                _factory(source, name, decorator, site.call)
            )
        plan.calls[site.call] = cst.Call(cst.Name(name))
    return plan


def _arg_key(source: Source, arg: cst.Arg) -> tuple[str, str, str]:
    keyword = arg.keyword.value if arg.keyword is not None else ""
    return (keyword, str(arg.star), source.code(arg.value).strip())


def _factory_name(target: str) -> str:
    base = target.strip("_") or "client"
    return f"_{base}" if base.endswith(("client", "engine")) else f"_{base}_client"


def _factory(source: Source, name: str, decorator: str, call: cst.Call) -> cst.BaseStatement:
    body = [cst.SimpleStatementLine([cst.Return(call)])]
    return cached_function(source.module, decorator, name, (), body, FACTORY_COMMENT)


class _Hoist(cst.CSTTransformer):
    def __init__(self, plan: _Plan) -> None:
        self.plan = plan

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self.plan.calls.get(original_node, updated_node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body: list[cst.BaseStatement] = []
        for original, updated in zip(original_node.body, updated_node.body, strict=True):
            factories = self.plan.factories.get(original)
            if factories:
                body.extend(factories)
                body.append(ensure_blank_lines(updated, 2))
            else:
                body.append(updated)
        return updated_node.with_changes(body=body)
