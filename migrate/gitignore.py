""".gitignore patterns, matched as git matches them (the common subset, no git needed).

Each folder's `.gitignore` applies to the paths below that folder; the last pattern that
matches a path decides (`!pattern` re-includes); a pattern with a slash other than a
trailing one is anchored to its folder, one without matches a name at any depth; a
trailing slash matches folders only; `*`, `?`, `[...]` and `**` as in git. As in git, a
file inside an ignored folder cannot be re-included (the walk never enters the folder).
Not read: `.git/info/exclude` and the user's global excludes file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool
    anchored: bool
    text: str


def parse(text: str) -> list[Pattern]:
    """The patterns of one .gitignore file, in order."""
    found = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if raw.endswith("\\ "):  # an escaped trailing space is kept
            line = raw[:-2] + " "
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated or line.startswith(("\\!", "\\#")):
            line = line[1:]
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.removeprefix("/")
        found.append(Pattern(_regex(line), negated, folders_only, anchored, raw.strip()))
    return found


def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape("["))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    try:
        return re.compile("".join(out))
    except re.error:  # a malformed class: match it literally, as near as we can
        return re.compile(re.escape(pattern))


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one .gitignore and the folder (root-relative, "" for the root)
    they apply below."""

    folder: str
    patterns: tuple[Pattern, ...]


def read(folder: Path, rel: str) -> IgnoreFile | None:
    """The .gitignore of `folder` (root-relative `rel`), or None without one."""
    try:
        text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    patterns = tuple(parse(text))
    return IgnoreFile(rel.rstrip("/"), patterns) if patterns else None


def ignored(files: list[IgnoreFile], rel: str, is_folder: bool) -> str:
    """The pattern that ignores root-relative `rel` (as written), or "" when none does.

    `files` runs from the root's .gitignore down to the nearest one; deeper files win."""
    verdict = ""
    for ignore_file in files:
        prefix = f"{ignore_file.folder}/" if ignore_file.folder else ""
        if not rel.startswith(prefix):
            continue
        below = rel[len(prefix) :]
        name = below.rsplit("/", 1)[-1]
        for pattern in ignore_file.patterns:
            if pattern.folders_only and not is_folder:
                continue
            subject = below if pattern.anchored else name
            if pattern.regex.fullmatch(subject):
                verdict = "" if pattern.negated else pattern.text
    return verdict
