from __future__ import annotations

from infragap.loadtests.slo import parse_slo
from infragap.suites.serving.records import TritonTrial
from infragap.suites.serving.tuning import SEARCH_SPACE, search

START = {"queue_delay_us": 500, "instances": 1, "torch_threads": 1}


def fake_measure(rps: dict[tuple[int, int, int], float], p99: float = 10.0):
    """A measure() whose throughput comes from a table keyed by (delay, instances, threads)."""
    calls: list[dict[str, int]] = []

    def measure(options: dict[str, int]) -> TritonTrial:
        calls.append(options)
        key = (options["queue_delay_us"], options["instances"], options["torch_threads"])
        slow = options["instances"] == 2
        return {
            "options": options,
            "throughput_rps": rps.get(key, 100.0),
            "latency_ms": {"p50": 1.0, "p99": 80.0 if slow else p99},
            "requests": 1000,
            "failures": 0,
            "mean_batch_size": 4.0,
            "server_cpu_s": 1.0,
        }

    return measure, calls


def test_one_knob_at_a_time_keeping_the_best_value_of_each() -> None:
    measure, calls = fake_measure({(2000, 1, 1): 150.0, (2000, 1, 2): 170.0})
    chosen, trials = search(START, [], measure)
    assert chosen == {"queue_delay_us": 2000, "instances": 1, "torch_threads": 2}
    assert len(trials) == len(calls) == 1 + sum(len(v) - 1 for v in SEARCH_SPACE.values())
    # the later knobs are tried from the best delay found, not from the start
    assert calls[-1] == {"queue_delay_us": 2000, "instances": 1, "torch_threads": 2}


def test_a_knob_given_on_the_command_line_is_not_searched() -> None:
    measure, calls = fake_measure({(2000, 1, 1): 150.0})
    chosen, _ = search(START, ["queue_delay_us"], measure)
    assert chosen["queue_delay_us"] == 500
    assert all(call["queue_delay_us"] == 500 for call in calls)


def test_a_configuration_missing_the_slo_loses_to_a_slower_one_that_meets_it() -> None:
    measure, _ = fake_measure({(500, 2, 1): 400.0})  # fastest, but its p99 is 80 ms
    chosen, _ = search(START, [], measure, parse_slo("p99=50ms"))
    assert chosen["instances"] == 1
    chosen, _ = search(START, [], measure)  # no SLO: throughput alone
    assert chosen["instances"] == 2


def test_a_value_already_measured_is_not_measured_again() -> None:
    measure, calls = fake_measure({(0, 1, 1): 150.0})  # the first value beats the start
    search(START, [], measure)
    assert len(calls) == len({tuple(sorted(call.items())) for call in calls})
