"""Drive one load level with Locust, headless, in a supervised subprocess.

The harness never imports Locust: `run_level` starts `python -m locust` on our
locustfile, samples its CPU while it runs, watches the latency log the locustfile
flushes, then reads the exact per-request latencies and cuts the measurement window
out of them.

The window is [t0 + warmup_s, t0 + warmup_s + duration_s), where t0 is the moment Locust
reports all users spawned (the first request's start if that marker is missing). The
window ends early if Locust stopped before its end, and `LevelLoad.window_s` says so.
With a steady-state rule the measured part is cut into windows of `rule.window_s`; the
run stops as soon as the last three agree (loadtests/steady.py), and those three are
the window reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from infragap.errors import ConfigError, LoadError
from infragap.loadtests.arrivals import Arrivals
from infragap.loadtests.handoff import CLOSED, LocustSettings
from infragap.loadtests.latency_log import (
    LatencyLog,
    LevelLoad,
    RequestRecord,
    load_start,
    parse_log,
    summarize,
)
from infragap.loadtests.server_usage import allowed_cores
from infragap.loadtests.steady import (
    SETTLE_WINDOWS,
    SteadyRule,
    judged_on,
    settle_point,
    settled,
    window_stats,
)
from infragap.loadtests.target import load_targets
from infragap.ports import LOOPBACK, free_port
from infragap.processes import Child, Supervisor

__all__ = ["LevelLoad", "LevelSpec", "locust_command", "run_level"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOCUST = (sys.executable, "-m", "locust", "-f", str(LOCUSTFILE))

# Locust spawns N users at N per second in one go; this is slack for a slow spawn.
SPAWN_ALLOWANCE_S = 0.5
# Run on after the window so that requests started near its end are not cut off.
END_MARGIN_S = 1.0
# A request fails after this long; at the end Locust waits as long for those in flight.
REQUEST_TIMEOUT_S = 30.0
# Interpreter start, imports and shutdown on top of the run time.
PROCESS_ALLOWANCE_S = 60.0
# How long a master waits for its workers to connect before giving up.
WORKERS_MAX_WAIT_S = 30
CPU_SAMPLE_S = 0.5


@dataclass(frozen=True)
class LevelSpec:
    """One level's load: `users` closed-loop users, or `users` connections carrying an
    open-loop schedule (`arrivals`); measured for `duration_s` after `warmup_s`, or, with
    `steady`, until it settles (then `duration_s` is ignored)."""

    users: int
    warmup_s: float
    duration_s: float
    arrivals: Arrivals | None = None
    steady: SteadyRule | None = None
    processes: int = 1  # local Locust workers; above 1 (or with remote ones), a master too
    remote_workers: int = 0  # workers started by hand on other machines (see README)
    master_bind: str = LOOPBACK  # the master's address; remote workers need a reachable one

    @property
    def workers(self) -> int:
        return self.processes + self.remote_workers if self.distributed else 1

    @property
    def distributed(self) -> bool:
        return self.processes > 1 or self.remote_workers > 0

    @property
    def label(self) -> str:
        if self.arrivals is None:
            return f"u{self.users}"
        return f"r{self.arrivals.rate_per_s:g}"

    @property
    def measured_s(self) -> float:
        """The longest the measured part may run."""
        if self.steady is None:
            return self.duration_s
        return self.steady.window_s * self.steady.max_windows


@dataclass(frozen=True)
class LevelPlan:
    """The Locust run for one level: its options and where its files go."""

    target: str
    host: str
    spec: LevelSpec
    run_time_s: int
    stop_timeout_s: int
    settings: LocustSettings
    work_dir: Path
    master_port: int = 0

    @property
    def name(self) -> str:
        return f"locust-{self.target}-{self.spec.label}"


def plan_level(
    *,
    target: str,
    host: str,
    spec: LevelSpec,
    requests_file: Path,
    work_dir: Path,
    option: str,
    master_port: int = 0,
) -> LevelPlan:
    load_targets().get(target)  # an unknown name is a ConfigError listing the known ones
    if spec.users < 1 or spec.warmup_s < 0 or spec.measured_s <= 0:
        raise ConfigError(
            f"bad load level ({spec.users} users, warm-up {spec.warmup_s} s, "
            f"{spec.measured_s} s measured): use at least 1 user, a warm-up of 0 s or more "
            "and a positive duration"
        )
    if spec.steady is not None and spec.steady.max_windows < SETTLE_WINDOWS:
        raise ConfigError(f"a steady-state level needs at least {SETTLE_WINDOWS} windows")
    if spec.processes < 1 or spec.remote_workers < 0:
        raise ConfigError("--load-processes must be at least 1 and --load-expect-workers 0 or more")
    run_time_s = math.ceil(SPAWN_ALLOWANCE_S + spec.warmup_s + spec.measured_s + END_MARGIN_S)
    arrivals = spec.arrivals
    settings = LocustSettings(
        target=target,
        requests_file=requests_file.resolve(),
        latency_log=(work_dir / f"latency-{target}-{spec.label}.log").resolve(),
        target_option=option,
        users=spec.users,
        request_timeout_s=REQUEST_TIMEOUT_S,
        arrival=arrivals.kind if arrivals else CLOSED,
        rate_per_s=arrivals.rate_per_s if arrivals else 0.0,
        seed=arrivals.seed if arrivals else 0,
        stop_file=(work_dir / f"stop-{spec.label}").resolve(),
        workers=spec.workers,
    )
    return LevelPlan(
        target=target,
        host=host.rstrip("/"),
        spec=spec,
        run_time_s=run_time_s,
        stop_timeout_s=math.ceil(REQUEST_TIMEOUT_S) + 5,
        settings=settings,
        work_dir=work_dir,
        master_port=master_port if spec.distributed else 0,
    )


def locust_command(plan: LevelPlan) -> list[str]:
    """The Locust command line: headless, no web UI, summary only, exit 0 on failed requests;
    a master waiting for its workers when the level is distributed."""
    users = str(plan.spec.users)
    master = []
    if plan.spec.distributed:
        master = [
            "--master",
            "--master-bind-host",
            plan.spec.master_bind,
            "--master-bind-port",
            str(plan.master_port),
            "--expect-workers",
            str(plan.spec.workers),
            "--expect-workers-max-wait",
            str(WORKERS_MAX_WAIT_S),
        ]
    return [
        *LOCUST,
        *master,
        "--headless",
        "--host",
        plan.host,
        "--users",
        users,
        "--spawn-rate",
        users,
        "--run-time",
        f"{plan.run_time_s}s",
        "--stop-timeout",
        str(plan.stop_timeout_s),
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]


def worker_command(master_host: str, master_port: int) -> list[str]:
    """One Locust worker of our locustfile, for this machine or another one."""
    return [
        *LOCUST,
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
    ]


def locust_env(plan: LevelPlan) -> dict[str, str]:
    """Our environment without LOCUST_* overrides, plus the settings (target included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env.update(plan.settings.to_env())
    return env


class LiveLog:
    """The latency log as Locust flushes it: new complete lines parsed on each poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[RequestRecord] = []
        self.spawned_at: float | None = None
        self._offset = 0
        self._partial = ""

    def poll(self) -> None:
        try:
            with self.path.open(encoding="utf-8") as log:
                log.seek(self._offset)
                chunk = log.read()
                self._offset = log.tell()
        except OSError:
            return
        text = self._partial + chunk
        cut = text.rfind("\n") + 1
        self._partial = text[cut:]
        part = parse_log(text[:cut])
        self.records.extend(part.records)
        self.spawned_at = self.spawned_at or part.spawned_at

    def start(self) -> float | None:
        return load_start(LatencyLog(self.records[:1], self.spawned_at))


class SettleWatch:
    """Judges a steady-state level while it runs, once each time a window completes
    (not at every poll: the harness shares the cores with the server)."""

    def __init__(self, path: Path, spec: LevelSpec) -> None:
        self.live = LiveLog(path)
        self.spec = spec
        self.judged = 0

    def level_done(self) -> bool:
        """Whether the level has settled or used up its windows."""
        rule = self.spec.steady
        if rule is None:
            return False
        self.live.poll()
        start = self.live.start()
        if start is None:
            return False
        # A window is judged once its slowest requests have had time to finish.
        elapsed = time.time() - END_MARGIN_S - (start + self.spec.warmup_s)
        done = min(rule.max_windows, math.floor(elapsed / rule.window_s))
        if done < SETTLE_WINDOWS or done == self.judged:
            return False
        self.judged = done
        begin = start + self.spec.warmup_s
        stats = window_stats(self.live.records, begin, rule.window_s, done, rule.percentile)
        return done >= rule.max_windows or settled(stats, rule.tolerance, rule.percentile)


def _watch_until_exit(
    child: Child, workers: list[Child], plan: LevelPlan, deadline: float
) -> tuple[list[tuple[float, float]], list[int]]:
    """CPU % (of one core) of Locust's processes every CPU_SAMPLE_S until the first one
    exits; asks it to stop (the stop file) once the level has settled."""
    procs: dict[int, psutil.Process] = {}
    cores: set[int] = set()
    samples: list[tuple[float, float]] = []
    watch = SettleWatch(plan.settings.latency_log, plan.spec)
    stop_file = plan.settings.stop_file
    while child.alive():
        if time.monotonic() > deadline:
            raise LoadError(
                f"Locust ({child.name}) did not finish in time: the server may hang; "
                f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
            )
        total = 0.0
        for proc in [p for c in (child, *workers) for p in c.process_tree()]:
            if proc.pid not in procs:
                cores.update(allowed_cores([proc]))  # now: it may be gone at the end
            known = procs.setdefault(proc.pid, proc)
            with contextlib.suppress(psutil.Error):
                total += known.cpu_percent(interval=None)
        samples.append((time.time(), total))
        if stop_file is not None and not stop_file.exists() and watch.level_done():
            stop_file.touch()
        time.sleep(CPU_SAMPLE_S)
    # the first call to cpu_percent only sets its baseline
    return samples[1:], sorted(cores)


def _read_log(plan: LevelPlan, child: Child) -> LatencyLog:
    code = child.popen.returncode
    if code != 0 and "Gave up waiting for workers" in child.log_tail():
        raise LoadError(
            f"the Locust master waited {WORKERS_MAX_WAIT_S} s for {plan.spec.workers} workers "
            f"and not all of them connected: start the remote ones with the command in "
            f"{plan.work_dir / 'worker.env'}, or lower --load-expect-workers"
        )
    if code != 0:
        raise LoadError(
            f"Locust ({child.name}) exited with code {code}; "
            f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
        )
    try:
        text = plan.settings.latency_log.read_text(encoding="utf-8")
    except OSError as exc:
        raise LoadError(
            f"Locust ({child.name}) wrote no latency log ({exc}); "
            f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
        ) from exc
    log = parse_log(text)
    if log.user_errors:
        raise LoadError(
            f"the locustfile raised during the run ({log.user_errors[0]}): a bug in infragap; "
            f"Locust's log ({child.log_path}) ends with:\n{child.log_tail()}"
        )
    if log.spawned_at is None and not log.records:
        raise LoadError(
            f"Locust ({child.name}) never spawned its users; "
            f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
        )
    return log


def measure(log: LatencyLog, spec: LevelSpec, cpu_samples: list[tuple[float, float]]) -> LevelLoad:
    """Pure: the level's LevelLoad; with a steady-state rule, over the windows that settled
    (or the last ones, marked unsettled)."""
    rule = spec.steady
    start = load_start(log)
    if rule is None or start is None:
        return summarize(
            log,
            users=spec.users,
            warmup_s=spec.warmup_s,
            duration_s=spec.duration_s,
            cpu_samples=cpu_samples,
        )
    end = log.stopping_at or max((r.end_s for r in log.records), default=start)
    available = min(rule.max_windows, math.floor((end - start - spec.warmup_s) / rule.window_s))
    stats = window_stats(
        log.records, start + spec.warmup_s, rule.window_s, max(available, 0), rule.percentile
    )
    point = settle_point(stats, rule.tolerance, rule.percentile)
    last = point or max(available, 1)
    first = max(0, last - SETTLE_WINDOWS)
    load = summarize(
        log,
        users=spec.users,
        warmup_s=spec.warmup_s + first * rule.window_s,
        duration_s=(last - first) * rule.window_s,
        cpu_samples=cpu_samples,
    )
    return dataclasses.replace(
        load,
        windows=[(s.rps, s.latency_ms) for s in stats[:last]],
        settled=point is not None,
        judged_on=judged_on(stats[first:last], rule.percentile),
    )


def run_level(
    supervisor: Supervisor,
    *,
    target: str,
    host: str,
    spec: LevelSpec,
    requests_file: Path,
    work_dir: Path,
    target_option: str = "",
) -> LevelLoad:
    """Run one level against `host` and measure it.

    `requests_file` is in the format the target reads (see its module in
    infragap.loadtests.targets); `target_option` is passed to the target. Locust's output
    goes to `<supervisor log dir>/locust-<target>-<level>.log`, the latency log into
    `work_dir`. Raises LoadError (with the end of Locust's log) if Locust fails or
    records nothing.
    """
    plan = plan_level(
        target=target,
        host=host,
        spec=spec,
        requests_file=requests_file,
        work_dir=work_dir,
        option=target_option,
        master_port=free_port() if spec.distributed else 0,
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    plan.settings.latency_log.unlink(missing_ok=True)
    if plan.settings.stop_file is not None:
        plan.settings.stop_file.unlink(missing_ok=True)
    env = locust_env(plan)
    # cwd is the work dir so that a locust.conf or pyproject.toml [tool.locust] nearby is not read
    child = supervisor.start(plan.name, locust_command(plan), env=env, cwd=work_dir)
    workers: list[Child] = []
    try:
        if spec.distributed:
            _write_worker_env(plan, env)
            for index in range(spec.processes):
                argv = worker_command(LOOPBACK, plan.master_port)
                workers.append(
                    supervisor.start(f"{plan.name}-w{index}", argv, env=env, cwd=work_dir)
                )
        deadline = time.monotonic() + plan.run_time_s + plan.stop_timeout_s + PROCESS_ALLOWANCE_S
        deadline += WORKERS_MAX_WAIT_S if spec.distributed else 0
        samples, cores = _watch_until_exit(child, workers, plan, deadline)
        log = _read_log(plan, child)
    finally:
        for process in (*workers, child):
            supervisor.stop(process)
    return dataclasses.replace(measure(log, spec, samples), loadgen_cores=cores)


def _write_worker_env(plan: LevelPlan, env: dict[str, str]) -> None:
    """What a worker on another machine needs: our settings and the master's address."""
    lines = [f"export {key}={value!r}" for key, value in plan.settings.to_env().items()]
    lines.append(f"# then: {' '.join(worker_command('<this host>', plan.master_port))}")
    (plan.work_dir / "worker.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
