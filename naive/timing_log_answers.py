"""How a team answers the operator's questions when all it has is the timing log.

The naive endpoint (`naive/serving_app.py`) writes one line per successful request,
`logger.info(f"predict took {ms:.1f}ms for {n} rows")`, and the team configured logging
the usual way, `logging.basicConfig(filename=..., level=logging.INFO,
format="%(asctime)s %(levelname)s %(name)s %(message)s")`, so a line reads

    2024-05-01 12:00:00,123 INFO predict predict took 3.4ms for 8 rows

The timestamp is asctime's: local time, no zone, millisecond resolution. Answering means
reading the whole file (the window is found by reading it), parsing every line and
computing from the durations: exact quantiles (to the line's 0.1 ms), and a rate. What
the line does not carry cannot be answered at any price: the HTTP status (failed
requests write no line at all), the serving variant (unless each variant has its own
file), and Triton's queue/compute split and batch sizes. Those answers are None, with the
reason.

Lines that are not timing records are skipped and counted: other log records (same
prefix, other message) apart from malformed ones (a traceback's continuation lines, a line
torn by a crash, garbage). The functions are pure (text in, records out), except
`answer_log_file`, the thin wrapper that reads a file and times the whole answer.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from infragap.errors import ConfigError
from infragap.workloads.operator_questions import (
    P50,
    P99,
    P99_BY_VARIANT,
    QUESTION_IDS,
    REQUEST_RATE,
    STATUS_SHARE,
    TRITON_BATCH_SIZE,
    TRITON_QUEUE_VS_COMPUTE,
    Answer,
)

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S,%f"  # asctime: logging's default datefmt plus ,msecs
_RECORD = re.compile(
    r"^(?P<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (?P<level>[A-Z]+) (?P<logger>\S+) "
    r"(?P<message>.*)$"
)
_TIMING = re.compile(r"^predict took (?P<ms>\d+(?:\.\d+)?)ms for (?P<rows>\d+) rows$")

SUCCESS_ONLY = "successful requests only: a request that fails writes no line"


@dataclass(frozen=True)
class TimingRecord:
    at: datetime  # local time, as asctime writes it
    ms: float
    rows: int


@dataclass(frozen=True)
class TimingLog:
    """What parsing a log gave: the timing records, the lines skipped, the bytes read."""

    records: tuple[TimingRecord, ...]
    other_records: int  # well-formed log records with another message
    malformed: int  # lines that are not log records at all
    lines: int
    bytes_read: int


def parse_line(line: str) -> TimingRecord | str:
    """A TimingRecord, or "other" (another log record) or "malformed"."""
    match = _RECORD.match(line.rstrip("\r\n"))
    if match is None:
        return "malformed"
    try:
        at = datetime.strptime(match["at"], TIMESTAMP_FORMAT)
    except ValueError:  # 2024-13-45 and the like
        return "malformed"
    timing = _TIMING.match(match["message"])
    if timing is None:
        return "other"
    return TimingRecord(at, float(timing["ms"]), int(timing["rows"]))


def parse_timing_log(text: str) -> TimingLog:
    """Every line of `text`, parsed; empty lines are neither records nor malformed."""
    records, other, malformed, lines = [], 0, 0, 0
    for line in text.splitlines():
        lines += 1
        if not line.strip():
            continue
        parsed = parse_line(line)
        if isinstance(parsed, TimingRecord):
            records.append(parsed)
        elif parsed == "other":
            other += 1
        else:
            malformed += 1
    return TimingLog(tuple(records), other, malformed, lines, len(text.encode("utf-8")))


def in_window(
    records: Sequence[TimingRecord], end: datetime, window_s: float
) -> list[TimingRecord]:
    """The records with end - window_s < at <= end."""
    if not window_s > 0:
        raise ConfigError(f"the window must be a positive number of seconds, not {window_s}")
    start = end - timedelta(seconds=window_s)
    return [record for record in records if start < record.at <= end]


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The exact q-quantile by nearest rank: the smallest value with at least a share q of
    the values at or below it (an observed value, never an interpolation)."""
    if not values:
        raise ValueError("no values to take a quantile of")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


CANNOT = {
    STATUS_SHARE: "the line has no HTTP status, and a failed request writes no line at all",
    TRITON_QUEUE_VS_COMPUTE: (
        "the Flask timing line holds one duration per request: Triton's queue and compute "
        "split is only in Triton's own metrics"
    ),
    TRITON_BATCH_SIZE: (
        "the line counts rows per request, not how requests were batched into model executions"
    ),
}


def answer(
    question_id: str,
    log: TimingLog,
    end: datetime,
    window_s: float,
    variant: str | None = None,
) -> Answer:
    """The log's answer to one question over the window ending at `end`. `variant`: the
    serving variant this file belongs to, when the team keeps one file per variant."""
    if question_id not in QUESTION_IDS:
        raise KeyError(f"unknown question {question_id!r}: known ones are {QUESTION_IDS}")
    if question_id in CANNOT:
        return Answer(question_id, None, note=f"cannot answer: {CANNOT[question_id]}")
    window = in_window(log.records, end, window_s)
    source = (
        f"timing log: {log.lines} lines, {len(window)} timing lines in the {window_s:g} s "
        f"window, {log.other_records} other records and {log.malformed} malformed lines skipped"
    )
    if question_id == REQUEST_RATE:
        return Answer(question_id, len(window) / window_s, SUCCESS_ONLY, source, log.bytes_read)
    if question_id == P99_BY_VARIANT and variant is None:
        note = (
            "cannot answer: the line names no variant; with one log file per variant, "
            "answer each file with its variant"
        )
        return Answer(question_id, None, note=note)
    if not window:
        return Answer(question_id, None, "no timing lines in the window", source, log.bytes_read)
    durations = [record.ms for record in window]
    note = f"{SUCCESS_ONLY}; exact to the line's 0.1 ms"
    if question_id == P50:
        return Answer(question_id, nearest_rank(durations, 0.5), note, source, log.bytes_read)
    if question_id == P99:
        return Answer(question_id, nearest_rank(durations, 0.99), note, source, log.bytes_read)
    assert question_id == P99_BY_VARIANT and variant is not None
    value = {variant: nearest_rank(durations, 0.99)}
    return Answer(question_id, value, f"{note}; one file per variant", source, log.bytes_read)


def answer_all(
    log: TimingLog, end: datetime, window_s: float, variant: str | None = None
) -> list[Answer]:
    """Every question of the shared list, in its order."""
    return [answer(question_id, log, end, window_s, variant) for question_id in QUESTION_IDS]


def answer_log_file(
    path: Path, window_s: float, end: datetime | None = None, variant: str | None = None
) -> list[Answer]:
    """Read and parse `path` and answer every question; each answer's `seconds` is the
    whole read-parse-answer time, since every answer needs the whole file read."""
    started = time.perf_counter()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read the timing log {path} ({exc}): check the path") from exc
    answers = answer_all(parse_timing_log(text), end or datetime.now(), window_s, variant)
    seconds = time.perf_counter() - started
    return [replace(item, seconds=seconds) if item.answered else item for item in answers]
