import json

import pytest

from infragap.atomic import write_json_atomically as write_atomically
from infragap.errors import ResultsError
from infragap.reports.schema import SCHEMA_VERSION, load, new_document, validate


def _doc():
    doc = new_document({"id": "x"})
    doc["suites"]["serving"] = {"status": "complete", "error": None}
    return doc


def test_round_trip(tmp_path):
    path = tmp_path / "r.json"
    write_atomically(path, _doc())
    assert load(path)["suites"]["serving"]["status"] == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind


def test_other_schema_version_is_named(tmp_path):
    doc = _doc()
    doc["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match="schema version"):
        load(path)


def test_truncated_file_is_reported_with_its_name(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(_doc())[:40])
    with pytest.raises(ResultsError, match=r"cut\.json is not valid JSON"):
        load(path)


def test_not_results(tmp_path):
    with pytest.raises(ResultsError, match="not an infragap results file"):
        validate({"hello": 1}, "x.json")
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ResultsError):
        load(path)


def test_nan_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "r.json"
    write_atomically(path, _doc())
    before = path.read_bytes()
    doc = _doc()
    doc["run"]["bad"] = float("nan")
    with pytest.raises(ValueError):
        write_atomically(path, doc)
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1
