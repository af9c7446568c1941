"""What the repository around a script says about how its steps run (pure functions).

Two questions a script alone does not answer:

* **The working folder.** A script without `cd` runs its steps wherever it was started.
  The candidates are the script's folder and each folder above it, up to the root. The
  evidence: which candidate makes the relative paths the steps name exist (`python
  pipeline/01_download.py`, `--config conf/config.yaml`, and the relative paths the
  step's own code names), and the README, Dockerfile, Makefile or CI config that runs
  the script (`bash scripts/run.sh` run from the root). When the evidence does not
  settle it, the answer is a TODO and an option, never a silent guess.
* **Environment variables set elsewhere.** The variables the steps read (`$NAME` in
  the script, `os.environ[...]`/`os.getenv(...)` in a step's code) that the script does
  not set: a Dockerfile's `ENV`, a `.env` file or a compose file's `environment:` and
  `env_file:` may give their values; the others are listed, so nobody finds out from a
  failed run.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from infragap.migrate.repository import CI_FOLDERS, RepositoryFiles
from infragap.migrate.shell.docker import compose_environment, is_compose, run_folders
from infragap.migrate.shell.steps import STEP

FILE_SUFFIXES = (
    ".py", ".sh", ".yaml", ".yml", ".json", ".csv", ".tsv", ".cfg", ".ini", ".toml",
    ".txt", ".parquet", ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".onnx", ".sql",
)  # fmt: skip
PY_PATH = re.compile(
    r"""["']((?:\./)?[\w.-]+(?:/[\w.-]+)+|[\w-]+\.(?:ya?ml|json|cfg|ini|toml))["']"""
)
PY_ENV = re.compile(
    r"""\b(?:os\.)?(?:environ\s*\[\s*|environ\.get\(\s*|getenv\(\s*)["']([A-Za-z_][A-Za-z0-9_]*)["']"""
    r"""(\s*,)?"""
)
DOCKER_ENV = re.compile(r"(?i)^\s*ENV\s+(.+)$")
DOTENV = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
CD_BEFORE = re.compile(r"\bcd\s+([\w./-]+)\s*(?:&&|;)")


@dataclass(frozen=True)
class Workdir:
    """Where the steps start: `folder` root-relative ("" the root; None: unsettled)."""

    folder: str | None
    evidence: str  # why, in words (or why not)


SECRET_NAME = re.compile(r"(?i)secret|token|passw|pwd|api_?key|private|credential|auth")


@dataclass(frozen=True)
class EnvValue:
    value: str
    where: str  # "Dockerfile:4"

    def secret(self, name: str) -> bool:
        """A value never copied into a generated file: it looks like a credential."""
        return bool(SECRET_NAME.search(name))


def candidates(script_path: str) -> list[str]:
    """The script's folder, then each folder above it, up to the root ("")."""
    folder = posixpath.dirname(script_path)
    found = [folder]
    while folder:
        folder = posixpath.dirname(folder)
        found.append(folder)
    return found


def shown(folder: str) -> str:
    return f"{folder}/" if folder else "the repository root"


def relative_paths(command: str) -> list[str]:
    """The relative file paths a command names (step scripts, `-m` modules, arguments)."""
    found: list[str] = []
    for match in STEP.finditer(command):
        if match.group("module"):
            module = match.group("module").replace(".", "/")
            found.append(f"{module}.py|{module}/__main__.py|{module}/__init__.py")
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = command.split()
    for word in words:
        word = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if not word or "$" in word or word.startswith(("/", "-", "~")) or "*" in word:
            continue
        if "/" in word.strip("/") or word.endswith(FILE_SUFFIXES):
            found.append(word.removeprefix("./"))
    return list(dict.fromkeys(found))


def _exists(repository: RepositoryFiles, folder: str, path: str) -> bool:
    return any(repository.exists(posixpath.join(folder, option)) for option in path.split("|"))


def step_files(commands: Sequence[str], folder: str, python: Mapping[str, str]) -> list[str]:
    """The root-relative paths of the Python files the commands run from `folder`."""
    found = []
    for command in commands:
        for match in STEP.finditer(command):
            script = match.group("script")
            module = match.group("module")
            options = [script] if script else []
            if module:
                stem = module.replace(".", "/")
                options = [f"{stem}.py", f"{stem}/__main__.py"]
            for option in options:
                path = posixpath.normpath(posixpath.join(folder, option.removeprefix("./")))
                if "$" not in option and path in python:
                    found.append(path)
                    break
    return list(dict.fromkeys(found))


def decide_workdir(
    script_path: str,
    commands: Sequence[str],
    repository: RepositoryFiles,
    python: Mapping[str, str],
) -> Workdir | None:
    """Which folder the steps start in; None when no step names a relative path."""
    paths = [p for command in commands for p in relative_paths(command)]
    if not paths:
        return None
    folders = candidates(script_path)
    scores = {}
    for folder in folders:
        hits = [p.split("|")[0] for p in paths if _exists(repository, folder, p)]
        for step in step_files(commands, folder, python):
            hits += [
                literal
                for literal in dict.fromkeys(PY_PATH.findall(python[step]))
                if repository.exists(posixpath.join(folder, literal.removeprefix("./")))
            ]
        scores[folder] = hits
    best = max(len(hits) for hits in scores.values())
    by_paths = [folder for folder in folders if best and len(scores[folder]) == best]
    runs = runs_of(script_path, repository)
    by_documents = sorted(runs)
    if len(by_documents) == 1 and (not by_paths or by_documents[0] in by_paths):
        folder = by_documents[0]
        verb = "runs" if len(runs[folder]) == 1 else "run"
        why = f"{_listed(runs[folder])} {verb} it from {shown(folder)}"
        if by_paths:
            why += f", where {_listed(scores[folder])} exist"
        return Workdir(folder, why)
    if not by_documents and len(by_paths) == 1:
        folder = by_paths[0]
        others = [shown(f) for f in folders if f != folder]
        return Workdir(
            folder,
            f"{_listed(scores[folder])} exist from {shown(folder)}, not from {' or '.join(others)}",
        )
    said = "; ".join(f"{_listed(runs[f])} runs it from {shown(f)}" for f in by_documents)
    found = "; ".join(f"{_listed(scores[f])} exist from {shown(f)}" for f in by_paths)
    evidence = "; ".join(part for part in (said, found) if part) or (
        f"none of {_listed(paths)} exists from {' or '.join(shown(f) for f in folders)}, "
        "and no README, Dockerfile, Makefile or CI config runs the script"
    )
    return Workdir(None, evidence)


