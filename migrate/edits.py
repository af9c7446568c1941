"""Tree edits the rules share: add imports, insert code after them, pick free names."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import libcst as cst

from infragap.migrate.analysis.statements import is_docstring, small_statements
from infragap.migrate.source import Source

MARK = "infragap migrate"  # named in generated comments, so a reader knows where code came from


def imported_names(
    source: Source, modules: Iterable[str]
) -> tuple[dict[str, str], list[tuple[str, str | None, str | None]]]:
    """The file's own name for each module, and the imports to add for those it lacks
    (then named as the module itself)."""
    names: dict[str, str] = {}
    needed: list[tuple[str, str | None, str | None]] = []
    for module_name in modules:
        local = next(
            (
                local
                for local, qualname in source.aliases.items()
                if qualname == module_name and local in source.module_names
            ),
            None,
        )
        if local is None:
            needed.append((module_name, None, None))
        names[module_name] = local or module_name
    return names, needed


def parse_statements(code: str, module: cst.Module) -> list[cst.BaseStatement]:
    """Parse `code` with the target file's indentation and newline style."""
    parsed = cst.parse_module(code, config=module.config_for_parsing)
    return list(parsed.body)


def parse_statement(code: str, module: cst.Module) -> cst.BaseStatement:
    return cst.parse_statement(code, config=module.config_for_parsing)


def unique_name(base: str, taken: Collection[str]) -> str:
    if base not in taken:
        return base
    index = 2
    while f"{base}_{index}" in taken:
        index += 1
    return f"{base}_{index}"


def add_imports(
    module: cst.Module, imports: Iterable[tuple[str, str | None, str | None]]
) -> cst.Module:
    """Add `import module` / `from module import obj [as asname]` where missing."""
    # libcst.codemod costs 0.2 s to import: only apply needs it, not scan.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for module_name, obj, asname in imports:
        AddImportsVisitor.add_needed_import(context, module_name, obj, asname)
    return AddImportsVisitor(context).transform_module(module)


def _is_import_line(stmt: cst.CSTNode) -> bool:
    smalls = small_statements(stmt)
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in smalls
    )


def after_imports_index(module: cst.Module) -> int:
    """Index just after the last top-level import that comes before the first def/class."""
    index = 0
    for position, stmt in enumerate(module.body):
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            break
        if _is_import_line(stmt):
            index = position + 1
        elif position == 0 and is_docstring(stmt):
            index = 1
    return index


def insert_after_imports(module: cst.Module, stmts: Sequence[cst.BaseStatement]) -> cst.Module:
    """Insert after the imports; a def or class inserted last gets two blank lines after it."""
    index = after_imports_index(module)
    body: list[cst.BaseStatement] = list(module.body)
    rest = body[index:]
    if rest and stmts and isinstance(stmts[-1], (cst.FunctionDef, cst.ClassDef)):
        rest[0] = ensure_blank_lines(rest[0], 2)
    return module.with_changes(body=[*body[:index], *stmts, *rest])


def cached_function(
    module: cst.Module,
    decorator: str,
    name: str,
    params: Sequence[str],
    body: Sequence[cst.BaseStatement],
    comment: str,
) -> cst.FunctionDef:
    """`@<decorator>(maxsize=None)\ndef name(params): <body>`, two blank lines and
    `comment` above it: the cached loaders and factories the hoisting rules write."""
    template = parse_statement(
        f"@{decorator}(maxsize=None)\ndef {name}({', '.join(params)}):\n    pass\n", module
    )
    assert isinstance(template, cst.FunctionDef)
    return template.with_changes(
        body=template.body.with_changes(body=list(body)),
        leading_lines=blank_lines(2, comment),
    )


def blank_lines(count: int, comment: str | None = None) -> list[cst.EmptyLine]:
    lines = [cst.EmptyLine() for _ in range(count)]
    if comment is not None:
        lines.append(cst.EmptyLine(comment=cst.Comment(f"# {comment}")))
    return lines


def with_leading(stmt: cst.BaseStatement, lines: Sequence[cst.EmptyLine]) -> cst.BaseStatement:
    if isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return stmt.with_changes(leading_lines=list(lines))
    return stmt


def drop_statements(
    body: Sequence[cst.BaseStatement],
    doomed: Collection[cst.CSTNode],
    originals: Sequence[cst.CSTNode],
) -> list[cst.BaseStatement]:
    """`body` without the statements whose originals are in `doomed`; the comment lines
    above a dropped statement move to the next one, so no comment is lost."""
    kept: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for original, stmt in zip(originals, body, strict=True):
        if original in doomed:
            lines = getattr(stmt, "leading_lines", ())
            carried.extend(line for line in lines if line.comment is not None)
            continue
        if carried and isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            stmt = stmt.with_changes(leading_lines=[*stmt.leading_lines, *carried])
            carried = []
        kept.append(stmt)
    if not kept:
        kept.append(cst.SimpleStatementLine([cst.Pass()], leading_lines=carried))
    return kept


def ensure_blank_lines(stmt: cst.BaseStatement, count: int) -> cst.BaseStatement:
    """At least `count` blank lines before `stmt` (PEP 8 wants two around top-level defs)."""
    if not isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return stmt
    lines = list(stmt.leading_lines)
    blank = 0
    for line in lines:
        if line.comment is not None:
            break
        blank += 1
    if blank >= count:
        return stmt
    return stmt.with_changes(leading_lines=[*blank_lines(count - blank), *lines])
