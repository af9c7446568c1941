"""The comparison (regression) view: two runs of the same suite, figure by figure.

For each suite that two or more runs hold, the first run holding it is the baseline and
every later one is compared with it: the suite's metrics (before, after, change with a
bootstrap interval, verdict), a chart of the changes, and what differs in configuration
and environment. The statistics are in `compare`; this module only lays them out.
"""

from __future__ import annotations

from infragap.reports import format as fmt
from infragap.reports.charts import PALETTE, forest
from infragap.reports.compare import Change, compare_metrics, differences
from infragap.reports.model import Block, Callout, Cell, Part, Table, Text, Tone
from infragap.reports.runs import Run, slug, suite_names
from infragap.reports.sections.all import section_for

VERDICT_TONES: dict[str, Tone] = {
    "better": "good",
    "worse": "bad",
    "within noise": "neutral",
    "no data": "muted",
    "only before": "muted",
    "only after": "muted",
}


def change_rows(changes: list[Change]) -> list[list[Cell]]:
    rows = []
    for change in changes:
        rows.append(
            [
                Cell(change.group),
                Cell(change.name),
                Cell(value_text(change.before, change.unit)),
                Cell(value_text(change.after, change.unit)),
                Cell(fmt.change(change.estimate.point), note=fmt.change_interval(change.estimate)),
                Cell(change.verdict, tone=VERDICT_TONES[change.verdict]),
            ]
        )
    return rows


def value_text(value: float | None, unit: str) -> str:
    if unit == "ms":
        return fmt.ms(value)
    return fmt.rate(value, unit)


def change_summary(changes: list[Change]) -> str:
    counts = {v: sum(1 for c in changes if c.verdict == v) for v in ("better", "worse")}
    noise = sum(1 for c in changes if c.verdict == "within noise")
    return (
        f"{counts['better']} better, {counts['worse']} worse and {noise} within the noise "
        f"of {len(changes)} figures."
    )


def comparison_blocks(suite: str, before: Run, after: Run) -> list[Block]:
    plugin = section_for(suite)
    old, new = before.doc["suites"][suite], after.doc["suites"][suite]
    blocks: list[Block] = []
    try:
        changes = compare_metrics(plugin.metrics(old), plugin.metrics(new))
    except Exception as error:  # a plugin bug must not sink the report
        changes = []
        blocks.append(Callout("bad", f"The figures could not be compared ({error})."))
    status = f"status {old.get('status')} → {new.get('status')}"
    blocks.append(
        Text(
            f"{before.label} (before) → {after.label} (after), {status}. "
            + (change_summary(changes) if changes else "")
        )
    )
    if changes:
        blocks.append(
            Table(
                columns=["figure", "metric", "before", "after", "change", "verdict"],
                rows=change_rows(changes),
                numeric_from=2,
                caption="Change is after / before with its 95% bootstrap interval. 'within "
                "noise': the interval includes no change. The intervals know only the noise "
                "inside each run; run-to-run variation on a shared machine can be larger.",
            )
        )
        figure = change_forest(suite, changes)
        if figure is not None:
            blocks.append(figure)
    config_diff = differences(old.get("config"), new.get("config"))
    env_diff = differences(
        {k: before.doc["run"].get(k) for k in ("versions", "host", "git", "seed")},
        {k: after.doc["run"].get(k) for k in ("versions", "host", "git", "seed")},
    )
    for title, rows in (
        ("Configuration differences", config_diff),
        ("Environment differences", env_diff),
    ):
        if rows:
            blocks.append(
                Table(
                    title=title,
                    columns=["setting", "before", "after"],
                    rows=[[Cell(k), Cell(a), Cell(b)] for k, a, b in rows],
                    numeric_from=99,
                )
            )
        else:
            blocks.append(Text(f"{title}: none."))
    moved = [c for c in changes if c.verdict in ("better", "worse")]
    if moved and not config_diff and not env_diff:
        blocks.append(
            Callout(
                "warn",
                f"Nothing in the configuration, versions, host or commit differs between these "
                f"runs, yet {len(moved)} figures moved outside the within-run noise: that is "
                "run-to-run variation on this machine, not the effect of a change.",
                title="same setup",
            )
        )
    return blocks


def change_forest(suite: str, changes: list[Change]) -> Block | None:
    shown = [c for c in changes if c.estimate.known]
    tones = {"better": PALETTE[3], "worse": PALETTE[1]}
    return forest(
        [f"{c.group}: {c.name}" for c in shown],
        [("after / before", [c.estimate for c in shown])],
        [tones.get(c.verdict, "#7b8794") for c in shown],
        title=f"{suite}: change per figure with 95% bootstrap intervals",
        alt="Each figure's after/before ratio with its 95% interval on a log scale around 1.",
        caption="Green: better outside the noise; vermillion: worse outside the noise; "
        "grey: within the noise.",
    )


def comparison_parts(runs: list[Run]) -> list[Part]:
    """For each suite in two or more runs: the first run holding it against each later one."""
    parts = []
    for suite in suite_names(runs):
        holding = [run for run in runs if suite in run.doc["suites"]]
        for later in holding[1:]:
            anchor = f"compare-{slug(suite)}-{slug(later.label)}"
            title = f"{section_for(suite).title}: {holding[0].label} → {later.label}"
            parts.append(Part(title, anchor, comparison_blocks(suite, holding[0], later)))
    return parts
