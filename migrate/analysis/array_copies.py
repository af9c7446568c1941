"""Copies of array functions across files: the same code twice, or a copy that drifted.

Pure: it takes `Copy`s (an array function and where it is) and pairs each with the copy
it repeats. Copies of the same shape (the same code up to names) are duplicates,
whatever their names. Functions of the same name whose shapes differ are a drifted
copy only when they take as many parameters and their shapes are at least SIMILARITY
alike (difflib's ratio); below that they only share a name, and nothing is said.
Each copy is paired with one reference, the copy in the training file first, so three
copies make two findings, not three.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.expression_diff import differences

SIMILARITY = 0.8
ROLE_ORDER = {"training": 0, "": 1, "serving": 2}


@dataclass(frozen=True)
class Copy:
    path: str
    line: int
    where: str
    role: str
    name: str
    params: int
    shape: str
    code: str


@dataclass(frozen=True)
class Pairing:
    copy: Copy
    reference: Copy
    differences: tuple[tuple[str, str], ...]  # (here, in the reference); () when the same


def pairings(copies: Sequence[Copy]) -> list[Pairing]:
    ordered = sorted(copies, key=lambda c: (ROLE_ORDER.get(c.role, 1), c.path, c.line))
    found: list[Pairing] = []
    by_shape: dict[str, list[Copy]] = defaultdict(list)
    by_name: dict[str, list[Copy]] = defaultdict(list)
    for copy in ordered:
        by_shape[copy.shape].append(copy)
        by_name[copy.name].append(copy)
    for group in by_shape.values():
        reference = group[0]
        found.extend(Pairing(c, reference, ()) for c in group[1:] if c.path != reference.path)
    for group in by_name.values():
        reference = group[0]
        for copy in group[1:]:
            if copy.path == reference.path or copy.shape == reference.shape:
                continue
            if copy.params != reference.params or _similarity(copy, reference) < SIMILARITY:
                continue  # the same name, not the same function
            parts = differences(_tree(copy.code), _tree(reference.code))
            found.append(Pairing(copy, reference, tuple(parts)))
    return found


def _similarity(one: Copy, other: Copy) -> float:
    return difflib.SequenceMatcher(None, one.shape, other.shape, autojunk=False).ratio()


def _tree(code: str) -> cst.CSTNode:
    return cst.parse_module(code).body[0]
