"""LibCST's parse without re-validating each node its parser builds.

Every LibCST node runs `_validate` from `CSTNode.__post_init__` when it is constructed.
For a tree LibCST's parser has just built from source, that proves what the parser
already guarantees, and it is a fifth of the parse (LibCST's own comment on
`__post_init__` notes that parsing need not validate). The check stays on for every
node built outside the parse, so a rule that builds a bad node is still told.
"""

from __future__ import annotations

import libcst as cst


def _not_validated(node: cst.CSTNode) -> None:
    return None


def parse_module(text: str) -> cst.Module:
    validate = cst.CSTNode.__dict__["__post_init__"]
    cst.CSTNode.__post_init__ = _not_validated  # type: ignore[method-assign,assignment]
    try:
        return cst.parse_module(text)
    finally:
        cst.CSTNode.__post_init__ = validate  # type: ignore[method-assign]
