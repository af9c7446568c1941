"""Follow a route handler's calls, across functions, methods and modules, to model loads.

Works on `FileFacts` (plain data), so it answers for one file or for a whole
repository alike. The walk uses an explicit worklist and stops after `MAX_CALLS`
calls from the handler: a load further away is not reported (the rule claims nothing
about code it did not follow). A function already on the current path is not entered
again, so call cycles end, and `MAX_VISITS` bounds the work whatever the input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from infragap.migrate.analysis.call_facts import FileFacts, FunctionFacts, Step
from infragap.migrate.analysis.call_sites import resolves_to

MAX_CALLS = 3
MAX_VISITS = 2000
FROM_HANDLER = "the handler's call"


@dataclass(frozen=True)
class Frame:
    name: str  # "PredictPipeline.predict"
    path: str
    line: int  # where this function makes the next call, or the load


@dataclass(frozen=True)
class Chain:
    """handler -> frames... -> loader: one model load a request reaches."""

    path: str  # the handler's file
    handler: str
    entry: Step  # the handler's call that starts the chain
    frames: tuple[Frame, ...]
    loader: str
    request: str  # why the load depends on the request ("" when it does not)

    @property
    def crosses_files(self) -> bool:
        return any(frame.path != self.path for frame in self.frames)

    @property
    def passes_request(self) -> tuple[str, ...]:
        """The request data the handler hands to the chain's first call."""
        entry = self.entry
        return (*entry.from_params, *([entry.from_request] if entry.from_request else []))

    def text(self) -> str:
        hops = " -> ".join(f"{f.name} ({f.path}:{f.line})" for f in self.frames)
        return f"{self.path}:{self.handler} -> {hops} -> {self.loader}"


@dataclass(frozen=True)
class _Visit:
    path: str
    function: str
    entry: Step
    frames: tuple[Frame, ...]  # the callers so far; their lines are the calls made
    taint: str  # where request data entered the parameters ("" when it did not)


def resolve(facts: Mapping[str, FileFacts], path: str, step: Step) -> tuple[str, str] | None:
    """(path, function) that `step` calls, among the facts; None when not the repository's."""
    if not step.imported:
        return (path, step.target) if step.target in facts[path].functions else None
    dots = len(step.target) - len(step.target.lstrip("."))
    parts = step.target[dots:].split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module, symbol = "." * dots + ".".join(parts[:cut]), ".".join(parts[cut:])
        for other, file in facts.items():
            if symbol in file.functions and resolves_to(module, path, other, facts.keys()):
                return other, symbol
    return None


def chains_from(facts: Mapping[str, FileFacts], path: str, handler: FunctionFacts) -> list[Chain]:
    """Every model load the handler reaches within MAX_CALLS calls, in the order found."""
    found: list[Chain] = []
    work: deque[_Visit] = deque()
    for step in handler.steps:
        callee = resolve(facts, path, step) if step.target else None
        if callee is not None:
            taint = FROM_HANDLER if step.from_params or step.from_request else ""
            first = Frame(handler.name, path, step.line)
            work.append(_Visit(callee[0], callee[1], step, (first,), taint))
    visits = 0
    while work and visits < MAX_VISITS:
        visit = work.popleft()
        visits += 1
        function = facts[visit.path].functions[visit.function]
        if function.cached or function.handler:
            continue  # loads once per process already, or is a route of its own
        on_path = {(f.path, f.name) for f in visit.frames}
        for step in function.steps:
            here = Frame(function.name, visit.path, step.line)
            if step.loader:
                frames = (*visit.frames[1:], here)
                why = _request(step, _origin(step, visit, function.name))
                found.append(Chain(path, handler.name, visit.entry, frames, step.loader, why))
                continue
            callee = resolve(facts, visit.path, step)
            if callee is None or callee in on_path or len(visit.frames) >= MAX_CALLS:
                continue
            frames = (*visit.frames, here)
            taint = _origin(step, visit, function.name)
            work.append(_Visit(callee[0], callee[1], visit.entry, frames, taint))
    return found


def _origin(step: Step, visit: _Visit, function: str) -> str:
    """Where the request data `step` passes on entered the chain ("" when it passes none)."""
    if step.from_request:
        return f"`{step.from_request}` in {function}"
    if not (visit.taint and step.from_params):
        return ""
    if visit.taint != FROM_HANDLER:
        return visit.taint
    return f"{', '.join(f'`{name}`' for name in step.from_params)} in {function}"


def _request(step: Step, origin: str) -> str:
    if step.from_request:
        return f"it reads `{step.from_request}`, i.e. the request"
    if origin:
        return f"its arguments come from {origin}, which the handler fills from request data"
    return ""


def handler_chains(facts: Mapping[str, FileFacts]) -> list[Chain]:
    """The chains of every handler in the facts."""
    return [
        chain
        for path, file in sorted(facts.items())
        for function in file.functions.values()
        if function.handler
        for chain in chains_from(facts, path, function)
    ]
