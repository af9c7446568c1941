"""The results file: a versioned JSON document, written atomically after every level.

Layout (schema_version 1)::

    {
      "schema": "infragap.results", "schema_version": 1,
      "complete": false,               # true only once every suite finished
      "run": {...},                    # a RunMetadata (reports/records.py)
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

The records that cross rooms are typed in infragap.reports.records (a level, its
latency summary and server usage, equivalence, run metadata); each suite extends the
level in its own records.py and documents the rest of its section in its module
docstring: serving in infragap.suites.serving.steps, features in
infragap.suites.features.suite, pipelines in infragap.suites.pipelines.suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def load(path: Path) -> dict[str, Any]:
    return validate(read_json(path, "a results file"), str(path))
