"""The results file: a versioned JSON document, written atomically after every level.

Layout (schema_version 1)::

    {
      "schema": "infragap.results", "schema_version": 1,
      "complete": false,               # true only once every suite finished
      "run": {                         # provenance, see infragap.environment
        "id", "started_at", "finished_at", "command", "git": {"commit", "dirty"},
        "versions": {...}, "host": {...}, "seed", "config": {...}
      },
      "suites": {
        "<suite>": {
          "status": "running" | "complete" | "incomplete" | "failed",
          "error": null | "message",
          "config": {...},
          "warnings": ["..."],
          ... suite-specific sections (see the suite's module docstring) ...
        }
      }
    }

Each suite documents its own section in its module docstring: serving in
infragap.suites.serving.steps, features in infragap.suites.features.suite, pipelines in
infragap.suites.pipelines.suite.

A serving suite section adds "equivalence", "ceiling" and "variants": {name: {"levels":
[level, ...]}}; a level holds users, window_s, requests, failures, failure_messages,
throughput_rps, throughput_per_s, latency_ms (p50, p90, p95, p99, p99_9, max, mean),
latencies_ms (every successful request, exact), server (cpu_s, wall_s, peak_rss_bytes:
the server's process tree over the whole level, warm-up included), loadgen
(cpu_percent_mean, cpu_percent_peak) and triton (null, or the fields of
infragap.proven.triton.metrics.TritonLevelStats: mean_batch_size, mean_queue_us,
mean_compute_infer_us, executions, ...). "ceiling" holds batch_rows, rows_per_s (median
of samples_rows_per_s), requests_per_s, forward_ms, torch_threads and device.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from infragap.errors import ResultsError

SCHEMA_NAME = "infragap.results"
SCHEMA_VERSION = 1


def new_document(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "complete": False,
        "run": run,
        "suites": {},
    }


def validate(doc: Any, source: str = "results") -> dict[str, Any]:
    """Check the envelope; raise ResultsError naming `source` and the problem."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_NAME:
        raise ResultsError(f"{source} is not an infragap results file (no 'schema' field)")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"{source} has schema version {version}, this infragap reads {SCHEMA_VERSION}: "
            "use the infragap version that wrote it"
        )
    for key, kind in (("run", dict), ("suites", dict), ("complete", bool)):
        if not isinstance(doc.get(key), kind):
            raise ResultsError(f"{source}: field {key!r} is missing or not a {kind.__name__}")
    for name, section in doc["suites"].items():
        if not isinstance(section, dict) or "status" not in section:
            raise ResultsError(f"{source}: suite {name!r} has no status")
    return doc


def write_atomically(path: Path, doc: dict[str, Any]) -> None:
    """Replace `path` in one step, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=1, allow_nan=False)
            out.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json(path: Path, kind: str) -> Any:
    """Parse a JSON file, or raise ResultsError naming the file, the problem and `kind`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ResultsError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path} is not UTF-8 text, so not {kind}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "was the file truncated?"
        ) from None


def load(path: Path) -> dict[str, Any]:
    return validate(read_json(path, "a results file"), str(path))
