"""Training code in notebooks (issue item 10): code cells read for duplicated-preprocessing
and skew findings, magics skipped, findings placed by cell and line, malformed notebooks
skipped with their reason, and no notebook ever rewritten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from infragap.migrate.apply import fix_file
from infragap.migrate.cli import main
from infragap.migrate.files import decode_notebook
from infragap.migrate.notebooks import notebook_code, place
from infragap.migrate.results import Status
from infragap.migrate.scan import scan
from infragap.migrate.walk import Candidate, explore

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
NOTEBOOK = FIXTURE / "notebooks" / "train_churn.ipynb"


def _notebook(*sources: object, **document: object) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "source": s} for s in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, **document}, indent=1)


def test_magics_become_pass_and_each_cell_line_keeps_its_line():
    text = _notebook(
        ["%matplotlib inline\n", "import numpy as np\n", "x = np.ones(3)\n", "x?"],
        ["%%bash\n", "ls\n"],
        ["%%time\n", "for i in range(2):\n", "    !echo $i\n", "files = !ls"],
    )
    code, problem = notebook_code(text)
    assert problem == ""
    assert code.splitlines() == [
        "# %% cell 1 (notebook line 8)",
        "pass  # IPython, not Python",
        "import numpy as np",
        "x = np.ones(3)",
        "pass  # IPython, not Python",
        "# %% cell 2 (notebook line 19)",
        "# cell magic %%bash: not Python",
        "# cell magic %%bash: not Python",
        "# %% cell 3 (notebook line 28)",
        "pass  # IPython, not Python",
        "for i in range(2):",
        "    pass  # IPython, not Python",
        "pass  # IPython, not Python",
    ]
    lines = text.splitlines()
    where = place(code, 4)
    assert (where.cell, where.line) == (1, 3)
    assert json.loads(lines[where.file_line - 1].strip().rstrip(",")) == "x = np.ones(3)\n"


def test_a_cell_written_as_one_string_points_at_its_source_line():
    text = _notebook("import numpy as np\nx = 1\n")
    code, _ = notebook_code(text)
    where = place(code, 3)
    assert (where.cell, where.line) == (1, 2)
    assert '"source": "import numpy' in text.splitlines()[where.file_line - 1]


def test_a_cell_that_is_not_python_is_read_as_comments_and_the_rest_still_read():
    code, problem = notebook_code(_notebook(["def f(:\n"], ["y = 2\n"]))
    assert problem == ""
    assert code.splitlines()[1].startswith("# cell not read: not valid Python")
    assert "y = 2" in code


def test_malformed_notebooks_are_skipped_with_their_reason():
    assert notebook_code("{")[1].startswith("not a readable notebook: invalid JSON")
    assert "nbformat 3" in notebook_code(json.dumps({"worksheets": [], "nbformat": 3}))[1]
    assert notebook_code(json.dumps([1]))[1] == "not a Jupyter notebook: no list of cells"
    assert "cell 1 has no text source" in notebook_code(_notebook(7))[1]
    assert decode_notebook(b"\xff\xfe").skip.startswith("not UTF-8")


def test_scan_reads_the_notebook_as_training_code_and_names_cells():
    report = scan(FIXTURE, 1, ("duplicated-preprocessing",))
    assert not report.errors
    skipped = {s.rel: s.reason for s in report.skipped}
    assert skipped["notebooks/broken.ipynb"].startswith("not a readable notebook: invalid JSON")
    assert skipped["notebooks/analysis_r.ipynb"] == "a R notebook: only Python notebooks are read"
    by_place = {(f.path, f.line): f for f in report.findings}
    lines = NOTEBOOK.read_text().splitlines()
    in_notebook = [f for f in report.findings if f.path.endswith(".ipynb")]
    assert len(in_notebook) == 1
    (cut,) = in_notebook
    assert cut.message.startswith("cell 4 line 1: pd.cut on 'age' is computed in 2 files")
    assert 'pd.cut(df[\\"age\\"], bins=[0, 18, 35, 120]' in lines[cut.line - 1]
    serving = by_place[("serving/app.py", 16)].message
    assert "also notebooks/train_churn.ipynb cell 4 line 1" in serving
    assert "bins=[0, 18, 30, 120] here vs bins=[0, 18, 35, 120]" in serving
    skew = by_place[("serving/app.py", 17)].message
    assert "LabelEncoder fitted in notebooks/train_churn.ipynb cell 4 line 2" in skew
    drift = by_place[("serving/app.py", 9)].message
    assert "notebooks/train_churn.ipynb cell 6 line 1 that drifted: x[-1] here vs x[0]" in drift
    assert len(report.findings) == 4


def test_apply_never_writes_a_notebook_even_where_a_rule_fixes_the_same_code(tmp_path, capsys):
    repo = Path(shutil.copytree(FIXTURE, tmp_path / "repo"))
    before = {p: p.read_bytes() for p in repo.rglob("*.ipynb")}
    fetch = (repo / "jobs" / "fetch.py").read_bytes()
    assert main(["apply", str(repo), "--write", "-j", "1"]) == 0
    capsys.readouterr()
    assert (repo / "jobs" / "fetch.py").read_bytes() != fetch  # the .py copy is rewritten
    assert {p: p.read_bytes() for p in repo.rglob("*.ipynb")} == before
    assert not list(repo.rglob("*.ipynb.*"))


def test_the_file_pass_skips_a_notebook_it_is_handed():
    (candidate,) = [c for c in explore(FIXTURE).found if c.rel.endswith("train_churn.ipynb")]
    assert candidate.language == "notebook"
    fix = fix_file(
        Candidate(candidate.path, candidate.rel, "notebook"), ("retry-loop-to-tenacity",), {}
    )
    assert fix.status is Status.SKIPPED and "never rewritten" in fix.reason
