"""Issue 15: what real legacy repositories hold that the tidy fixtures did not.

A file the analysis cannot handle is passed over with its reason and the rule goes on;
environments and vendored trees committed under any name are found by what is in them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import types
from pathlib import Path
from textwrap import dedent

import libcst as cst
import pytest

from infragap.migrate import gitignore
from infragap.migrate.analysis.canonical import is_literal, module_constants
from infragap.migrate.analysis.expression_diff import differences
from infragap.migrate.analysis.names import _target_names
from infragap.migrate.apply import plan, select_rules
from infragap.migrate.cli import main
from infragap.migrate.errors import MigrateError
from infragap.migrate.repository import RepositoryFiles
from infragap.migrate.results import Status
from infragap.migrate.rules import fix_sources, fix_text
from infragap.migrate.scan import scan
from infragap.migrate.shell.evidence import decide_workdir, runs_of
from infragap.migrate.source import Source
from infragap.migrate.walk import explore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

TRAINING = """\
import pandas as pd


def build_training_features(df):
    df = df.copy()
    df["age_bucket"] = pd.cut(df["age"], bins=[0, 18, 35, 120], labels=False)
    df["spend_per_visit"] = df["spend"] / df["visits"].clip(lower=1)
    return df[["user_id", "event_timestamp", "age_bucket", "spend_per_visit"]]
"""
SERVING = """\
from flask import Flask, request
import pandas as pd

app = Flask(__name__)


def serve_features(rows):
    df = pd.DataFrame(rows)
    df["age_bucket"] = pd.cut(df["age"], bins=[0, 18, 30, 120], labels=False)
    df["spend_per_visit"] = df["spend"] / df["visits"].clip(lower=1)
    return df[["user_id", "age_bucket", "spend_per_visit"]]


@app.route("/predict", methods=["POST"])
def predict():
    return serve_features(request.json).to_json()
