"""Drive the naive shell script the way it is really run, and record what happened.

`run_pipeline.sh` keeps no record, so the harness hands it a `python` that times each
step (timed_python.sh). When the script fails, it is run again from the top after the
same delay Airflow waits before a retry, up to the same number of times: what a cron
job with a rerun wrapper, or a patient on-call engineer, would do.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.errors import InfragapError
from infragap.naive.pipeline import RUN_SCRIPT
from infragap.processes import Supervisor

TIMED_PYTHON = Path(__file__).resolve().parent / "timed_python.sh"
POLL_S = 0.1


@dataclass
class NaivePipeline:
    """One working copy of the naive pipeline: its raw inputs and its own outputs."""

    supervisor: Supervisor
    raw_dir: Path
    work_dir: Path
    python: str = sys.executable
    script_timeout_s: float = 1800.0
    _count: int = 0

    def timed_python(self) -> Path:
        """A private, executable copy of timed_python.sh (an installed wheel may drop +x)."""
        wrapper = self.work_dir.parent / "timed-python"
        if not wrapper.exists():
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(TIMED_PYTHON, wrapper)
            wrapper.chmod(0o755)
        return wrapper

    def environment(self, timing_log: Path, faults_file: Path | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
        env.update(
            {
                "PYTHON": str(self.timed_python()),
                "PIPELINE_REAL_PYTHON": self.python,
                "PIPELINE_TIMING_LOG": str(timing_log),
                "RAW_DIR": str(self.raw_dir),
                "WORK_DIR": str(self.work_dir),
            }
        )
        if faults_file is not None:
            env["PIPELINE_FAULTS"] = str(faults_file)
        return env

    def run_script(self, dates: Sequence[str], timing_log: Path, faults_file: Path | None) -> dict:
        """One pass of `run_pipeline.sh DATE...`: exit code, times and its last message."""
        self._count += 1
        env = self.environment(timing_log, faults_file)
        start = time.time()
        child = self.supervisor.start(
            f"naive-pass-{self._count}", ["bash", str(RUN_SCRIPT), *dates], env=env
        )
        deadline = time.monotonic() + self.script_timeout_s
        try:
            while child.alive():
                if time.monotonic() > deadline:
                    raise InfragapError(
                        f"run_pipeline.sh ran over {self.script_timeout_s:.0f} s: read "
                        f"{child.log_path}"
                    )
                time.sleep(POLL_S)
        finally:
            self.supervisor.stop(child)
        return {
            "dates": list(dates),
            "exit_code": child.popen.returncode,
            "start": start,
            "end": time.time(),
            "message": last_message(child.log_tail()),
            "log": str(child.log_path),
        }


def last_message(log: str) -> str | None:
    """The script's last error line (a step's `error:` or transient failure), if any."""
    for line in reversed(log.splitlines()):
        if ": error: " in line or "transient failure" in line:
            return line.strip()
    return None


def read_timings(timing_log: Path) -> list[dict[str, Any]]:
    """The attempts timed_python.sh recorded, numbered per (date, step) in order."""
    try:
        lines = timing_log.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    seen: dict[tuple[str, str], int] = {}
    attempts = []
    for line in lines:
        record = json.loads(line)
        key = (record["date"], record["step"])
        seen[key] = seen.get(key, 0) + 1
        attempts.append(
            {
                "date": record["date"],
                "step": record["step"],
                "attempt": seen[key],
                "start": record["start"],
                "end": record["end"],
                "duration_s": record["end"] - record["start"],
                "state": "success" if record["exit_code"] == 0 else "failed",
                "exit_code": record["exit_code"],
            }
        )
    return attempts


def run_with_reruns(
    pipeline: NaivePipeline,
    dates: Sequence[str],
    timing_log: Path,
    faults_file: Path | None,
    reruns: int,
    delay_s: float,
    on_pass: Callable[[dict], None],
) -> list[dict]:
    """Run the script over `dates`; after a failure wait `delay_s` and rerun from the top."""
    passes: list[dict] = []
    for number in range(reruns + 1):
        if number:
            time.sleep(delay_s)
        record = pipeline.run_script(dates, timing_log, faults_file)
        passes.append(record)
        on_pass(record)
        if record["exit_code"] == 0:
            break
    return passes


def date_states(dates: Sequence[str], attempts: Sequence[dict], last_step: str) -> dict[str, str]:
    """success when the date's last step succeeded, failed when it was tried, else not_run."""
    states = {}
    for day in dates:
        tried = [a for a in attempts if a["date"] == day]
        if any(a["step"] == last_step and a["state"] == "success" for a in tried):
            states[day] = "success"
        else:
            states[day] = "failed" if tried else "not_run"
    return states
