"""duplicated-preprocessing over numpy arrays (issue item 9): functions copied between a
preprocessing script and an inference script, reported once per pair; look-alikes,
trivial functions and test files are not."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from infragap.migrate.analysis.array_functions import array_functions
from infragap.migrate.rules import RULES
from infragap.migrate.scan import scan
from infragap.migrate.source import Source

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "numpy_duplicates"
RULE = "duplicated-preprocessing"


def _findings(texts: dict[str, str]) -> list:
    rule = RULES.get(RULE)
    found = [f for path, text in texts.items() for f in rule.find(Source(dedent(text), path))]
    return rule.aggregate(found)


def test_the_fixture_reports_each_planted_copy_once_and_nothing_else():
    report = scan(FIXTURE, 1, (RULE,))
    assert not report.errors
    found = [(f.path, f.line, f.message) for f in report.findings]
    assert found == [
        (
            "inference/predict_service.py",
            6,
            "fill_gaps() is a copy of fill_gaps() in preprocess/prepare_series.py:8 (the "
            "same array code, up to names); keep one and import it in both, so they "
            "cannot drift",
        ),
        (
            "inference/predict_service.py",
            14,
            "normalise() is a copy of normalise() in preprocess/prepare_series.py:16 that "
            "drifted: x[-1] here vs x[0]; keep one and import it in both",
        ),
        (
            "inference/predict_service.py",
            18,
            "returns_log() is a copy of log_returns() in preprocess/prepare_series.py:20 "
            "(the same array code, up to names); keep one and import it in both, so they "
            "cannot drift",
        ),
    ]
    assert all(f.fixes == () for f in report.findings)  # no codemod moves these yet


def test_trivial_and_non_array_functions_are_not_array_functions():
    source = Source((FIXTURE / "preprocess" / "prepare_series.py").read_text())
    names = [f.name for f in array_functions(source)]
    assert names == ["fill_gaps", "normalise", "log_returns", "unit"]  # not rescale,
    # to_array (converts only) nor scale (arithmetic on no array)


def test_a_file_without_numpy_has_no_array_functions():
    assert array_functions(Source("def f(x):\n    return x / x[0] - 1.0\n")) == []


def test_identical_copies_are_reported_once_per_pair_without_a_difference():
    code = "import numpy as np\n\n\ndef normalise(x):\n    return x / x[0] - 1.0\n"
    findings = _findings({"train.py": code, "serve.py": code.replace("\n\n\n", "\n\n\n# c\n")})
    assert len(findings) == 1
    assert findings[0].path == "serve.py"
    assert "(the same array code)" in findings[0].message and "drifted" not in findings[0].message


def test_three_copies_are_two_findings_against_the_training_copy():
    code = "import numpy as np\n\n\ndef norm(x):\n    return x / x[0] - 1.0\n"
    findings = _findings({"train.py": code, "serve.py": code + "\n", "evaluate.py": code + "\n\n"})
    assert sorted(f.path for f in findings) == ["evaluate.py", "serve.py"]
    assert all("in train.py:4" in f.message for f in findings)


def test_functions_of_one_name_and_another_purpose_are_not_drift():
    findings = _findings(
        {
            "train.py": "import numpy as np\ndef unit(v):\n    return v / np.linalg.norm(v)\n",
            "serve.py": "import numpy as np\ndef unit(v):\n    return (v - v.mean()) / v.std()\n",
        }
    )
    assert findings == []


def test_test_files_are_left_out():
    code = "import numpy as np\ndef norm(x):\n    return x / x[0] - 1.0\n"
    assert _findings({"prep.py": code, "tests/test_prep.py": code, "test_x.py": code}) == []


def test_constants_compare_by_value():
    findings = _findings(
        {
            "train.py": "import numpy as np\nBASE = 1.0\ndef n(x):\n    return x / x[0] - BASE\n",
            "serve.py": "import numpy as np\ndef n(x):\n    return x / x[0] - 1.0\n",
        }
    )
    assert len(findings) == 1 and "the same array code" in findings[0].message
