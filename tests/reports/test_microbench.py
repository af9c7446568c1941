import json
from pathlib import Path

import pytest

from infragap.errors import ResultsError
from infragap.reports import microbench

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results" / "microbench.json"


def test_loads_a_real_pytest_benchmark_file():
    loaded = microbench.load(FIXTURE)
    rows = microbench.benchmark_rows(loaded.doc)
    assert [r[0].text for r in rows][:2] == ["test_latency_summary", "test_bootstrap_p99_ratio"]
    assert rows[0][1].text == "15.4 µs"  # the median
    assert rows[0][0].note == "tests/benchmarks/test_report_micro.py"
    part = microbench.benchmark_part([loaded])
    assert part is not None and part.title == "Micro-benchmarks"
    assert microbench.benchmark_part([]) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"benchmarks": [{"name": "x", "stats": {"mean": 1}}]}', "lacks the statistics"),
        ('{"results": []}', "not a pytest-benchmark file"),
        ('{"benchmarks": [', "not valid JSON"),
    ],
)
def test_bad_benchmark_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "bench.json"
    path.write_text(content)
    with pytest.raises(ResultsError, match=problem) as caught:
        microbench.load(path)
    assert str(path) in str(caught.value)


def test_missing_benchmark_file(tmp_path):
    with pytest.raises(ResultsError, match="cannot read"):
        microbench.load(tmp_path / "absent.json")
    json.loads(FIXTURE.read_text())  # the fixture itself stays valid JSON
