"""`migrate apply`: run the codemods over a repository, then diff, check or write.

`plan()` first runs the repository rules (patterns that span files) over every file in
memory, then `fix_file()`, the per-file worker, over each file (read, run the file rules
in order from where the repository rules left it, keep the text in memory).
`write_fix()` is the only function that writes, atomically, and only after checking
that the file did not change meanwhile and that no generated file would overwrite a
different one. `diff_text()` is pure.
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from infragap.atomic import NEW_FILE_MODE, write_atomically
from infragap.errors import ConfigError
from infragap.migrate.errors import MigrateError
from infragap.migrate.files import encode, load
from infragap.migrate.notebooks import is_notebook
from infragap.migrate.pool import run_all
from infragap.migrate.repository import RepositoryFiles, gather
from infragap.migrate.results import NewFile, RuleResult, Status
from infragap.migrate.rules import RULES, Rule, run_fix, run_fix_repository
from infragap.migrate.source import Source
from infragap.migrate.walk import Candidate, LeftOut, Skipped, explore, left_out_line

NOTEBOOKS_READ_ONLY = "notebooks are read for the report, never rewritten"


@dataclass(frozen=True)
class FileFix:
    """What the codemods did to one file, in memory. New files' paths are root-relative."""

    rel: str
    status: Status
    before: str = ""
    after: str = ""
    reason: str = ""
    rules: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    new_files: tuple[NewFile, ...] = ()
    digest: str = ""
    bom: bool = False


@dataclass(frozen=True)
class Prior:
    """Where the repository rules left one file, for the file rules to go on from."""

    text: str
    digest: str  # of the bytes the repository rules read
    rules: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    new_files: tuple[NewFile, ...] = ()


@dataclass(frozen=True)
class ApplyPlan:
    root: Path
    fixes: tuple[FileFix, ...]
    skipped: tuple[Skipped, ...]
    left_out: tuple[LeftOut, ...] = ()  # third-party or ignored: never read nor written


def select_rules(ids: list[str] | None) -> tuple[str, ...]:
    """The named codemods, or every safe one when none is named, in the order they run:
    unsafe (architecture) rules first, since they consume patterns the safe rules fix,
    then the safe ones; each group in RULES order (RULE_ORDER, then extension rules)."""
    if not ids:
        chosen = [rule for _, rule in RULES if rule.kind == "safe"]
    else:
        chosen = [RULES.get(rule_id) for rule_id in dict.fromkeys(ids)]
    for rule in chosen:
        if rule.kind == "report-only":
            raise ConfigError(
                f"{rule.id} only reports (no codemod yet): run `infragap migrate scan` to see it"
            )
    order = {rule_id: index for index, rule_id in enumerate(RULES.names())}
    chosen.sort(key=lambda rule: (rule.kind != "unsafe", order[rule.id]))
    return tuple(rule.id for rule in chosen)


def parse_options(pairs: list[str] | None, rule_ids: tuple[str, ...]) -> dict[str, str]:
    """`["metrics=prometheus"]` -> {"metrics": "prometheus"}, checked against the rules."""
    rules: list[Rule] = [RULES.get(rule_id) for rule_id in rule_ids]
    known = {name: option for rule in rules for name, option in rule.options.items()}
    options: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--option {pair!r} has no '=': write NAME=VALUE")
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            which = ", ".join(rule_ids)
            raise ConfigError(f"unknown option {name!r} for {which}: known options are {names}")
        problem = known[name].problem(value)
        if problem:
            raise ConfigError(f"--option {name}={value}: {problem}")
        options[name] = value
    for rule in rules:
        problem = rule.options_problem(options)
        if problem:
            raise ConfigError(problem)
    return options


