"""Recall and precision of `infragap migrate scan`, per finding class, on the fixture corpus.

    python tools/migrate_corpus.py [--json] [--manifest PATH]

tests/fixtures/migrate_corpus.json lists, per class, the fixture folders scanned, the
rule, each planted pattern (path and line relative to its folder, words its message
must hold, words it must not) and the negatives (places where a finding is false).
Each folder is scanned in-process with the class's rule only; a finding is true when it
sits at a planted pattern's place and says what the pattern says. Several findings on
one pattern find it once (the extra ones are listed as duplicates, not counted false).

`score()` is the pure core (a class and findings in, a `Score` out); scanning and
printing are thin wrappers around it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tests" / "fixtures" / "migrate_corpus.json"


@dataclass(frozen=True)
class Seen:
    """One finding as the corpus sees it: its folder, place and message."""

    rule: str
    folder: str
    path: str
    line: int
    message: str


@dataclass(frozen=True)
class Pattern:
    """A planted pattern: a finding expected at folder/path:line saying `words`."""

    folder: str
    path: str
    line: int
    words: tuple[str, ...]
    not_words: tuple[str, ...] = ()
    note: str = ""

    def matches(self, seen: Seen) -> bool:
        return (
            (seen.folder, seen.path, seen.line) == (self.folder, self.path, self.line)
            and all(word in seen.message for word in self.words)
            and not any(word in seen.message for word in self.not_words)
        )


@dataclass(frozen=True)
class Negative:
    """A place where a finding (holding `words`, when given) would be false."""

    folder: str
    path: str
    line: int
    why: str
    words: tuple[str, ...] = ()

    def hit_by(self, seen: Seen) -> bool:
        return (seen.folder, seen.path, seen.line) == (
            self.folder,
            self.path,
            self.line,
        ) and all(word in seen.message for word in self.words)


@dataclass(frozen=True)
class CorpusClass:
    id: str
    name: str
    rule: str
    folders: tuple[str, ...]
    planted: tuple[Pattern, ...]
    negatives: tuple[Negative, ...] = ()
    message_contains: str = ""  # narrows the rule's findings to this class's

    def owns(self, seen: Seen) -> bool:
        return (
            seen.rule == self.rule
            and seen.folder in self.folders
            and self.message_contains in seen.message
        )


@dataclass(frozen=True)
class FalseFinding:
    seen: Seen
    negative: str = ""  # the planted negative it hit, if any


@dataclass(frozen=True)
class Score:
    id: str
    name: str
    planted: int
    found: int
    reported: int
    true: int
    misses: tuple[Pattern, ...]
    false: tuple[FalseFinding, ...]
    duplicates: tuple[Seen, ...]

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        return self.true / self.reported if self.reported else None


def parse_manifest(data: dict[str, Any]) -> tuple[CorpusClass, ...]:
    """The classes of a manifest; a pattern names its folder only when there are several."""
    classes = []
    for raw in data["classes"]:
        folders = tuple(raw["folders"])

        def folder(entry: dict[str, Any], folders: tuple[str, ...] = folders) -> str:
            if "folder" in entry:
                return str(entry["folder"])
            if len(folders) != 1:
                raise ValueError(f"{entry['path']}:{entry['line']} must name its folder")
            return folders[0]

        planted = tuple(
            Pattern(
                folder(p),
                p["path"],
                p["line"],
                tuple(p["words"]),
                tuple(p.get("not_words", ())),
                p.get("note", ""),
            )
            for p in raw["planted"]
        )
        negatives = tuple(
            Negative(folder(n), n["path"], n["line"], n["why"], tuple(n.get("words", ())))
            for n in raw.get("negatives", ())
        )
        classes.append(
            CorpusClass(
                str(raw["id"]),
                raw["name"],
                raw["rule"],
                folders,
                planted,
                negatives,
                raw.get("message_contains", ""),
            )
        )
    return tuple(classes)


def score(corpus_class: CorpusClass, findings: Iterable[Seen]) -> Score:
    """Match one class's planted patterns against findings (any rule, any folder)."""
    mine = [seen for seen in findings if corpus_class.owns(seen)]
    hits: dict[Pattern, list[Seen]] = {}
    false: list[FalseFinding] = []
    for seen in mine:
        matched = [p for p in corpus_class.planted if p.matches(seen)]
        for pattern in matched:
            hits.setdefault(pattern, []).append(seen)
        if not matched:
            negative = next((n.why for n in corpus_class.negatives if n.hit_by(seen)), "")
            false.append(FalseFinding(seen, negative))
    return Score(
        id=corpus_class.id,
        name=corpus_class.name,
        planted=len(corpus_class.planted),
        found=len(hits),
        reported=len(mine),
        true=len(mine) - len(false),
        misses=tuple(p for p in corpus_class.planted if p not in hits),
        false=tuple(false),
        duplicates=tuple(seen for found in hits.values() for seen in found[1:]),
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(scores: Iterable[Score]) -> str:
    """The table, then each class's misses, false findings and duplicates."""
    scores = list(scores)
    header = ("class", "planted", "found", "reported", "true", "recall", "precision")
    rows = [
        (s.id, s.planted, s.found, s.reported, s.true, _percent(s.recall), _percent(s.precision))
        for s in scores
    ]
    width = max(len(str(row[0])) for row in [header, *rows])
    lines = [f"{header[0]:<{width}}" + "".join(f"{h:>10}" for h in header[1:])]
    lines += [f"{row[0]:<{width}}" + "".join(f"{c:>10}" for c in row[1:]) for row in rows]
    for s in scores:
        details = [
            *(
                f"  missed {_place(p)}: wanted {list(p.words)}" + (f" ({p.note})" if p.note else "")
                for p in s.misses
            ),
            *(
                f"  false  {_place(f.seen)}: {f.seen.message}"
                + (f" [negative: {f.negative}]" if f.negative else "")
                for f in s.false
            ),
            *(f"  again  {_place(seen)}: {seen.message}" for seen in s.duplicates),
        ]
        if details:
            lines += ["", f"{s.id} ({s.name}):", *details]
    return "\n".join(lines)


def as_json(scores: Iterable[Score]) -> list[dict[str, Any]]:
    return [
        {
            "class": s.id,
            "name": s.name,
            "planted": s.planted,
            "found": s.found,
            "reported": s.reported,
            "true": s.true,
            "recall": s.recall,
            "precision": s.precision,
            "misses": [
                {"place": _place(p), "words": list(p.words), "note": p.note} for p in s.misses
            ],
            "false": [
                {"place": _place(f.seen), "message": f.seen.message, "negative": f.negative}
                for f in s.false
            ],
            "duplicates": [{"place": _place(d), "message": d.message} for d in s.duplicates],
        }
        for s in scores
    ]


def _place(where: Pattern | Seen) -> str:
    return f"{where.folder}/{where.path}:{where.line}"


def scan_findings(classes: Iterable[CorpusClass], fixtures: Path) -> list[Seen]:
    """Scan each (folder, rule) the classes need once, in-process, one worker."""
    from infragap.migrate.scan import scan

    wanted = sorted({(folder, c.rule) for c in classes for folder in c.folders})
    findings: list[Seen] = []
    for folder, rule in wanted:
        report = scan(fixtures / folder, 1, (rule,))
        for error in report.errors:  # a rule that broke would read as misses: say so
            print(f"warning: {folder}: {error.rel}: {error.reason}", file=sys.stderr)
        findings += [Seen(f.rule, folder, f.path, f.line, f.message) for f in report.findings]
    return findings


def measure(manifest: Path = MANIFEST) -> list[Score]:
    classes = parse_manifest(json.loads(manifest.read_text(encoding="utf-8")))
    findings = scan_findings(classes, manifest.parent)
    return [score(c, findings) for c in classes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    args = parser.parse_args(argv)
    scores = measure(args.manifest)
    print(json.dumps(as_json(scores), indent=2) if args.json else render(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
