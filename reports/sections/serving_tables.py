"""The serving section's tables and text blocks, one function per table."""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.bootstrap import RatioEstimate, mean_interval
from infragap.reports.model import Block, Callout, Cell, KeyValues, Part, Table, Text, Tone
from infragap.reports.sections.serving_data import (
    TRITON_PHASES,
    Advantage,
    Level,
    triton_phases,
)


def tone(estimate: RatioEstimate) -> Tone:
    if estimate.direction == 0:
        return "neutral"
    return "good" if estimate.direction > 0 else "bad"


def _interval_note(level: Level) -> str:
    bounds = mean_interval(level.per_second)
    if bounds is None:
        return ""
    return f"95% CI {fmt.significant(bounds[0])}–{fmt.significant(bounds[1])}"


def levels_table(levels: dict[str, dict[int, Level]]) -> Table:
    rows = []
    for name, by_users in levels.items():
        for users in sorted(by_users):
            level = by_users[users]
            rec = level.record
            failures = int(rec.get("failures") or 0)
            batch = level.triton.get("mean_batch_size")
            rows.append(
                [
                    Cell(name),
                    Cell(str(users)),
                    Cell(fmt.number(rec.get("requests"))),
                    Cell(fmt.number(failures), tone="bad" if failures else ""),
                    Cell(fmt.rate(rec.get("throughput_rps"), ""), note=_interval_note(level)),
                    *(
                        Cell(fmt.ms(level.latency(k)))
                        for k in ("p50", "p90", "p99", "p99_9", "max")
                    ),
                    Cell(fmt.number(batch) if batch is not None else fmt.MISSING),
                ]
            )
    return Table(
        columns=[
            "variant",
            "users",
            "requests",
            "failures",
            "req/s",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "mean batch",
        ],
        rows=rows,
        numeric_from=1,
        caption="Latency percentiles are exact: nearest rank over every successful request "
        "that started in the measured window (warm-up excluded). The interval under req/s is "
        "a 95% bootstrap interval of the mean over the window's per-second samples.",
    )


def advantage_table(found: list[Advantage]) -> Table:
    rows = []
    for adv in found:
        rows.append(
            [
                Cell(adv.baseline),
                Cell(str(adv.users)),
                Cell(
                    fmt.factor(adv.throughput.point),
                    tone=tone(adv.throughput),
                    note=fmt.interval(adv.throughput),
                ),
                Cell(fmt.ms(adv.baseline_p99)),
                Cell(fmt.ms(adv.proven_p99)),
                Cell(fmt.factor(adv.tail.point), tone=tone(adv.tail), note=fmt.interval(adv.tail)),
            ]
        )
    return Table(
        columns=["against", "users", "throughput ratio", "their p99", "Triton p99", "p99 lower by"],
        rows=rows,
        numeric_from=1,
        caption="Both ratios read 'greater than 1 is better for Triton'. Green: the whole "
        "95% interval is above 1; red: below 1; grey: the interval includes 1.",
    )


def triton_table(levels: dict[int, Level]) -> Table:
    rows = []
    for users in sorted(levels):
        t = levels[users].triton
        phases = triton_phases(t)
        rows.append(
            [
                Cell(str(users)),
                Cell(fmt.number(t.get("executions"))),
                Cell(fmt.number(t.get("mean_batch_size"))),
                *(Cell(fmt.us(phases[label])) for label, _, _ in TRITON_PHASES),
                Cell(fmt.rate(levels[users].record.get("throughput_rps"), "")),
            ]
        )
    return Table(
        columns=[
            "users",
            "executions",
            "mean batch",
            "queue",
            "input",
            "inference",
            "output",
            "req/s",
        ],
        rows=rows,
        caption="From Triton's Prometheus counters, before and after each level (warm-up "
        "included): mean batch is rows per model execution (Δnv_inference_count / "
        "Δnv_inference_exec_count); the phases are microseconds per successful request, and "
        "a request counts the whole time of the batch it ran in.",
    )