def fix_file(
    candidate: Candidate,
    rule_ids: tuple[str, ...],
    options: Mapping[str, str],
    priors: Mapping[str, Prior] | None = None,
) -> FileFix:
    """Run the file codemods on one file, in memory; never raises, never writes."""
    if candidate.language == "notebook":
        return FileFix(candidate.rel, Status.SKIPPED, reason=NOTEBOOKS_READ_ONLY)
    loaded = load(candidate.path)
    if loaded.text is None:
        return FileFix(candidate.rel, Status.SKIPPED, reason=loaded.skip)
    digest = hashlib.sha256(loaded.raw).hexdigest()
    prior = (priors or {}).get(candidate.rel) or Prior(loaded.text, digest)
    if prior.digest != digest:
        reason = "changed on disk during the run: run apply again"
        return FileFix(candidate.rel, Status.FAILED, reason=reason)
    before, text = loaded.text, prior.text
    source = Source(text, candidate.rel, candidate.language)
    problem = source.parse_problem()
    if problem:  # a bad file is skipped, not failed
        return FileFix(candidate.rel, Status.SKIPPED, reason=problem)
    folder = posixpath.dirname(candidate.rel)
    changed_by = list(prior.rules)
    notes = list(prior.notes)
    new_files = list(prior.new_files)
    for rule_id in rule_ids:
        rule = RULES.get(rule_id)
        if candidate.language not in rule.languages:
            continue
        result = run_fix(rule, source, options)
        if result.status is Status.FAILED:
            return FileFix(candidate.rel, Status.FAILED, reason=f"{rule_id}: {result.reason}")
        notes.extend(f"{rule_id}: line {note.line}: {note.message}" for note in result.notes)
        if result.status is Status.CHANGED:
            changed_by.append(rule_id)
            new_files.extend(
                NewFile(posixpath.normpath(posixpath.join(folder, f.path)), f.text)
                for f in result.new_files
            )
            text = result.text
            source = Source(text, candidate.rel, candidate.language)
    status = Status.CHANGED if text != before or new_files else Status.UNCHANGED
    return FileFix(
        candidate.rel,
        status,
        before,
        text,
        rules=tuple(changed_by),
        notes=tuple(notes),
        new_files=tuple(new_files),
        digest=digest,
        bom=loaded.bom,
    )


def repository_pass(
    candidates: list[Candidate],
    rule_ids: tuple[str, ...],
    options: Mapping[str, str],
    repository: RepositoryFiles | None = None,
) -> tuple[dict[str, Prior], list[FileFix]]:
    """Run the repository rules over every file they read; failures come back as FileFixes.

    Files that cannot be read as text are left out here (the file pass reports them).
    """
    priors: dict[str, Prior] = {}
    failed: list[FileFix] = []
    if not rule_ids:
        return priors, failed
    for candidate in candidates:
        loaded = load(candidate.path) if candidate.language != "notebook" else None
        if loaded is not None and loaded.text is not None:
            digest = hashlib.sha256(loaded.raw).hexdigest()
            priors[candidate.rel] = Prior(loaded.text, digest)
    languages = {c.rel: c.language for c in candidates}
    for rule_id in rule_ids:
        rule = RULES.get(rule_id)
        sources = [
            Source(prior.text, rel, languages[rel], repository)
            for rel, prior in priors.items()
            if languages[rel] in rule.languages
        ]
        fix = run_fix_repository(rule, sources, options)
        if fix.failure:
            failed.append(FileFix(".", Status.FAILED, reason=f"{rule_id}: {fix.failure}"))
            continue
        carrier = _carrier(fix.results)
        if fix.new_files and carrier is None:
            failed.append(FileFix(".", Status.FAILED, reason=f"{rule_id}: created files only"))
            continue
        for rel, result in fix.results.items():
            prior = priors[rel]
            changed = result.status is Status.CHANGED
            notes = [f"{rule_id}: line {note.line}: {note.message}" for note in result.notes]
            priors[rel] = replace(
                prior,
                text=result.text if changed else prior.text,
                rules=(*prior.rules, rule_id) if changed or rel == carrier else prior.rules,
                notes=(*prior.notes, *notes),
                new_files=(*prior.new_files, *(fix.new_files if rel == carrier else ())),
            )
    return priors, failed


def _carrier(results: Mapping[str, RuleResult]) -> str | None:
    """The file whose FileFix carries a repository rule's new files: the first changed one."""
    changed = sorted(rel for rel, r in results.items() if r.status is Status.CHANGED)
    return changed[0] if changed else min(results, default=None)


