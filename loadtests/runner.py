"""Drive one closed-loop load level with Locust, headless, in a supervised subprocess.

The harness never imports Locust: `run_level` starts `python -m locust` on our
locustfile, samples its CPU while it runs, then reads the exact per-request latencies
the locustfile logged and cuts the measurement window out of them.

The window is [t0 + warmup_s, t0 + warmup_s + duration_s), where t0 is the moment Locust
reports all users spawned (the first request's start if that marker is missing). The
window ends early if Locust stopped before its end, and `LevelLoad.window_s` says so.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from infragap.errors import ConfigError, LoadError
from infragap.loadtests.handoff import LocustSettings
from infragap.loadtests.latency_log import LatencyLog, LevelLoad, parse_log, summarize
from infragap.loadtests.target import load_targets
from infragap.processes import Child, Supervisor

__all__ = ["LevelLoad", "locust_command", "run_level"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")

# Locust spawns N users at N per second in one go; this is slack for a slow spawn.
SPAWN_ALLOWANCE_S = 0.5
# Run on after the window so that requests started near its end are not cut off.
END_MARGIN_S = 1.0
# A request fails after this long; at the end Locust waits as long for those in flight.
REQUEST_TIMEOUT_S = 30.0
# Interpreter start, imports and shutdown on top of the run time.
PROCESS_ALLOWANCE_S = 60.0
CPU_SAMPLE_S = 0.5


@dataclass(frozen=True)
class LevelPlan:
    """The Locust run for one level: its options and where its files go."""

    target: str
    host: str
    users: int
    run_time_s: int
    stop_timeout_s: int
    settings: LocustSettings
    work_dir: Path

    @property
    def name(self) -> str:
        return f"locust-{self.target}-u{self.users}"


def plan_level(
    *,
    target: str,
    host: str,
    users: int,
    warmup_s: float,
    duration_s: float,
    requests_file: Path,
    work_dir: Path,
    target_option: str,
) -> LevelPlan:
    load_targets().get(target)  # an unknown name is a ConfigError listing the known ones
    if users < 1 or warmup_s < 0 or duration_s <= 0:
        raise ConfigError(
            f"bad load level (users={users}, warmup_s={warmup_s}, duration_s={duration_s}): "
            "use at least 1 user, a warm-up of 0 s or more and a positive duration"
        )
    run_time_s = math.ceil(SPAWN_ALLOWANCE_S + warmup_s + duration_s + END_MARGIN_S)
    settings = LocustSettings(
        target=target,
        requests_file=requests_file.resolve(),
        latency_log=(work_dir / f"latency-{target}-u{users}.log").resolve(),
        target_option=target_option,
        users=users,
        request_timeout_s=REQUEST_TIMEOUT_S,
    )
    return LevelPlan(
        target=target,
        host=host.rstrip("/"),
        users=users,
        run_time_s=run_time_s,
        stop_timeout_s=math.ceil(REQUEST_TIMEOUT_S) + 5,
        settings=settings,
        work_dir=work_dir,
    )


def locust_command(plan: LevelPlan) -> list[str]:
    """The Locust command line: headless, no web UI, summary only, exit 0 on failed requests."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        plan.host,
        "--users",
        str(plan.users),
        "--spawn-rate",
        str(plan.users),
        "--run-time",
        f"{plan.run_time_s}s",
        "--stop-timeout",
        str(plan.stop_timeout_s),
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]


def locust_env(plan: LevelPlan) -> dict[str, str]:
    """Our environment without LOCUST_* overrides, plus the settings (target included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env.update(plan.settings.to_env())
    return env


def _sample_until_exit(child: Child, deadline: float) -> list[tuple[float, float]]:
    """CPU % (of one core) of Locust's process tree, every CPU_SAMPLE_S, until it exits."""
    procs: dict[int, psutil.Process] = {}
    samples: list[tuple[float, float]] = []
    while child.alive():
        if time.monotonic() > deadline:
            raise LoadError(
                f"Locust ({child.name}) did not finish in time: the server may hang; "
                f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
            )
        total = 0.0
        for proc in child.process_tree():
            known = procs.setdefault(proc.pid, proc)
            with contextlib.suppress(psutil.Error):
                total += known.cpu_percent(interval=None)
        samples.append((time.time(), total))
        time.sleep(CPU_SAMPLE_S)
    return samples[1:]  # the first call to cpu_percent only sets its baseline


def _read_log(plan: LevelPlan, child: Child) -> LatencyLog:
    code = child.popen.returncode
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


def run_level(
    supervisor: Supervisor,
    *,
    target: str,
    host: str,
    users: int,
    warmup_s: float,
    duration_s: float,
    requests_file: Path,
    work_dir: Path,
    target_option: str = "",
) -> LevelLoad:
    """Run `users` closed-loop users against `host` and measure the window after the warm-up.

    `requests_file` is in the format the target reads (see its module in
    infragap.loadtests.targets); `target_option` is passed to the target. Locust's output goes to
    `<supervisor log dir>/locust-<target>-u<users>.log`, the latency log into `work_dir`.
    Raises LoadError (with the end of Locust's log) if Locust fails or records nothing.
    """
    plan = plan_level(
        target=target,
        host=host,
        users=users,
        warmup_s=warmup_s,
        duration_s=duration_s,
        requests_file=requests_file,
        work_dir=work_dir,
        target_option=target_option,
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    plan.settings.latency_log.unlink(missing_ok=True)
    # cwd is the work dir so that a locust.conf or pyproject.toml [tool.locust] nearby is not read
    child = supervisor.start(plan.name, locust_command(plan), env=locust_env(plan), cwd=work_dir)
    try:
        deadline = time.monotonic() + plan.run_time_s + plan.stop_timeout_s + PROCESS_ALLOWANCE_S
        samples = _sample_until_exit(child, deadline)
        log = _read_log(plan, child)
    finally:
        supervisor.stop(child)
    return summarize(
        log, users=users, warmup_s=warmup_s, duration_s=duration_s, cpu_samples=samples
    )