def resources_table(levels: dict[str, dict[int, Level]]) -> Table:
    rows = []
    for name, by_users in levels.items():
        for users in sorted(by_users):
            level = by_users[users]
            peak = level.loadgen.get("cpu_percent_peak")
            rows.append(
                [
                    Cell(name),
                    Cell(str(users)),
                    Cell(fmt.seconds(level.server.get("cpu_s"))),
                    Cell(fmt.mebibytes(level.server.get("peak_rss_bytes"))),
                    Cell(fmt.percent(level.loadgen.get("cpu_percent_mean"))),
                    Cell(fmt.percent(peak), tone="warn" if (peak or 0) >= 90 else ""),
                ]
            )
    return Table(
        columns=[
            "variant",
            "users",
            "server CPU",
            "server peak RSS",
            "load generator CPU",
            "load generator peak",
        ],
        rows=rows,
        caption="Server CPU is the CPU time of the server's process tree while the level ran "
        "(warm-up included); RSS sums the tree. Load generator CPU is in percent of one core: "
        "near 100% it may have limited the load.",
    )


def failures_table(levels: dict[str, dict[int, Level]]) -> Table | None:
    rows = []
    for name, by_users in levels.items():
        for users in sorted(by_users):
            messages = by_users[users].record.get("failure_messages") or {}
            for message, count in messages.items():
                rows.append([Cell(name), Cell(str(message)), Cell(str(users)), Cell(str(count))])
    if not rows:
        return None
    return Table(columns=["variant", "error", "users", "count"], rows=rows, numeric_from=2)


def equivalence_blocks(equivalence: dict[str, Any] | None) -> list[Block]:
    if not equivalence:
        return [Callout("warn", "No equivalence check was recorded for this run.")]
    tolerance = equivalence.get("tolerance_abs")
    passed = bool(equivalence.get("passed"))
    summary = (
        f"Every variant matched {equivalence.get('reference', 'the reference')} within an "
        f"absolute tolerance of {fmt.plain(tolerance)}."
        if passed
        else "At least one variant disagreed with the reference: its speed is not comparable."
    )
    rows = []
    for name, result in (equivalence.get("variants") or {}).items():
        ok = bool(result.get("passed"))
        rows.append(
            [
                Cell(name),
                Cell("passed" if ok else "FAILED", tone="good" if ok else "bad"),
                Cell("; ".join(str(m) for m in result.get("mismatches") or []) or "none"),
                Cell(fmt.number(result.get("requests_checked"))),
                Cell(f"{result.get('max_abs_diff', 0):.3g}"),
            ]
        )
    return [
        Callout("good" if passed else "bad", summary, title="passed" if passed else "failed"),
        Table(
            columns=["variant", "result", "mismatches", "requests checked", "max |difference|"],
            rows=rows,
            numeric_from=3,
        ),
    ]


def ceiling_blocks(ceiling: dict[str, Any] | None) -> list[Block]:
    if not ceiling:
        return [Text("The in-process ceiling was not measured in this run.")]
    items = [
        ("batch", f"{fmt.number(ceiling.get('batch_rows'))} rows"),
        ("forward pass", fmt.ms(ceiling.get("forward_ms"))),
        ("rows per second", fmt.rate(ceiling.get("rows_per_s"), "rows/s")),
        ("requests per second", fmt.rate(ceiling.get("requests_per_s"))),
        ("torch threads", fmt.number(ceiling.get("torch_threads"))),
        ("at users", fmt.number(ceiling.get("at_users"))),
    ]
    return [
        Text(
            "The same TorchScript model called in the harness process at Triton's mean batch "
            "size: the throughput a server could approach if serving cost nothing."
        ),
        KeyValues(items=items),
    ]


