"""Compile the methods `dataclasses` generates once, not on every start.

`dataclasses` writes each class's `__init__`, `__eq__`, `__repr__`, ... as source text
and compiles it, and Python caches the bytecode of modules, never of these texts. LibCST
defines hundreds of node classes, and we a hundred of our own: compiling their methods
was 0.1 s of every `migrate` command's start-up. Inside `compiled_once`, `dataclasses`
finds our `exec` before the builtin one; ours looks up the exact text in a cache kept
beside this module's bytecode, as Python keeps its own, and compiles only a text it has
not seen (after an upgrade of Python, LibCST or our code). The code objects are the
ones `compile` returns for the same text, so nothing else changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import marshal
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any


@dataclasses.dataclass
class Counts:
    """Texts found in the cache and texts compiled, inside one `compiled_once` block."""

    found: int = 0
    compiled: int = 0


def cache_path(label: str) -> Path:
    """Where Python would keep this module's bytecode (its tag, -O level and any
    PYTHONPYCACHEPREFIX included), with the label (a command: each imports its own
    modules) as the suffix."""
    return Path(importlib.util.cache_from_source(__file__)).with_suffix(f".{label}")


@contextlib.contextmanager
def compiled_once(label: str, cache: Path | None = None) -> Iterator[Counts]:
    """Dataclasses created in the block compile their methods through the cache. The
    cache is rewritten at the end, with the texts this block used, if it lacked one."""
    counts = Counts()
    if hasattr(dataclasses, "exec"):  # an outer block already caches
        yield counts
        return
    path = cache or cache_path(label)
    known = _read(path)
    used: dict[str, CodeType] = {}

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = used.get(source) or known.get(source)
            if not isinstance(code, CodeType):
                # dont_inherit: compiled as in `dataclasses`, not under our __future__ flags
                code = compile(source, "<string>", "exec", dont_inherit=True)
                counts.compiled += 1
            elif source not in used:
                counts.found += 1
            used[source] = code
            source = code
        exec(source, globals, locals)

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        yield counts
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
        if counts.compiled and not sys.dont_write_bytecode:
            _write(path, used)


def _read(path: Path) -> dict[str, Any]:
    try:
        magic, known = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return known if magic == importlib.util.MAGIC_NUMBER and isinstance(known, dict) else {}


def _write(path: Path, used: dict[str, CodeType]) -> None:
    """Atomically, and silently where the folder is read-only (as Python does for .pyc)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(marshal.dumps((importlib.util.MAGIC_NUMBER, used)))
        os.replace(temporary, path)
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)
