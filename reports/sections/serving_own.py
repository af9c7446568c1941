"""The serving section's parts for a model or an app of the team's own: what the model
takes and gives, and the migration that was benchmarked before and after (pure)."""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.model import Block, Code, KeyValues, Part, Text


def _tensors(entries: list[dict[str, Any]]) -> str:
    return "; ".join(f"{t['name']} {t['dtype']} {t['shape']}" for t in entries) or "?"


def model_part(model: dict[str, Any], anchor: str) -> Part:
    facts = [
        ("file", str(model.get("file"))),
        ("format", str(model.get("format"))),
        ("size", f"{fmt.number((model.get('bytes') or 0) / 1e6)} MB"),
        ("inputs", _tensors(model.get("signature", {}).get("inputs", []))),
        ("outputs", _tensors(model.get("signature", {}).get("outputs", []))),
        ("signature read from", str(model.get("signature_from") or "?")),
        ("requests", str(model.get("requests"))),
        ("answers compared on", str(model.get("compared_output"))),
    ]
    note = Text(
        "Your model, not the built-in one: the naive variants and Triton load this file in "
        "their own processes, and every variant's answers were compared with the same file "
        "run once in a reference process. ONNX runs with onnxruntime inside Triton's Python "
        "backend, since the bundled server has no ONNX backend."
    )
    return Part("The model", f"{anchor}-model", [note, KeyValues(facts)])


def migration_part(migration: dict[str, Any], anchor: str) -> Part:
    facts = [
        ("repository", str(migration.get("repository"))),
        ("before", f"commit {str(migration.get('commit'))[:12]}"),
        ("after", "the working tree, as `migrate apply --rule flask-to-triton --write` left it"),
        ("files", ", ".join(migration.get("files") or [])),
    ]
    blocks: list[Block] = [
        KeyValues(facts),
        Code(migration.get("diff") or "", title="the diff applied"),
    ]
    if migration.get("diff_truncated"):
        blocks.append(Text("The diff is cut at 200,000 characters."))
    return Part("Before and after the migration", f"{anchor}-migration", blocks)


def own_parts(section: dict[str, Any], anchor: str) -> list[Part]:
    parts = []
    if section.get("model"):
        parts.append(model_part(section["model"], anchor))
    if section.get("migration"):
        parts.append(migration_part(section["migration"], anchor))
    return parts
