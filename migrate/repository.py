"""What a repository says beyond its code, as plain data for the rules.

Some decisions need evidence from outside the file being rewritten: which folder a
script is run from (the README, Dockerfile, Makefile or CI config that runs it; which
folder makes its step paths exist), and which environment variables are set elsewhere
(a Dockerfile's `ENV`, a `.env` file). `gather()` (I/O: it reads files) collects every
file path the walk saw and the text of those documents; rules get the result on each
`Source` (`source.repository`) and stay pure.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

MAX_DOCUMENT_BYTES = 256_000
MAX_DOCUMENTS = 200
DOCUMENT_NAMES = re.compile(
    r"(?i)(?:readme(?:\.\w+)?|dockerfile(?:\.\w+)?|[\w.-]*\.dockerfile|makefile|[\w.-]*\.mk|"
    r"(?:docker-)?compose(?:\.[\w-]+)?\.ya?ml|\.gitlab-ci\.ya?ml|jenkinsfile|procfile|"
    r"\.env(?:\.[\w-]+)?|[\w-]+\.env|tox\.ini|justfile|taskfile\.ya?ml)"
)
CI_FOLDERS = (".github/workflows/", ".circleci/", ".buildkite/", "ci/", ".ci/")


@dataclass(frozen=True)
class RepositoryFiles:
    """Every file path (root-relative, POSIX) and the documents that may say how the
    code is run or configured: {path: text}."""

    paths: frozenset[str] = frozenset()
    documents: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def folders(self) -> frozenset[str]:
        found = set()
        for path in self.paths:
            folder = posixpath.dirname(path)
            while folder and folder not in found:
                found.add(folder)
                folder = posixpath.dirname(folder)
        return frozenset(found)

    def exists(self, rel: str) -> bool:
        """A file or a folder at `rel` (normalised, root-relative)."""
        rel = posixpath.normpath(rel)
        return rel in self.paths or rel in self.folders


def is_document(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    if DOCUMENT_NAMES.fullmatch(name):
        return True
    return rel.startswith(CI_FOLDERS) and name.endswith((".yml", ".yaml"))


def gather(root: Path, files: list[str]) -> RepositoryFiles:
    """Read the documents among `files` (root-relative); unreadable ones are left out."""
    documents: dict[str, str] = {}
    for rel in files:
        if len(documents) >= MAX_DOCUMENTS:
            break
        if not is_document(rel):
            continue
        try:
            raw = (root / rel).read_bytes()[:MAX_DOCUMENT_BYTES]
        except OSError:
            continue
        documents[rel] = raw.decode("utf-8", errors="replace")
    return RepositoryFiles(frozenset(files), documents)
