"""Resolve the names a file imports, so `th.jit.load` is known to be `torch.jit.load`."""

from __future__ import annotations

import libcst as cst

from infragap.migrate.analysis.statements import small_statements, walk_statements


def dotted(expr: cst.BaseExpression) -> str:
    """`a.b.c` as text; "" unless names and attributes all the way down."""
    parts: list[str] = []
    while type(expr) is cst.Attribute:  # exact types: an isinstance miss on an ABC is slow
        parts.append(expr.attr.value)
        expr = expr.value
    if type(expr) is not cst.Name:
        return ""
    parts.append(expr.value)
    return ".".join(reversed(parts))


def import_aliases(module: cst.Module) -> dict[str, str]:
    """Local name -> qualified name for every import in the file, at any depth.

    `import torch.jit` binds `torch`; relative imports keep their dots (`.utils.x`).
    Star imports bind nothing we can see. A later import of a name wins.
    """
    aliases: dict[str, str] = {}
    for stmt in walk_statements(module.body):
        for small in small_statements(stmt):
            if type(small) is cst.Import:  # exact types, as in `dotted`
                for alias in small.names:
                    full = dotted(alias.name)
                    if alias.asname is not None:
                        aliases[dotted(alias.asname.name)] = full
                    else:
                        head = full.split(".", 1)[0]
                        aliases[head] = head
            elif type(small) is cst.ImportFrom and not isinstance(small.names, cst.ImportStar):
                base = "." * len(small.relative) + (dotted(small.module) if small.module else "")
                for alias in small.names:
                    name = dotted(alias.name)
                    local = dotted(alias.asname.name) if alias.asname is not None else name
                    aliases[local] = (
                        f"{base}.{name}" if base and not base.endswith(".") else base + name
                    )
    return aliases
