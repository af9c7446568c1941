"""Measure `infragap migrate scan`: start-up on a small repository, lines/s on a big one.

    python tools/migrate_speed.py [--lines 100000] [--seed 0] [--repeat 5] [--jobs 1,2]

Generates, from a seed, a tree of realistic Python (Flask handlers, pandas preprocessing,
training scripts, plain library code, a few shell pipelines; mostly code no rule
matches) in a temporary folder, then times the real command in a subprocess: wall time
of `scan` on a folder with no source file and on a two-file repository (start-up), and
of `scan -j N` on the big tree. Each figure is the best and the median of --repeat
runs: the best is what the code can do, the median how noisy the machine was.

The command runs as an installed tool runs: with Python's bytecode cache, written by a
first, untimed run. (An environment with PYTHONDONTWRITEBYTECODE=1 would otherwise
compile every module of infragap from source on every start: 0.1 s of a 0.3 s start.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

LIBRARY = '''"""Helpers for {name}."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class {cls}:
    name: str
    size: int = {n}
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{{self.name}} ({{self.size}})"

    def merged(self, other: "{cls}") -> "{cls}":
        return {cls}(self.name, self.size + other.size, self.tags + other.tags)


def parse_{name}(text: str) -> list[{cls}]:
    items = []
    for raw in json.loads(text):
        if not raw.get("name"):
            continue
        items.append({cls}(raw["name"], int(raw.get("size", {n})), tuple(raw.get("tags", ()))))
    return items


def total_{name}(items: Iterable[{cls}]) -> int:
    total = 0
    for item in items:
        if item.size > {n}:
            total += item.size * 2
        else:
            total += item.size
    return total


class {cls}Index:
    def __init__(self, items: list[{cls}]) -> None:
        self._by_name = {{item.name: item for item in items}}

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str, default: {cls} | None = None) -> {cls} | None:
        return self._by_name.get(name, default)

    def names(self) -> list[str]:
        return sorted(self._by_name)
'''

PANDAS = """import numpy as np
import pandas as pd


def prepare_{name}(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["{col}_log"] = np.log1p(df["{col}"].clip(lower=0))
    df["{col}_bucket"] = pd.cut(df["{col}"], bins=[0, 10, 100, 1000, np.inf], labels=False)
    df["is_weekend"] = pd.to_datetime(df["ts"]).dt.dayofweek >= 5
    df = df.dropna(subset=["{col}"])
    return df


def summarise_{name}(df: pd.DataFrame) -> dict:
    grouped = df.groupby("user_id")["{col}"].agg(["mean", "max", "count"])
    return {{
        "users": int(grouped.shape[0]),
        "mean": float(grouped["mean"].mean()),
        "max": float(grouped["max"].max()),
    }}


def split_{name}(df: pd.DataFrame, frac: float = 0.{n}):
    shuffled = df.sample(frac=1.0, random_state={n})
    cut = int(len(shuffled) * frac)
    return shuffled.iloc[:cut], shuffled.iloc[cut:]
"""

TRAINING = """import logging
import time

import torch

log = logging.getLogger(__name__)


def train_{name}(model, batches, epochs: int = {n}):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        start = time.perf_counter()
        for batch in batches:
            opt.zero_grad()
            loss = model.loss(batch)
            loss.backward()
            opt.step()
        log.info("epoch %d took %.1f s", epoch, time.perf_counter() - start)
    return model


def evaluate_{name}(model, batches) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            total += float(model.loss(batch))
            count += 1
    return total / max(count, 1)
"""

FLASK = """import os

import torch
from flask import Flask, jsonify, request

app = Flask(__name__)
MODEL_PATH = os.environ.get("MODEL_PATH", "/srv/{name}.pt")


@app.route("/health")
def health():
    return "ok"


@app.route("/{name}/predict", methods=["POST"])
def predict_{name}():
    model = torch.jit.load(MODEL_PATH, map_location="cpu")
    rows = torch.tensor(request.get_json()["rows"], dtype=torch.float32)
    with torch.no_grad():
        scores = model(rows)
    return jsonify({{"scores": scores.reshape(-1).tolist()}})
"""

RETRY = """import time

import requests


def fetch_{name}(url: str) -> dict:
    for attempt in range({n}):
        try:
            response = requests.get(url, timeout=10)
            response.raise_for_status()
            return response.json()
        except requests.RequestException:
            time.sleep(2 ** attempt)
    raise RuntimeError("gave up on " + url)
"""

SHELL = """#!/bin/bash
set -euo pipefail
python pipeline/{name}_extract.py --out data/{name}.parquet
python pipeline/{name}_train.py --data data/{name}.parquet
"""

# (template, weight): mostly code that no rule matches.
PYTHON_KINDS = ((LIBRARY, 60), (PANDAS, 14), (TRAINING, 10), (FLASK, 6), (RETRY, 6))
WORDS = ("user", "item", "order", "price", "click", "session", "query", "score", "label")


def generate(root: Path, lines: int, seed: int) -> int:
    """Write about `lines` lines of Python (and a few shell scripts) under `root`."""
    rng = random.Random(seed)
    templates = [template for template, _ in PYTHON_KINDS]
    weights = [weight for _, weight in PYTHON_KINDS]
    written = 0
    index = 0
    while written < lines:
        name = f"{rng.choice(WORDS)}_{index}"
        fields = {"name": name, "cls": name.title().replace("_", ""), "n": rng.randint(2, 9)}
        fields["col"] = rng.choice(WORDS)
        folder = root / f"pkg{index // 40:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if index % 50 == 49:
            text = SHELL.format(**fields)
            (folder / f"run_{name}.sh").write_text(text)
        else:
            text = "\n\n".join(
                rng.choices(templates, weights)[0].format(**fields) for _ in range(4)
            )
            (folder / f"{name}.py").write_text(text)
        written += text.count("\n")
        index += 1
    return written


ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT
    )
    return time.perf_counter() - started


def repeat(measure: Callable[[], float], times: int) -> tuple[float, float]:
    """Best and median of `times` measurements."""
    values = [measure() for _ in range(times)]
    return min(values), statistics.median(values)


def scan_command(path: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "infragap", "migrate", "scan", str(path), "-j", str(jobs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", default="1,2", help="comma-separated -j values")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="migrate-speed-") as folder:
        empty, small, big = Path(folder, "empty"), Path(folder, "small"), Path(folder, "big")
        empty.mkdir()
        (empty / "README.md").write_text("no source file here\n")
        generate(small, 250, args.seed)
        lines = generate(big, args.lines, args.seed)
        wall(scan_command(small, 1))  # writes the bytecode cache, as a first use does
        for name, path in (("a folder with no source file", empty), ("a small repository", small)):
            best, median = repeat(lambda: wall(scan_command(path, 1)), args.repeat)  # noqa: B023
            print(f"start-up (scan of {name}): best {best:.3f} s, median {median:.3f} s")
        for jobs in (int(value) for value in args.jobs.split(",")):
            command = scan_command(big, jobs)
            best, median = repeat(lambda: wall(command), args.repeat)  # noqa: B023 - called here
            print(
                f"-j {jobs}: {lines:,} lines: best {lines / best:,.0f} lines/s ({best:.2f} s), "
                f"median {lines / median:,.0f} lines/s ({median:.2f} s)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
