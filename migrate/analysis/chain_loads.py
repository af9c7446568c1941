"""Model loads a handler reaches through other calls, and whether caching the handler's
call is the same behaviour.

The handler's call is cached (like a load in the handler) only when all of this holds:
the chain stays in the handler's file (a rewrite of one file cannot check another),
the call takes no request data and no function on the way reads the request, the
handler keeps the call's value in a name and does not change it, and an object the
call builds has no method that changes it (one shared object would carry that change
from request to request). Otherwise the finding says which of these failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from infragap.migrate.analysis.call_chains import Chain, handler_chains
from infragap.migrate.analysis.call_facts import FileFacts
from infragap.migrate.analysis.handlers import Handler
from infragap.migrate.analysis.loads import LOADERS, ModelLoad, call_load, calls_in
from infragap.migrate.source import Source


@dataclass(frozen=True)
class ChainLoad:
    chain: Chain
    blocker: str  # why the handler's call is not cached ("" when it is)
    more: int = 0  # other loads reached through the same call
    load: ModelLoad | None = None  # the handler's call, set when it is cached


def describe(chain: Chain, more: int = 0) -> str:
    calls = f"{len(chain.frames)} call{'s' if len(chain.frames) != 1 else ''}"
    also = f" (and {more} more load{'s' if more != 1 else ''} on the way)" if more else ""
    return f"{chain.handler}() runs {chain.loader}() on every request{also}, {calls} away: " + (
        chain.text()
    )


def chain_blocker(chain: Chain, facts: Mapping[str, FileFacts]) -> str:
    """Why the handler's call that starts `chain` cannot be cached; "" when it can."""
    entry = chain.entry.code
    if chain.request:
        return f"the load depends on the request: {chain.request}"
    if chain.passes_request:
        names = ", ".join(f"`{name}`" for name in chain.passes_request)
        return (
            f"{entry}() is passed request data ({names}), so the call cannot be cached where "
            "the handler makes it; the load inside does not depend on the request: load the "
            "model once (at import, or in __init__ with the object created once)"
        )
    if chain.crosses_files:
        elsewhere = next(f for f in chain.frames if f.path != chain.path)
        return (
            f"the load is made in {elsewhere.path} ({elsewhere.name}), and apply rewrites one "
            "file at a time, so it cannot check that code while it rewrites this one: load "
            "the model once there (at import, or in __init__ with the object created once)"
        )
    if not chain.entry.kept_as:
        return f"the handler does not keep what {entry}() returns in a name, so nothing to cache"
    first = chain.frames[0]
    if first.name.endswith(".__init__"):
        cls = first.name.removesuffix(".__init__")
        for function in facts[first.path].functions.values():
            method = function.name.startswith(f"{cls}.") and function.name != first.name
            if method and function.changes_self:
                return (
                    f"{function.name}() changes the object (`{function.changes_self}`), "
                    "so one shared instance would carry that change between requests"
                )
    return ""


def file_chain_loads(source: Source, handlers: list[Handler], facts: FileFacts) -> list[ChainLoad]:
    """Chains within the file, one per handler call: the first load it reaches, and the
    first reason any of its loads gives not to cache the call."""
    by_line = {source.line_of(h.func.name): h for h in handlers}
    by_entry: dict[tuple[int, int], list[Chain]] = {}
    for chain in handler_chains({source.path: facts}):
        by_entry.setdefault((chain.entry.line, chain.entry.column), []).append(chain)
    found: list[ChainLoad] = []
    for chains in by_entry.values():
        chain = chains[0]
        more = len(chains) - 1
        reasons = (chain_blocker(each, {source.path: facts}) for each in chains)
        blocker = next((why for why in reasons if why), "")
        handler = by_line.get(facts.functions[chain.handler].line)
        if blocker or handler is None:
            found.append(ChainLoad(chain, blocker or "the handler could not be found again", more))
            continue
        load = _entry_load(source, handler, chain)
        found.append(ChainLoad(chain, load.blocker, more, load))
    return found


def _entry_load(source: Source, handler: Handler, chain: Chain) -> ModelLoad:
    for call, stack in calls_in(source, handler.func):
        if (source.line_of(call), source.column_of(call)) == (chain.entry.line, chain.entry.column):
            return call_load(source, handler, call, stack, LOADERS.get(chain.loader, "chain"))
    raise LookupError(f"{chain.entry.code}() at line {chain.entry.line} is not in the handler")