"""


def deep_module(parts: int = 2000) -> str:
    """A generated module: a column assignment (so every feature rule reads it) whose
    labels are one string made of thousands of implicitly concatenated literals (one
    nesting level each in LibCST's tree)."""
    lines = "\n".join(f'        "part {i}, "' for i in range(parts))
    return (
        "import pandas as pd\n\n\n"
        "def fill(df):\n"
        f'    df["text"] = pd.cut(df["n"], bins=[0, 1], labels=(\n{lines}\n    ))\n'
        "    return df\n"
    )


def deep_elsewhere(parts: int = 2000) -> str:
    """The deep string on a line of its own, away from what the rules read."""
    lines = "\n".join(f'    "part {i}, "' for i in range(parts))
    return (
        "import pandas as pd\n\n"
        f"TEMPLATE = (\n{lines}\n)\n\n\n"
        "def fill(df):\n"
        '    df["text"] = pd.cut(df["n"], bins=[0, 1])\n'
        "    return df\n"
    )


# -- no recursion the input controls --------------------------------------------------


def _nested(count: int, last: str = "") -> tuple[cst.BaseExpression, cst.BaseExpression]:
    """Thousands of implicitly concatenated strings, and `a0 + a1 + ...`, built as trees
    (LibCST's expression parser stops short of such sizes; its module parser does not)."""
    strings: cst.BaseExpression = cst.SimpleString('"p0"')
    chain: cst.BaseExpression = cst.Name("a0")
    for i in range(1, count):
        strings = cst.ConcatenatedString(cst.SimpleString(f'"p{i}"'), strings)
        name = last if last and i == count - 1 else f"a{i}"
        chain = cst.BinaryOperation(chain, cst.Add(), cst.Name(name))
    return strings, chain


def test_literal_checks_and_diffs_loop_instead_of_recursing():
    strings, _ = _nested(5000)
    assert is_literal(Source("x = 1\n"), strings)
    assert "TEMPLATE" in module_constants(Source(deep_elsewhere()))
    assert list(_target_names(cst.Tuple([cst.Element(cst.Name("a"))] * 3000))) == ["a"] * 3000
    _, shorter = _nested(300, last="b")
    _, original = _nested(300)
    assert differences(original, shorter) == [("a299", "b")]


@pytest.fixture
def deeper_than_python_goes(monkeypatch):
    """Generated files (gen/, generated_*) hold statements past Python's recursion limit:
    placing any node of theirs (LibCST generates its code) raises RecursionError."""
    place = Source.line_of

    def line_of(source: Source, node: cst.CSTNode) -> int:
        if "gen" in Path(source.path).parts or "generated_" in source.path:
            raise RecursionError("maximum recursion depth exceeded")
        return place(source, node)

    monkeypatch.setattr(Source, "line_of", line_of)


@pytest.mark.usefixtures("deeper_than_python_goes")
def test_a_file_too_deep_for_the_analysis_is_passed_over_and_the_rule_goes_on():
    fix = fix_sources(
        "preprocessing-to-feast",
        {
            "training/features.py": TRAINING,
            "serving/app.py": SERVING,
            "gen/templates.py": deep_module(),
        },
    )
    assert not fix.failure
    assert fix.results["training/features.py"].status is Status.CHANGED
    assert fix.results["serving/app.py"].status is Status.CHANGED
    passed = fix.results["gen/templates.py"]
    assert passed.status is Status.SKIPPED and passed.text == deep_module()
    assert "nested too deeply for the analysis" in passed.reason


def test_a_file_rule_passes_a_too_deep_file_over_instead_of_failing():
    text = deep_module().replace("def fill(df):", "def fill(df):\n    print(1)")
    result = fix_text("timing-log-to-metrics", "import time\n" + text)
    assert result.status in (Status.UNCHANGED, Status.SKIPPED), result.reason


def test_scan_passes_the_deep_file_over_for_one_rule_and_reports_the_rest(tmp_path):
    (tmp_path / "training").mkdir()
    (tmp_path / "serving").mkdir()
    (tmp_path / "training/features.py").write_text(TRAINING)
    (tmp_path / "serving/app.py").write_text(SERVING)
    (tmp_path / "templates.py").write_text(deep_module())
    (tmp_path / "huge_templates.py").write_text(deep_module(3500))  # past LibCST's parser
    report = scan(tmp_path, 1)
    assert not report.errors
    assert any(f.rule == "duplicated-preprocessing" for f in report.findings)
    reasons = {s.rel: s.reason for s in report.skipped}
    assert "nested too deeply" in reasons["templates.py"]
    assert reasons["huge_templates.py"].startswith("Python parses it but LibCST cannot")


def test_a_deep_string_away_from_what_the_rules_read_does_not_stop_them(tmp_path):
    (tmp_path / "templates.py").write_text(deep_elsewhere())
    (tmp_path / "features.py").write_text(deep_elsewhere().replace("TEMPLATE", "OTHER"))
    report = scan(tmp_path, 1)
    assert not report.errors and not report.skipped
    found = {(f.rule, f.path) for f in report.findings}
    assert ("duplicated-preprocessing", "templates.py") in found


@pytest.mark.usefixtures("deeper_than_python_goes")
def test_apply_with_a_deep_file_in_the_repository_still_migrates_the_pair(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "legacy_features", repo)
    (repo / "training" / "generated_sql.py").write_text(deep_module())
    code = main(["apply", str(repo), "--rule", "preprocessing-to-feast", "-j", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "failed: " not in err
    assert "training/generated_sql.py: preprocessing-to-feast: line 1: file passed over" in err
    assert dedent("would change: serving/features.py").strip() in err


# -- third-party code and ignored files ------------------------------------------------


def committed_envs(tmp_path: Path) -> Path:
    repo = Path(shutil.copytree(FIXTURES / "committed_envs", tmp_path / "repo"))
    (repo / "dot-gitignore").rename(repo / ".gitignore")
    return repo


def test_environments_and_vendored_trees_are_found_by_what_they_hold(tmp_path):
    found = explore(committed_envs(tmp_path))
    assert [c.rel for c in found.found] == [
        "app/jobs.py",
        "scripts/data_load.py",
        "scripts/keep.gen.py",
    ]
    assert {item.rel: item.why for item in found.left_out} == {
        "data": "/data/",
        "generated": "generated/",
        "py38win": "conda environment (conda-meta/)",
        "runtime": "Python installation (bin/, lib/python3.8/)",
        "scripts/report.gen.py": "*.gen.py",
        "third_party": "installed Python packages (requests-2.31.0.dist-info)",
        "tools/pylib": "Python standard library (os.py, encodings/)",
        "web/node_modules": "JavaScript packages (node_modules)",
    }
    assert found.skipped == []


def test_windows_environments_without_conda_meta_are_found_too(tmp_path):
    files = {
        "winenv/Lib/os.py": "",
        "winenv/Scripts/python.exe": "",
        "other/Lib/site-packages/x.py": "",
        "stdlib_copy/os.py": "",
        "stdlib_copy/abc.py": "",
        "stdlib_copy/codecs.py": "",
        "stdlib_copy/posixpath.py": "",
        "mine/os.py": "",  # one file named os.py does not make a standard library
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = explore(tmp_path)
    assert [c.rel for c in found.found] == ["mine/os.py"]
    assert sorted(item.rel for item in found.left_out) == ["other", "stdlib_copy", "winenv"]


def test_apply_never_rewrites_third_party_code_and_says_what_it_left_out(tmp_path, capsys):
    repo = committed_envs(tmp_path)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert main(["apply", str(repo), "--write", "-j", "1"]) == 0
    err = capsys.readouterr().err
    after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    changed = sorted(p.relative_to(repo).as_posix() for p in before if before[p] != after[p])
    assert changed == ["app/jobs.py", "scripts/data_load.py", "scripts/keep.gen.py"]
    (line,) = [line for line in err.splitlines() if "left out" in line]
    assert "5 third-party trees (py38win/: conda environment (conda-meta/);" in line
    assert "3 paths .gitignore ignores (data, generated, scripts/report.gen.py)" in line


def test_scan_reports_what_it_left_out_in_one_line_and_in_json(tmp_path, capsys):
    repo = committed_envs(tmp_path)
    assert main(["scan", str(repo), "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert sum("left out" in line for line in out.splitlines()) == 1
    assert main(["scan", str(repo), "--format", "json", "-j", "1"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["left_out"] == 8
    assert {f["path"] for f in document["findings"]} == {
        "app/jobs.py",
        "scripts/data_load.py",
        "scripts/keep.gen.py",
    }


def test_gitignore_patterns_match_as_git_matches_them():
    patterns = gitignore.parse("*.log\n!keep.log\n/build/\ndocs/**/gen\nsub/*.py\n\\#x\n")
    files = [gitignore.IgnoreFile("", tuple(patterns))]
    assert gitignore.ignored(files, "a/b/x.log", False) == "*.log"
    assert gitignore.ignored(files, "a/keep.log", False) == ""
    assert gitignore.ignored(files, "build", True) == "/build/"
    assert gitignore.ignored(files, "a/build", True) == ""
    assert gitignore.ignored(files, "build", False) == ""  # a file named build
    assert gitignore.ignored(files, "docs/gen", True) == "docs/**/gen"
    assert gitignore.ignored(files, "docs/a/b/gen", True) == "docs/**/gen"
    assert gitignore.ignored(files, "sub/x.py", False) == "sub/*.py"
    assert gitignore.ignored(files, "sub/deeper/x.py", False) == ""
    assert gitignore.ignored(files, "#x", False) == "\\#x"
    nested = [*files, gitignore.IgnoreFile("pkg", tuple(gitignore.parse("!*.log\n")))]
    assert gitignore.ignored(nested, "pkg/x.log", False) == ""
    assert gitignore.ignored(nested, "other/x.log", False) == "*.log"


# -- shell-to-airflow: the folder the steps run in, and the environment they read --------

WORKDIR_CASES = ("root_run", "paths_only", "unsettled", "own_folder")


def _dags(repo: Path, *options: str) -> tuple[dict[str, str], str]:
    opts = dict(option.split("=", 1) for option in options)
    result = plan(repo, ("shell-to-airflow",), opts, 1)
    notes = "\n".join(note for fix in result.fixes for note in fix.notes)
    return {new.path: new.text for fix in result.fixes for new in fix.new_files}, notes


@pytest.mark.parametrize("case", WORKDIR_CASES)
def test_the_dag_runs_its_steps_where_the_repository_says(case, tmp_path):
    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / case, tmp_path / case))
    dags, _ = _dags(repo)
    golden = FIXTURES / "dag_workdir_after" / case
    if os.environ.get("INFRAGAP_UPDATE_GOLDEN"):
        shutil.rmtree(golden, ignore_errors=True)
        for rel, text in dags.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_text(text)
    expected = {p.relative_to(golden).as_posix(): p.read_text() for p in golden.rglob("*.py")}
    assert dags == expected
    for rel, text in dags.items():
        compile(text, rel, "exec")


def _workdir(repo: Path, dag_rel: str, text: str) -> Path:
    """Where the DAG's WORKDIR points once the DAG sits beside its script."""
    (line,) = [line for line in text.splitlines() if line.startswith("WORKDIR = ")]
    scope = {"os": os, "SCRIPT_DIR": str((repo / dag_rel).parent)}
    exec(line, scope)
    return Path(scope["WORKDIR"])


def _tasks_of(dag: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Run the DAG file's Python, with Airflow's classes replaced by recorders: the
    keyword arguments of every BashOperator it makes, in order."""
    made: list[dict] = []

    class Recorder:
        def __init__(self, **kwargs):
            made.append(kwargs)

    class Dag:
        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    fakes = {
        "airflow": types.ModuleType("airflow"),
        "airflow.providers": types.ModuleType("airflow.providers"),
        "airflow.providers.standard": types.ModuleType("airflow.providers.standard"),
        "airflow.providers.standard.operators": types.ModuleType("operators"),
        "airflow.providers.standard.operators.bash": types.ModuleType("bash"),
        "airflow.sdk": types.ModuleType("airflow.sdk"),
    }
    fakes["airflow.providers.standard.operators.bash"].BashOperator = Recorder  # type: ignore[attr-defined]
    fakes["airflow.sdk"].DAG = Dag  # type: ignore[attr-defined]
    fakes["airflow.sdk"].chain = lambda *tasks: None  # type: ignore[attr-defined]
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    runpy.run_path(str(dag))
    return made


@pytest.mark.parametrize(
    ("case", "folder"),
    [("paths_only", "."), ("unsettled", "tools"), ("own_folder", "scripts")],
)
def test_each_task_runs_from_the_dags_working_folder(case, folder, tmp_path, monkeypatch):
    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / case, tmp_path / case))
    ((dag_rel, text),) = _dags(repo)[0].items()
    (repo / dag_rel).write_text(text)
    tasks = _tasks_of(repo / dag_rel, monkeypatch)
    assert len(tasks) == 2
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    for task in tasks:
        assert Path(task["cwd"]).resolve() == (repo / folder).resolve()
        done = subprocess.run(
            ["bash", "-c", task["bash_command"]],
            cwd=task["cwd"],
            env={**os.environ, **task["env"], "PATH": path},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr


def test_the_root_run_dag_finds_its_steps_and_config(tmp_path, monkeypatch):
    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / "root_run", tmp_path / "repo"))
    ((dag_rel, text),) = _dags(repo)[0].items()
    (repo / dag_rel).write_text(text)
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.delenv("MODEL_NAME", raising=False)
    tasks = _tasks_of(repo / dag_rel, monkeypatch)
    assert {Path(task["cwd"]).resolve() for task in tasks} == {repo.resolve()}
    for path in ("pipeline/01_download.py", "pipeline/02_train.py", "conf/config.yaml"):
        assert (repo / path).is_file()
    assert tasks[0]["env"]["DATA_DIR"] == "/data"  # the Dockerfile's ENV
    assert tasks[1]["env"]["MODEL_NAME"] == "ranker"  # the .env file's


def test_an_unsettled_working_folder_is_a_todo_and_an_option_settles_it(tmp_path):
    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / "unsettled", tmp_path / "repo"))
    dags, notes = _dags(repo)
    text = dags["tools/retrain_dag.py"]
    assert "TODO(infragap): retrain.sh does not cd before its steps" in text
    assert "the folder the steps run in is not settled" in notes
    assert "--option workdir=FOLDER" in notes
    dags, notes = _dags(repo, "workdir=.")
    text = dags["tools/retrain_dag.py"]
    assert "TODO(infragap): retrain.sh does not cd" not in text
    assert _workdir(repo, "tools/retrain_dag.py", text) == repo.resolve()
    assert "the steps run in the repository root: --option workdir" in notes


def test_variables_set_elsewhere_are_carried_and_the_unset_ones_listed(tmp_path):
    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / "root_run", tmp_path / "repo"))
    dags, notes = _dags(repo)
    text = dags["scripts/run_pipeline_dag.py"]
    assert 'ENV["DATA_DIR"] = os.environ.get("DATA_DIR", "/data")' in text
    assert 'ENV["MODEL_NAME"] = os.environ.get("MODEL_NAME", "ranker")' in text
    assert "LOG_LEVEL" not in text  # set in the Dockerfile, read by no step
    assert "OUTPUT_DIR" in text
    assert "not-a-real-token" not in text  # a secret in .env is named, never copied
    assert "environment carried from the repository: DATA_DIR (Dockerfile:4)" in notes
    assert (
        "read variables with no value to carry into the DAG: API_TOKEN "
        "(pipeline/01_download.py:8; set in .env:3, not copied: it looks like a secret), "
        "OUTPUT_DIR ($OUTPUT_DIR in run_pipeline.sh:5)"
    ) in notes


def test_a_second_apply_of_shell_to_airflow_changes_nothing(tmp_path, capsys):
    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / "root_run", tmp_path / "repo"))
    assert main(["apply", str(repo), "--rule", "shell-to-airflow", "--write", "-j", "1"]) == 0
    written = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert main(["apply", str(repo), "--rule", "shell-to-airflow", "--check", "-j", "1"]) == 0
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == written
    capsys.readouterr()


def test_documents_that_run_the_script_are_read_with_their_cd():
    repository = RepositoryFiles(
        frozenset({"ops/run.sh", "ops/train.py", "train.py"}),
        {
            "Makefile": "train:\n\tcd ops && ./run.sh\n",
            ".github/workflows/ci.yml": "steps:\n  - run: bash ops/run.sh\n",
        },
    )
    assert runs_of("ops/run.sh", repository) == {
        "ops": ["Makefile:2"],
        "": [".github/workflows/ci.yml:2"],
    }
    decided = decide_workdir("ops/run.sh", ["python train.py"], repository, {})
    assert decided is not None and decided.folder is None  # two documents disagree


# -- say only what is true -------------------------------------------------------------

TRUE = FIXTURES / "say_only_true"


def _scan(folder: Path, rule: str) -> list:
    return [f for f in scan(folder, 1).findings if f.rule == rule]


def test_byte_identical_copies_are_one_duplicate_finding_not_drift():
    findings = _scan(TRUE / "features", "duplicated-preprocessing")
    copies = [f for f in findings if f.message.startswith(f"{f.path} is a byte-identical copy")]
    assert [(f.path, f.message.split(":")[0]) for f in copies] == [
        ("train_prep.py", "train_prep.py is a byte-identical copy of eval_prep.py")
    ]
    assert not [f for f in findings if f.path == "train_prep.py" and f not in copies]
    drift = [f for f in findings if "differ" in f.message]
    assert sorted(f.path for f in drift) == ["eval_prep.py", "serve_prep.py"]
    assert all("bins=[0, 18, 35, 5" in f.message for f in drift)  # the bins, nothing else


def test_a_file_with_both_calls_is_not_drift_from_another_with_both():
    findings = _scan(TRUE / "features", "duplicated-preprocessing")
    dummies = [f for f in findings if f.message.startswith("pd.get_dummies")]
    assert [(f.path, f.line) for f in dummies] == [
        ("eval_prep.py", 7),
        ("eval_prep.py", 8),
        ("report_prep.py", 6),  # two calls on the line, one finding
    ]
    assert not any("differ" in f.message for f in dummies)
    assert dummies[2].message == (
        "pd.get_dummies is computed in 3 files (also eval_prep.py:7, 8; train_prep.py:7, 8, "
        "a byte-identical copy of eval_prep.py)"
    )


def test_column_drift_agrees_with_what_preprocessing_to_feast_found_different():
    findings = _scan(FIXTURES / "legacy_features", "duplicated-preprocessing")
    readme = FIXTURES / "preprocessing_to_feast/legacy_features/feature_repo/README.md"
    differed = re.findall(r"^- (\w+): `", readme.read_text(), re.MULTILINE)
    assert differed == ["activity_level", "weekly_share"]
    by_line = {f.line: f.message for f in findings if f.path == "serving/features.py"}
    assert by_line[10].startswith("pd.cut on 'events_7d'")  # activity_level
    assert by_line[12].startswith("weekly_share is computed differently in training and serving")
    assert by_line[11].startswith("purchase_rate, log_events and is_buyer are computed by the same")
    assert set(by_line) == {10, 11, 12}


def test_loops_that_step_on_whatever_happened_are_not_retry_loops():
    assert _scan(TRUE / "jobs" / "fetch_monthly.py", "retry-loop-to-tenacity") == []


def test_bounded_retry_loops_say_their_bound():
    messages = {f.line: f.message for f in _scan(TRUE / "jobs", "retry-loop-to-tenacity")}
    assert messages == {
        12: "hand-written retry loop (3 attempts, max_retries = 3)",
        20: "hand-written retry loop (5 attempts, retries is 5 by default)",
        29: "hand-written retry loop (3 attempts, max_retries = 3)",
        37: "hand-written retry loop (unbounded)",
        45: "hand-written retry loop (one attempt per item of `mirrors`)",
    }


# -- generated code must run --------------------------------------------------------------

BUCKETS_TRAINING = """\
import pandas as pd


def build_features(df):
    df = df.copy()
    df["age_bucket"] = pd.cut(df["age"], bins=[0, 18, 35, 50, 70])
    df["spend_per_visit"] = df["spend"] / df["visits"].clip(lower=1)
    return df[["user_id", "event_timestamp", "age_bucket", "spend_per_visit"]]
"""
BUCKETS_SERVING = SERVING.replace("bins=[0, 18, 30, 120], labels=False", "bins=[0, 18, 35, 50, 70]")


def _on_demand_view(tmp_path: Path, training: str, serving: str):
    """Import the generated features.py with the real Feast; its on-demand view."""
    feast = pytest.importorskip("feast")
    fix = fix_sources(
        "preprocessing-to-feast", {"training/features.py": training, "serving/app.py": serving}
    )
    assert not fix.failure
    (code,) = [f.text for f in fix.new_files if f.path.endswith("features.py")]
    path = tmp_path / "feature_repo" / "features.py"
    path.parent.mkdir(parents=True)
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("generated_features", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (view,) = [
        value
        for value in vars(module).values()
        if isinstance(value, feast.on_demand_feature_view.OnDemandFeatureView)
    ]
    return view, code


def test_interval_buckets_become_text_and_the_on_demand_view_runs_on_a_real_frame(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("FEAST_USAGE", "False")
    pa = pytest.importorskip("pyarrow")
    import pandas as pd

    view, code = _on_demand_view(tmp_path, BUCKETS_TRAINING, BUCKETS_SERVING)
    assert 'Field(name="age_bucket", dtype=String)' in code
    assert '"age_bucket": "float64"' not in code
    frame = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 5],
            "age": [5.0, 20.0, 40.0, 90.0, None],  # 90 and None fall in no bin
            "spend": [10.0, 0.0, 30.0, 1.0, 2.0],
            "visits": [2, 0, 3, 1, 1],
        }
    )
    out = view.feature_transformation.udf(frame)
    # What training computes (pandas Intervals, as text), and missing where no bin holds it.
    training = pd.cut(frame["age"], bins=[0, 18, 35, 50, 70])
    expected = [None if pd.isna(value) else str(value) for value in training]
    assert expected[:3] == ["(0.0, 18.0]", "(18.0, 35.0]", "(35.0, 50.0]"]
    got = [None if pd.isna(value) else value for value in out["age_bucket"]]
    assert got == expected
    through_feast = view.transform_arrow(pa.Table.from_pandas(frame)).to_pydict()
    assert through_feast["age_bucket"] == expected
    assert through_feast["spend_per_visit"] == [5.0, 0.0, 10.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("labels", "dtype"),
    [
        ("labels=False", "Float64"),
        ('labels=["young", "adult", "middle", "senior"]', "String"),
        ("labels=[1, 2, 3, 4]", "Float64"),
        ("", "String"),
    ],
)
def test_the_bucket_type_follows_the_labels(labels, dtype, tmp_path, monkeypatch):
    monkeypatch.setenv("FEAST_USAGE", "False")
    pytest.importorskip("pyarrow")
    import pandas as pd

    call = f'pd.cut(df["age"], bins=[0, 18, 35, 50, 70]{", " + labels if labels else ""})'
    training = BUCKETS_TRAINING.replace('pd.cut(df["age"], bins=[0, 18, 35, 50, 70])', call)
    view, code = _on_demand_view(tmp_path, training, BUCKETS_SERVING)
    assert f'Field(name="age_bucket", dtype={dtype})' in code
    frame = pd.DataFrame(
        {"user_id": [1, 2], "age": [5.0, 40.0], "spend": [1.0, 2.0], "visits": [1, 1]}
    )
    out = view.feature_transformation.udf(frame)
    assert out["age_bucket"].notna().all()


@pytest.mark.integration
def test_airflow_runs_the_dag_from_the_folder_the_evidence_chose(tmp_path):
    """The real thing, once: `dag.test()` runs the paths_only DAG, whose steps exist only
    from the repository root (the DAG the rule wrote before issue 15 ran them in jobs/)."""
    pytest.importorskip("airflow")
    from infragap.processes import Supervisor
    from infragap.proven.airflow_dag.runner import AirflowHome

    repo = Path(shutil.copytree(FIXTURES / "dag_workdir" / "paths_only", tmp_path / "repo"))
    assert main(["apply", str(repo), "--rule", "shell-to-airflow", "--write", "-j", "1"]) == 0
    runs: list = []
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    with Supervisor(tmp_path / "logs") as supervisor:
        dag = repo / "jobs" / "nightly_dag.py"
        home = AirflowHome(tmp_path / "home", supervisor, dag_file=dag, dag_id="nightly")
        home.migrate()
        home.run_dates(["2025-01-06"], {"PATH": path}, runs.append, timeout_s=600)
    assert [run.state for run in runs] == ["success"]


# -- find what real code does: before/after pairs ----------------------------------------

PATTERNS = FIXTURES / "real_patterns"


def _safe_rules(text: str) -> tuple[str, list[str]]:
    notes = []
    for rule_id in select_rules(None):
        result = fix_text(rule_id, text)
        assert result.status is not Status.FAILED, result.reason
        text = result.text
        notes += [f"{rule_id}: {note.message}" for note in result.notes]
    return text, notes


@pytest.mark.parametrize("case", ["build_in_handler", "timing_words"])
def test_real_patterns_become_their_after_and_a_second_run_changes_nothing(case):
    before = (PATTERNS / "before" / f"{case}.py").read_text()
    after, _ = _safe_rules(before)
    assert after == (PATTERNS / "after" / f"{case}.py").read_text()
    compile(after, case, "exec")
    again, _ = _safe_rules(after)
    assert again == after


def test_a_model_built_in_the_handler_is_hoisted_whole_or_left_with_the_reason():
    before = (PATTERNS / "before" / "build_in_handler.py").read_text()
    after, notes = _safe_rules(before)
    loader = after[after.index("def _load_model(device):") : after.index("return model")]
    for line in ("Net(in_features=12", "load_state_dict(", "model.to(device)", "model.eval()"):
        assert line in loader
    assert "    model = _load_model(device)\n    x = torch.tensor" in after
    assert "model-load-in-handler: it reads `request`, i.e. the request" in notes
    assert any("changes the loaded model (`model.train()`)" in note for note in notes)
    messages = [f.message for f in scan(PATTERNS / "before" / "build_in_handler.py", 1).findings]
    assert "predict() builds `model` and loads it with torch.load() on every request" in (
        " ".join(messages)
    )


def test_timing_logs_worded_otherwise_are_all_found():
    findings = scan(PATTERNS / "before" / "timing_words.py", 1).findings
    scopes = sorted(f.message.split(" measured in ")[1].split("()")[0] for f in findings)
    assert scopes == ["evaluate", "export", "ingest", "publish", "train"]
    after = (PATTERNS / "after" / "timing_words.py").read_text()
    assert "PUBLISH_DURATION.record(duration.total_seconds())" in after
    assert "elapsed_s = (datetime.now() - started).total_seconds()" in after


def test_a_path_inside_installed_packages_is_refused_whole(tmp_path):
    package = tmp_path / "env" / "lib" / "python3.11" / "site-packages" / "pkg"
    package.mkdir(parents=True)
    (package / "timing.py").write_text("import time\n")
    for path in (package, package / "timing.py"):
        with pytest.raises(MigrateError, match="third-party code"):
            explore(path)
