"""The one way infragap replaces a file: all of it or none of it, even across a crash.

Results files, HTML reports, fault schedules and migrated source all go through
`write_atomically`, so a reader (or a power cut) sees the old bytes or the new ones,
never half a file.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

NEW_FILE_MODE = 0o644  # mkstemp makes files private; what infragap writes is meant to be read


def write_atomically(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Replace `path` with `data` (text is written as UTF-8), creating its folder.

    The bytes go to a temp file in the same folder, which is fsynced and renamed over
    `path`; then the folder is fsynced so the rename survives a crash. On any failure the
    temp file is removed and `path` keeps its old content. `mode` defaults to the
    existing file's permission bits (NEW_FILE_MODE for a new file).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def write_json_atomically(path: Path, doc: Any) -> None:
    """`write_atomically` for a JSON document (indented, NaN refused before any write)."""
    write_atomically(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
