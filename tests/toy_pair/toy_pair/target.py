"""The toy wire format: POST /sum {"numbers": [...]} answered by {"sum": total}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infragap.loadtests.target import TARGETS, Body, LoadTarget

TARGET = "toy-sum"


def write_requests(numbers: list[list[int]], path: Path) -> None:
    path.write_text(json.dumps(numbers), encoding="utf-8")


def bodies(path: Path, _option: str) -> list[Body]:
    return [Body(json.dumps({"numbers": n}), len(n)) for n in json.loads(path.read_text())]


def answer_problem(body: Any, units: int) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("sum"), int):
        return "HTTP 200 without a sum"
    if body.get("count") != units:
        return f"HTTP 200 summing {body.get('count')} numbers, not {units}"
    return None


TARGETS.register(TARGET)(
    LoadTarget("the toy sum endpoint", lambda _option: "/sum", bodies, answer_problem)
)