def plan(path: Path, rule_ids: tuple[str, ...], options: Mapping[str, str], jobs: int) -> ApplyPlan:
    discovery = explore(path)
    root, candidates, skipped = discovery.root, discovery.found, discovery.skipped
    rules = [RULES.get(rule_id) for rule_id in rule_ids]
    languages = {language for rule in rules for language in rule.languages}
    candidates = [c for c in candidates if c.language in languages]
    repository_ids = tuple(rule.id for rule in rules if rule.scope == "repository")
    file_ids = tuple(rule.id for rule in rules if rule.scope == "file")
    repository = gather(root, discovery.files) if repository_ids else None
    priors, failed = repository_pass(candidates, repository_ids, options, repository)
    touched = {rel: prior for rel, prior in priors.items() if prior.rules or prior.notes}
    worker = partial(fix_file, rule_ids=file_ids, options=dict(options), priors=touched)
    fixes = run_all(worker, candidates, jobs)
    return ApplyPlan(root, (*failed, *fixes), tuple(skipped), tuple(discovery.left_out))


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def diff_text(fix: FileFix) -> str:
    """A unified diff of the file and of every file the rules would create."""
    parts = difflib.unified_diff(
        _lines(fix.before), _lines(fix.after), f"a/{fix.rel}", f"b/{fix.rel}"
    )
    out = "".join(parts)
    for new in fix.new_files:
        out += "".join(difflib.unified_diff([], _lines(new.text), "/dev/null", f"b/{new.path}"))
    return out


def write_fix(root: Path, fix: FileFix) -> FileFix:
    """Write one changed file and its new files; a FAILED FileFix says why it could not."""
    try:
        _write(root, fix)
    except (MigrateError, OSError) as err:
        return replace(fix, status=Status.FAILED, reason=str(err))
    return fix


def _write(root: Path, fix: FileFix) -> None:
    path = root / fix.rel
    if is_notebook(fix.rel):
        raise MigrateError(f"{fix.rel}: {NOTEBOOKS_READ_ONLY}")
    if hashlib.sha256(path.read_bytes()).hexdigest() != fix.digest:
        raise MigrateError(f"{fix.rel} changed on disk during the run: run apply again")
    pending = []
    for new in fix.new_files:
        target = _inside(root, new.path)
        data = new.text.encode("utf-8")
        if target.exists():
            if target.read_bytes() != data:
                raise MigrateError(
                    f"{new.path} already exists and differs: move it away and run apply "
                    "again (`infragap migrate list` shows which rules can write elsewhere)"
                )
            continue
        pending.append((target, data))
    for target, data in pending:
        write_atomically(target, data, NEW_FILE_MODE)  # creates the folders on the way
    if fix.after != fix.before:
        write_atomically(path, encode(fix.after, fix.bom))  # keeps the file's mode


def _inside(root: Path, rel: str) -> Path:
    """`root / rel`, refusing `..` and any symbolic link on the way."""
    if rel.startswith("/") or ".." in rel.split("/"):
        raise MigrateError(f"refusing to create {rel}: it is outside {root}")
    current = root
    for part in rel.split("/"):
        current = current / part
        if current.is_symlink():
            raise MigrateError(f"refusing to create {rel}: {current} is a symbolic link")
    return current


def summary(
    mode: str,
    rule_ids: tuple[str, ...],
    fixes: list[FileFix],
    skipped: tuple[Skipped, ...],
    left_out: tuple[LeftOut, ...] = (),
) -> str:
    """The closing report of `apply`: counts, then each changed/skipped/failed file."""
    changed = [f for f in fixes if f.status is Status.CHANGED]
    failed = [f for f in fixes if f.status is Status.FAILED]
    passed_over = [(s.rel, s.reason) for s in skipped]
    passed_over += [(f.rel, f.reason) for f in fixes if f.status is Status.SKIPPED]
    notes = [(f.rel, note) for f in fixes for note in f.notes]
    verb = {"diff": "would change", "check": "would change", "write": "changed"}[mode]
    lines = [
        f"migrate apply ({', '.join(rule_ids)}): {len(fixes)} files scanned, "
        f"{len(changed)} {verb}, {len(passed_over)} skipped, {len(failed)} failed; "
        f"{len(notes)} sites left alone"
    ]
    if left_out:
        lines.append(f"  {left_out_line(left_out)}")
    lines += [f"  {verb}: {f.rel} ({', '.join(f.rules)})" for f in changed]
    lines += [f"  new: {new.path}" for f in changed for new in f.new_files]
    lines += [f"  skipped: {rel}: {reason}" for rel, reason in passed_over]
    lines += [f"  left alone: {rel}: {note}" for rel, note in notes]
    lines += [f"  failed: {f.rel}: {f.reason}" for f in failed]
    return "\n".join(lines) + "\n"
