"""The latency log: one line per request, written by the Locust process, read by the runner.

Locust rounds the response times it keeps, so the locustfile writes its own log and the
numbers in a report come from here. Everything in this module is pure: it formats lines,
parses text and cuts a measurement window out of plain data.

Format (one record per line, fields separated by commas, the error text last):

    R,<start epoch s>,<response ms>,<1 ok | 0 failed>,<send delay ms>,<1 backlogged | 0>,<error>
    S,<epoch s>            all users spawned
    T,<epoch s>            the run time is over, users are being stopped
    X,<epoch s>,<text>     a user task raised (a bug in the locustfile, never a server error)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

REQUEST = "R"
SPAWNED = "S"
STOPPING = "T"
USER_ERROR = "X"

# A send more than this after its intended time, with a connection free, means the
# generator fell behind its schedule (wrk2's and the issue's threshold).
LATE_SEND_MS = 10.0
MAX_ERROR_CHARS = 200
MAX_FAILURE_MESSAGES = 10
OTHER_MESSAGES = "(other messages)"


@dataclass(frozen=True)
class RequestRecord:
    """One request: its start, exact response time and outcome.

    In an open loop `start_s` is the *intended* send time and `response_ms` runs from it,
    so time spent waiting to be sent counts (no coordinated omission); `delay_ms` is how
    late it really went out, and `backlogged` says every connection was busy at its
    intended time (the server, not the generator, held it back). A closed loop's
    requests go out when they start: delay 0.
    """

    start_s: float
    response_ms: float
    ok: bool
    error: str = ""
    delay_ms: float = 0.0
    backlogged: bool = False

    @property
    def late(self) -> bool:
        """Sent late although a connection was free: the generator fell behind."""
        return not self.backlogged and self.delay_ms > LATE_SEND_MS

    @property
    def end_s(self) -> float:
        return self.start_s + self.response_ms / 1000.0


@dataclass(frozen=True)
class LatencyLog:
    """A parsed log: the requests, the spawn and stop moments, and any user-task errors."""

    records: list[RequestRecord] = field(default_factory=list)
    spawned_at: float | None = None
    stopping_at: float | None = None
    user_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """The measurement window in epoch seconds; `end_s` is cut short if the run stopped early."""

    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    def holds(self, t: float) -> bool:
        return self.start_s <= t < self.end_s


@dataclass
class LevelLoad:
    """What one closed-loop load level measured inside its window.

    `latencies_ms` are the exact response times of successful requests that started in
    the window; `failures` and `failure_messages` count failed requests that started in
    it. `throughput_per_s[i]` counts successful requests that completed in second i of
    the window. CPU figures are for the Locust process, in percent of one core.
    `sends` counts requests that started in the window, `late_sends` those the
    generator sent late (LATE_SEND_MS) and `backlogged_sends` those that waited for a
    busy connection; `max_delay_ms` is the latest send. With a steady-state rule,
    `windows` holds (req/s, percentile ms) of each window run and `settled` whether the
    last three agreed.
    """

    users: int
    window_s: float
    latencies_ms: list[float]
    failures: int
    failure_messages: dict[str, int]
    throughput_per_s: list[int]
    loadgen_cpu_percent: float
    loadgen_cpu_peak: float
    sends: int = 0
    late_sends: int = 0
    backlogged_sends: int = 0
    max_delay_ms: float = 0.0
    windows: list[tuple[float, float | None]] = field(default_factory=list)
    settled: bool | None = None  # None: no steady-state rule was applied
    judged_on: str = ""  # "percentile", or "median" when windows were too small for it
    loadgen_cores: list[int] = field(default_factory=list)  # CPUs the generator could use
    window_start_s: float | None = None  # the window in Unix seconds, as servers stamp time
    window_end_s: float | None = None


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR_CHARS]


def format_request(
    start_s: float,
    response_ms: float,
    ok: bool,
    error: str = "",
    delay_ms: float = 0.0,
    backlogged: bool = False,
) -> str:
    """One request line; floats keep full precision (repr round-trips exactly)."""
    return (
        f"{REQUEST},{start_s!r},{response_ms!r},{int(ok)},{delay_ms!r},{int(backlogged)},"
        f"{_clean(error)}\n"
    )


def format_marker(kind: str, at_s: float, text: str = "") -> str:
    if text:
        return f"{kind},{at_s!r},{_clean(text)}\n"
    return f"{kind},{at_s!r}\n"


def parse_log(text: str) -> LatencyLog:
    """Parse a whole log; a last line without its newline was cut off mid-write and is dropped.

    Unknown or malformed lines are skipped, so a partial log still yields what it holds.
    """
    lines = text.split("\n")
    lines.pop()  # the text after the last newline: empty, or a truncated line
    records: list[RequestRecord] = []
    spawned_at: float | None = None
    stopping_at: float | None = None
    user_errors: list[str] = []
    for line in lines:
        kind, _, rest = line.partition(",")
        try:
            if kind == REQUEST:
                start, ms, ok, delay, backlog, error = rest.split(",", 5)
                records.append(
                    RequestRecord(
                        float(start), float(ms), ok == "1", error, float(delay), backlog == "1"
                    )
                )
            elif kind == SPAWNED and spawned_at is None:
                spawned_at = float(rest)
            elif kind == STOPPING and stopping_at is None:
                stopping_at = float(rest)
            elif kind == USER_ERROR:
                user_errors.append(rest.partition(",")[2])
        except ValueError:
            continue
    return LatencyLog(records, spawned_at, stopping_at, user_errors)


def load_start(log: LatencyLog) -> float | None:
    """When the load level is fully on: all users spawned, else the first request's start."""
    if log.spawned_at is not None:
        return log.spawned_at
    if log.records:
        return min(r.start_s for r in log.records)
    return None


