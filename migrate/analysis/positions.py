"""Where each node of a module is (line, column), as LibCST's PositionProvider says.

PositionProvider generates the module's code and records every node's range on the way:
a dataclass per position, two per node, and a generator-based context manager per
statement, which makes it cost about five times the code generation itself, more than
the parse. `LeanPositions` records the same numbers as plain tuples, with the same code
generation, and builds a `CodeRange` only for the nodes a rule asks about. A self-check
against PositionProvider on first use guards against a LibCST release that generates
code differently: then PositionProvider does the work, as before. `header_ranges` does
the same for one statement, or a compound statement's header, from a known start
(`starts` uses it so that most files never generate the whole module's code).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

try:  # not public API: without it, PositionProvider does the work
    from libcst.metadata.position_provider import PositionProvidingCodegenState
except ImportError:  # pragma: no cover - depends on the LibCST release
    PositionProvidingCodegenState = None  # type: ignore[assignment,misc]

Point = tuple[int, int]  # line (1-based), column (0-based)
NEWLINES = re.compile(r"\r\n?|\n")
SELF_CHECK = (
    '@deco(1)\nasync def f(a, *, b=1) -> "T":\n    """Doc."""\n'
    '    x = [y for y in z if y]; return {\n        "k": x,  # note\n    }\n'
)


def whole_module_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Every node's range, as `MetadataWrapper.resolve(PositionProvider)` gives it."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    generate = getattr(PositionProvider(), "_gen", None)
    if generate is None:  # the private shortcut is gone: take the public road
        return wrapper.resolve(PositionProvider)
    # wrapper.resolve() would add a second, empty traversal of the whole tree (libcst
    # 1.x runs its batched visitor even with no batchable provider): half the cost.
    return generate(wrapper)


def module_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Every node's range, the cheap way when it gives PositionProvider's answers."""
    if not lean_works():
        return whole_module_positions(module)
    return LeanPositions(_lean_ranges(module))


class LeanPositions(Mapping[cst.CSTNode, CodeRange]):
    def __init__(self, ranges: Mapping[cst.CSTNode, tuple[Point, Point]]) -> None:
        self._ranges = ranges

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start, end = self._ranges[node]
        return CodeRange(CodePosition(*start), CodePosition(*end))

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)


class _Recorder:
    """Where the code generation is (`line`, `column`), and each node's range."""

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, tuple[Point, Point]] = {}


def _lean_ranges(module: cst.Module) -> dict[cst.CSTNode, tuple[Point, Point]]:
    recorder = _Recorder()
    state = _LeanState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=recorder,  # type: ignore[arg-type]  # it only needs _computed
    )
    module._codegen(state)
    return recorder._computed


SUITES = frozenset({cst.IndentedBlock, cst.SimpleStatementSuite})


class HeaderDone(Exception):
    """The code generation of a compound statement reached its body: the header is done."""


def header_ranges(
    module: cst.Module, unit: cst.CSTNode, start: Point, indent: list[str], **how: Any
) -> dict[cst.CSTNode, tuple[Point, Point]]:
    """Each node's range in `unit` (a small statement, or a compound statement's
    header), generating its code from `start` inside blocks indented by `indent`; `how`
    as its parent would pass it (`is_elif=True`)."""
    recorder = _Recorder()
    state = _HeaderState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=recorder,  # type: ignore[arg-type]
        indent_tokens=indent,
    )
    state.unit, state.start = unit, start
    with contextlib.suppress(HeaderDone):
        unit._codegen(state, **how)
    return recorder._computed


_checked: list[bool] = []


def lean_works() -> bool:
    """Whether the lean state gives PositionProvider's answers in this LibCST release."""
    if not _checked:
        _checked.append(_same_as_libcst(cst.parse_module(SELF_CHECK)))
    return _checked[0]


def _same_as_libcst(module: cst.Module) -> bool:
    if PositionProvidingCodegenState is None:
        return False
    try:
        lean = LeanPositions(_lean_ranges(module))
    except Exception:  # any change inside LibCST: use its own provider
        return False
    whole = whole_module_positions(module)
    return len(lean) == len(whole) and all(lean[node] == whole[node] for node in whole)


class _Syntactic:
    """PositionProvidingCodegenState.record_syntactic_position, without a generator."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(self, state: Any, node: cst.CSTNode, start_node: Any, end_node: Any) -> None:
        self.state, self.node = state, node
        self.start_node, self.end_node = start_node, end_node
        self.start: Point = (0, 0)

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:  # a header-only generation stopped at the body
            return
        computed = self.state.provider._computed
        start = computed[self.start_node][0] if self.start_node is not None else self.start
        end = (
            computed[self.end_node][1]
            if self.end_node is not None
            else (self.state.line, self.state.column)
        )
        computed[self.node] = (start, end)


if PositionProvidingCodegenState is not None:

    class _LeanState(PositionProvidingCodegenState):
        __slots__ = ()

        def _update_position(self, value: str) -> None:
            if "\n" in value or "\r" in value:
                segments = NEWLINES.split(value)
                self.line += len(segments) - 1
                self.column = len(segments[-1])
            else:
                self.column += len(value)

        def before_codegen(self, node: cst.CSTNode) -> None:
            self._stack.append((self.line, self.column))  # type: ignore[arg-type]

        def after_codegen(self, node: cst.CSTNode) -> None:
            start = self._stack.pop()
            computed = self.provider._computed
            if node not in computed:  # a syntactic range, recorded already, stands
                computed[node] = (start, (self.line, self.column))  # type: ignore[assignment]

        def record_syntactic_position(  # type: ignore[override]
            self,
            node: cst.CSTNode,
            *,
            start_node: cst.CSTNode | None = None,
            end_node: cst.CSTNode | None = None,
        ) -> _Syntactic:
            self._entering(node)
            return _Syntactic(self, node, start_node, end_node)

        def _entering(self, node: cst.CSTNode) -> None:
            """Called where `node`'s own code begins."""

    class _HeaderState(_LeanState):
        """Positions from `start` on, where `unit`'s own code begins (after its leading
        lines, indentation and decorators), up to its body."""

        __slots__ = ("start", "unit")
        start: Point
        unit: cst.CSTNode

        def before_codegen(self, node: cst.CSTNode) -> None:
            if type(node) in SUITES:
                raise HeaderDone
            super().before_codegen(node)

        def _entering(self, node: cst.CSTNode) -> None:
            if node is self.unit:
                self.line, self.column = self.start
                self.provider._computed.clear()  # decorators and leading lines: not placed
