"""The output folder: checked before any server starts, and what to say when a write fails.

`check_output_folder` fails early, with the cause and the fix, when results could not be
written (a path under a file, a read-only folder, a nearly full disk), instead of a
traceback after minutes of set-up. `recover_abandoned_results` marks files left "running"
by a killed run as interrupted, so the next `infragap bench` says what happened to them.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from infragap.atomic import write_json_atomically
from infragap.errors import OutputError, ResultsError
from infragap.reports.schema import mark_abandoned, read_json, validate

MIN_FREE_BYTES = 50 * 1024 * 1024
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def fix_for(error: OSError) -> str:
    """What the user can do about a failed write, by its errno."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space on that disk, or pass --out a folder on another disk"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make the folder writable, or pass --out a folder you can write to"
    return "pass --out a folder you can write to"


def describe(error: OSError) -> str:
    name = errno.errorcode.get(error.errno or 0, "error")
    return f"{error.strerror or error} ({name})"


def as_output_error(error: BaseException) -> OutputError | None:
    """An OutputError for a write the disk refused (full, read-only, no permission)."""
    if not isinstance(error, OSError) or error.errno not in DISK_ERRORS:
        return None
    where = f" {error.filename}" if error.filename else ""
    return OutputError(f"cannot write{where}: {describe(error)}: {fix_for(error)}")


def _file_above(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def check_output_folder(out: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Create `out` if needed and prove it takes a file and has `min_free_bytes` free;
    raise OutputError saying the cause and the fix otherwise."""
    blocker = _file_above(out)
    if blocker is not None:
        raise OutputError(
            f"cannot use {out} for results: {blocker} is a file, not a folder: "
            "pass --out a folder path (it is created if missing)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".infragap-write-check.")
        try:
            os.write(fd, b"infragap")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as error:
        raise OutputError(
            f"cannot write results to {out}: {describe(error)}: {fix_for(error)}"
        ) from None
    free = shutil.disk_usage(out).free
    if free < min_free_bytes:
        raise OutputError(
            f"only {free / 2**20:.0f} MB free on the disk holding {out} "
            f"(a run needs at least {min_free_bytes / 2**20:.0f} MB for results and logs): "
            "free some space, or pass --out a folder on another disk"
        )


def recover_abandoned_results(out: Path) -> list[tuple[Path, list[str]]]:
    """Mark, in place, the files in `out` left "running" by an infragap process that is
    gone; each such file with the suites marked interrupted."""
    recovered = []
    for path in sorted(out.glob("results-*.json")):
        try:
            if '"running"' not in path.read_text(encoding="utf-8", errors="replace"):
                continue
            doc = validate(read_json(path, "a results file"), str(path))
        except (OSError, ResultsError):
            continue  # not ours to repair; `infragap report` says what is wrong with it
        suites = mark_abandoned(doc)
        if suites:
            write_json_atomically(path, doc)
            recovered.append((path, suites))
    return recovered
