from __future__ import annotations

import pytest

from infragap.loadtests.latency_log import (
    OTHER_MESSAGES,
    SPAWNED,
    STOPPING,
    USER_ERROR,
    LatencyLog,
    RequestRecord,
    Window,
    count_messages,
    cpu_in_window,
    format_marker,
    format_request,
    measure_window,
    parse_log,
    summarize,
    throughput_per_second,
)

T0 = 1_700_000_000.0


def log_text(*lines: str) -> str:
    return "".join(lines)


def ok(start: float, ms: float) -> str:
    return format_request(T0 + start, ms, True)


def failed(start: float, ms: float, error: str = "HTTP 500") -> str:
    return format_request(T0 + start, ms, False, error)


def test_format_then_parse_keeps_exact_floats() -> None:
    ms = 123.456789012345
    text = log_text(
        format_marker(SPAWNED, T0),
        format_request(T0 + 0.1234567, ms, True),
        format_marker(STOPPING, T0 + 9),
    )
    log = parse_log(text)
    assert log.records == [RequestRecord(T0 + 0.1234567, ms, True, "")]
    assert log.spawned_at == T0
    assert log.stopping_at == T0 + 9


def test_error_text_with_commas_and_newlines_stays_on_one_line() -> None:
    line = format_request(T0, 1.0, False, "no response: ConnectionRefused,\n errno 111")
    assert line.count("\n") == 1
    assert parse_log(line).records[0].error == "no response: ConnectionRefused, errno 111"


def test_empty_log() -> None:
    log = parse_log("")
    assert log == LatencyLog()
    load = summarize(log, users=4, warmup_s=1, duration_s=2)
    assert load.window_s == 0.0
    assert load.latencies_ms == []
    assert load.failures == 0
    assert load.throughput_per_s == []
    assert load.loadgen_cpu_percent == load.loadgen_cpu_peak == 0.0


def test_truncated_last_line_is_dropped() -> None:
    whole = ok(0.5, 12.345)
    text = log_text(format_marker(SPAWNED, T0), whole, ok(0.6, 99.875)[:-4])
    assert parse_log(text).records == parse_log(whole).records


def test_malformed_and_unknown_lines_are_skipped() -> None:
    text = log_text("garbage\n", "R,not-a-number,1,1,\n", "Q,1,2\n", ok(0.5, 3.0))
    assert len(parse_log(text).records) == 1


def test_user_errors_are_collected() -> None:
    log = parse_log(format_marker(USER_ERROR, T0, "KeyError: 'scores'"))
    assert log.user_errors == ["KeyError: 'scores'"]


def test_window_starts_after_warmup_from_the_spawn_marker() -> None:
    log = parse_log(
        log_text(format_marker(SPAWNED, T0), ok(0.2, 1.0), format_marker(STOPPING, T0 + 9))
    )
    assert measure_window(log, warmup_s=2, duration_s=3) == Window(T0 + 2, T0 + 5)


def test_window_without_stop_marker_ends_at_the_last_completion() -> None:
    log = parse_log(log_text(format_marker(SPAWNED, T0), ok(3.0, 500.0), ok(1.0, 1.0)))
    assert measure_window(log, warmup_s=2, duration_s=3) == Window(T0 + 2, T0 + 3.5)


def test_window_falls_back_to_the_first_request() -> None:
    log = parse_log(log_text(ok(0.7, 1.0), ok(0.5, 1.0), format_marker(STOPPING, T0 + 10)))
    assert measure_window(log, warmup_s=1, duration_s=2) == Window(T0 + 1.5, T0 + 3.5)


def test_window_is_cut_short_when_the_run_stopped_early() -> None:
    log = parse_log(log_text(format_marker(SPAWNED, T0), format_marker(STOPPING, T0 + 4)))
    window = measure_window(log, warmup_s=2, duration_s=3)
    assert window is not None
    assert window.length_s == pytest.approx(2.0)


def test_requests_straddling_the_window_edges() -> None:
    text = log_text(
        format_marker(SPAWNED, T0),
        ok(1.9, 200.0),  # starts in the warm-up, ends inside: not a latency, but throughput
        ok(2.0, 10.0),  # starts exactly at the window start: inside
        ok(4.995, 20.0),  # starts inside, ends after the window: a latency, no throughput
        ok(5.0, 1.0),  # starts exactly at the window end: outside
        failed(1.99, 5.0),  # failure before the window: not counted
        failed(3.0, 5.0),
        format_marker(STOPPING, T0 + 6),
    )
    load = summarize(parse_log(text), users=2, warmup_s=2, duration_s=3)
    assert load.window_s == pytest.approx(3.0)
    assert sorted(load.latencies_ms) == [10.0, 20.0]
    assert load.failures == 1
    assert load.failure_messages == {"HTTP 500": 1}
    assert load.throughput_per_s == [2, 0, 0]


def test_all_failures() -> None:
    text = log_text(
        format_marker(SPAWNED, T0),
        *(failed(1 + i / 10, 1.0, "no response: ConnectionRefusedError") for i in range(20)),
        format_marker(STOPPING, T0 + 5),
    )
    load = summarize(parse_log(text), users=1, warmup_s=1, duration_s=2)
    assert load.latencies_ms == []
    assert load.failures == 20
    assert load.failure_messages == {"no response: ConnectionRefusedError": 20}
    assert load.throughput_per_s == [0, 0]


def test_throughput_bins_drop_the_partial_last_second() -> None:
    records = [RequestRecord(T0 + t, 0.0, True) for t in (0.0, 0.5, 1.0, 2.2, 2.4)]
    assert throughput_per_second(records, Window(T0, T0 + 2.5)) == [2, 1]


def test_count_messages_keeps_the_most_common() -> None:
    messages = ["a"] * 5 + ["b"] * 3 + ["c", "d"]
    assert count_messages(messages, limit=2) == {"a": 5, "b": 3, OTHER_MESSAGES: 2}
    assert count_messages([]) == {}


def test_cpu_samples_inside_the_window_or_all() -> None:
    samples = [(T0 + 0.5, 100.0), (T0 + 1.5, 40.0), (T0 + 2.5, 60.0), (T0 + 9, 5.0)]
    assert cpu_in_window(samples, Window(T0 + 1, T0 + 3)) == [40.0, 60.0]
    assert cpu_in_window(samples, Window(T0 + 20, T0 + 21)) == [100.0, 40.0, 60.0, 5.0]
    assert cpu_in_window(samples, None) == [100.0, 40.0, 60.0, 5.0]
    load = summarize(
        parse_log(format_marker(SPAWNED, T0)),
        users=1,
        warmup_s=1,
        duration_s=2,
        cpu_samples=samples,
    )
    assert load.loadgen_cpu_percent == pytest.approx(50.0)
    assert load.loadgen_cpu_peak == 60.0
