"""LibCST's parse without per-node validation (migrate/analysis/parse.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import libcst as cst
import pytest

from infragap.migrate.analysis.parse import parse_module

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_the_tree_is_the_one_libcst_builds() -> None:
    # a fixture in another encoding parses all the same once decoded
    texts = [
        path.read_bytes().decode("utf-8", "replace") for path in sorted(FIXTURES.rglob("*.py"))
    ]
    assert len(texts) > 20
    for text in texts:
        try:
            expected = cst.parse_module(text)
        except cst.ParserSyntaxError:
            with pytest.raises(cst.ParserSyntaxError):
                parse_module(text)
            continue
        parsed = parse_module(text)
        assert parsed.deep_equals(expected)
        assert parsed.code == text


@pytest.mark.parametrize("text", ["x = 1\n", "def broken(:\n"])
def test_nodes_built_afterwards_are_still_validated(text: str) -> None:
    with contextlib.suppress(cst.ParserSyntaxError):
        parse_module(text)
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
