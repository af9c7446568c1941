"""Import LibCST with its dataclasses' generated methods compiled once, not every start.

Half of `import libcst` is `dataclasses` writing each node class's `__init__`, `__eq__`,
`__repr__`, ... as source text and compiling it (about 600 texts): 70 ms of every scan's
start-up. Python caches the bytecode of modules, never of these texts. While LibCST is
imported, `dataclasses` finds our `exec` before the builtin one; ours looks up the exact
text in a cache beside this module's bytecode, as Python's own cache is kept, and
compiles only what it has not seen (a new Python, LibCST or dataclasses). The code
objects are the ones `compile` would return for the same text, so nothing else changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any


def cache_path() -> Path:
    """Where Python would keep this module's bytecode (its tag, -O level and any
    PYTHONPYCACHEPREFIX included), with its own suffix."""
    return Path(importlib.util.cache_from_source(__file__)).with_suffix(".dataclasses")


def import_libcst(cache: Path | None = None) -> tuple[int, int]:
    """Import LibCST; (texts found in the cache, texts compiled). (0, 0) when LibCST was
    already imported."""
    if "libcst" in sys.modules:
        return 0, 0
    path = cache or cache_path()
    known = _read(path)
    used: dict[str, Any] = {}
    compiled = 0

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        nonlocal compiled
        if isinstance(source, str):
            code = used.get(source) or known.get(source)
            if not isinstance(code, CodeType):
                # dont_inherit: compiled as in `dataclasses`, not under our __future__ flags
                code = compile(source, "<string>", "exec", dont_inherit=True)
                compiled += 1
            used[source] = code
            source = code
        exec(source, globals, locals)

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        import libcst  # noqa: F401
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    if compiled and not sys.dont_write_bytecode:
        _write(path, used)
    return len(used) - compiled, compiled


def _read(path: Path) -> dict[str, Any]:
    try:
        magic, known = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return known if magic == importlib.util.MAGIC_NUMBER and isinstance(known, dict) else {}


def _write(path: Path, used: dict[str, Any]) -> None:
    """Atomically, and silently where the folder is read-only (as Python does for .pyc)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(marshal.dumps((importlib.util.MAGIC_NUMBER, used)))
        os.replace(temporary, path)
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)
