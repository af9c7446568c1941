"""Shared fixtures for the migrate tests: rule runners and a fresh copy of the legacy repo."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from infragap.migrate.results import RuleResult, Status
from infragap.migrate.rules import fix_text

FIXTURE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_repo"


@pytest.fixture
def legacy_repo(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/legacy_repo: tests may rewrite it freely."""
    dest = tmp_path / "legacy_repo"
    shutil.copytree(FIXTURE_REPO, dest, symlinks=True)
    return dest


Rewrite = Callable[..., RuleResult]


@pytest.fixture
def rewrites() -> Callable[..., RuleResult]:
    """`rewrites(rule, before, after, **options)`: the rule turns `before` into `after`, and
    a second run on its own output changes nothing."""

    def check(rule_id: str, before: str, after: str, **options: str) -> RuleResult:
        result = fix_text(rule_id, dedent(before), options)
        assert result.status is Status.CHANGED, result.reason
        assert result.text == dedent(after)
        again = fix_text(rule_id, result.text, options)
        assert again.status in (Status.UNCHANGED, Status.SKIPPED), again.reason
        assert again.text == result.text
        return result

    return check


@pytest.fixture
def leaves_alone() -> Callable[..., RuleResult]:
    """`leaves_alone(rule, source, reason=None)`: the rule changes nothing; when `reason`
    is given, it is part of what the rule says about the site it skipped."""

    def check(rule_id: str, source: str, reason: str | None = None, **options: str) -> RuleResult:
        result = fix_text(rule_id, dedent(source), options)
        assert result.text == dedent(source)
        if reason is None:
            assert result.status is Status.UNCHANGED, result.reason
        else:
            assert result.status is Status.SKIPPED
            assert reason in result.reason, result.reason
        return result

    return check
