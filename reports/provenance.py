"""Provenance: every version, the hardware, the seed, the configuration, the commit and
the command line of each run, side by side, plus the commands that reproduce the latest."""

from __future__ import annotations

import shlex
from typing import Any

from infragap.reports import format as fmt
from infragap.reports.model import Block, Cell, Code, Part, Table, Text

# Fields that differ between any two runs by nature: not worth a highlight.
PER_RUN = ("results file", "run id", "started", "finished")


def command_line(run: dict[str, Any]) -> str:
    command = run.get("command")
    if isinstance(command, list):
        return shlex.join(str(part) for part in command)
    return str(command) if command else fmt.MISSING


def _commit(run: dict[str, Any]) -> str:
    git = run.get("git") or {}
    commit = git.get("commit")
    if not commit:
        return "not a git checkout"
    return f"{commit} (uncommitted changes)" if git.get("dirty") else str(commit)


def _host_value(key: str, value: Any) -> str:
    if key == "memory_bytes" and isinstance(value, (int, float)):
        return f"{value / 2**30:.1f} GiB"
    return fmt.plain(value) if value is not None else fmt.MISSING


def provenance_rows(runs: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    """(field, one value per run) for every field any run recorded; pure."""
    fields: list[tuple[str, list[str]]] = [
        ("results file", [source for _, source, _ in runs]),
        ("run id", [str(doc["run"].get("id", fmt.MISSING)) for _, _, doc in runs]),
        ("complete", ["yes" if doc.get("complete") else "no" for _, _, doc in runs]),
        ("started", [fmt.timestamp(doc["run"].get("started_at")) for _, _, doc in runs]),
        (
            "finished",
            [
                fmt.timestamp(doc["run"].get("finished_at"))
                if doc["run"].get("finished_at")
                else "not finished"
                for _, _, doc in runs
            ],
        ),
        ("command", [command_line(doc["run"]) for _, _, doc in runs]),
        ("git commit", [_commit(doc["run"]) for _, _, doc in runs]),
        ("seed", [fmt.plain(doc["run"].get("seed")) for _, _, doc in runs]),
    ]
    for group, render in (
        ("versions", lambda _k, v: fmt.plain(v) if v else "not installed"),
        ("host", _host_value),
    ):
        keys: list[str] = []
        for _, _, doc in runs:
            keys += [k for k in doc["run"].get(group) or {} if k not in keys]
        for key in keys:
            values = [(doc["run"].get(group) or {}).get(key) for _, _, doc in runs]
            fields.append((f"{group}: {key}", [render(key, v) for v in values]))
    return fields


def provenance_table(runs: list[tuple[str, str, dict[str, Any]]]) -> Table:
    rows = []
    for name, values in provenance_rows(runs):
        differs = len(runs) > 1 and len(set(values)) > 1 and name not in PER_RUN
        rows.append([Cell(name), *(Cell(v, tone="warn" if differs else "") for v in values)])
    caption = "Highlighted rows differ between the runs." if len(runs) > 1 else ""
    return Table(
        columns=["", *(label for label, _, _ in runs)], rows=rows, numeric_from=99, caption=caption
    )


def reproduce(doc: dict[str, Any]) -> str:
    run = doc["run"]
    command = [str(p) for p in run.get("command") or ["infragap", "bench"]]
    if command and command[0] != "infragap":
        command[0] = "infragap"
    if "--seed" not in command and run.get("seed") is not None:
        command += ["--seed", str(run["seed"])]
    commit = (run.get("git") or {}).get("commit")
    lines = [f"git checkout {commit}"] if commit else []
    lines += ["pip install -c constraints.txt -e '.[all]'", shlex.join(command)]
    return "\n".join(lines)


def provenance_part(runs: list[tuple[str, str, dict[str, Any]]], anchor: str) -> Part:
    label, _, latest = runs[-1]
    blocks: list[Block] = [
        provenance_table(runs),
        Code(reproduce(latest), title=f"Reproduce {label}"),
    ]
    if (latest["run"].get("git") or {}).get("dirty"):
        blocks.append(
            Text("The run had uncommitted changes: the commit alone does not reproduce it exactly.")
        )
    configs = [fmt.compact_json(doc["run"].get("config")) for _, _, doc in runs]
    if len(set(configs)) == 1:
        title = "Full configuration" + (" (the same in every run)" if len(runs) > 1 else "")
        blocks.append(Code(configs[0], title=title))
    else:
        for (run_label, _, _), config in zip(runs, configs, strict=True):
            blocks.append(Code(config, title=f"Full configuration of {run_label}"))
    return Part("Provenance", anchor, blocks)
