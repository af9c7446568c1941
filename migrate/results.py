"""Plain data that rules return and the runners collect; no I/O here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class Note:
    """A site a rule saw and left alone, with the reason (shown in the apply summary)."""

    line: int
    message: str


@dataclass(frozen=True)
class NewFile:
    """A file a rule wants created; `path` is relative to the rewritten file's folder."""

    path: str
    text: str


@dataclass(frozen=True)
class RuleResult:
    """What one rule did to one source text. `text` is the input unless CHANGED.

    SKIPPED means the rule found its pattern but left every site alone (the notes say
    why); FAILED means the rule itself broke, and the text must not be written.
    """

    status: Status
    text: str
    reason: str = ""
    notes: tuple[Note, ...] = ()
    new_files: tuple[NewFile, ...] = ()

    @classmethod
    def changed(
        cls, text: str, notes: tuple[Note, ...] = (), new_files: tuple[NewFile, ...] = ()
    ) -> RuleResult:
        return cls(Status.CHANGED, text, notes=notes, new_files=new_files)

    @classmethod
    def unchanged(cls, text: str) -> RuleResult:
        return cls(Status.UNCHANGED, text)

    @classmethod
    def skipped(cls, text: str, notes: tuple[Note, ...]) -> RuleResult:
        reason = "; ".join(f"line {note.line}: {note.message}" for note in notes)
        return cls(Status.SKIPPED, text, reason=reason, notes=notes)

    @classmethod
    def failed(cls, text: str, reason: str) -> RuleResult:
        return cls(Status.FAILED, text, reason=reason)

    @classmethod
    def from_edits(
        cls,
        before: str,
        after: str,
        notes: tuple[Note, ...],
        new_files: tuple[NewFile, ...] = (),
    ) -> RuleResult:
        """The usual ending of a rule: changed if the text moved, else skipped or unchanged."""
        if after != before:
            return cls.changed(after, notes, new_files)
        if notes:
            return cls.skipped(before, notes)
        return cls.unchanged(before)


@dataclass(frozen=True)
class RepositoryFix:
    """What a repository rule did across files: a result per file it changed or left a
    note on, keyed by root-relative path, and the files it creates (root-relative).

    `failure` is set when the rule itself broke; then nothing of it may be written.
    """

    results: dict[str, RuleResult] = field(default_factory=dict)
    new_files: tuple[NewFile, ...] = ()
    failure: str = ""


@dataclass(frozen=True)
class Finding:
    """One naive pattern at one place. `fixes` lists the codemods that rewrite it;
    `unfixable` says why they cannot here (empty when they can, or when none exist)."""

    rule: str
    path: str
    line: int
    column: int
    code: str
    message: str
    fixes: tuple[str, ...] = ()
    unfixable: str = ""
    key: str = field(default="", compare=False)
