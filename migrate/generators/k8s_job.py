"""Render a Kubernetes Job manifest (batch/v1) from a `JobSpec` (pure: text out).

`job_manifest` builds the plain dict `kubectl apply` reads: one container running the
command, `restartPolicy: Never`, a retry budget (`backoffLimit`) that pods lost to node
drains and preemption do not spend (`podFailurePolicy`), a deadline
(`activeDeadlineSeconds`) and clean-up of the finished Job (`ttlSecondsAfterFinished`).
`render_job` writes it as YAML under comments: where it came from, and a TODO for each
thing the script did that a Job does not. Resources come from the VM's machine type
when `MACHINES` knows it, else a TODO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infragap.migrate.generators.text import comment

TODO = "TODO(infragap)"
GPU = "nvidia.com/gpu"  # the NVIDIA device plugin's resource name
DISRUPTED = {"type": "DisruptionTarget", "status": "True"}


@dataclass(frozen=True)
class Machine:
    """What a VM type gives a job: vCPUs, memory (GiB) and GPUs."""

    cpus: int
    memory_gib: int
    gpus: int = 0


# A few common types of each cloud; the clouds' own pages list the rest. Azure sizes
# are matched without regard to case, as `az` does.
MACHINES: dict[str, Machine] = {
    # AWS EC2
    "m5.large": Machine(2, 8),
    "m5.xlarge": Machine(4, 16),
    "m5.2xlarge": Machine(8, 32),
    "m5.4xlarge": Machine(16, 64),
    "c5.2xlarge": Machine(8, 16),
    "r5.xlarge": Machine(4, 32),
    "g4dn.xlarge": Machine(4, 16, 1),
    "g5.xlarge": Machine(4, 16, 1),
    "p3.2xlarge": Machine(8, 61, 1),
    # Google Compute Engine (GPUs of N1 types come from --accelerator)
    "n1-standard-4": Machine(4, 15),
    "n1-standard-8": Machine(8, 30),
    "n1-highmem-8": Machine(8, 52),
    "n2-standard-8": Machine(8, 32),
    "e2-standard-4": Machine(4, 16),
    "g2-standard-4": Machine(4, 16, 1),
    "a2-highgpu-1g": Machine(12, 85, 1),
    # Azure
    "standard_d4s_v3": Machine(4, 16),
    "standard_d8s_v3": Machine(8, 32),
    "standard_f8s_v2": Machine(8, 16),
    "standard_nc4as_t4_v3": Machine(4, 28, 1),
    "standard_nc6s_v3": Machine(6, 112, 1),
}


def machine(name: str) -> Machine | None:
    return MACHINES.get(name) or MACHINES.get(name.lower())


@dataclass(frozen=True)
class EnvVar:
    """One variable of the container. `secret` names the Secret holding its value
    (then `value` is empty): a value that looks like a credential is never written."""

    name: str
    value: str = ""
    secret: str = ""


@dataclass(frozen=True)
class JobSpec:
    """One Job. `command`/`args` are Kubernetes strings already (`$(NAME)` refers to a
    variable of `env`, `$$` is a literal `$`); `header` and `todos` become comments."""

    name: str
    container: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    working_dir: str = ""
    machine: Machine | None = None
    backoff_limit: int = 2
    deadline_s: int = 86400
    ttl_s: int = 86400
    header: tuple[str, ...] = ()  # paragraphs above the manifest
    todos: tuple[str, ...] = ()  # one paragraph each, after "TODO(infragap):"


def resources(found: Machine) -> dict[str, Any]:
    """The VM's size as the container's requests, memory and GPUs as limits too (no CPU
    limit: throttling a batch job only makes it slower)."""
    memory = f"{found.memory_gib}Gi"
    limits: dict[str, Any] = {"memory": memory}
    if found.gpus:
        limits[GPU] = str(found.gpus)  # a quantity, as the requests are
    return {"requests": {"cpu": str(found.cpus), "memory": memory}, "limits": limits}


def job_manifest(spec: JobSpec) -> dict[str, Any]:
    container: dict[str, Any] = {"name": spec.container, "image": spec.image}
    container["command"] = list(spec.command)
    if spec.args:
        container["args"] = list(spec.args)
    if spec.working_dir:
        container["workingDir"] = spec.working_dir
    if spec.env:
        container["env"] = [_env(var) for var in spec.env]
    if spec.machine is not None:
        container["resources"] = resources(spec.machine)
    labels = {"app.kubernetes.io/name": spec.name}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": spec.name, "labels": labels},
        "spec": {
            "backoffLimit": spec.backoff_limit,
            "activeDeadlineSeconds": spec.deadline_s,
            "ttlSecondsAfterFinished": spec.ttl_s,
            # A pod lost to a node drain or a preempted (spot) node is not the job's
            # failure: retry it without spending backoffLimit. Needs restartPolicy Never.
            "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [DISRUPTED]}]},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "containers": [container]},
            },
        },
    }


def _env(var: EnvVar) -> dict[str, Any]:
    if var.secret:
        return {
            "name": var.name,
            "valueFrom": {"secretKeyRef": {"name": var.secret, "key": var.name}},
        }
    return {"name": var.name, "value": var.value}


def render_job(spec: JobSpec) -> str:
    """The manifest as YAML, with the header and the TODOs as comments above it."""
    from infragap.proven.prometheus.server import yaml_text  # pulls in requests: lazily

    lines: list[str] = []
    for paragraph in spec.header:
        lines += comment(paragraph)
    if spec.header and spec.todos:
        lines.append("#")
    for todo in spec.todos:
        lines += _todo(todo)
    head = "\n".join(lines) + "\n\n" if lines else ""
    return head + yaml_text(job_manifest(spec))


def _todo(text: str) -> list[str]:
    """A TODO paragraph; its lines starting with "- " stay list items."""
    first, *items = text.split("\n- ")
    lines = comment(f"{TODO}: {first}")
    for item in items:
        wrapped = comment(item, "  ")
        lines += [f"#   - {wrapped[0][4:]}", *(f"#     {line[4:]}" for line in wrapped[1:])]
    return lines
