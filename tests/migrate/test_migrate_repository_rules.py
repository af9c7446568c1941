"""Repository rules (patterns that span files) run whole or not at all."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from infragap.migrate.cli import main
from infragap.migrate.results import NewFile, RepositoryFix, RuleResult
from infragap.migrate.rules import Rule, run_fix_repository
from infragap.migrate.rules.preprocessing_to_feast import PreprocessingToFeast
from infragap.migrate.source import Source

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_features"
SOURCES = [Source("x = 1\n", "a.py"), Source("y = 2\n", "b.py")]


class _Returns(Rule):
    id = "returns"
    scope = "repository"

    def __init__(self, fix: RepositoryFix) -> None:
        self.result = fix

    def fix_repository(self, sources, options):
        return self.result


def test_a_rule_that_breaks_is_a_failure_not_a_crash():
    class Broken(_Returns):
        def fix_repository(self, sources, options):
            raise RuntimeError("boom")

    fix = run_fix_repository(Broken(RepositoryFix()), SOURCES, {})
    assert fix.failure == "internal error in returns: RuntimeError('boom')"


def test_output_that_does_not_parse_fails_the_whole_rule():
    bad = RepositoryFix(results={"b.py": RuleResult.changed("y = (\n")})
    assert (
        "b.py: returns produced invalid Python"
        in run_fix_repository(_Returns(bad), SOURCES, {}).failure
    )
    new = RepositoryFix(
        results={"a.py": RuleResult.changed("x = 2\n")}, new_files=(NewFile("gen/c.py", "def (:"),)
    )
    failure = run_fix_repository(_Returns(new), SOURCES, {}).failure
    assert failure.startswith("returns would create invalid Python in gen/c.py")


def test_a_failing_repository_rule_writes_none_of_its_files_and_exits_2(
    tmp_path, monkeypatch, capsys
):
    repo = Path(shutil.copytree(FIXTURE, tmp_path / "repo"))
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in repo.rglob("*") if p.is_file()}

    def broken(self, sources, options):
        raise ValueError("bad day")

    monkeypatch.setattr(PreprocessingToFeast, "fix_repository", broken)
    argv = [
        "apply",
        str(repo),
        "--rule",
        "preprocessing-to-feast",
        "--rule",
        "timing-log-to-metrics",
    ]
    assert main([*argv, "--write", "-j", "1"]) == 2
    assert "failed: .: preprocessing-to-feast: internal error" in capsys.readouterr().err
    after = {p: hashlib.sha256(p.read_bytes()).digest() for p in repo.rglob("*") if p.is_file()}
    assert after == before
