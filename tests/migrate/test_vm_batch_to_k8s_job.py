"""vm-batch-to-k8s-job: scripts that start a VM for a batch job, the Jobs they become.

Each `tests/migrate/fixtures/vm_batch/<case>.sh` in MIGRATED must produce
`expected/<case>-job.yaml` (golden files; after a deliberate change to the output,
regenerate them with `INFRAGAP_UPDATE_GOLDEN=1 pytest
tests/migrate/test_vm_batch_to_k8s_job.py` and read the diff). Every generated manifest
is validated offline against the Kubernetes API schemas of two versions.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest

from infragap.migrate.cli import main
from infragap.migrate.repository import RepositoryFiles
from infragap.migrate.results import RepositoryFix, RuleResult, Status
from infragap.migrate.rules import RULES, fix_sources, fix_text
from infragap.migrate.source import Source

pytest.importorskip("tree_sitter_bash")
yaml = pytest.importorskip("yaml")

RULE = "vm-batch-to-k8s-job"
CASES = Path(__file__).resolve().parent / "fixtures" / "vm_batch"
EXPECTED = CASES / "expected"
IMAGE = "registry.example.com/ml/train:1.4"
MIGRATED = ("aws_ssh", "aws_scp_terminate", "aws_user_data", "az_ssh", "gcloud_startup")
VERSIONS = ("1.33", "1.37")  # two Kubernetes releases kubernetes-validate bundles


def job_name(case: str) -> str:
    return case.replace("_", "-")


def migrate(texts: dict[str, str], **options: str) -> RepositoryFix:
    fix = fix_sources(RULE, {path: dedent(text) for path, text in texts.items()},
                      {"image": IMAGE, **options})  # fmt: skip
    assert not fix.failure, fix.failure
    return fix


def manifest_of(script: str, **options: str) -> dict:
    fix = migrate({"run.sh": script}, **options)
    (new,) = fix.new_files
    return yaml.safe_load(new.text)


def container(doc: dict) -> dict:
    (found,) = doc["spec"]["template"]["spec"]["containers"]
    return found


def validate(doc: dict) -> list[str]:
    from infragap.proven.kubernetes.validate import validate_manifest

    return [f"{version}: {p}" for version in VERSIONS for p in validate_manifest(doc, version)]


# -- before/after: the fixtures -------------------------------------------------------------


@pytest.mark.parametrize("case", MIGRATED)
def test_each_script_becomes_its_golden_job_and_a_second_run_changes_nothing(case):
    script = (CASES / f"{case}.sh").read_text()
    path = f"jobs/{case}.sh"
    fix = migrate({path: script})
    result = fix.results[path]
    assert result.status is Status.CHANGED, result.reason
    assert result.text == script  # the script is never changed
    (manifest,) = fix.new_files
    assert manifest.path == f"jobs/k8s/{job_name(case)}-job.yaml"
    golden = EXPECTED / f"{job_name(case)}-job.yaml"
    if os.environ.get("INFRAGAP_UPDATE_GOLDEN"):
        golden.write_text(manifest.text)
    assert manifest.text == golden.read_text()
    repository = RepositoryFiles(frozenset({path, manifest.path}))
    again = fix_sources(RULE, {path: script}, {"image": IMAGE}, repository)
    assert again.results == {} and again.new_files == () and not again.failure


@pytest.mark.parametrize("case", MIGRATED)
def test_every_generated_manifest_is_a_valid_job_on_two_kubernetes_versions(case):
    doc = yaml.safe_load((EXPECTED / f"{job_name(case)}-job.yaml").read_text())
    assert doc["kind"] == "Job" and doc["apiVersion"] == "batch/v1"
    assert validate(doc) == []
    pod = doc["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert container(doc)["image"] == IMAGE


def test_an_invalid_manifest_is_caught_by_the_same_validation():
    doc = yaml.safe_load((EXPECTED / "aws-ssh-job.yaml").read_text())
    doc["spec"]["template"]["spec"]["restartPolicy"] = "Always"  # a Job refuses it
    doc["spec"]["backoffLimit"] = "two"
    problems = validate(doc)
    assert any("backoffLimit" in p for p in problems), problems


def test_the_job_runs_the_same_command_with_the_scripts_values():
    doc = yaml.safe_load((EXPECTED / "aws-ssh-job.yaml").read_text())
    found = container(doc)
    assert found["command"] == ["python"]
    assert found["args"] == ["train.py", "--epochs", "20", "--data", "s3://acme-ml/churn/latest"]
    assert found["workingDir"] == "/opt/churn"  # `cd /opt/churn &&` on the VM
    env = {e["name"]: e for e in found["env"]}
    assert env["WANDB_PROJECT"] == {"name": "WANDB_PROJECT", "value": "churn"}
    secret = env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]  # never a value
    assert secret == {"name": "aws-ssh-secrets", "key": "WANDB_API_KEY"}
    assert found["resources"]["requests"] == {"cpu": "4", "memory": "16Gi"}  # m5.xlarge
    assert doc["spec"]["podFailurePolicy"]["rules"][0]["action"] == "Ignore"


def test_the_todos_name_what_the_script_did_that_a_job_does_not():
    text = (EXPECTED / "aws-scp-terminate-job.yaml").read_text()
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "TODO(infragap): the script copied files to or from the VM" in comments
    for line in (12, 13, 21, 22):
        assert f"#   - line {line}: scp -i $KEY" in comments
    assert "#   - line 23: aws ec2 terminate-instances --instance-ids $ID" in comments
    assert "#   - line 17: while ssh -i $KEY ubuntu@$IP" in comments  # the polling loop
    assert "#   - line 14, on the VM: pip install -r requirements.txt" in comments
    assert "$RUN_ID (line 4: `RUN_ID=$(date +%s)`)" in comments
    doc = yaml.safe_load(text)
    assert doc["spec"]["activeDeadlineSeconds"] == 6 * 3600  # from `timeout 6h`
    assert container(doc)["args"][-2:] == ["--run-id", "$(RUN_ID)"]
    assert {"name": "RUN_ID", "value": ""} in container(doc)["env"]
    assert container(doc)["resources"]["limits"]["nvidia.com/gpu"] == "1"  # g4dn.xlarge


def test_a_start_up_script_in_a_here_document_or_inline_is_read():
    user_data = yaml.safe_load((EXPECTED / "aws-user-data-job.yaml").read_text())
    assert container(user_data)["args"][:1] == ["embed.py"]
    assert {"name": "HF_HOME", "value": "/mnt/hf"} in container(user_data)["env"]
    startup = yaml.safe_load((EXPECTED / "gcloud-startup-job.yaml").read_text())
    assert container(startup)["args"] == [
        "-m", "ranker.train", "--epochs", "$(EPOCHS)", "--out", "/tmp/model"
    ]  # fmt: skip
    assert {"name": "EPOCHS", "value": "8"} in container(startup)["env"]
    limits = container(startup)["resources"]["limits"]
    assert limits == {"memory": "30Gi", "nvidia.com/gpu": "1"}  # n1-standard-8 + one T4


def test_a_file_scope_run_writes_the_manifest_beside_the_script():
    script = (CASES / "az_ssh.sh").read_text()
    result = fix_text(RULE, script, {"image": IMAGE}, path="az_ssh.sh")
    assert result.status is Status.CHANGED and result.text == script
    (manifest,) = result.new_files
    assert manifest.path == "k8s/az-ssh-job.yaml"
    assert manifest.text == (EXPECTED / "az-ssh-job.yaml").read_text()


# -- what it leaves alone ----------------------------------------------------------------


def test_without_the_image_option_the_launch_is_reported_with_the_fix():
    script = (CASES / "aws_ssh.sh").read_text()
    fix = fix_sources(RULE, {"aws_ssh.sh": script}, {})
    result = fix.results["aws_ssh.sh"]
    assert result.status is Status.SKIPPED and result.text == script
    assert fix.new_files == ()
    assert "line 11: a VM started for a batch job (aws ec2 run-instances, line 11)" in result.reason
    assert "pass --option image=REGISTRY/TEAM/NAME:TAG" in result.reason
    assert "k8s/aws-ssh-job.yaml" in result.reason


def test_a_script_that_only_lists_instances_is_not_a_batch_launch():
    script = (CASES / "list_instances.sh").read_text()
    assert migrate({"list_instances.sh": script}).results == {}
    assert RULES.get(RULE).find(Source(script, "list_instances.sh", "shell")) == []


def test_a_vm_started_for_something_else_is_left_alone():
    fix = migrate(
        {
            "serve.sh": """\
            aws ec2 run-instances --instance-type m5.large --user-data file://web.sh
            ssh ubuntu@"$HOST" "sudo systemctl restart nginx"
            """
        }
    )
    assert fix.results == {}
    unread = "gcloud compute instances create vm --metadata-from-file startup-script=boot.txt\n"
    assert migrate({"up.sh": unread}).results == {}  # what boot.txt runs is not known here


def test_a_start_up_script_it_cannot_read_beside_a_job_is_a_todo():
    text = (
        migrate(
            {
                "run.sh": """\
            aws ec2 run-instances --instance-type m5.large --user-data "$(./render-boot)"
            ssh ubuntu@h "python train.py"
            """
            }
        )
        .new_files[0]
        .text
    )
    assert "the VM was set up before the job ran" in text
    assert (
        "#   - line 1: its start-up script: --user-data is computed by `$(./render-boot)`" in text
    )


def test_an_unparsable_script_is_skipped_with_the_reason():
    script = (CASES / "broken.sh").read_text()
    result = migrate({"broken.sh": script}).results["broken.sh"]
    assert result.status is Status.SKIPPED and result.text == script
    assert "not valid shell: `fi` is missing: the if statement at line 3" in result.reason


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (
            """\
            aws ec2 run-instances --instance-type m5.large
            aws ec2 run-instances --instance-type m5.large
            ssh ubuntu@h "python train.py"
            """,
            "2 VMs are started (lines 1, 2)",
        ),
        (
            """\
            for seed in 1 2 3; do
              aws ec2 run-instances --instance-type m5.large
            done
            ssh ubuntu@h "python train.py"
            """,
            "the VM is started inside a loop",
        ),
        (
            """\
            aws ec2 run-instances --count 4 --instance-type m5.large
            ssh ubuntu@h "python train.py"
            """,
            "4 VMs are started at once",
        ),
        (
            """\
            aws ec2 run-instances --instance-type m5.large
            ssh ubuntu@h "python train.py --name 'unclosed"
            """,
            "the command of ssh at line 2 is not valid shell",
        ),
    ],
    ids=["two-launches", "in-a-loop", "count", "unparsable-remote-command"],
)
def test_launches_it_cannot_map_to_one_job_are_skipped_with_the_reason(script, reason):
    result: RuleResult = migrate({"run.sh": script}).results["run.sh"]
    assert result.status is Status.SKIPPED
    assert reason in result.reason


# -- more ways to run the job -------------------------------------------------------------


def test_gcloud_compute_ssh_command_and_a_start_up_file_of_the_repository():
    doc = manifest_of(
        """\
        gcloud compute instances create trainer --machine-type e2-standard-4
        gcloud compute ssh trainer --zone europe-west4-a --command="python3 train.py --fast"
        gcloud compute instances delete trainer --quiet
        """
    )
    assert container(doc)["command"] == ["python3"]
    assert container(doc)["args"] == ["train.py", "--fast"]
    assert container(doc)["resources"]["requests"] == {"cpu": "4", "memory": "16Gi"}
    boot = "#!/bin/bash\ncd /app\nexec python -m jobs.nightly --date 2024-01-01\n"
    fix = migrate(
        {
            "ops/launch.sh": """\
            gcloud compute instances create n --metadata-from-file=startup-script=boot.sh
            """,
            "ops/boot.sh": boot,
        }
    )
    (new,) = fix.new_files
    assert new.path == "ops/k8s/launch-job.yaml"
    doc = yaml.safe_load(new.text)
    assert container(doc)["args"] == ["-m", "jobs.nightly", "--date", "2024-01-01"]
    assert container(doc)["workingDir"] == "/app"
    assert "(--metadata-from-file boot.sh) ran `exec python -m jobs.nightly" in new.text


def test_az_run_command_and_a_start_up_script_held_in_a_variable():
    doc = manifest_of(
        """\
        az vm create -g rg -n vm --size Standard_NC6s_v3 --image Ubuntu2204
        az vm run-command invoke -g rg -n vm --command-id RunShellScript \\
          --scripts "cd /srv/app && python score.py --month 2024-05"
        """
    )
    assert container(doc)["args"] == ["score.py", "--month", "2024-05"]
    assert container(doc)["resources"]["limits"]["nvidia.com/gpu"] == "1"
    doc = manifest_of(
        """\
        STARTUP=$(cat <<'EOF'
        #!/bin/bash
        python /opt/etl/run.py --full
        EOF
        )
        aws ec2 run-instances --instance-type m5.2xlarge --user-data "$STARTUP"
        """
    )
    assert container(doc)["args"] == ["/opt/etl/run.py", "--full"]


def test_a_job_that_needs_a_shell_runs_in_one_with_dollars_escaped_for_kubernetes():
    doc = manifest_of(
        """\
        set -e
        aws ec2 run-instances --instance-type m5.large
        ssh ubuntu@h 'python prep.py | tee prep.log'
        ssh ubuntu@h 'python train.py --out "out/$(date +%F)"'
        """
    )
    assert container(doc)["command"] == ["/bin/sh", "-c"]
    (script,) = container(doc)["args"]
    assert (
        script == 'set -e\npython prep.py | tee prep.log\npython train.py --out "out/$$(date +%F)"'
    )
    assert validate(doc) == []


def test_sudo_nohup_and_variables_set_for_the_command_are_carried_as_kubernetes_does():
    script = """\
    export LR=0.01
    aws ec2 run-instances --instance-type p3.2xlarge
    ssh ubuntu@h 'CUDA_VISIBLE_DEVICES=0 sudo -E nohup python train.py --lr "$LR" > log.txt 2>&1 &'
    """
    doc = manifest_of(script)
    assert container(doc)["command"] == ["python"]
    assert container(doc)["args"] == ["train.py", "--lr", "$(LR)"]
    env = {e["name"]: e["value"] for e in container(doc)["env"]}
    assert env == {"LR": "0.01", "CUDA_VISIBLE_DEVICES": "0"}
    text = migrate({"run.sh": script}).new_files[0].text
    assert "the job ran with sudo on the VM" in text
    assert "the job's output went to log.txt on the VM" in text


def test_commands_fed_to_ssh_by_a_here_document_or_bash_c_are_read():
    doc = manifest_of(
        """\
        EPOCHS=3
        aws ec2 run-instances --instance-type m5.large
        ssh ubuntu@h bash -s <<EOF
        cd /srv/app
        python train.py --epochs $EPOCHS --home \\$HOME
        EOF
        """
    )
    assert container(doc)["command"] == ["/bin/sh", "-c"]  # $HOME is the VM's, not the script's
    assert container(doc)["args"] == ["python train.py --epochs 3 --home $HOME"]
    assert container(doc)["workingDir"] == "/srv/app"
    doc = manifest_of(
        """\
        aws ec2 run-instances --instance-type m5.large
        ssh ubuntu@h "bash -lc 'cd /w && exec python -m trainer'"
        """
    )
    assert (container(doc)["command"], container(doc)["args"]) == (["python"], ["-m", "trainer"])


def test_a_credential_is_never_copied_into_the_manifest():
    script = """\
    DB_PASSWORD=hunter2
    export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI
    aws ec2 run-instances --instance-type m5.large
    ssh ubuntu@h "python load.py --password $DB_PASSWORD"
    """
    (new,) = migrate({"load.sh": script}).new_files
    assert "hunter2" not in new.text and "wJalrXUtnFEMI" not in new.text
    found = container(yaml.safe_load(new.text))
    assert found["args"] == ["load.py", "--password", "$(DB_PASSWORD)"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in found["env"]}
    assert refs == {
        "AWS_SECRET_ACCESS_KEY": {"name": "load-secrets", "key": "AWS_SECRET_ACCESS_KEY"},
        "DB_PASSWORD": {"name": "load-secrets", "key": "DB_PASSWORD"},
    }
    assert "kubectl create secret generic load-secrets" in new.text


def test_the_options_set_retries_deadline_ttl_and_folder():
    script = """\
    aws ec2 run-instances --instance-type m5.large
    ssh ubuntu@h "timeout 2h python train.py"
    """
    doc = manifest_of(script)  # the defaults: 2 retries, the job's own timeout
    assert doc["spec"]["activeDeadlineSeconds"] == 7200
    fix = migrate({"a/run.sh": script}, backoff_limit="0", deadline_s="600", ttl_s="60",
                  k8s_dir="deploy")  # fmt: skip
    (new,) = fix.new_files
    assert new.path == "a/deploy/run-job.yaml"
    spec = yaml.safe_load(new.text)["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 600  # the option wins over `timeout 2h`
    assert spec["ttlSecondsAfterFinished"] == 60


def test_two_scripts_that_would_write_one_manifest_leave_the_second_alone():
    script = "aws ec2 run-instances --instance-type m5.large\nssh h 'python train.py'\n"
    fix = migrate({"train.sh": script, "train.bash": script})
    assert [f.path for f in fix.new_files] == ["k8s/train-job.yaml"]
    assert fix.results["train.bash"].status is Status.CHANGED  # the first, in path order
    skipped = fix.results["train.sh"]
    assert skipped.status is Status.SKIPPED
    assert "k8s/train-job.yaml is written for another script already" in skipped.reason


def test_an_unknown_machine_type_is_a_todo_not_a_guess():
    doc_text = (
        migrate(
            {
                "run.sh": """\
            aws ec2 run-instances --instance-type x2iedn.32xlarge
            ssh ubuntu@h "python train.py"
            """
            }
        )
        .new_files[0]
        .text
    )
    assert "resources" not in container(yaml.safe_load(doc_text))
    assert "TODO(infragap): set resources" in doc_text
    assert "x2iedn.32xlarge is not one this rule knows" in doc_text


def test_scan_reports_the_launch_and_names_the_rule():
    script = (CASES / "gcloud_startup.sh").read_text()
    (finding,) = RULES.get(RULE).find(Source(script, "gcloud_startup.sh", "shell"))
    assert finding.line == 9 and finding.fixes == (RULE,)
    assert finding.message.startswith(
        "a VM started for a batch job (gcloud compute instances create, line 9): "
        "`python3 -m ranker.train"
    )
    assert finding.message.endswith("(apply with --option image=REGISTRY/TEAM/NAME:TAG)")
    assert finding.unfixable == ""


# -- through the CLI: nothing run, scripts untouched ---------------------------------------


def _fake_tools(folder: Path, marker: Path) -> None:
    """aws, gcloud, az, ssh, scp and python that leave a mark if anything runs them."""
    folder.mkdir()
    for tool in ("aws", "gcloud", "az", "ssh", "scp", "python", "python3", "bash", "sh"):
        path = folder / tool
        path.write_text(f"#!/bin/sh\necho {tool} >> '{marker}'\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_apply_writes_the_manifests_runs_nothing_and_leaves_every_script_as_it_was(
    tmp_path, monkeypatch, capsys
):
    repo = tmp_path / "repo"
    repo.mkdir()
    for script in CASES.glob("*.sh"):
        (repo / script.name).write_bytes(script.read_bytes())
    (repo / "blob.sh").write_bytes(b"aws ec2 run-instances\0\x01\x02 ssh h python train.py\n")
    before = {path.name: path.read_bytes() for path in repo.iterdir()}
    marker = tmp_path / "ran.txt"
    _fake_tools(tmp_path / "bin", marker)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    def refuse(*args, **kwargs):
        raise AssertionError(f"the migration ran a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "system", refuse)
    option = f"image={IMAGE}"
    assert main(["apply", str(repo), "--rule", RULE, "--option", option, "--write", "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert not marker.exists()
    assert {path.name: path.read_bytes() for path in repo.glob("*.sh")} == before
    written = sorted(p.name for p in (repo / "k8s").iterdir())
    assert written == sorted(f"{job_name(case)}-job.yaml" for case in MIGRATED)
    for name in written:
        assert (repo / "k8s" / name).read_text() == (EXPECTED / name).read_text()
    assert "skipped: blob.sh: binary file (contains NUL bytes)" in err
    assert "skipped: broken.sh: not valid shell: `fi` is missing" in err
    assert "new: k8s/aws-ssh-job.yaml" in err
    # A second run finds every manifest in place: nothing left to do.
    assert main(["apply", str(repo), "--rule", RULE, "--option", option, "--check", "-j", "1"]) == 0
    assert "0 would change" in capsys.readouterr().err
    assert not marker.exists()


def test_apply_without_the_image_says_how_to_pass_it_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "train.sh").write_text((CASES / "az_ssh.sh").read_text())
    assert main(["apply", str(tmp_path), "--rule", RULE, "--write", "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert "left alone: train.sh: vm-batch-to-k8s-job: line 9: a VM started" in err
    assert "pass --option image=REGISTRY/TEAM/NAME:TAG" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.sh"]


def test_an_image_that_is_not_a_reference_is_refused_before_anything_is_read(tmp_path, capsys):
    (tmp_path / "train.sh").write_text("echo\n")
    argv = ["apply", str(tmp_path), "--rule", RULE, "--option", "image=Not An Image"]
    assert main(argv) == 2
    assert "--option image=Not An Image: expected the container image" in capsys.readouterr().err
