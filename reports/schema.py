"""The results file: a versioned JSON document, written atomically after every level.

Layout (schema_version 1)::

    {
      "schema": "infragap.results", "schema_version": 1,
      "complete": false,               # true only once every suite finished
      "run": {...},                    # a RunMetadata (reports/records.py)
      "suites": {
        "<suite>": {
          "status": "pending" | "running" | "complete" | "incomplete" | "failed",
          "error": null | "message",
          "config": {...},
          "warnings": ["..."],
          ... suite-specific sections (see the suite's module docstring) ...
        }
      }
    }

`run.writer` names the process writing the file (pid, start time, host). A file whose
sections are still "running" while that process is gone was left by a killed run: `load`
reads those sections as "incomplete", interrupted (files without `writer` read as written).

The records that cross rooms are typed in infragap.reports.records (a level, its
latency summary and server usage, equivalence, run metadata); each suite extends the
level in its own records.py and documents the rest of its section in its module
docstring: serving in infragap.suites.serving.steps, features in
infragap.suites.features.suite, pipelines in infragap.suites.pipelines.suite.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import psutil

from infragap.errors import ResultsError
from infragap.reports.records import RunMetadata

SCHEMA_NAME = "infragap.results"
SCHEMA_VERSION = 1


def new_document(run: RunMetadata) -> dict[str, Any]:
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


WRITER_GONE = "interrupted (the infragap process that wrote it is gone); levels saved are kept"
START_TIME_SLACK_S = 1.0  # create_time is read from /proc in clock ticks


def writer_gone(doc: dict[str, Any]) -> bool:
    """True when the file names its writer, on this host, and that process has ended
    (or its pid now belongs to another process). Another host's writer cannot be checked."""
    writer = doc["run"].get("writer")
    if not isinstance(writer, dict) or writer.get("hostname") != socket.gethostname():
        return False
    try:
        started = psutil.Process(int(writer["pid"])).create_time()
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False
    return abs(started - float(writer.get("process_started", started))) > START_TIME_SLACK_S


def mark_abandoned(doc: dict[str, Any]) -> list[str]:
    """Mark the "running" suites of a file whose writer died as interrupted; their names."""
    running = [name for name, s in doc["suites"].items() if s["status"] == "running"]
    if not running or not writer_gone(doc):
        return []
    for name in running:
        doc["suites"][name]["status"] = "incomplete"
        doc["suites"][name]["error"] = WRITER_GONE
    doc["complete"] = False
    return running


def load(path: Path) -> dict[str, Any]:
    """Read and check a results file; sections left "running" by a dead writer read as
    interrupted (the file itself is not changed)."""
    doc = validate(read_json(path, "a results file"), str(path))
    mark_abandoned(doc)
    return doc
