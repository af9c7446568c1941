"""The seeded fault schedule both sides face, and what it implies for each side. Pure.

A schedule lists, per date and step, the attempt numbers that fail with a transient
error. Every (seed, scenario, date, step, attempt) is its own coin with probability p,
so the n-th attempt of a step fails on both sides or on neither: the sides differ only
in how many attempts they make and what they redo, which is what the pair measures.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from infragap.naive.pipeline.injected_faults import EXIT_TRANSIENT

Schedule = dict[str, dict[str, list[int]]]  # date -> step -> failing attempt numbers
EXIT_BAD_INPUT = 1  # naive/pipeline/pipeline_io.py: a missing or corrupt input


def draw_schedule(
    seed: int,
    scenario: str,
    dates: Sequence[str],
    steps: Sequence[str],
    rate: float,
    max_attempts: int,
) -> Schedule:
    """Failing attempts 1..max_attempts for every date and step; empty entries left out."""
    schedule: Schedule = {}
    for day in dates:
        for step in steps:
            coin = random.Random(f"{seed}:{scenario}:{day}:{step}")
            failing = [n for n in range(1, max_attempts + 1) if coin.random() < rate]
            if failing:
                schedule.setdefault(day, {})[step] = failing
    return schedule


def injected_failures(schedule: Schedule) -> int:
    return sum(len(attempts) for steps in schedule.values() for attempts in steps.values())


@dataclass(frozen=True)
class ExpectedTask:
    """What Airflow should record for one task of one run."""

    tries: int
    state: str  # success, failed or upstream_failed


def expected_airflow(
    failing: dict[str, list[int]], steps: Sequence[str], retries: int, input_missing: bool = False
) -> dict[str, ExpectedTask]:
    """Tries and final state per task of one DAG run with `retries` retries per task.

    `input_missing`: the first step's input is absent, so every try of it fails.
    """
    expected: dict[str, ExpectedTask] = {}
    blocked = False
    for index, step in enumerate(steps):
        if blocked:
            expected[step] = ExpectedTask(0, "upstream_failed")
            continue
        bad = (
            set(range(1, retries + 2))
            if input_missing and index == 0
            else set(failing.get(step, ()))
        )
        first_good = next((n for n in range(1, retries + 2) if n not in bad), None)
        if first_good is None:
            expected[step] = ExpectedTask(retries + 1, "failed")
            blocked = True
        else:
            expected[step] = ExpectedTask(first_good, "success")
    return expected


@dataclass(frozen=True)
class ExpectedPass:
    """One run of the shell script: its exit code and where it stopped."""

    exit_code: int
    stopped_at: tuple[str, str] | None  # (date, step), None when it finished


def expected_naive(
    schedule: Schedule,
    dates: Sequence[str],
    steps: Sequence[str],
    reruns: int,
    missing: Collection[str] = (),
) -> list[ExpectedPass]:
    """The script's passes over `dates`, each from the top, rerun until one succeeds.

    A date in `missing` has no raw input: its first step fails before counting an
    attempt (the fault hook runs only once a step's inputs have been read).
    """
    attempts: Counter[tuple[str, str]] = Counter()
    passes = []
    for _ in range(reruns + 1):
        stopped: tuple[str, str] | None = None
        code = 0
        for day in dates:
            for index, step in enumerate(steps):
                if index == 0 and day in missing:
                    stopped, code = (day, step), EXIT_BAD_INPUT
                    break
                attempts[(day, step)] += 1
                if attempts[(day, step)] in schedule.get(day, {}).get(step, ()):
                    stopped, code = (day, step), EXIT_TRANSIENT
                    break
            if stopped:
                break
        passes.append(ExpectedPass(code, stopped))
        if stopped is None:
            break
    return passes
