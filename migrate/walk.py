"""Which files of a repository the migration looks at, and which it leaves out.

Policy: skip version-control folders and caches silently; leave out third-party code,
found by what a folder holds whatever it is called (a virtual environment's
`pyvenv.cfg`, a conda environment's `conda-meta/`, a Windows environment's `Lib/` and
`Scripts/python.exe`, a Python installation's `lib/pythonX.Y/`, a standard library's
`os.py` and `encodings/`, installed packages' `*.dist-info`), or by name
(`site-packages`, `node_modules`, `venv`), and whatever `.gitignore` files ignore; each
of those is reported (`LeftOut`), in one summary line. Follow no symbolic link at all (a
link inside PATH is reached through its real path anyway, and a link out of PATH or a
link loop is never entered). Skipped links are reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from infragap.migrate import gitignore
from infragap.migrate.errors import MigrateError
from infragap.migrate.notebooks import NOTEBOOK_SUFFIX

# A notebook is read as the Python of its code cells (`infragap.migrate.notebooks`), by
# the rules that list "notebook" among their languages, and never rewritten.
Language = Literal["python", "shell", "notebook"]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
    }
)
# Third-party by name alone: reported as left out, with the name as the reason.
THIRD_PARTY_NAMES = {
    "node_modules": "JavaScript packages (node_modules)",
    "site-packages": "installed Python packages (site-packages)",
    "dist-packages": "installed Python packages (dist-packages)",
    ".venv": "virtual environment (by its name)",
    "venv": "virtual environment (by its name)",
    "env": "virtual environment (by its name)",
    "virtualenv": "virtual environment (by its name)",
}
PYTHON_LIB = re.compile(r"python\d+(?:\.\d+)?t?")
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


@dataclass(frozen=True)
class LeftOut:
    """A folder or file not scanned because it is third-party or ignored: not a problem
    with the file, so it goes in one summary line, not the skipped list."""

    rel: str
    why: str
    ignored: bool = False  # by a .gitignore pattern (else: third-party code)


@dataclass(frozen=True)
class Discovery:
    root: Path
    found: list[Candidate]
    skipped: list[Skipped]
    left_out: list[LeftOut]
    files: list[str] = field(default_factory=list)  # every file walked, any language


def left_out_line(left_out: Sequence[LeftOut]) -> str:
    """One line saying what was not scanned and why (the first five of each kind; the
    JSON report lists them all), or "" when nothing was left out."""
    third_party = [item for item in left_out if not item.ignored]
    ignored = [item for item in left_out if item.ignored]
    parts = []
    if third_party:
        trees = "; ".join(f"{item.rel}/: {item.why}" for item in third_party[:5])
        more = f"; and {len(third_party) - 5} more" if len(third_party) > 5 else ""
        parts.append(f"{len(third_party)} third-party tree{_s(third_party)} ({trees}{more})")
    if ignored:
        shown = ", ".join(item.rel for item in ignored[:5])
        more = f", and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        parts.append(f"{len(ignored)} path{_s(ignored)} .gitignore ignores ({shown}{more})")
    return f"left out, never read nor rewritten: {'; '.join(parts)}" if parts else ""


def _s(items: Sequence[object]) -> str:
    return "" if len(items) == 1 else "s"


def language_of_name(name: str) -> Language | None:
    """By suffix alone, for files that do not exist yet."""
    return SUFFIXES.get(Path(name).suffix)


def language_of(path: Path) -> Language | None:
    """By suffix; an extension-less file by its shebang line."""
    if path.suffix == NOTEBOOK_SUFFIX:
        return "notebook"
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


def third_party(folder: Path, names: set[str]) -> str:
    """Why the folder holding `names` is third-party code (an environment, an install, a
    standard library, installed packages), or "" when nothing says so."""
    if "pyvenv.cfg" in names:
        return "virtual environment (pyvenv.cfg)"
    if "conda-meta" in names and (folder / "conda-meta").is_dir():
        return "conda environment (conda-meta/)"
    if "Lib" in names and (folder / "Scripts" / "python.exe").is_file():
        return "Windows Python environment (Lib/, Scripts/python.exe)"
    if "Lib" in names and (folder / "Lib" / "site-packages").is_dir():
        return "Windows Python environment (Lib/site-packages/)"
    if "lib" in names and "bin" in names and _python_lib(folder / "lib"):
        return f"Python installation (bin/, lib/{_python_lib(folder / 'lib')}/)"
    if "os.py" in names and (
        (folder / "encodings").is_dir() or {"abc.py", "codecs.py", "posixpath.py"} <= names
    ):
        return "Python standard library (os.py, encodings/)"
    dist_info = sorted(name for name in names if name.endswith(".dist-info"))
    if dist_info:
        return f"installed Python packages ({dist_info[0]})"
    return ""


def _listed_third_party(folder: Path) -> str:
    try:
        return third_party(folder, set(os.listdir(folder)))
    except OSError:
        return ""


def third_party_around(path: Path) -> str:
    """Why `path` lies in third-party code: a folder on the way is named like installed
    packages (site-packages, node_modules) or holds a standard library; else ""."""
    for folder in (path, *path.parents) if path.is_dir() else path.parents:
        if folder.name in ("site-packages", "dist-packages", "node_modules"):
            return f"inside {folder}"
        if (folder / "os.py").is_file() and (folder / "encodings").is_dir():
            return f"inside the Python standard library at {folder}"
    return ""


def _python_lib(lib: Path) -> str:
    """`python3.11` when `lib/python3.11/` holds a standard library or site-packages."""
    try:
        versions = sorted(name for name in os.listdir(lib) if PYTHON_LIB.fullmatch(name))
    except OSError:
        return ""
    for version in versions:
        inner = lib / version
        if (inner / "site-packages").is_dir() or (inner / "os.py").is_file():
            return version
    return ""


def discover(root: Path) -> tuple[Path, list[Candidate], list[Skipped]]:
    """The candidate files under `root` (a folder or one file), sorted, and the skips.

    Returns the resolved root too: relative paths in reports are relative to it.
    """
    found = explore(root)
    return found.root, found.found, found.skipped


def explore(root: Path) -> Discovery:
    """`discover`, plus what was left out as third-party or ignored, and why."""
    if not root.exists():
        raise MigrateError(f"{root} does not exist: pass a repository folder or a source file")
    inside = third_party_around(root.resolve())
    if inside:
        raise MigrateError(
            f"{root} is third-party code ({inside}): infragap migrate never reads nor "
            "rewrites it; pass your own repository"
        )
    if root.is_file():
        language = language_of(root)
        if language is None:
            raise MigrateError(
                f"{root} is neither Python, a notebook nor a shell script: pass a folder or "
                "a .py, .ipynb or .sh file"
            )
        resolved = root.resolve()
        return Discovery(resolved.parent, [Candidate(resolved, resolved.name, language)], [], [])
    base = root.resolve()
    discovery = Discovery(base, [], [], [])
    _walk(base, "", discovery, [])
    return discovery


def _walk(folder: Path, prefix: str, out: Discovery, ignores: list[gitignore.IgnoreFile]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as err:
        out.skipped.append(Skipped(prefix or ".", f"cannot list folder: {err.strerror or err}"))
        return
    names = {entry.name for entry in entries}
    if prefix:  # the folder asked for is scanned whatever it holds
        why = third_party(folder, names)
        if why:
            out.left_out.append(LeftOut(prefix.rstrip("/"), why))
            return
    if ".gitignore" in names:
        here = gitignore.read(folder, prefix)
        if here is not None:
            ignores = [*ignores, here]
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if entry.is_symlink():
            out.skipped.append(Skipped(rel, "symbolic link (links are never followed)"))
        elif entry.is_dir(follow_symlinks=False):
            if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                continue
            if entry.name in THIRD_PARTY_NAMES:
                why = _listed_third_party(Path(entry.path)) or THIRD_PARTY_NAMES[entry.name]
                out.left_out.append(LeftOut(rel, why))
                continue
            pattern = gitignore.ignored(ignores, rel, is_folder=True) if ignores else ""
            if pattern:
                out.left_out.append(LeftOut(rel, pattern, ignored=True))
                continue
            _walk(Path(entry.path), f"{rel}/", out, ignores)
        elif entry.is_file(follow_symlinks=False):
            language = language_of(Path(entry.path))
            pattern = gitignore.ignored(ignores, rel, is_folder=False) if ignores else ""
            if pattern and language is not None:
                out.left_out.append(LeftOut(rel, pattern, ignored=True))
            if pattern:
                continue
            out.files.append(rel)
            if language is not None:
                out.found.append(Candidate(Path(entry.path), rel, language))
