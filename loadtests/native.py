"""Calibration against a native load generator: Debian's `hey` (preferred) or `wrk`.

A Python load generator costs CPU per request, and on a small machine that cost comes
out of the server's share, so it can understate the fastest variant. Calibration drives
that variant once more with a native generator at the same concurrency and records both
figures (`calibration_record`); the report warns when ours reaches less than 90% of it.

`run_native` runs the generator as a supervised subprocess (Ctrl-C stops it) with a POST
of the given JSON body, then parses what it printed:

* hey with `-o csv`: one line per response (latency to 0.1 ms, status code, start
  offset), so percentiles are exact nearest-rank ones like ours. hey leaves requests
  that failed without a response (refused, reset, timed out) out of its CSV, so its
  `errors` count only bad status codes.
* wrk with `--latency` and a Lua script that sets the method, body and headers (wrk has
  no option for a body): percentiles p50/p75/p90/p99 from its histogram, the number of
  status >= 400 responses and its socket errors. wrk runs whole seconds.

The parsers are pure and tested on output captured from the real tools
(tests/fixtures/native/).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

from infragap.errors import ConfigError, LoadError
from infragap.processes import Supervisor
from infragap.reports.stats import nearest_rank

__all__ = [
    "Calibration",
    "NativeGenerator",
    "NativeResult",
    "calibration_record",
    "find_native",
    "native_command",
    "parse_hey_csv",
    "parse_wrk",
    "require_native",
    "run_native",
    "wrk_script",
]

GeneratorName = Literal["hey", "wrk"]
PREFERENCE: tuple[GeneratorName, ...] = ("hey", "wrk")
# A request fails after this long (wrk's default of 2 s would cut off a slow naive variant).
REQUEST_TIMEOUT_S = 30
# Process start and shutdown on top of the run and of the requests still in flight.
PROCESS_ALLOWANCE_S = 30.0
INSTALL_HINT = "install one with `apt-get install hey` (or `apt-get install wrk`)"
HEY_CSV_HEADER = "response-time,"


@dataclass(frozen=True)
class NativeGenerator:
    """A native load generator found on PATH; `version` is None when it cannot say."""

    name: GeneratorName
    path: str
    version: str | None = None


@dataclass(frozen=True)
class NativeResult:
    """What one native run measured.

    `requests` counts responses of any status; `ok` those that succeeded (hey: 2xx; wrk:
    below 400 and within the timeout), so `rps` compares with our successful requests per
    second. `failures` maps a reason ("status 503", "socket timeout") to a count.
    `latencies_ms` holds every successful response's latency where the generator lists
    them (hey), else it is empty and only the percentiles are known (wrk).
    """

    generator: str
    version: str | None
    concurrency: int
    duration_s: float
    requests: int
    ok: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    failures: dict[str, int] = field(default_factory=dict)
    status_codes: dict[str, int] = field(default_factory=dict)
    latencies_ms: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def rps(self) -> float:
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return sum(self.failures.values())


class Calibration(TypedDict):
    """One calibration: the same variant and concurrency driven by a native generator and
    by ours. `ratio` is ours / native throughput (None when the native run completed
    nothing); `p99_ratio` ours / native p99 (above 1: ours saw slower tails)."""

    variant: str
    users: int
    generator: str
    generator_version: str | None
    native_concurrency: int
    native_duration_s: float
    native_requests: int
    native_errors: int
    native_rps: float
    native_p50_ms: float | None
    native_p90_ms: float | None
    native_p99_ms: float | None
    native_notes: list[str]
    ours_rps: float
    ours_p99_ms: float | None
    ratio: float | None
    p99_ratio: float | None


# ---------------------------------------------------------------------------- finding


def find_native(which: Callable[[str], str | None] = shutil.which) -> NativeGenerator | None:
    """The first of hey, wrk on PATH, with its version when it can tell; None if neither."""
    for name in PREFERENCE:
        path = which(name)
        if path:
            return NativeGenerator(name, path, _version(name, path))
    return None


def require_native(which: Callable[[str], str | None] = shutil.which) -> NativeGenerator:
    """`find_native`, or a LoadError with the install command when neither is on PATH."""
    found = find_native(which)
    if found is None:
        raise LoadError(f"calibration needs hey or wrk on PATH, and neither is: {INSTALL_HINT}")
    return found


def _version(name: GeneratorName, path: str) -> str | None:
    if name == "hey" and not path.startswith("/usr/"):
        return None  # hey has no version option; only Debian's package knows its version
    argv = [path, "-v"] if name == "wrk" else ["dpkg-query", "-W", "-f=${Version}", name]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if name == "wrk":
        match = re.match(r"wrk\s+(\S+)", done.stdout + done.stderr)
        return match.group(1) if match else None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


# ---------------------------------------------------------------------------- commands


def native_command(
    generator: NativeGenerator,
    url: str,
    headers: Mapping[str, str],
    concurrency: int,
    duration_s: float,
    body_path: Path,
    script_path: Path | None = None,
) -> list[str]:
    """The argv for one run: POST `body_path`'s contents with `headers` to `url`.

    wrk takes its body and headers from `script_path` (see `wrk_script`); its duration
    is rounded up to whole seconds, the only unit it takes.
    """
    if generator.name == "hey":
        duration = f"{round(duration_s * 1000)}ms"
        argv = [generator.path, "-z", duration, "-c", str(concurrency), "-o", "csv"]
        argv += ["-m", "POST", "-t", str(REQUEST_TIMEOUT_S), "-D", str(body_path)]
        content_type = _header(headers, "content-type") or "application/json"
        argv += ["-T", content_type]
        for name, value in headers.items():
            if name.lower() != "content-type":
                argv += ["-H", f"{name}: {value}"]
        return [*argv, url]
    if script_path is None:
        raise ValueError("wrk needs the Lua script that carries the body")
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    return [
        generator.path,
        "-t",
        str(threads),
        "-c",
        str(concurrency),
        "-d",
        f"{max(1, math.ceil(duration_s))}s",
        "--timeout",
        f"{REQUEST_TIMEOUT_S}s",
        "--latency",
        "-s",
        str(script_path),
        url,
    ]


def wrk_script(body: str | bytes, headers: Mapping[str, str]) -> str:
    """A wrk Lua script sending every request as a POST of `body` with `headers`."""
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body)}"]
    if _header(headers, "content-type") is None:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    for name, value in headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    return "\n".join(lines) + "\n"


def _lua_string(text: str | bytes) -> str:
    """A Lua string literal for any text or bytes: bytes outside a safe set as decimal
    escapes."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;/{}[]()")
    data = text.encode() if isinstance(text, str) else text
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in data) + '"'


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


