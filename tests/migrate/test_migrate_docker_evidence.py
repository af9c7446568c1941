"""Docker evidence for shell-to-airflow: a Dockerfile's WORKDIR (with COPY mapping the
repository into the image) says where a script runs; a compose file's `environment:` and
`env_file:` give values to the variables the steps read."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from infragap.migrate.apply import plan
from infragap.migrate.repository import RepositoryFiles
from infragap.migrate.shell.docker import run_folders
from infragap.migrate.shell.evidence import env_evidence, runs_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "docker_evidence"


def _dags(repo: Path) -> tuple[dict[str, str], str]:
    result = plan(repo, ("shell-to-airflow",), {}, 1)
    notes = "\n".join(note for fix in result.fixes for note in fix.notes)
    return {new.path: new.text for fix in result.fixes for new in fix.new_files}, notes


def test_the_dockerfile_workdir_settles_where_the_steps_run(tmp_path):
    # prepare.py and train.py exist both from jobs/ and from jobs/nightly/: only the
    # Dockerfile (WORKDIR /opt, COPY . app, WORKDIR app, WORKDIR jobs) tells them apart.
    repo = Path(shutil.copytree(FIXTURES / "image_workdir", tmp_path / "repo"))
    dags, notes = _dags(repo)
    text = dags["jobs/nightly/run_dag.py"]
    assert 'WORKDIR = os.path.normpath(os.path.join(SCRIPT_DIR, ".."))' in text
    assert "the steps run in jobs/: Dockerfile:13 runs it from jobs/" in notes
    compile(text, "run_dag.py", "exec")


def test_compose_environment_is_carried_and_wins_over_its_env_file(tmp_path):
    repo = Path(shutil.copytree(FIXTURES / "image_workdir", tmp_path / "repo"))
    dags, notes = _dags(repo)
    text = dags["jobs/nightly/run_dag.py"]
    assert 'ENV["DATA_DIR"] = os.environ.get("DATA_DIR", "/mnt/data")' in text  # list form
    assert 'ENV["MODEL_NAME"] = os.environ.get("MODEL_NAME", "ranker")' in text  # mapping
    assert 'ENV["BATCH_SIZE"] = os.environ.get("BATCH_SIZE", "64")' in text
    assert 'ENV["LEARNING_RATE"] = os.environ.get("LEARNING_RATE", "0.001")' in text
    assert "not-a-real-password" not in text  # a secret is named, never copied
    assert (
        "no value to carry into the DAG: DB_PASSWORD (jobs/train.py:8; set in "
        "docker-compose.yml:16, not copied: it looks like a secret), "
        "PASSTHROUGH (jobs/train.py:9), REGION (jobs/train.py:7)"
    ) in notes  # a name alone passes the host's value through; ${REGION:-eu} is no value
    assert (
        "environment evidence skipped: config/missing.env (env_file of docker-compose.yml) "
        "not read: no such file in the repository"
    ) in notes


def test_relative_workdirs_accumulate_and_from_starts_over():
    text = (
        "FROM base AS build\n"  # 1
        "WORKDIR /src\n"  # 2
        "COPY tools /src\n"  # 3
        "RUN ./build.sh\n"  # 4: tools/
        "FROM base\n"  # 5
        "RUN ./early.sh\n"  # 6: no WORKDIR yet: the build context (deploy/)
        "WORKDIR /app\n"  # 7
        'COPY [".", "/app"]\n'  # 8
        "WORKDIR srv\n"  # 9
        "WORKDIR ./jobs\n"  # 10
        "CMD ./run.sh\n"  # 11: deploy/srv/jobs
        "WORKDIR /elsewhere\n"  # 12
        "CMD ./run.sh\n"  # 13: nothing copied there
    )
    folders = run_folders("deploy/Dockerfile", text)
    assert folders[4] == "deploy/tools"
    assert folders[6] == "deploy"
    assert folders[11] == "deploy/srv/jobs"
    assert folders[13] is None


def test_copy_from_another_stage_maps_no_repository_folder():
    text = "FROM base\nWORKDIR /app\nCOPY --from=build /out /app\nCMD ./run.sh\n"
    assert run_folders("Dockerfile", text)[4] is None


def test_a_dockerfile_line_in_no_repository_folder_is_no_evidence():
    repository = RepositoryFiles(
        frozenset({"run.sh", "Dockerfile"}),
        {"Dockerfile": 'FROM base\nWORKDIR /opt\nCMD ["bash", "run.sh"]\n'},
    )
    assert runs_of("run.sh", repository) == {}


def test_a_continued_run_line_keeps_its_workdir():
    repository = RepositoryFiles(
        frozenset({"ops/run.sh", "Dockerfile"}),
        {"Dockerfile": "FROM base\nWORKDIR /app\nCOPY . .\nRUN true && \\\n    bash ops/run.sh\n"},
    )
    assert runs_of("ops/run.sh", repository) == {"": ["Dockerfile:5"]}


def _compose(text: str, **more: str) -> RepositoryFiles:
    documents = {"compose.yaml": text, **more}
    return RepositoryFiles(frozenset(documents), documents)


def test_compose_mapping_and_list_forms_and_env_file_entries():
    text = (
        "services:\n"
        "  a:\n"
        "    environment:\n"
        "      - ONE=1\n"
        "      - 'TWO=two words'\n"
        "    env_file:\n"
        "      - path: a.env\n"
        "        required: false\n"
        "  b:\n"
        "    environment:\n"
        "      THREE: '3'\n"
        "      EMPTY:\n"
        "    env_file: b.env\n"
    )
    values, problems = env_evidence(_compose(text, **{"a.env": "FOUR=4\n", "b.env": "FIVE=5"}))
    assert {name: (v.value, v.where) for name, v in values.items()} == {
        "ONE": ("1", "compose.yaml:4"),
        "TWO": ("two words", "compose.yaml:5"),
        "THREE": ("3", "compose.yaml:11"),
        "FOUR": ("4", "a.env:1"),
        "FIVE": ("5", "b.env:1"),
    }
    assert problems == ()


def test_an_env_file_not_named_like_one_is_skipped_with_the_reason():
    repository = RepositoryFiles(
        frozenset({"compose.yml", "conf/app.txt"}),
        {"compose.yml": "services:\n  a:\n    env_file: conf/app.txt\n"},
    )
    assert env_evidence(repository)[1] == (
        "conf/app.txt (env_file of compose.yml) not read: only files named like .env, "
        "NAME.env or .env.NAME are read",
    )


def test_an_unreadable_compose_file_is_skipped_with_its_reason():
    broken = "services:\n  a:\n    environment: [ONE=1\n"
    values, problems = env_evidence(_compose(broken, **{"Dockerfile": "FROM x\nENV TWO=2\n"}))
    assert set(values) == {"TWO"}  # the other documents still count
    (problem,) = problems
    assert problem.startswith("compose.yaml not read: not valid YAML (line 4)")


def test_compose_files_that_are_not_mappings_give_nothing():
    for text in ("", "- a\n- b\n", "services: 3\n", "services:\n  a: [1]\n"):
        assert env_evidence(_compose(text)) == ({}, ())


def test_without_pyyaml_compose_files_are_skipped_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)
    values, problems = env_evidence(_compose("services:\n  a:\n    environment: [A=1]\n"))
    assert values == {}
    assert problems == ("compose.yaml not read: PyYAML is not installed (pip install pyyaml)",)