def tuning_blocks(tuning: dict[str, Any] | None) -> list[Block]:
    if not tuning:
        return [
            Text(
                "Triton's configuration was not searched in this run (--no-triton-tuning, "
                "--quick or --triton-url): it served with the options in the run's "
                "configuration."
            )
        ]
    chosen = tuning.get("chosen") or {}
    rows = []
    for trial in tuning.get("trials") or []:
        options = trial.get("options") or {}
        rows.append(
            [
                Cell(fmt.number(options.get("queue_delay_us"))),
                Cell(fmt.number(options.get("instances"))),
                Cell(fmt.number(options.get("torch_threads"))),
                Cell(fmt.rate(trial.get("throughput_rps"), "")),
                Cell(fmt.ms((trial.get("latency_ms") or {}).get("p99"))),
                Cell(fmt.number(trial.get("mean_batch_size"))),
                Cell("chosen" if options == chosen else "", "good" if options == chosen else ""),
            ]
        )
    fixed = ", ".join(tuning.get("fixed") or []) or "none"
    space = "; ".join(
        f"{knob} {', '.join(str(v) for v in values)}"
        for knob, values in (tuning.get("space") or {}).items()
    )
    intro = (
        f"Chosen by {len(rows)} trials of {fmt.seconds(tuning.get('duration_s'))} (after "
        f"{fmt.seconds(tuning.get('warmup_s'))} of warm-up) at "
        f"{fmt.users(int(tuning.get('users') or 0))}: {tuning.get('source', '')}, over "
        f"{space}. Knobs given on the command line, not searched: {fixed}."
    )
    columns = ["queue delay µs", "instances", "torch threads", "req/s", "p99", "mean batch", ""]
    return [Text(intro), Table(columns=columns, rows=rows, numeric_from=0)]


def protocol_table(levels: dict[str, dict[int, Level]], ceiling: dict[str, Any] | None) -> Table:
    """Each Triton protocol at its top level, against the in-process ceiling."""
    ceiling_rps = (ceiling or {}).get("requests_per_s")
    rows = []
    for name, by_users in levels.items():
        if not name.startswith("triton"):
            continue
        top = by_users[max(by_users)]
        throughput = top.record.get("throughput_rps")
        share = throughput / ceiling_rps * 100 if throughput and ceiling_rps else None
        rows.append(
            [
                Cell(name),
                Cell(fmt.users(top.users)),
                Cell(fmt.rate(throughput, "")),
                Cell(fmt.ms(top.latency("p99"))),
                Cell(fmt.number(top.triton.get("mean_batch_size"))),
                Cell(fmt.percent(share)),
            ]
        )
    return Table(
        columns=["variant", "level", "req/s", "p99", "mean batch", "of the ceiling"],
        rows=rows,
        numeric_from=2,
        caption="triton sends tensors as binary data after a JSON header (Triton's binary "
        "tensor extension, what tritonclient and perf_analyzer send); triton-json sends "
        "the same request as JSON. Both drive one server. The ceiling is the bare model at "
        "the headline's mean batch size (below).",
    )


def isolation_table(isolation: dict[str, Any]) -> Table:
    rows = []
    for name, record in isolation.items():
        failed = int(record.get("good_failed") or 0)
        statuses = ", ".join(f"{k}: {v}" for k, v in (record.get("bad_statuses") or {}).items())
        rows.append(
            [
                Cell(name),
                Cell(statuses),
                Cell(f"{failed} of {record.get('good_requests', 0)}", "bad" if failed else "good"),
            ]
        )
    return Table(
        columns=["variant", "bad request's answers", "valid requests failed"],
        rows=rows,
        numeric_from=2,
        caption="Each round sends valid requests together with one whose item id lies past "
        "the model's embedding table, so a batching server batches them together. '0' "
        "means no answer. A server that checks each request of a batch fails the bad one "
        "alone.",
    )


def check_parts(
    section: dict[str, Any], levels: dict[str, dict[int, Level]], anchor: str
) -> list[Part]:
    """What a load-driven section ends with: the generator's calibration, the failed
    requests (when any) and the equivalence check."""
    from infragap.reports.calibration import calibration_part

    parts = []
    calibration = calibration_part(section, anchor)
    if calibration is not None:
        parts.append(calibration)
    failures = failures_table(levels)
    if failures is not None:
        parts.append(Part("Failed requests", f"{anchor}-failures", [failures]))
    equivalence = equivalence_blocks(section.get("equivalence"))
    parts.append(Part("Equivalence check", f"{anchor}-equivalence", equivalence))
    return parts
