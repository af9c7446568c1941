"""How `scan` does its work (not how fast): it imports the rules only for files to read,
gives the same findings in worker processes, and places nodes as LibCST would."""

from __future__ import annotations

import gc
import subprocess
import sys
import warnings
from pathlib import Path

import libcst as cst
import pytest

from infragap.migrate import pool
from infragap.migrate.analysis.names import all_names, names_read
from infragap.migrate.analysis.positions import (
    LeanPositions,
    module_positions,
    whole_module_positions,
)
from infragap.migrate.analysis.starts import StartPositions, statement_starts
from infragap.migrate.analysis.trees import LAYOUT, children, preorder, walk
from infragap.migrate.rules import RULES
from infragap.migrate.scan import scan, scan_file
from infragap.migrate.source import Source
from infragap.migrate.walk import explore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WALKED = """
# a comment
@deco(key=1)
def f(a, *, b=2):  # trailing
    g = lambda x: x + 1
    return [h(y) for y in (a, b) if y], {"k": g}
"""
WHAT_IS_IMPORTED = """
import sys
from infragap.cli import main
code = main(["migrate", "scan", sys.argv[1]])
print(code, *sorted(m for m in sys.argv[2:] if m in sys.modules))
"""
FIX_ONLY = (  # what only a fix of a shell script needs
    "infragap.migrate.shell.vm_launch",
    "infragap.migrate.shell.translate",
    "infragap.migrate.shell.evidence",
    "infragap.migrate.generators.airflow_dag",
    "infragap.migrate.generators.k8s_job",
)


