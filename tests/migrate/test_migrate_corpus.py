"""Recall and precision of `migrate scan` per finding class on the fixture corpus
(tests/fixtures/migrate_corpus.json), as `python tools/migrate_corpus.py` prints them,
and the matching that computes them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "migrate_corpus", ROOT / "tools" / "migrate_corpus.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


corpus = _load_tool()

# class: (planted, found, reported, true)
EXPECTED = {
    "5": (12, 12, 12, 12),
    "6": (5, 5, 5, 5),
    "7": (5, 5, 5, 5),
    "8": (28, 28, 28, 28),
    "9": (3, 3, 3, 3),
    "10": (4, 4, 4, 4),
    "11": (3, 3, 3, 3),
    # features/report_prep.py:6 holds two pd.get_dummies calls (X_train, X_test): one
    # finding, naming eval_prep.py:7, 8 and its byte-identical copy train_prep.py once each.
    "12": (6, 6, 6, 6),
    "13": (5, 5, 5, 5),
    "14": (5, 5, 5, 5),
    "legacy-model-load": (8, 8, 8, 8),
    "legacy-timing": (5, 5, 5, 5),
    "legacy-retry": (5, 5, 5, 5),
    # legacy_features/serving/features.py:12 computes weekly_share as
    # events_7d / events_30d.clip(lower=1), training as events_7d / (events_30d + 1): drift
    # of column arithmetic, found; line 11 names the three columns computed the same way.
    "legacy-duplicates": (8, 8, 8, 8),
    # pd.get_dummies on 'channel' (consistent/) and on 'city', 'device' (shop/) are not
    # copies of one step; StandardScaler on 'amount' is not a copy of one on 'balance'.
    "transforms-same-data": (4, 4, 4, 4),
}


@pytest.fixture(scope="module")
def scores() -> dict:
    return {s.id: s for s in corpus.measure()}


def test_every_class_of_the_manifest_has_its_expected_figures(scores):
    assert set(scores) == set(EXPECTED)
    figures = {i: (s.planted, s.found, s.reported, s.true) for i, s in scores.items()}
    assert figures == EXPECTED


def test_no_false_finding_no_miss_and_no_place_reported_twice(scores):
    assert [f.seen for s in scores.values() for f in s.false] == []
    assert [p for s in scores.values() for p in s.misses] == []
    assert [d for s in scores.values() for d in s.duplicates] == []


def test_the_table_prints_recall_precision_and_nothing_else(scores):
    table = corpus.render(scores.values())
    assert "recall" in table.splitlines()[0] and "precision" in table.splitlines()[0]
    assert "missed" not in table and "false" not in table and "again" not in table


def _class(planted, negatives=(), message_contains=""):
    return corpus.CorpusClass(
        "c", "a class", "rule", ("repo",), tuple(planted), tuple(negatives), message_contains
    )


def _seen(line, message, path="app.py", rule="rule"):
    return corpus.Seen(rule, "repo", path, line, message)


PATTERN = corpus.Pattern("repo", "app.py", 10, ("loads", "every request"), ("unbounded",))


def test_a_pattern_with_no_finding_is_a_miss():
    result = corpus.score(_class([PATTERN]), [])
    assert (result.found, result.reported, result.recall, result.precision) == (0, 0, 0.0, None)
    assert result.misses == (PATTERN,)


def test_a_finding_elsewhere_or_saying_something_else_is_false():
    negative = corpus.Negative("repo", "app.py", 20, "a cached load")
    findings = [
        _seen(20, "loads on every request"),  # a planted negative
        _seen(10, "loads once"),  # right place, wrong words
        _seen(10, "loads on every request (unbounded)"),  # a word it must not say
    ]
    result = corpus.score(_class([PATTERN], [negative]), findings)
    assert (result.found, result.reported, result.true) == (0, 3, 0)
    assert result.precision == 0.0 and result.misses == (PATTERN,)
    assert [f.negative for f in result.false] == ["a cached load", "", ""]


def test_two_findings_on_one_pattern_find_it_once():
    findings = [_seen(10, "loads on every request"), _seen(10, "loads on every request")]
    result = corpus.score(_class([PATTERN]), findings)
    assert (result.planted, result.found, result.reported, result.true) == (1, 1, 2, 2)
    assert (result.recall, result.precision) == (1.0, 1.0)
    assert result.duplicates == (findings[1],)


def test_findings_of_other_rules_folders_or_wording_are_not_the_class_s():
    findings = [
        _seen(10, "loads on every request", rule="other"),
        corpus.Seen("rule", "elsewhere", "app.py", 10, "loads on every request"),
        _seen(30, "a copy elsewhere"),
    ]
    result = corpus.score(_class([PATTERN], message_contains="every request"), findings)
    assert result.reported == 0


def test_a_pattern_must_name_its_folder_when_a_class_has_several():
    raw = {"id": 1, "name": "n", "rule": "r", "folders": ["a", "b"]}
    raw["planted"] = [{"path": "x.py", "line": 1, "words": []}]
    with pytest.raises(ValueError, match=r"x\.py:1 must name its folder"):
        corpus.parse_manifest({"classes": [raw]})
    raw["planted"][0]["folder"] = "b"
    (parsed,) = corpus.parse_manifest({"classes": [raw]})
    assert parsed.planted[0].folder == "b" and parsed.id == "1"
