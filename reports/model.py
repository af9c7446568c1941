"""What a report page is made of: plain data that the template turns into HTML.

Section plugins return these blocks; they never write HTML themselves, so every value
from a results file goes through the template's autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

Tone = Literal["", "good", "bad", "neutral", "warn", "muted"]


@dataclass(frozen=True)
class Cell:
    """A table cell; `tone` colours it, `note` becomes a second, smaller line."""

    text: str
    tone: Tone = ""
    note: str = ""


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    columns: list[str]
    rows: list[list[Cell]]
    title: str = ""
    caption: str = ""
    numeric_from: int = 1  # columns from this index on are right-aligned numbers


@dataclass(frozen=True)
class Figure:
    kind: ClassVar[str] = "figure"
    title: str
    uri: str  # a data: URI, never a link
    alt: str
    caption: str = ""
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Callout:
    kind: ClassVar[str] = "callout"
    tone: Tone
    text: str
    title: str = ""


@dataclass(frozen=True)
class Text:
    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class ItemList:
    kind: ClassVar[str] = "list"
    items: list[str]
    title: str = ""


@dataclass(frozen=True)
class Code:
    kind: ClassVar[str] = "code"
    text: str
    title: str = ""


@dataclass(frozen=True)
class KeyValues:
    kind: ClassVar[str] = "keyvalues"
    items: list[tuple[str, str]]
    title: str = ""


Block = Table | Figure | Callout | Text | ItemList | Code | KeyValues


@dataclass(frozen=True)
class Claim:
    """One headline figure: a big value, what it measures, and a sentence that says it."""

    label: str
    value: str
    detail: str = ""
    sentence: str = ""
    tone: Tone = "neutral"


@dataclass(frozen=True)
class Part:
    """A titled subsection, listed in the table of contents."""

    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class SectionView:
    """Everything the page shows about one suite of one run."""

    suite: str
    title: str
    anchor: str
    status: str
    description: str = ""
    run_label: str = ""
    verdicts: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    parts: list[Part] = field(default_factory=list)


@dataclass(frozen=True)
class TocEntry:
    title: str
    anchor: str
    children: list[TocEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    title: str
    subtitle: str
    run_labels: list[str]
    sections: list[SectionView]
    comparison: list[Part]
    extras: list[Part]  # micro-benchmarks, provenance, method
    toc: list[TocEntry]
    warnings: list[tuple[str, str]]  # (where, warning) over the whole page
    generated_at: str | None = None
    generator: str = ""
    sources: list[str] = field(default_factory=list)
