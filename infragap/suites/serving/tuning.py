"""Triton's configuration, chosen by a small measured search before the run.

Model Analyzer's quick search, kept bounded: starting from the defaults it changes one
knob at a time (queue delay, then model instances, then torch threads), keeps the value
that served the most requests per second at the run's top user count, and moves on:
1 + 2 + 1 + 1 = 5 short trials. A knob given on the command line is not searched.
With an SLO, a configuration that misses it loses to any that meets it. The trials and
the choice go into the results as "triton_tuning".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from infragap.loadtests.runner import LevelSpec
from infragap.loadtests.slo import Slo, judge
from infragap.suites.serving.records import ServingLevel, TritonTrial, TritonTuning

SEARCH_SPACE: dict[str, tuple[int, ...]] = {
    "queue_delay_us": (0, 500, 2000),
    "instances": (1, 2),
    "torch_threads": (1, 2),
}
TRIAL_WARMUP_S = 3.0
TRIAL_DURATION_S = 5.0
SOURCE = "Triton Model Analyzer's quick search: one knob at a time, throughput objective"


def better(a: TritonTrial, b: TritonTrial, slo: Slo | None) -> bool:
    """Whether trial `a` beats `b`: meeting the SLO first, then throughput."""
    if slo is not None:
        a_meets, b_meets = (judge(slo, trial).met for trial in (a, b))
        if a_meets != b_meets:
            return a_meets
    return bool(a["throughput_rps"] > b["throughput_rps"])


def search(
    start: Mapping[str, int],
    fixed: Sequence[str],
    measure: Callable[[dict[str, int]], TritonTrial],
    slo: Slo | None = None,
    space: Mapping[str, tuple[int, ...]] = SEARCH_SPACE,
) -> tuple[dict[str, int], list[TritonTrial]]:
    """(the chosen options, every trial in the order run). `measure` runs one trial."""
    best_options = dict(start)
    best = measure(dict(best_options))
    trials = [best]
    for knob, values in space.items():
        if knob in fixed:
            continue
        for options in [{**best_options, knob: value} for value in values]:
            if any(trial["options"] == options for trial in trials):
                continue
            trial = measure(options)
            trials.append(trial)
            if better(trial, best, slo):
                best, best_options = trial, dict(options)
    return best_options, trials


def trial_record(options: dict[str, int], level: ServingLevel) -> TritonTrial:
    return {
        "options": options,
        "throughput_rps": level["throughput_rps"],
        "latency_ms": dict(level["latency_ms"]),
        "requests": level["requests"],
        "failures": level["failures"],
        "mean_batch_size": (level["triton"] or {}).get("mean_batch_size"),
        "server_cpu_s": level["server"]["cpu_s"],
    }


def tuning_record(
    start: Mapping[str, int],
    fixed: Sequence[str],
    chosen: Mapping[str, int],
    trials: list[TritonTrial],
    spec: LevelSpec,
) -> TritonTuning:
    return {
        "source": SOURCE,
        "space": {k: list(v) for k, v in SEARCH_SPACE.items()},
        "start": dict(start),
        "fixed": list(fixed),
        "chosen": dict(chosen),
        "users": spec.users,
        "warmup_s": spec.warmup_s,
        "duration_s": spec.duration_s,
        "trials": trials,
    }