def _listed(paths: Sequence[str]) -> str:
    names = [p.split("|")[0] for p in dict.fromkeys(paths)]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def runs_of(script_path: str, repository: RepositoryFiles) -> dict[str, list[str]]:
    """{folder it is run from: ["README.md:12", ...]} from the documents that run it."""
    name = posixpath.basename(script_path)
    pattern = re.compile(
        r"""(?:^|(?<=[\s"'\[,=;&|(`]))((?:\./)?(?:[\w.-]+/)*""" + re.escape(name) + r""")"""
        r"""(?=$|[\s"'\],;&|)`])"""
    )
    found: dict[str, list[str]] = {}
    for document, text in sorted(repository.documents.items()):
        base = "" if document.startswith(CI_FOLDERS) else posixpath.dirname(document)
        # A Dockerfile line runs where its WORKDIR is (None: in no repository folder).
        folders = run_folders(document, text) if _is_dockerfile(document) else {}
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                start = folders.get(number, base)
                if start is None:
                    continue
                cds = CD_BEFORE.findall(line[: match.start()])
                if cds:
                    start = posixpath.normpath(posixpath.join(base, cds[-1])).lstrip("./")
                invoked = match.group(1).removeprefix("./")
                at = posixpath.normpath(posixpath.join(start, invoked))
                if at == script_path:
                    found.setdefault(start, []).append(f"{document}:{number}")
    return found


def _is_dockerfile(document: str) -> bool:
    name = posixpath.basename(document).lower()
    return name.startswith("dockerfile") or name.endswith(".dockerfile")


def env_values(repository: RepositoryFiles) -> dict[str, EnvValue]:
    """Values given to environment variables by Dockerfiles (`ENV`), `.env` files and
    compose files (`environment:`, `env_file:`)."""
    return env_evidence(repository)[0]


def env_evidence(repository: RepositoryFiles) -> tuple[dict[str, EnvValue], tuple[str, ...]]:
    """`env_values`, and why a compose file (or an env_file it names) was not read."""
    found: dict[str, EnvValue] = {}
    problems: list[str] = []
    # A compose file says what the container gets (its `environment:` over its env_files);
    # then Dockerfiles and .env files, in path order. The first value found stands.
    ordered = sorted(repository.documents.items(), key=lambda item: (not is_compose(item[0]), item))
    for document, text in ordered:
        name = posixpath.basename(document).lower()
        docker = _is_dockerfile(document)
        dotenv = name == ".env" or name.startswith(".env.") or name.endswith(".env")
        if is_compose(document):
            composed = compose_environment(document, text, partial(_env_file, repository))
            for key, (value, where) in composed.values.items():
                found.setdefault(key, EnvValue(value, where))
            problems += composed.problems
            continue
        if dotenv:
            for key, pair in _dotenv(document, text).items():
                found.setdefault(key, EnvValue(*pair))
            continue
        for number, line in _logical_lines(text, docker):
            match = DOCKER_ENV.match(line) if docker else None
            if match:
                for key, value in _docker_pairs(match.group(1)):
                    found.setdefault(key, EnvValue(value, f"{document}:{number}"))
    return found, tuple(problems)


def _dotenv(document: str, text: str) -> dict[str, tuple[str, str]]:
    """{name: (value, "file:line")} of a file of `KEY=value` lines."""
    found: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = None if line.lstrip().startswith("#") else DOTENV.match(line)
        if match:
            found.setdefault(match.group(1), (_unquote(match.group(2)), f"{document}:{number}"))
    return found


def _env_file(repository: RepositoryFiles, rel: str) -> dict[str, tuple[str, str]] | str:
    text = repository.documents.get(rel)
    if text is not None:
        return _dotenv(rel, text)
    if rel in repository.paths:
        return "only files named like .env, NAME.env or .env.NAME are read"
    return "no such file in the repository"


def _logical_lines(text: str, joined: bool) -> list[tuple[int, str]]:
    """(first line number, line), with backslash continuations joined when `joined`."""
    found: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line.strip()
            pending = None
        if joined and line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        found.append((number, line))
    if pending is not None:
        found.append(pending)
    return found


def _docker_pairs(text: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(text)
    except ValueError:
        return []
    if words and "=" not in words[0]:  # the old form: ENV KEY value with spaces
        return [(words[0], " ".join(words[1:]))] if len(words) > 1 else []
    pairs = [word.split("=", 1) for word in words if "=" in word]
    return [(key, value) for key, value in pairs]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def python_env_reads(path: str, text: str) -> dict[str, str]:
    """{name: "path:line" or "path:line (with a default)"} for the variables the code reads."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for match in PY_ENV.finditer(line):
            default = " (with a default)" if match.group(2) else ""
            found.setdefault(match.group(1), f"{path}:{number}{default}")
    return found
