"""Loaded results documents as runs: labels, anchors, the suites they hold."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Run:
    """One loaded results file: `label` names it on the page, `source` is its file name."""

    label: str
    source: str
    doc: dict[str, Any]


def label_runs(sources: list[str], docs: list[dict[str, Any]]) -> list[Run]:
    """Label each run by its run id; a repeated id gets '#2', '#3'."""
    runs: list[Run] = []
    seen: dict[str, int] = {}
    for source, doc in zip(sources, docs, strict=True):
        label = str(doc["run"].get("id") or source)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} #{seen[label]}"
        runs.append(Run(label, source, doc))
    return runs


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def suite_names(runs: list[Run]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names += [name for name in run.doc["suites"] if name not in names]
    return names
