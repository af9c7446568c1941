"""The naive side's answers: parsing the timing log, windows, and what it cannot answer."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from infragap.errors import ConfigError
from infragap.naive.timing_log_answers import (
    TimingRecord,
    answer,
    answer_all,
    answer_log_file,
    in_window,
    nearest_rank,
    parse_line,
    parse_timing_log,
)
from infragap.proven.observability.instrumented_app import LOG_FORMAT
from infragap.workloads import operator_questions as q

END = datetime(2024, 5, 1, 12, 1, 0)


def line(at: datetime, ms: float, rows: int = 4) -> str:
    """A line exactly as the naive app's logger writes it with LOG_FORMAT."""
    record = logging.LogRecord(
        "predict", logging.INFO, __file__, 1, f"predict took {ms:.1f}ms for {rows} rows", None, None
    )
    record.created = at.timestamp()
    record.msecs = at.microsecond // 1000
    return logging.Formatter(LOG_FORMAT).format(record)


def test_line_format_is_what_logging_writes():
    text = line(datetime(2024, 5, 1, 12, 0, 0, 123000), 3.44, 8)
    assert text == "2024-05-01 12:00:00,123 INFO predict predict took 3.4ms for 8 rows"
    assert parse_line(text) == TimingRecord(datetime(2024, 5, 1, 12, 0, 0, 123000), 3.4, 8)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2024-05-01 12:00:00,123 INFO werkzeug 127.0.0.1 - - POST /predict 200", "other"),
        ("2024-05-01 12:00:00,123 ERROR predict Exception on /predict [POST]", "other"),
        ("Traceback (most recent call last):", "malformed"),
        ('  File "app.py", line 3, in predict', "malformed"),
        ("2024-05-01 12:00:00,123 INFO predict predict took 3.", "other"),  # torn by a crash
        ("2024-05-01 12:00", "malformed"),
        ("2024-13-45 12:00:00,123 INFO predict predict took 3.4ms for 8 rows", "malformed"),
        ("predict took 3.4ms for 8 rows", "malformed"),  # no timestamp prefix
    ],
)
def test_lines_that_are_not_timing_records(text, kind):
    assert parse_line(text) == kind


def test_parse_counts_what_it_skips_and_the_bytes():
    start = END - timedelta(seconds=30)
    text = "\n".join(
        [
            line(start, 2.0),
            "Traceback (most recent call last):",
            "  ValueError: boom",
            "2024-05-01 12:00:31,000 INFO werkzeug GET /health 200",
            "",
            line(start + timedelta(seconds=1), 3.0),
            "2024-05-01 12:00:3",
        ]
    )
    log = parse_timing_log(text)
    assert [record.ms for record in log.records] == [2.0, 3.0]
    assert (log.malformed, log.other_records, log.lines) == (3, 1, 7)
    assert log.bytes_read == len(text.encode())


def test_window_is_open_at_the_start_and_closed_at_the_end():
    records = [TimingRecord(END - timedelta(seconds=s), float(s), 1) for s in (0, 30, 60, 61)]
    assert [r.ms for r in in_window(records, END, 60)] == [0.0, 30.0]
    with pytest.raises(ConfigError, match="positive"):
        in_window(records, END, 0)


def test_nearest_rank_returns_an_observed_value():
    values = [float(v) for v in range(1, 101)]
    assert nearest_rank(values, 0.99) == 99.0
    assert nearest_rank(values, 0.5) == 50.0
    assert nearest_rank([7.0], 0.99) == 7.0
    with pytest.raises(ValueError):
        nearest_rank([], 0.5)


def window_log() -> str:
    """100 lines in the last minute (1..100 ms) and 50 slow ones just before it."""
    lines = [line(END - timedelta(seconds=90, milliseconds=i), 1000.0) for i in range(50)]
    lines += [line(END - timedelta(milliseconds=500 * i), float(i + 1)) for i in range(100)]
    return "\n".join(lines) + "\n"


def test_answers_over_the_window():
    log = parse_timing_log(window_log())
    answers = {a.question: a for a in answer_all(log, END, 60)}
    assert list(answers) == list(q.QUESTION_IDS)
    assert answers[q.P50].value == 50.0
    assert answers[q.P99].value == 99.0
    assert answers[q.REQUEST_RATE].value == pytest.approx(100 / 60)
    for answered in (q.P50, q.P99, q.REQUEST_RATE):
        assert answers[answered].bytes_read == log.bytes_read
        assert "successful requests only" in answers[answered].note
        assert "100 timing lines in the 60 s window" in answers[answered].source


@pytest.mark.parametrize(
    ("question_id", "why"),
    [
        (q.STATUS_SHARE, "no HTTP status"),
        (q.P99_BY_VARIANT, "names no variant"),
        (q.TRITON_QUEUE_VS_COMPUTE, "queue and compute"),
        (q.TRITON_BATCH_SIZE, "batched"),
    ],
)
def test_what_the_log_cannot_answer(question_id, why):
    result = answer(question_id, parse_timing_log(window_log()), END, 60)
    assert result.value is None and not result.answered
    assert result.note.startswith("cannot answer") and why in result.note
    assert result.bytes_read == 0


def test_one_file_per_variant_answers_the_breakdown():
    result = answer(q.P99_BY_VARIANT, parse_timing_log(window_log()), END, 60, variant="hoisted")
    assert result.value == {"hoisted": 99.0}


def test_an_empty_window_has_no_quantile_and_a_zero_rate():
    log = parse_timing_log(window_log())
    later = END + timedelta(hours=1)
    assert answer(q.P99, log, later, 60).value is None
    assert answer(q.P99, log, later, 60).note == "no timing lines in the window"
    assert answer(q.REQUEST_RATE, log, later, 60).value == 0.0


def test_unknown_question():
    with pytest.raises(KeyError, match="unknown question"):
        answer("p42", parse_timing_log(""), END, 60)


def test_answer_log_file_times_the_answers(tmp_path):
    path = tmp_path / "predict.log"
    path.write_text(window_log())
    answers = {a.question: a for a in answer_log_file(path, 60, end=END)}
    assert answers[q.P99].value == 99.0
    assert answers[q.P99].seconds is not None and answers[q.P99].seconds > 0
    assert answers[q.STATUS_SHARE].seconds is None
    with pytest.raises(ConfigError, match="cannot read the timing log"):
        answer_log_file(tmp_path / "missing.log", 60)
