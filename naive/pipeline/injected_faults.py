"""Transient faults, read from the environment; without PIPELINE_FAULTS it does nothing.

PIPELINE_FAULTS names a JSON file `{"fail": {DATE: {STEP: [ATTEMPT, ...]}}}`. Each call
counts one attempt of STEP for DATE (in the folder `<that file>.attempts/`) and, when
that attempt is listed, ends the process with EXIT_TRANSIENT, as a dropped connection
would. The steps call it just before they commit their outputs, so a failed attempt has
done its work and throws it away.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ENV = "PIPELINE_FAULTS"
EXIT_TRANSIENT = 75  # EX_TEMPFAIL: try again later


def checkpoint(step: str, day: str) -> None:
    schedule_file = os.environ.get(ENV)
    if not schedule_file:
        return
    schedule = json.loads(Path(schedule_file).read_text(encoding="utf-8"))
    counter = Path(f"{schedule_file}.attempts") / f"{day}.{step}"
    counter.parent.mkdir(parents=True, exist_ok=True)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt in schedule.get("fail", {}).get(day, {}).get(step, []):
        print(
            f"{step}: transient failure on attempt {attempt} for {day} "
            "(injected: connection reset by the storage service); retry the step",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(EXIT_TRANSIENT)
