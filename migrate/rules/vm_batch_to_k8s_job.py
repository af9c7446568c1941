"""vm-batch-to-k8s-job (unsafe): a script that starts a VM to run a batch job becomes a
Kubernetes Job.

Finds shell scripts that start a VM (`aws ec2 run-instances`, `gcloud compute instances
create`, `az vm create`) and then run a Python job on it: over `ssh HOST "python train.py
..."`, `gcloud compute ssh --command`, `az vm run-command invoke --scripts`, or from the
VM's start-up script (`--user-data`, `--metadata startup-script=`, `--metadata-from-file`,
`--custom-data`: inline, a shell file of the repository, or a here-document the script
writes). The script and what the VM ran are both read with the shell parser, never run.

It writes `k8s/<script>-job.yaml` beside the script: a batch/v1 Job running the same
command in the image `--option image=` names (required: without it the launch is
reported with that fix), with the script's exported variables, the VM's resources when
its machine type is a known one, retries, a deadline and clean-up of the finished Job.
What the script did that a Job does not (copying data, setting the VM up, waiting for
it, tearing it down) becomes a TODO comment in the manifest. The script itself is never
changed: the manifest, once there, marks it migrated, so a second run changes nothing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar

from infragap.migrate.results import Finding, NewFile, Note, RepositoryFix, RuleResult, Status
from infragap.migrate.rules.base import Option, Options, Rule, rule
from infragap.migrate.source import Source

RULE_ID = "vm-batch-to-k8s-job"
LAUNCH_TEXT = re.compile(r"run-instances|\binstances(?:\s|\\)+create\b|\bvm(?:\s|\\)+create\b")
IMAGE = (
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
DEFAULT_DEADLINE_S = 86400


@rule(RULE_ID)
class VmBatchToK8sJob(Rule):
    kind = "unsafe"
    # A repository rule: it reads the start-up scripts a launch names, and only the
    # repository tells whether the manifest is there already (the script is never marked).
    scope = "repository"
    languages = ("shell",)
    summary = "Turn a script that starts a VM to run a batch job into a Kubernetes Job manifest."
    why = (
        "A VM started per job is paid for while it boots and is set up and copied to, stays "
        "up when the script dies before tearing it down, and gives the job no retry nor deadline."
    )
    fixes = (RULE_ID,)
    prefilter = LAUNCH_TEXT
    options: ClassVar[Mapping[str, Option]] = {
        "image": Option(
            "",
            "the container image holding the job's code, e.g. registry.example.com/team/"
            "train:1.4 (required)",
            pattern=IMAGE,
        ),
        "backoff_limit": Option("2", "retries of a failed pod, a whole number", pattern=r"[0-9]+"),
        "deadline_s": Option(
            "",
            "seconds the Job may run, a whole number (default: the job's `timeout`, else "
            f"{DEFAULT_DEADLINE_S})",
            pattern=r"[1-9][0-9]*",
        ),
        "ttl_s": Option(
            "86400", "seconds a finished Job is kept, a whole number", pattern=r"[0-9]+"
        ),
        "k8s_dir": Option(
            "k8s",
            "the folder for the manifests, beside the script",
            pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
        ),
    }

    def require(self) -> None:
        from infragap.migrate.shell.syntax import require_parser

        require_parser()

    def find(self, source: Source) -> list[Finding]:
        from infragap.migrate.shell.syntax import NotShell, parse_script
        from infragap.migrate.shell.vm_launch import analyse

        try:
            analysis = analyse(parse_script(source.text), {}, posixpath.dirname(source.path))
        except NotShell:
            return []
        if analysis is None:
            return []
        line = analysis.launch.line
        message = (
            f"{analysis.summary()}: a Kubernetes Job runs it with no VM to start, copy to "
            "and tear down (apply with --option image=REGISTRY/TEAM/NAME:TAG)"
        )
        return [
            Finding(
                self.id,
                source.path,
                line,
                1,
                source.line_text(line),
                message,
                self.fixes,
                analysis.problem,
            )
        ]

    def fix(self, source: Source, options: Options) -> RuleResult:
        """One script alone: a start-up script only from a here-document it writes."""
        return self._fix(source, options, {})

    def fix_repository(self, sources: Sequence[Source], options: Options) -> RepositoryFix:
        files = {source.path: source.text for source in sources}
        results: dict[str, RuleResult] = {}
        new_files: list[NewFile] = []
        for source in sources:
            if not self.wants(source.text):
                continue
            result = self._fix(source, options, files)
            if result.status is Status.UNCHANGED:
                continue
            folder = posixpath.dirname(source.path)
            made = [
                NewFile(posixpath.normpath(posixpath.join(folder, f.path)), f.text)
                for f in result.new_files
            ]
            taken = [f.path for f in made if f.path in {n.path for n in new_files}]
            if taken:  # train.sh and train.bash side by side: one Job name for both
                why = f"{taken[0]} is written for another script already: rename this one"
                result = RuleResult.skipped(source.text, (Note(1, why),))
                made = []
            results[source.path] = replace(result, new_files=())
            new_files += made
        return RepositoryFix(results, tuple(new_files))

    def _fix(self, source: Source, options: Options, files: Mapping[str, str]) -> RuleResult:
        from infragap.migrate.generators.k8s_job import render_job
        from infragap.migrate.shell.syntax import NotShell, parse_script
        from infragap.migrate.shell.vm_launch import Settings, analyse, dns_name, job_spec

        try:
            script = parse_script(source.text)
        except NotShell as err:
            return RuleResult.skipped(source.text, (Note(1, str(err)),))
        folder = posixpath.dirname(source.path)
        analysis = analyse(script, files, folder)
        if analysis is None:
            return RuleResult.unchanged(source.text)
        line = analysis.launch.line
        if analysis.problem:
            return RuleResult.skipped(
                source.text, (Note(line, f"no Job written: {analysis.problem}"),)
            )
        name = posixpath.basename(source.path)
        job = dns_name(name.rsplit(".", 1)[0] if "." in name[1:] else name, "batch")
        settings = Settings(
            image=self.option(options, "image"),
            backoff_limit=int(self.option(options, "backoff_limit")),
            ttl_s=int(self.option(options, "ttl_s")),
            deadline_s=int(self.option(options, "deadline_s") or 0),
            k8s_dir=self.option(options, "k8s_dir"),
        )
        target = f"{settings.k8s_dir}/{job}-job.yaml"
        if source.repository is not None and source.repository.exists(
            posixpath.join(folder, target)
        ):
            return RuleResult.unchanged(source.text)  # migrated already
        if not settings.image:
            fix = (
                f"{analysis.summary()}: pass --option image=REGISTRY/TEAM/NAME:TAG (the image "
                f"holding the job's code) to write {target}"
            )
            return RuleResult.skipped(source.text, (Note(line, fix),))
        spec, labels = job_spec(analysis, name, job, settings)
        notes = (Note(line, f"TODO in {target}: {'; '.join(labels)}"),) if labels else ()
        return RuleResult.changed(source.text, notes, (NewFile(target, render_job(spec)),))
