"""model-load-in-handler follows calls: loads one or more calls away from the handler,
through functions, methods and modules (tests/fixtures/one_call_away/README.md)."""

from __future__ import annotations

from pathlib import Path

from infragap.migrate.analysis.call_chains import MAX_CALLS, chains_from
from infragap.migrate.analysis.call_facts import FileFacts, file_facts
from infragap.migrate.results import Status
from infragap.migrate.rules import fix_text
from infragap.migrate.scan import scan
from infragap.migrate.source import Source

RULE = "model-load-in-handler"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "one_call_away"
TEMPLATE = FIXTURES / "template"


def _findings() -> dict[int, tuple[str, str]]:
    found = scan(TEMPLATE, 1, (RULE,)).findings
    assert all(f.path == "app.py" for f in found)
    return {f.line: (f.message, f.unfixable) for f in found}


def test_the_predict_pipeline_template_is_reported_with_its_call_chain():
    message, why = _findings()[18]
    assert message == (
        "predict_datapoint() runs pickle.load() on every request (and 1 more load on the "
        "way), 2 calls away: app.py:predict_datapoint -> PredictPipeline.predict "
        "(src/pipeline/predict_pipeline.py:14) -> load_object (src/utils.py:9) -> pickle.load"
    )
    assert why.startswith("predict_pipeline.predict() is passed request data (`pred_df`)")


def test_a_model_path_from_the_request_is_refused_with_the_reason():
    message, why = _findings()[25]
    assert "PredictPipeline.predict_named (src/pipeline/predict_pipeline.py:19)" in message
    assert why == (
        "the load depends on the request: its arguments come from `name` in "
        "PredictPipeline.predict_named, which the handler fills from request data"
    )


def test_a_helper_in_another_module_is_reported_not_rewritten():
    message, why = _findings()[30]
    assert message.endswith("app.py:encoder -> load_joblib (src/utils.py:18) -> joblib.load")
    assert "apply rewrites one file at a time" in why
    app = (TEMPLATE / "app.py").read_text()
    assert fix_text(RULE, app, path="app.py").status is Status.UNCHANGED


def test_a_call_cycle_ends_and_a_load_past_the_bound_is_not_reported():
    findings = _findings()
    assert findings[41][0].endswith(
        "ping (src/cycle.py:5) -> pong (src/cycle.py:10) -> pickle.load"
    )
    assert 36 not in findings  # deep.level1 -> ... -> level4 loads 4 calls away
    assert MAX_CALLS == 3
    assert sorted(findings) == [18, 25, 30, 41]


def test_a_recursive_function_in_the_handlers_file_terminates():
    text = (
        "import pickle\nfrom flask import Flask\napp = Flask(__name__)\n\n"
        "def a(n):\n    return b(n)\n\ndef b(n):\n    return a(n)\n\n"
        '@app.route("/x")\ndef x():\n    return a(1)\n'
    )
    source = Source(text, "app.py")
    facts = file_facts(source)
    assert chains_from({"app.py": facts}, "app.py", facts.functions["x"]) == []
    again = FileFacts.from_data(facts.as_data())
    assert again == facts


def test_chains_inside_one_file_are_cached_where_it_is_the_same_behaviour():
    before = (FIXTURES / "same_file" / "before.py").read_text()
    result = fix_text(RULE, before, path="app.py")
    assert result.status is Status.CHANGED
    assert result.text == (FIXTURES / "same_file" / "after.py").read_text()
    compile(result.text, "app.py", "exec")
    notes = {note.line: note.message for note in result.notes}
    assert notes[65].startswith("app.py:score -> Scorer.score (app.py:34) -> Scorer._model")
    assert "is passed request data (`request`)" in notes[65]
    assert "CountingPipeline.predict() changes the object (`self.calls`)" in notes[70]
    assert notes[76].startswith("app.py:run_route -> run (app.py:48) -> get_model")
    again = fix_text(RULE, result.text, path="app.py")
    assert again.status in (Status.UNCHANGED, Status.SKIPPED) and again.text == result.text


def test_each_same_file_chain_is_found_by_scan():
    found = scan(FIXTURES / "same_file" / "before.py", 1, (RULE,)).findings
    lines = {f.line: f.unfixable for f in found}
    assert sorted(lines) == [53, 59, 65, 70, 76]
    assert lines[53] == "" and lines[59] == ""
    assert all(lines[line] for line in (65, 70, 76))