# ---------------------------------------------------------------------------- parsing


def parse_hey_csv(text: str, concurrency: int, version: str | None = None) -> NativeResult:
    """Parse `hey -o csv` output (any other lines, such as warnings, are skipped).

    Columns: response-time, DNS+dialup, DNS, Request-write, Response-delay,
    Response-read (seconds, 4 decimals), status-code, offset (seconds from hey's start
    to the request's start). The run's duration is from hey's start to the end of the
    last response.
    """
    if HEY_CSV_HEADER not in text:
        raise LoadError(
            "hey printed no CSV (no line starting 'response-time,'): run it by hand with "
            "`-o csv` to see why; its output began with:\n" + text[:500]
        )
    codes: Counter[str] = Counter()
    latencies: list[float] = []
    end_s = 0.0
    for line in text.splitlines():
        fields = line.strip().split(",")
        if len(fields) != 8 or line.startswith(HEY_CSV_HEADER):
            continue
        try:
            seconds, status, offset = float(fields[0]), int(fields[6]), float(fields[7])
        except ValueError:
            continue
        codes[str(status)] += 1
        end_s = max(end_s, offset + seconds)
        if 200 <= status < 300:
            latencies.append(round(seconds * 1000, 1))
    failures = {f"status {code}": n for code, n in sorted(codes.items()) if code[0] != "2"}
    p50, p90, p99 = _percentiles(latencies)
    return NativeResult(
        generator="hey",
        version=version,
        concurrency=concurrency,
        duration_s=round(end_s, 4),
        requests=sum(codes.values()),
        ok=len(latencies),
        failures=failures,
        status_codes=dict(sorted(codes.items())),
        latencies_ms=tuple(latencies),
        notes=(
            "hey -o csv lists responses only: requests that failed without one "
            "(refused, reset, timed out) are not counted",
            "latencies to 0.1 ms",
        ),
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
    )


def _percentiles(latencies_ms: list[float]) -> tuple[float | None, float | None, float | None]:
    if not latencies_ms:
        return None, None, None
    ordered = sorted(latencies_ms)
    return nearest_rank(ordered, 50), nearest_rank(ordered, 90), nearest_rank(ordered, 99)


WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_WRK_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),")
_WRK_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$")
_WRK_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s*(\d+)")
_WRK_SOCKET = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)


