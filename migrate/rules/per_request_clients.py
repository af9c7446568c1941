"""per-request-client: report clients, connections and logins a route handler makes on
every request (a database connection, a cloud SDK client, a feature store login).

Report-only for now. Each finding says whether the client could be created once per
process with the same behaviour: it must be a kind documented as safe to share between
threads (a boto3 client, a MongoClient, a redis client, a SQLAlchemy engine, an OpenAI
client), built from literals and module constants, and the handler must neither close
it, nor use it in a `with`, nor hand it to other code (which may close it). Connections
(sqlite3, psycopg2, MySQL) and logins are never shared: a connection belongs to one
thread or carries one transaction, and a login has side effects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.handlers import FRAMEWORKS, Handler, find_handlers
from infragap.migrate.analysis.loads import REQUEST_GLOBALS, calls_in
from infragap.migrate.analysis.names import bindings, names_read, param_names
from infragap.migrate.results import Finding
from infragap.migrate.rules.base import Rule, rule
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


@rule("per-request-client")
class PerRequestClient(Rule):
    kind = "report-only"
    summary = "Report clients, connections and logins a route handler creates per request."
    why = (
        "A client or connection made in the handler pays the connect, TLS and login cost on "
        "every request, and leaks connections when it is not closed."
    )
    planned = "create shareable clients once per process (a cached factory), as model loads are"
    prefilter = re.compile(
        r"connect|MongoClient|Redis|from_url|create_engine|boto3|storage|hopsworks|OpenAI"
    )

    def find(self, source: Source) -> list[Finding]:
        found = []
        for handler in find_handlers(source):
            for call, stack in calls_in(handler.func):
                qualname = source.qualname(call.func) or ""
                client = CLIENTS.get(qualname)
                if client is None:
                    continue
                why = client.unshared or _why_not_shared(source, handler, call, stack)
                message = f"{handler.func.name.value}() creates {client.label} on every request"
                if not why:
                    message += (
                        "; it could be created once per process: built from constants, "
                        "safe to share between threads, and never closed or handed on here"
                    )
                found.append(self.finding(source, call, message, unfixable=why, fixes=()))
        return found


def _why_not_shared(
    source: Source, handler: Handler, call: cst.Call, stack: tuple[cst.CSTNode, ...]
) -> str:
    """Why this client must stay per request ("" when one per process is the same)."""
    local = set(param_names(handler.func)) | set(bindings(handler.func.body.body))
    for name in names_read(*call.args):
        if _is_request(source, name):
            return f"it is built from `{name}`, i.e. the request"
        if name in local:
            return f"it is built from `{name}`, which the handler computes or receives"
    if any(_in_items(node, call) for node in stack):
        return "the handler opens it in a `with` block, which closes it after the request"
    line = stack[-1] if stack and isinstance(stack[-1], cst.SimpleStatementLine) else None
    small = line.body[0] if line is not None and len(line.body) == 1 else None
    if not (
        isinstance(small, cst.Assign)
        and small.value is call
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return "the handler does not keep it in a name, so its uses cannot be checked"
    return _use_problem(handler.func, small.targets[0].target.value)


def _is_request(source: Source, name: str) -> bool:
    origin = source.aliases.get(name, "").split(".", 1)[0]
    return name in REQUEST_GLOBALS and (origin in FRAMEWORKS or name not in source.module_names)


def _in_items(node: cst.CSTNode, call: cst.Call) -> bool:
    return isinstance(node, cst.With) and any(item.item is call for item in node.items)


class _Uses(cst.CSTVisitor):
    """How a handler uses the name bound to the client, beyond calling its methods."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problem = ""

    def _is_name(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Name) and node.value == self.name

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and self._is_name(func.value)
            and func.attr.value in CLOSERS
        ):
            self.problem = self.problem or f"the handler closes it (`.{func.attr.value}()`)"
        if any(self._is_name(arg.value) for arg in node.args):
            self.problem = self.problem or "the handler hands it to other code, which may close it"

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if self._is_name(node.item):
            self.problem = self.problem or "the handler uses it in a `with` block, which closes it"

    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        elements = value.elements if isinstance(value, (cst.Tuple, cst.List)) else ()
        if value is not None and any(
            self._is_name(v) for v in (value, *(e.value for e in elements))
        ):
            self.problem = self.problem or "the handler returns it"

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        if isinstance(target, cst.Attribute) and self._is_name(target.value):
            changed = f"`{self.name}.{target.attr.value} = ...`"
            self.problem = self.problem or f"the handler changes it ({changed})"


def _use_problem(func: cst.FunctionDef, name: str) -> str:
    uses = _Uses(name)
    func.body.visit(uses)
    return uses.problem