def measure_window(log: LatencyLog, warmup_s: float, duration_s: float) -> Window | None:
    """[load start + warmup, + duration), ending early at the stop marker (or last completion)."""
    start = load_start(log)
    if start is None:
        return None
    begin = start + warmup_s
    end = begin + duration_s
    if log.stopping_at is not None:
        end = min(end, log.stopping_at)
    elif log.records:
        end = min(end, max(r.end_s for r in log.records))
    return Window(begin, max(begin, end))


def throughput_per_second(records: Iterable[RequestRecord], window: Window) -> list[int]:
    """Successful completions in each whole second of the window (a partial last one is dropped)."""
    bins = [0] * int(window.length_s)
    for record in records:
        if not record.ok:
            continue
        offset = record.end_s - window.start_s
        if 0 <= offset < len(bins):
            bins[int(offset)] += 1
    return bins


def count_messages(messages: Iterable[str], limit: int = MAX_FAILURE_MESSAGES) -> dict[str, int]:
    """The `limit` most common messages with their counts; the rest summed under one key."""
    counts = Counter(messages)
    kept = dict(counts.most_common(limit))
    rest = sum(counts.values()) - sum(kept.values())
    if rest:
        kept[OTHER_MESSAGES] = rest
    return kept


def cpu_in_window(samples: Sequence[tuple[float, float]], window: Window | None) -> list[float]:
    """CPU % samples `(epoch s, percent)` taken inside the window; all of them if none were."""
    every = [pct for _, pct in samples]
    if window is None:
        return every
    inside = [pct for t, pct in samples if window.start_s <= t <= window.end_s]
    return inside or every


def summarize(
    log: LatencyLog,
    *,
    users: int,
    warmup_s: float,
    duration_s: float,
    cpu_samples: Sequence[tuple[float, float]] = (),
) -> LevelLoad:
    """Cut the measurement window out of a parsed log and reduce it to a LevelLoad."""
    window = measure_window(log, warmup_s, duration_s)
    cpu = cpu_in_window(cpu_samples, window)
    cpu_mean = sum(cpu) / len(cpu) if cpu else 0.0
    cpu_peak = max(cpu, default=0.0)
    if window is None:
        return LevelLoad(users, 0.0, [], 0, {}, [], cpu_mean, cpu_peak)
    inside = [r for r in log.records if window.holds(r.start_s)]
    failed = [r for r in inside if not r.ok]
    return LevelLoad(
        sends=len(inside),
        late_sends=sum(r.late for r in inside),
        backlogged_sends=sum(r.backlogged for r in inside),
        max_delay_ms=max((r.delay_ms for r in inside), default=0.0),
        users=users,
        window_s=window.length_s,
        latencies_ms=[r.response_ms for r in inside if r.ok],
        failures=len(failed),
        failure_messages=count_messages(r.error for r in failed),
        throughput_per_s=throughput_per_second(log.records, window),
        loadgen_cpu_percent=cpu_mean,
        loadgen_cpu_peak=cpu_peak,
        window_start_s=window.start_s,
        window_end_s=window.end_s,
    )