def parse_wrk(text: str, concurrency: int, version: str | None = None) -> NativeResult:
    """Parse wrk's summary printed with `--latency`.

    wrk counts a response that came after `--timeout` both as a request and as a socket
    timeout, and counts status >= 400 as "Non-2xx or 3xx"; `ok` is what is left.
    """
    total: tuple[int, float] | None = None
    found: dict[str, float] = {}
    non_2xx = 0
    sockets: dict[str, int] = {}
    for line in text.splitlines():
        if match := _WRK_TOTAL.match(line):
            total = int(match.group(1)), float(match.group(2)) * WRK_UNITS[match.group(3)]
        elif match := _WRK_PERCENTILE.match(line):
            found[match.group(1)] = float(match.group(2)) * WRK_UNITS[match.group(3)]
        elif match := _WRK_NON_2XX.match(line):
            non_2xx = int(match.group(1))
        elif match := _WRK_SOCKET.match(line):
            kinds = ("connect", "read", "write", "timeout")
            sockets = {k: int(v) for k, v in zip(kinds, match.groups(), strict=True)}
    if total is None:
        raise LoadError(
            "wrk printed no 'N requests in T' line, so it measured nothing; "
            "its output began with:\n" + text[:500]
        )
    requests, duration_ms = total
    ok = max(0, requests - non_2xx - sockets.get("timeout", 0))
    failures = {"status >= 400": non_2xx} if non_2xx else {}
    failures |= {f"socket {kind}": n for kind, n in sockets.items() if n}

    def percentile(p: str) -> float | None:
        return round(found[p], 4) if ok and p in found else None

    return NativeResult(
        generator="wrk",
        version=version,
        concurrency=concurrency,
        duration_s=round(duration_ms / 1000, 4),
        requests=requests,
        ok=ok,
        failures=failures,
        notes=(
            "wrk's percentiles come from its latency histogram over every response, "
            "shown to two decimals",
        ),
        p50_ms=percentile("50"),
        p90_ms=percentile("90"),
        p99_ms=percentile("99"),
    )


# ---------------------------------------------------------------------------- running


def run_native(
    generator: NativeGenerator,
    url: str,
    body: str | bytes,
    headers: Mapping[str, str],
    concurrency: int,
    duration_s: float,
    work_dir: Path,
    supervisor: Supervisor,
) -> NativeResult:
    """Drive `url` with `concurrency` connections for `duration_s`, POSTing `body`.

    The generator's output goes to `<name>-c<N>.log` in the supervisor's log folder; the
    body (and wrk's script) are written to `work_dir`. Ctrl-C stops the generator, as
    does any error. Raises LoadError when the generator fails, prints
    nothing usable, or completes no successful request.
    """
    if concurrency < 1 or not duration_s > 0:
        raise ConfigError(
            f"native calibration needs at least 1 connection and a positive duration "
            f"(got {concurrency} connections, {duration_s} s)"
        )
    # Absolute: the generator runs in another folder, and --out is relative by default.
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    body_path = work_dir / f"{generator.name}-body"
    body_path.write_bytes(body.encode() if isinstance(body, str) else body)
    script_path = None
    if generator.name == "wrk":
        script_path = work_dir / "wrk-post.lua"
        script_path.write_text(wrk_script(body, headers), encoding="utf-8")
    argv = native_command(generator, url, headers, concurrency, duration_s, body_path, script_path)
    try:
        child = supervisor.start(f"{generator.name}-c{concurrency}", argv, cwd=work_dir)
    except OSError as error:
        raise LoadError(f"cannot run {generator.path} ({error.strerror}): {INSTALL_HINT}") from None
    limit_s = math.ceil(duration_s) + REQUEST_TIMEOUT_S + PROCESS_ALLOWANCE_S
    try:
        code = child.popen.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        raise LoadError(
            f"{generator.name} was still running {limit_s:.0f} s after it started, for a "
            f"{duration_s:g} s run: the server may hang on requests; its log "
            f"({child.log_path}) ends with:\n{child.log_tail()}"
        ) from None
    finally:
        supervisor.stop(child)
    if code != 0:
        raise LoadError(
            f"{generator.name} exited with code {code} driving {url}: check that the server "
            f"is up and the URL right; its log ({child.log_path}) ends with:\n"
            f"{child.log_tail()}"
        )
    text = child.log_path.read_text(encoding="utf-8", errors="replace")
    parse = parse_hey_csv if generator.name == "hey" else parse_wrk
    result = parse(text, concurrency, generator.version)
    if result.ok == 0:
        reasons = ", ".join(f"{k}: {n}" for k, n in result.failures.items()) or "no response"
        raise LoadError(
            f"{generator.name} completed no successful request to {url} in {duration_s:g} s "
            f"({reasons}): check that the server is up and accepts this body; its log is "
            f"{child.log_path}"
        )
    return result


# ---------------------------------------------------------------------------- record


def calibration_record(
    native: NativeResult,
    ours_rps: float,
    ours_p99_ms: float | None,
    level_users: int,
    variant: str,
) -> Calibration:
    """Pure: both figures of one calibration, with ours / native as `ratio`."""
    return Calibration(
        variant=variant,
        users=level_users,
        generator=native.generator,
        generator_version=native.version,
        native_concurrency=native.concurrency,
        native_duration_s=native.duration_s,
        native_requests=native.requests,
        native_errors=native.errors,
        native_rps=round(native.rps, 3),
        native_p50_ms=native.p50_ms,
        native_p90_ms=native.p90_ms,
        native_p99_ms=native.p99_ms,
        native_notes=list(native.notes),
        ours_rps=round(ours_rps, 3),
        ours_p99_ms=ours_p99_ms,
        ratio=_ratio(ours_rps, native.rps),
        p99_ratio=_ratio(ours_p99_ms, native.p99_ms),
    )


def _ratio(ours: float | None, native: float | None) -> float | None:
    if ours is None or not native:
        return None
    return round(ours / native, 4)
