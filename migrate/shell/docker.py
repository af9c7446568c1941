"""What Docker files say about running a script (pure functions of their text).

* A Dockerfile's `RUN`, `CMD` or `ENTRYPOINT` runs in the image folder its `WORKDIR`s
  name (a relative one goes on from the one before; `FROM` starts over at `/`), and
  `COPY`/`ADD` say which repository folder sits at which image folder. Together they
  give the repository folder a line runs in.
* A compose file's services set variables with `environment:` (a list of `KEY=value`
  or a mapping) and `env_file:` (files of `KEY=value` lines, beside the compose file).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

INSTRUCTION = re.compile(r"(?i)^\s*([a-z]+)\s+(.*)$")
COMPOSE_NAME = re.compile(r"(?i)^(?:docker-)?compose(?:\.[\w-]+)?\.ya?ml$")


@dataclass(frozen=True)
class Copied:
    image: str  # the absolute image folder
    repository: str  # the root-relative repository folder found there


@dataclass
class _Stage:
    workdir: str = "/"
    moved: bool = False  # a WORKDIR was given: the Dockerfile's own folder no longer holds
    copies: list[Copied] = field(default_factory=list)


def is_compose(rel: str) -> bool:
    return bool(COMPOSE_NAME.match(posixpath.basename(rel)))


def logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) of each instruction, continuations joined."""
    found: list[tuple[int, int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        first, joined = pending if pending is not None else (number, "")
        joined = f"{joined} {line.strip()}" if joined else line
        pending = None
        if joined.rstrip().endswith("\\"):
            pending = (first, joined.rstrip()[:-1])
            continue
        found.append((first, number, joined))
    if pending is not None:
        found.append((pending[0], pending[0], pending[1]))
    return found


def run_folders(document: str, text: str) -> dict[int, str | None]:
    """{line: the repository folder it runs in} for every line of a Dockerfile.

    Before any WORKDIR that is the Dockerfile's own folder (the build context); after
    one, the folder a COPY put there, or None when no COPY says what the image holds.
    """
    context = posixpath.dirname(document)
    stage = _Stage()
    folders: dict[int, str | None] = {}
    for first, last, line in logical_lines(text):
        here = _repository_folder(stage, context)
        for number in range(first, last + 1):
            folders[number] = here
        match = INSTRUCTION.match(line)
        if not match:
            continue
        keyword, rest = match.group(1).upper(), match.group(2)
        if keyword == "FROM":
            stage = _Stage()
        elif keyword == "WORKDIR":
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, rest.strip()))
            stage.moved = True
        elif keyword in ("COPY", "ADD"):
            copied = _copied(rest, stage.workdir, context)
            if copied is not None:
                stage.copies.append(copied)
    return folders


def _repository_folder(stage: _Stage, context: str) -> str | None:
    if not stage.moved:
        return context
    for copied in reversed(stage.copies):  # the last COPY to a folder wins
        image = copied.image.rstrip("/") or "/"
        inside = stage.workdir == image or stage.workdir.startswith(image.rstrip("/") + "/")
        if inside:
            rest = posixpath.relpath(stage.workdir, image)
            folder = posixpath.normpath(posixpath.join(copied.repository, rest))
            return "" if folder == "." else None if folder.startswith("..") else folder
    return None


def _copied(rest: str, workdir: str, context: str) -> Copied | None:
    """The one repository folder a `COPY SRC DEST` puts into the image; None for a copy
    from another stage or image, or of several sources."""
    words = _arguments(rest)
    if any(word.startswith("--from") for word in words):
        return None
    paths = [word for word in words if not word.startswith("--")]
    if len(paths) != 2 or "$" in "".join(paths) or "://" in paths[0]:
        return None
    source, destination = paths
    repository = posixpath.normpath(posixpath.join(context, source))
    if repository.startswith(".."):
        return None
    image = posixpath.normpath(posixpath.join(workdir, destination))
    return Copied(image, "" if repository == "." else repository)


def _arguments(rest: str) -> list[str]:
    if rest.lstrip().startswith("["):
        try:
            words = json.loads(rest)
        except ValueError:
            return []
        return [str(word) for word in words] if isinstance(words, list) else []
    try:
        return shlex.split(rest)
    except ValueError:
        return []


@dataclass(frozen=True)
class ComposeEnvironment:
    """What one compose file sets: {name: (value, "file:line")}, and why it or an
    env_file it names could not be read ("" when it could)."""

    values: Mapping[str, tuple[str, str]]
    problems: tuple[str, ...] = ()


def compose_environment(
    document: str,
    text: str,
    read_env_file: Callable[[str], Mapping[str, tuple[str, str]] | str],
) -> ComposeEnvironment:
    """The variables a compose file's services set. `read_env_file(path)` gives the
    values of an env_file (root-relative path), or why it cannot.
    An `environment:` entry wins over an env_file; the first service to set a name wins.
    """
    try:
        import yaml
    except ImportError:
        return ComposeEnvironment({}, (f"{document} not read: PyYAML is not installed "
                                       "(pip install pyyaml)",))  # fmt: skip
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        reason = getattr(err, "problem", None) or type(err).__name__
        return ComposeEnvironment({}, (f"{document} not read: not valid YAML{line}: {reason}",))
    values: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for service in _mapping(_mapping(root).get("services")).values():
        settings = _mapping(service)
        for name, (value, number) in _environment(settings.get("environment")).items():
            values.setdefault(name, (value, f"{document}:{number}"))
        folder = posixpath.dirname(document)
        for path in _env_files(settings.get("env_file")):
            rel = posixpath.normpath(posixpath.join(folder, path))
            found = read_env_file(rel)
            if isinstance(found, str):
                problems.append(f"{rel} (env_file of {document}) not read: {found}")
                continue
            for name, value_where in found.items():
                values.setdefault(name, value_where)
    return ComposeEnvironment(values, tuple(problems))


def _mapping(node: Any) -> dict[str, Any]:
    """A YAML mapping node as {key: value node}; {} for anything else."""
    pairs = getattr(node, "value", None)
    if getattr(node, "tag", "") != "tag:yaml.org,2002:map" or not isinstance(pairs, list):
        return {}
    return {str(key.value): value for key, value in pairs if isinstance(key.value, str)}


def _scalar(node: Any) -> str | None:
    return node.value if isinstance(getattr(node, "value", None), str) else None


def _environment(node: Any) -> dict[str, tuple[str, int]]:
    """{name: (value, line)} from `environment:`, either form; a name with no value (it
    passes the host's through) or an interpolated one (`${X}`) gives nothing to carry."""
    found: dict[str, tuple[str, int]] = {}
    if isinstance(getattr(node, "value", None), list) and node.tag.endswith(":seq"):
        for item in node.value:
            entry = _scalar(item)
            if entry and "=" in entry:
                name, value = entry.split("=", 1)
                found.setdefault(name.strip(), (value, item.start_mark.line + 1))
    else:
        for name, value_node in _mapping(node).items():
            given = _scalar(value_node)
            if given is not None and value_node.tag != "tag:yaml.org,2002:null":
                found.setdefault(name, (given, value_node.start_mark.line + 1))
    return {name: pair for name, pair in found.items() if "$" not in pair[0]}


def _env_files(node: Any) -> list[str]:
    """The paths `env_file:` names: one string, a list of them, or of `{path: ...}`."""
    single = _scalar(node)
    if single is not None:
        return [single]
    if not isinstance(getattr(node, "value", None), list):
        return []
    paths = []
    for item in node.value:
        path = _scalar(item) if _scalar(item) is not None else _scalar(_mapping(item).get("path"))
        if path:
            paths.append(path)
    return paths