def imported_by_scan(folder: Path, *modules: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", WHAT_IS_IMPORTED, str(folder), *modules],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_a_scan_of_a_folder_without_source_files_imports_no_rule_nor_libcst(tmp_path):
    (tmp_path / "README.md").write_text("# nothing to migrate\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("a,b\n1,2\n")
    assert imported_by_scan(tmp_path, "libcst", "infragap.migrate.rules", "rich") == "0"


def test_a_scan_imports_what_only_a_shell_fix_needs_only_for_shell_scripts(tmp_path):
    (tmp_path / "train.py").write_text("import time\nt0 = time.time()\nprint(time.time() - t0)\n")
    assert imported_by_scan(tmp_path, *FIX_ONLY) == "0"
    (tmp_path / "run.sh").write_text("aws ec2 run-instances --image-id ami-1\n")
    assert "infragap.migrate.shell.vm_launch" in imported_by_scan(tmp_path, *FIX_ONLY)


def test_two_workers_find_what_one_process_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(pool, "ITEMS_PER_WORKER", 1)  # workers even for a small repository
    one = scan(FIXTURES / "legacy_repo", jobs=1)
    two = scan(FIXTURES / "legacy_repo", jobs=2)
    assert one.findings and two.findings == one.findings
    assert (two.files, two.lines, two.skipped, two.errors) == (
        one.files,
        one.lines,
        one.skipped,
        one.errors,
    )


def test_a_scan_leaves_its_syntax_trees_to_reference_counting():
    """No reference cycle holds a tree: the collector, run rarely, has nothing to find."""
    candidates = explore(FIXTURES / "legacy_repo").found
    rule_ids = tuple(RULES.names())
    scan_file(candidates[0], rule_ids)  # imports and caches, before counting
    gc.collect()
    gc.disable()
    try:
        for candidate in candidates:
            scan_file(candidate, rule_ids)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, (cst.CSTNode, type))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def test_a_run_collects_garbage_less_often_and_puts_the_setting_back():
    before = gc.get_threshold()
    during = pool.run_all(lambda _: gc.get_threshold()[0], [1, 2], jobs=1)
    assert during == [pool.ALLOCATIONS_PER_COLLECTION] * 2
    assert gc.get_threshold() == before


PYTHON_FIXTURES = sorted(
    path
    for path in (FIXTURES / "legacy_repo").rglob("*.py")
    if "site-packages" not in path.parts and path.name != "py2_report.py"
)
TRICKY = (
    "x = 1; y = 2\r\n\n# a comment\n@deco\n\nasync def f(a, /, *b, c=1, **d) -> 'T':\n"
    "    '''Doc\n    string.'''\n    return [\n        (lambda q: q)(i) for i in b if i  # why\n"
    "    ]\n\nclass C(B, metaclass=M):\n    x: int = 1\n    if x: y = f'{x!r:>{w}}'\n"
)
HEADERS = (
    "if a:\n\tpass\nelif (b and\n      c(d)):\n\tdel e, f\nelse: g(); h(\n  i)\n"
    "try:\n    pass\nexcept (E,\n        F) as err:\n    raise G from err\n"
    "else:\n    pass\nfinally:\n    global k\n"
    "while l(m): n = 1 + \\\n    2\nelse:\n    pass\n"
    "with o(p) as q, r(\n        s):\n    pass\n"
    "@t.u(v=[w\n    for w in x])\n@y\ndef z(\n    aa=bb(cc),\n    *dd: ee,\n) -> ff:\n"
    "    class GG(hh(\n        ii)):\n        jj = 'é' + kk('ü')  # ñ\n"
    "\x0cmatch ll:\n    case [mm, *nn] if oo(pp):\n        qq(rr)\n    case _:\n        pass\n"
    "async def ss():\n    async for tt in uu(): await vv\n    async with ww(): pass\n"
    "@\\\n  xx(yy)\nclass ZZ: pass\n"
)
EXCEPT_STAR = "try:\n    a()\nexcept* (E,\n         F) as g:\n    h(g)\n"  # Python 3.11+


@pytest.mark.parametrize("path", PYTHON_FIXTURES, ids=lambda path: path.name)
def test_nodes_are_placed_where_libcst_places_them(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        pytest.skip("not Python 3")
    _same_places(module)


@pytest.mark.parametrize(
    "text",
    [
        TRICKY,
        HEADERS,
        pytest.param(
            EXCEPT_STAR,
            marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is 3.11"),
        ),
    ],
    ids=["statements", "headers", "except-star"],
)
def test_nodes_of_every_kind_of_statement_are_placed_where_libcst_places_them(text):
    _same_places(cst.parse_module(text))


@pytest.mark.parametrize(
    "text", ["\ufeffx = f(1)\n", "x = 1\ry = f(\r  2)\r", TRICKY.replace("async ", "")]
)
def test_texts_cpython_may_count_otherwise_are_placed_where_libcst_places_them(text):
    _same_places(cst.parse_module(text))


def test_placing_nodes_prints_none_of_cpythons_warnings_on_the_code():
    text = 'import re\npattern = re.compile("\\d+")\n'  # an invalid escape: CPython warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        starts = statement_starts(cst.parse_module(text), text)
    assert starts is not None and caught == []


def _same_places(module: cst.Module) -> None:
    whole = whole_module_positions(module)
    lean = module_positions(module)
    assert isinstance(lean, LeanPositions)  # the self-check passed: the cheap way is used
    assert len(lean) == len(whole)
    assert all(lean[node] == whole[node] for node in whole)
    source = Source(module.code)
    source.module = module  # the same nodes, walked
    starts = StartPositions(module, module.code)
    if "\r" not in module.code.replace("\r\n", "") and "\ufeff" not in module.code:
        assert starts._statements is not None  # the cheap way, statement by statement, is used
    for node in source.nodes[1:]:  # in source order, after the module: one statement at a time
        where = whole[node].start
        assert starts.start(node, source.parent) == (where.line, where.column), (
            module.code_for_node(node)
        )


@pytest.mark.parametrize("text", [TRICKY, "f'{a}' f'{b:>{w}}' f'{c!r:{d}.{e}}'\n"])
def test_children_are_libcsts_children_but_layout_read_cheaply(text):
    _same_children(cst.parse_module(text))


@pytest.mark.parametrize("path", PYTHON_FIXTURES, ids=lambda path: path.name)
def test_children_of_every_fixture_node_are_libcsts_but_layout(path):
    try:
        module = cst.parse_module(path.read_text(encoding="utf-8", errors="replace"))
    except cst.ParserSyntaxError:
        pytest.skip("not Python 3")
    _same_children(module)


def _same_children(module: cst.Module) -> None:
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        code = [child for child in node.children if not isinstance(child, LAYOUT)]
        assert children(node) == code
        stack.extend(node.children)


def test_a_walk_makes_the_calls_of_libcsts_visit_but_for_layout():
    module = cst.parse_module(WALKED)

    class Record(cst.CSTVisitor):
        def __init__(self) -> None:
            self.calls: list[str] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.calls.append(f"visit {type(node).__name__}")
            return not isinstance(node, cst.Lambda)  # a False must skip the children

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.calls.append(f"leave {type(original_node).__name__}")

    by_libcst, by_walk = Record(), Record()
    module.visit(by_libcst)
    walk(module, by_walk)
    layout = {f"{way} {kind.__name__}" for kind in LAYOUT for way in ("visit", "leave")}
    assert by_walk.calls == [call for call in by_libcst.calls if call not in layout]
    assert "leave Lambda" in by_walk.calls
    assert by_walk.calls.count("visit Param") == 2  # a and b; not the lambda's x


class Named(cst.CSTVisitor):
    """A visitor the usual way: visit_*/leave_* methods for a few node types."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.calls.append("visit Lambda")
        return False  # must skip the lambda's children

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.calls.append("leave Lambda")

    def visit_Name(self, node: cst.Name) -> None:
        self.calls.append(f"visit Name {node.value}")

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append("visit Call")

    def leave_Call(self, original_node: cst.Call) -> None:
        self.calls.append("leave Call")

    def leave_Comma(self, original_node: cst.Comma) -> None:
        self.calls.append("leave Comma")  # layout: never walked


def test_a_walk_calls_a_visitors_methods_as_libcsts_visit_does():
    module = cst.parse_module(WALKED)
    by_libcst, by_walk = Named(), Named()
    module.visit(by_libcst)
    walk(module, by_walk)
    assert by_walk.calls == [call for call in by_libcst.calls if call != "leave Comma"]
    assert "visit Name x" not in by_walk.calls and "visit Name g" in by_walk.calls


def test_names_read_skip_attributes_keywords_and_nested_scopes():
    expr = cst.parse_expression("f(a.b, key=c, *d, **e)[lambda x: g][h if i else j]")
    assert names_read(expr) == ["f", "a", "c", "d", "e", "h", "i", "j"]
    assert all_names(expr) == ["f", "a", "b", "key", "c", "d", "e", "x", "g", "h", "i", "j"]


def test_a_sources_nodes_come_in_source_order_each_with_the_node_holding_it():
    source = Source(WALKED)
    assert source.nodes == list(preorder(source.module))
    assert source.parent(source.module) is None
    for node in source.nodes[1:]:
        holder = source.parent(node)
        assert holder is not None and any(child is node for child in children(holder))
    call = next(node for node in source.nodes if isinstance(node, cst.Call))
    assert isinstance(source.parent(call), cst.Decorator)


def test_a_few_files_are_read_in_this_process_even_with_jobs():
    # A lambda cannot be sent to a worker process: this passes only in-process.
    items = list(range(2 * pool.ITEMS_PER_WORKER - 1))
    assert pool.run_all(lambda n: n * 2, items, jobs=2) == [n * 2 for n in items]
