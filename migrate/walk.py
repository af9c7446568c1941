"""Which files of a repository the migration looks at, and which it leaves out.

Policy: skip version-control folders, virtual environments (also committed ones, found
by name or by their `pyvenv.cfg`), `site-packages`, `node_modules` and caches; follow no
symbolic link at all (a link inside PATH is reached through its real path anyway, and a
link out of PATH or a link loop is never entered). Skipped links are reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infragap.migrate.errors import MigrateError

Language = Literal["python", "shell"]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        ".venv",
        "venv",
        "env",
        "virtualenv",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "site-packages",
        "dist-packages",
    }
)
SUFFIXES: dict[str, Language] = {".py": "python", ".sh": "shell", ".bash": "shell"}


@dataclass(frozen=True)
class Candidate:
    path: Path
    rel: str
    language: Language


@dataclass(frozen=True)
class Skipped:
    rel: str
    reason: str


def language_of_name(name: str) -> Language | None:
    """By suffix alone, for files that do not exist yet."""
    return SUFFIXES.get(Path(name).suffix)


def language_of(path: Path) -> Language | None:
    """By suffix; an extension-less file by its shebang line."""
    if path.suffix:
        return SUFFIXES.get(path.suffix)
    try:
        with path.open("rb") as handle:
            head = handle.read(80)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head.split(b"\n", 1)[0]
    if b"python" in line:
        return "python"
    if line.rstrip().endswith((b"sh", b"bash")):
        return "shell"
    return None


def is_skipped_dir(name: str, path: str) -> bool:
    if name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def discover(root: Path) -> tuple[Path, list[Candidate], list[Skipped]]:
    """The candidate files under `root` (a folder or one file), sorted, and the skips.

    Returns the resolved root too: relative paths in reports are relative to it.
    """
    if not root.exists():
        raise MigrateError(f"{root} does not exist: pass a repository folder or a source file")
    if root.is_file():
        language = language_of(root)
        if language is None:
            raise MigrateError(
                f"{root} is neither Python nor a shell script: pass a folder or a .py/.sh file"
            )
        resolved = root.resolve()
        return resolved.parent, [Candidate(resolved, resolved.name, language)], []
    base = root.resolve()
    found: list[Candidate] = []
    skipped: list[Skipped] = []
    _walk(base, "", found, skipped)
    return base, found, skipped


def _walk(folder: Path, prefix: str, found: list[Candidate], skipped: list[Skipped]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as err:
        skipped.append(Skipped(prefix or ".", f"cannot list folder: {err.strerror or err}"))
        return
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if entry.is_symlink():
            skipped.append(Skipped(rel, "symbolic link (links are never followed)"))
        elif entry.is_dir(follow_symlinks=False):
            if not is_skipped_dir(entry.name, entry.path):
                _walk(Path(entry.path), f"{rel}/", found, skipped)
        elif entry.is_file(follow_symlinks=False):
            language = language_of(Path(entry.path))
            if language is not None:
                found.append(Candidate(Path(entry.path), rel, language))
