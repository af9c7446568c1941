"""Kubernetes manifests for the scaling pair, sized from measured figures.

Pure functions: each takes a workload description and returns one manifest as a plain
dict, ready for `to_yaml` or `kubectl apply -f`. Nothing here talks to a cluster; the
manifests are checked offline against the API's OpenAPI schemas by `validate`.

Sizing rules, each a named constant below:

- CPU request = measured mean cores × CPU_REQUEST_HEADROOM. No CPU limit by default:
  a CFS quota throttles a container for the rest of a 100 ms period as soon as it has
  spent its quota, even on an idle node, which shows up as p99 latency on bursty,
  multi-threaded servers (Triton, PyTorch). The request already guarantees the CPU share
  under contention. Set `cpu_limit_factor` when a namespace's ResourceQuota demands CPU
  limits.
- Memory request = measured peak RSS × MEMORY_REQUEST_HEADROOM, limit = request ×
  `memory_limit_factor` (1.0 by default: memory cannot be throttled, only OOM-killed, and
  a pod above its request is the first evicted under node pressure anyway, so a limit
  above the request only overcommits the node).
- The startupProbe allows measured start-up × STARTUP_SAFETY_FACTOR (a production node
  starts colder and busier than the benchmark machine), at least MIN_STARTUP_BUDGET_S.

With the HPA's default 60 % CPU target, a replica is scaled out at 0.6 × 1.2 = 72 % of
the CPU it used at the load it was measured at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infragap.errors import ConfigError
from infragap.proven.prometheus.query import check_duration
from infragap.proven.prometheus.server import yaml_text

PART_OF = "infragap"
CPU_REQUEST_HEADROOM = 1.2
MEMORY_REQUEST_HEADROOM = 1.25
STARTUP_SAFETY_FACTOR = 3.0
MIN_STARTUP_BUDGET_S = 10
STARTUP_PERIOD_S = 2
# Endpoint removal reaches kube-proxy and ingress controllers a few seconds after the pod
# is marked terminating; sleeping before SIGTERM keeps the server answering meanwhile.
PRESTOP_SLEEP_S = 5
DEFAULT_RUN_AS_USER = 1000  # runAsNonRoot needs a numeric non-root user; images rarely set one
GPU_RESOURCE = "nvidia.com/gpu"

FLASK_HEALTH_PATH = "/health"
TRITON_READY_PATH = "/v2/health/ready"
TRITON_LIVE_PATH = "/v2/health/live"
TRITON_HTTP_PORT = 8000
TRITON_METRICS_PORT = 8002

# Triton's counters, and the per-request mean queue time the Prometheus adapter serves.
TRITON_QUEUE_COUNTER = "nv_inference_queue_duration_us"
TRITON_SUCCESS_COUNTER = "nv_inference_request_success"
QUEUE_METRIC = "nv_inference_queue_duration_us_per_request"

# Kubernetes' own HPA defaults, written out so the manifest says what it does.
SCALE_UP_POLICIES = (
    {"type": "Percent", "value": 100, "periodSeconds": 15},
    {"type": "Pods", "value": 4, "periodSeconds": 15},
)
SCALE_DOWN_POLICIES = ({"type": "Percent", "value": 100, "periodSeconds": 15},)

# A DNS-1035 label: Service names must start with a letter, so every name here does.
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
MAX_NAME = 63


@dataclass(frozen=True)
class ServingWorkload:
    """One model server as a Deployment, sized from what one replica was measured to use.

    `cpu_cores`: mean CPU cores one replica used while serving its measured SLO capacity.
    `rss_mib`: peak resident memory of the whole replica (server plus its child
    processes, e.g. Triton's Python-backend stubs). `startup_s`: seconds from process
    start to the readiness endpoint answering 200 (image pull not included: the probes'
    clock starts with the container). The server must listen on all interfaces: the
    kubelet probes the pod IP, not loopback.
    """

    name: str
    image: str
    port: int
    readiness_path: str
    liveness_path: str
    cpu_cores: float
    rss_mib: float
    startup_s: float
    command: Sequence[str] = ()
    args: Sequence[str] = ()
    component: str = "serving"
    metrics_port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 0
    drain_s: int = 30  # how long the server may finish in-flight requests after SIGTERM
    shm_mib: int | None = None  # a memory-backed /dev/shm (Triton's Python backend uses it)
    run_as_user: int = DEFAULT_RUN_AS_USER
    read_only_root_filesystem: bool = True
    memory_limit_factor: float = 1.0
    cpu_limit_factor: float | None = None

    def __post_init__(self) -> None:
        _check_container(self)
        _check_port(self.port, "port")
        if self.metrics_port is not None:
            _check_port(self.metrics_port, "metrics_port")
            if self.metrics_port == self.port:
                raise ConfigError(
                    f"metrics_port {self.metrics_port} is the serving port: pass another "
                    "port or leave metrics_port unset"
                )
        paths = {"readiness_path": self.readiness_path, "liveness_path": self.liveness_path}
        for what, path in paths.items():
            if not path.startswith("/") or any(c.isspace() for c in path):
                raise ConfigError(
                    f"{what} {path!r} is not an HTTP path: write it with a leading '/', "
                    f"for example {FLASK_HEALTH_PATH!r}"
                )
        _check_positive(self.startup_s, "startup_s (the measured start-up time)")
        _check_count(self.drain_s, "drain_s", minimum=0)
        if self.shm_mib is not None:
            _check_count(self.shm_mib, "shm_mib", minimum=1)


@dataclass(frozen=True)
class BatchJob:
    """A run-to-completion job (training), sized from one measured run.

    `cpu_cores`: mean CPU cores the run used; `rss_mib`: its peak resident memory.
    `deadline_s` bounds the whole Job, every retry included; `retries` is the number of
    failed pods tolerated before the Job fails. Pods lost to node drains or preemption
    are not counted, and an exit code in `non_retryable_exit_codes` (a bad
    configuration, say) fails the Job at once instead of retrying it.
    """

    name: str
    image: str
    command: Sequence[str]
    cpu_cores: float
    rss_mib: float
    deadline_s: int
    retries: int = 2
    args: Sequence[str] = ()
    component: str = "training"
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 0
    ttl_after_finished_s: int = 86_400  # a day to read its logs, then the Job is deleted
    non_retryable_exit_codes: Sequence[int] = ()
    run_as_user: int = DEFAULT_RUN_AS_USER
    read_only_root_filesystem: bool = True
    memory_limit_factor: float = 1.0
    cpu_limit_factor: float | None = None

    def __post_init__(self) -> None:
        _check_container(self)
        if not self.command:
            raise ConfigError(f"job {self.name!r} has no command: pass the command it runs")
        _check_count(self.deadline_s, "deadline_s", minimum=1)
        _check_count(self.retries, "retries", minimum=0)
        _check_count(self.ttl_after_finished_s, "ttl_after_finished_s", minimum=0)
        for code in self.non_retryable_exit_codes:
            if isinstance(code, bool) or not isinstance(code, int) or not 1 <= code <= 255:
                raise ConfigError(
                    f"non-retryable exit code {code!r} is not an exit status: use integers "
                    "from 1 to 255 (0 is success)"
                )


def flask_workload(
    name: str,
    image: str,
    command: Sequence[str],
    *,
    cpu_cores: float,
    rss_mib: float,
    startup_s: float,
    port: int = 5000,
    **options: Any,
) -> ServingWorkload:
    """A naive Flask endpoint: probed on `GET /health`. Its command must bind 0.0.0.0."""
    return ServingWorkload(
        name=name,
        image=image,
        port=port,
        readiness_path=FLASK_HEALTH_PATH,
        liveness_path=FLASK_HEALTH_PATH,
        cpu_cores=cpu_cores,
        rss_mib=rss_mib,
        startup_s=startup_s,
        command=tuple(command),
        **options,
    )


def triton_workload(
    name: str,
    image: str,
    *,
    cpu_cores: float,
    rss_mib: float,
    startup_s: float,
    model_repository: str = "/models",
    drain_s: int = 30,
    **options: Any,
) -> ServingWorkload:
    """Triton from an NGC image (`tritonserver` on PATH) serving `model_repository`
    (a path in the image or a mounted volume, or an s3:// / gs:// URL). Readiness is
    `/v2/health/ready` (every model loaded), liveness `/v2/health/live`, metrics on 8002.
    The flags mirror the local run: a model that fails to load stops the server."""
    args = (
        f"--model-repository={model_repository}",
        f"--http-port={TRITON_HTTP_PORT}",
        f"--metrics-port={TRITON_METRICS_PORT}",
        "--exit-on-error=true",
        "--strict-readiness=true",
        f"--exit-timeout-secs={drain_s}",
    )
    return ServingWorkload(
        name=name,
        image=image,
        port=TRITON_HTTP_PORT,
        readiness_path=TRITON_READY_PATH,
        liveness_path=TRITON_LIVE_PATH,
        cpu_cores=cpu_cores,
        rss_mib=rss_mib,
        startup_s=startup_s,
        command=("tritonserver",),
        args=args,
        metrics_port=TRITON_METRICS_PORT,
        drain_s=drain_s,
        **options,
    )


# -- manifests ------------------------------------------------------------------------


def deployment(spec: ServingWorkload, replicas: int | None = None) -> dict[str, Any]:
    """apps/v1 Deployment. Leave `replicas` None when an HPA scales it: a `replicas`
    field in the manifest would reset the HPA's count on every `kubectl apply`."""
    if replicas is not None:
        _check_count(replicas, "replicas", minimum=0)
    budget_s = startup_budget_s(spec.startup_s)
    pod_labels = labels(spec.name, spec.component)
    template_metadata: dict[str, Any] = {"labels": pod_labels}
    if spec.metrics_port is not None:
        # The annotations the Prometheus Helm chart's `kubernetes-pods` job scrapes by.
        template_metadata["annotations"] = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(spec.metrics_port),
            "prometheus.io/path": "/metrics",
        }
    spread = {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway",  # spread when possible, never block
        "labelSelector": {"matchLabels": selector_labels(spec.name, spec.component)},
        "matchLabelKeys": ["pod-template-hash"],  # spread each rollout's pods anew
    }
    pod_spec = _pod_spec(
        spec,
        _serving_container(spec),
        terminationGracePeriodSeconds=PRESTOP_SLEEP_S + spec.drain_s,
        topologySpreadConstraints=[spread],
    )
    deployment_spec: dict[str, Any] = {}
    if replicas is not None:
        deployment_spec["replicas"] = replicas
    deployment_spec.update(
        {
            "selector": {"matchLabels": selector_labels(spec.name, spec.component)},
            # Never below the serving capacity during a rollout: surge, then retire.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            # A rollout is failed only after a pod had its whole start-up budget.
            "progressDeadlineSeconds": max(600, budget_s + 120),
            "template": {"metadata": template_metadata, "spec": pod_spec},
        }
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(spec.name, spec.component),
        "spec": deployment_spec,
    }


def service(spec: ServingWorkload) -> dict[str, Any]:
    """v1 ClusterIP Service in front of the Deployment's pods (HTTP, and metrics if any)."""
    ports = [{"name": "http", "port": spec.port, "targetPort": "http", "protocol": "TCP"}]
    if spec.metrics_port is not None:
        ports.append(
            {
                "name": "metrics",
                "port": spec.metrics_port,
                "targetPort": "metrics",
                "protocol": "TCP",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec.name, spec.component),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(spec.name, spec.component),
            "ports": ports,
        },
    }


def pod_disruption_budget(spec: ServingWorkload, max_unavailable: int = 1) -> dict[str, Any]:
    """policy/v1 PodDisruptionBudget: node drains evict at most `max_unavailable` replicas
    at a time, so an HPA floor of 2 keeps a replica serving through a drain."""
    _check_count(max_unavailable, "max_unavailable", minimum=1)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(spec.name, spec.component),
        "spec": {
            "maxUnavailable": max_unavailable,
            "selector": {"matchLabels": selector_labels(spec.name, spec.component)},
        },
    }


def hpa_cpu(
    spec: ServingWorkload,
    min_replicas: int = 2,
    max_replicas: int = 10,
    cpu_utilisation: int = 60,
    *,
    scale_up_window_s: int = 0,
    scale_down_window_s: int = 300,
) -> dict[str, Any]:
    """autoscaling/v2 HPA on mean CPU utilisation (usage / request, in %) of the pods.

    The behavior block states Kubernetes' defaults explicitly: scale up at once (window
    0 s, at most doubling or +4 pods per 15 s), scale down on the highest recommendation
    of the last 300 s. It shares the Deployment's name: one HPA per Deployment, so
    applying `hpa_queue_time` instead replaces this one."""
    _check_count(cpu_utilisation, "cpu_utilisation", minimum=1)
    metric = {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": cpu_utilisation},
        },
    }
    return _hpa(spec, metric, min_replicas, max_replicas, scale_up_window_s, scale_down_window_s)


def hpa_queue_time(
    spec: ServingWorkload,
    target_queue_us_per_request: float,
    min_replicas: int = 2,
    max_replicas: int = 10,
    *,
    scale_up_window_s: int = 0,
    scale_down_window_s: int = 300,
) -> dict[str, Any]:
    """autoscaling/v2 HPA on Triton's mean queue time per request, averaged over pods.

    The metric is QUEUE_METRIC, a Pods custom metric served by prometheus-adapter with
    the rule from `prometheus_adapter_config`; Prometheus must scrape Triton's metrics
    port with `namespace` and `pod` labels (the usual Kubernetes service discovery
    relabelling does). Queue time grows before CPU saturates when dynamic batching
    holds requests, so it tracks the latency SLO more directly than CPU does."""
    _check_positive(target_queue_us_per_request, "target_queue_us_per_request")
    metric = {
        "type": "Pods",
        "pods": {
            "metric": {"name": QUEUE_METRIC},
            "target": {
                "type": "AverageValue",
                "averageValue": quantity(target_queue_us_per_request),
            },
        },
    }
    return _hpa(spec, metric, min_replicas, max_replicas, scale_up_window_s, scale_down_window_s)


def prometheus_adapter_config(window: str = "1m") -> dict[str, Any]:
    """prometheus-adapter's configuration (its `--config` file, or `rules.custom` in the
    Helm chart's values) exposing QUEUE_METRIC for every pod that Triton runs in.

    The metric is queue µs per request over `window`: rate of
    `nv_inference_queue_duration_us` over rate of `nv_inference_request_success`, summed
    over the pod's models. The divisor is clamped above zero so an idle pod reports 0
    (scale down) rather than NaN (which the HPA cannot use). `window` should span at
    least four scrape intervals."""
    check_duration(window, "the adapter's rate window")
    per_pod = "sum by (<<.GroupBy>>) (rate({metric}{{<<.LabelMatchers>>}}[{window}]))"
    queue = per_pod.format(metric="<<.Series>>", window=window)
    requests = per_pod.format(metric=TRITON_SUCCESS_COUNTER, window=window)
    return {
        "rules": [
            {
                "seriesQuery": f'{TRITON_QUEUE_COUNTER}{{namespace!="",pod!=""}}',
                "resources": {
                    "overrides": {
                        "namespace": {"resource": "namespace"},
                        "pod": {"resource": "pod"},
                    }
                },
                "name": {"matches": f"^{TRITON_QUEUE_COUNTER}$", "as": QUEUE_METRIC},
                "metricsQuery": f"{queue} / clamp_min({requests}, 1e-9)",
            }
        ]
    }


def training_job(spec: BatchJob) -> dict[str, Any]:
    """batch/v1 Job: `retries` pod failures tolerated, the whole Job bounded by
    `deadline_s`, pods never restarted in place (a fresh pod per try, so every try is
    visible), the finished Job deleted after `ttl_after_finished_s`."""
    rules: list[dict[str, Any]] = []
    if spec.non_retryable_exit_codes:
        rules.append(
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": spec.name,
                    "operator": "In",
                    "values": sorted(set(spec.non_retryable_exit_codes)),
                },
            }
        )
    # Drains, preemption and evictions are not the job's fault: retry without counting.
    rules.append(
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    )
    pod_spec = _pod_spec(spec, _container(spec), restartPolicy="Never")  # podFailurePolicy needs it
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(spec.name, spec.component),
        "spec": {
            "backoffLimit": spec.retries,
            "activeDeadlineSeconds": spec.deadline_s,
            "ttlSecondsAfterFinished": spec.ttl_after_finished_s,
            "podFailurePolicy": {"rules": rules},
            "template": {
                "metadata": {"labels": labels(spec.name, spec.component)},
                "spec": pod_spec,
            },
        },
    }


def to_yaml(documents: Sequence[Mapping[str, Any]]) -> str:
    """One multi-document YAML stream (`---` between documents) for `kubectl apply -f`.

    Written by the project's own block-YAML writer (every string JSON-quoted), so it needs
    no YAML library. Floats are refused: YAML 1.1 readers (PyYAML) read `1e-05` back as a
    string, and no field of these manifests is a float (quantities are strings)."""
    texts = []
    for index, document in enumerate(documents):
        if not isinstance(document, Mapping) or not document:
            raise ConfigError(f"document {index} is not a manifest: pass non-empty dicts")
        _refuse_floats(document, f"document {index}")
        texts.append(yaml_text(dict(document)))
    return "---\n".join(texts)


# -- sizing ----------------------------------------------------------------------------


def startup_budget_s(startup_s: float) -> int:
    """Seconds the startupProbe allows: measured × STARTUP_SAFETY_FACTOR, at least
    MIN_STARTUP_BUDGET_S, a whole number of probe periods."""
    budget = max(startup_s * STARTUP_SAFETY_FACTOR, MIN_STARTUP_BUDGET_S)
    return math.ceil(round(budget / STARTUP_PERIOD_S, 6)) * STARTUP_PERIOD_S


def resources(
    cpu_cores: float,
    rss_mib: float,
    *,
    memory_limit_factor: float = 1.0,
    cpu_limit_factor: float | None = None,
    extra_memory_mib: int = 0,
    gpus: int = 0,
) -> dict[str, dict[str, str]]:
    """Container requests and limits from measured mean CPU and peak RSS (see the module
    docstring for the headroom, and why no CPU limit by default)."""
    cpu_request = cpu_cores * CPU_REQUEST_HEADROOM
    memory_request = rss_mib * MEMORY_REQUEST_HEADROOM + extra_memory_mib
    requests = {"cpu": cpu_quantity(cpu_request), "memory": memory_quantity(memory_request)}
    limits = {"memory": memory_quantity(memory_request * memory_limit_factor)}
    if cpu_limit_factor is not None:
        limits["cpu"] = cpu_quantity(cpu_request * cpu_limit_factor)
    if gpus:
        # Extended resources cannot be overcommitted: request and limit must be equal.
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(gpus)
    return {"requests": requests, "limits": limits}


def cpu_quantity(cores: float) -> str:
    """CPU as whole millicores, rounded up: 0.3501 -> '351m'."""
    return f"{max(1, math.ceil(round(cores * 1000, 6)))}m"


def memory_quantity(mib: float) -> str:
    """Memory as whole MiB, rounded up: 300.2 -> '301Mi'."""
    return f"{max(1, math.ceil(round(mib, 6)))}Mi"


def quantity(value: float) -> str:
    """A plain Kubernetes quantity: '2000' for whole numbers, else milli-units ('1500m')."""
    milli = max(1, round(value * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


# -- shared pieces -----------------------------------------------------------------------


def labels(name: str, component: str) -> dict[str, str]:
    """The recommended `app.kubernetes.io/*` labels every object and pod carries."""
    return {**selector_labels(name, component), "app.kubernetes.io/part-of": PART_OF}


def selector_labels(name: str, component: str) -> dict[str, str]:
    """The labels selectors match on: the stable ones only (a selector is immutable)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def _metadata(name: str, component: str) -> dict[str, Any]:
    return {"name": name, "labels": labels(name, component)}


def _hpa(
    spec: ServingWorkload,
    metric: dict[str, Any],
    min_replicas: int,
    max_replicas: int,
    scale_up_window_s: int,
    scale_down_window_s: int,
) -> dict[str, Any]:
    _check_count(min_replicas, "min_replicas", minimum=1)
    _check_count(max_replicas, "max_replicas", minimum=1)
    if max_replicas < min_replicas:
        raise ConfigError(
            f"max_replicas {max_replicas} is below min_replicas {min_replicas}: raise "
            "max_replicas or lower min_replicas"
        )
    for what, window in (
        ("scale_up_window_s", scale_up_window_s),
        ("scale_down_window_s", scale_down_window_s),
    ):
        _check_count(window, what, minimum=0)
        if window > 3600:
            raise ConfigError(f"{what} {window} is over an hour: Kubernetes allows 0 to 3600")
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(spec.name, spec.component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [metric],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": scale_up_window_s,
                    "selectPolicy": "Max",
                    "policies": [dict(policy) for policy in SCALE_UP_POLICIES],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": scale_down_window_s,
                    "selectPolicy": "Max",
                    "policies": [dict(policy) for policy in SCALE_DOWN_POLICIES],
                },
            },
        },
    }


def _serving_container(spec: ServingWorkload) -> dict[str, Any]:
    ports = [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}]
    if spec.metrics_port is not None:
        ports.append({"name": "metrics", "containerPort": spec.metrics_port, "protocol": "TCP"})
    probes = {
        # The startup probe asks the readiness endpoint: start-up ends when the model is
        # loaded, and a load that hangs past the budget gets the container restarted.
        "startupProbe": _http_probe(
            spec.readiness_path,
            period_s=STARTUP_PERIOD_S,
            timeout_s=2,
            failures=startup_budget_s(spec.startup_s) // STARTUP_PERIOD_S,
        ),
        "readinessProbe": _http_probe(spec.readiness_path, period_s=5, timeout_s=2, failures=2),
        # Lenient on purpose: restarting a replica that is slow because it is overloaded
        # moves its load onto the others and makes the overload worse.
        "livenessProbe": _http_probe(spec.liveness_path, period_s=10, timeout_s=5, failures=3),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_S}}},
    }
    return _container(spec, ports=ports, probes=probes, extra_memory_mib=spec.shm_mib or 0)


def _http_probe(path: str, *, period_s: int, timeout_s: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period_s,
        "timeoutSeconds": timeout_s,
        "failureThreshold": failures,
        "successThreshold": 1,
    }


def _container(
    spec: ServingWorkload | BatchJob,
    *,
    ports: list[dict[str, Any]] | None = None,
    probes: Mapping[str, Any] | None = None,
    extra_memory_mib: int = 0,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
    }
    if spec.command:
        container["command"] = list(spec.command)
    if spec.args:
        container["args"] = list(spec.args)
    if spec.env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    if ports:
        container["ports"] = ports
    container["resources"] = resources(
        spec.cpu_cores,
        spec.rss_mib,
        memory_limit_factor=spec.memory_limit_factor,
        cpu_limit_factor=spec.cpu_limit_factor,
        extra_memory_mib=extra_memory_mib,
        gpus=spec.gpus,
    )
    container.update(probes or {})
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": spec.read_only_root_filesystem,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = [{"name": volume["name"], "mountPath": path} for path, volume in _volumes(spec)]
    if mounts:
        container["volumeMounts"] = mounts
    return container


def _volumes(spec: ServingWorkload | BatchJob) -> list[tuple[str, dict[str, Any]]]:
    """(mount path, volume) pairs: a scratch /tmp when the root filesystem is read-only,
    a memory-backed /dev/shm when asked (its pages count against the memory limit)."""
    volumes: list[tuple[str, dict[str, Any]]] = []
    if spec.read_only_root_filesystem:
        volumes.append(("/tmp", {"name": "tmp", "emptyDir": {}}))
    shm_mib = spec.shm_mib if isinstance(spec, ServingWorkload) else None
    if shm_mib:
        shm = {"medium": "Memory", "sizeLimit": f"{shm_mib}Mi"}
        volumes.append(("/dev/shm", {"name": "shm", "emptyDir": shm}))
    return volumes


def _pod_spec(
    spec: ServingWorkload | BatchJob, container: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """The Pod Security Standards' `restricted` profile: non-root, no privilege
    escalation, every capability dropped, the runtime's default seccomp profile.
    `fields` (restartPolicy, terminationGracePeriodSeconds, ...) come before the
    containers."""
    pod: dict[str, Any] = {
        **fields,
        "automountServiceAccountToken": False,  # these pods never call the API server
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": spec.run_as_user,
            "runAsGroup": spec.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    volumes = [volume for _, volume in _volumes(spec)]
    if volumes:
        pod["volumes"] = volumes
    return pod


# -- input checks ----------------------------------------------------------------------------


def check_name(name: str, what: str = "name") -> str:
    """`name` if it can name a Deployment, Service, HPA and Job alike (a DNS-1035 label:
    at most 63 lower-case letters, digits and '-', starting with a letter and ending
    with a letter or digit), else a ConfigError with a suggestion."""
    if isinstance(name, str) and len(name) <= MAX_NAME and _NAME.match(name):
        return name
    suggestion = re.sub(r"[^a-z0-9-]+", "-", str(name).lower()).strip("-")
    suggestion = re.sub(r"^[^a-z]+", "", suggestion)[:MAX_NAME].rstrip("-") or "model-server"
    raise ConfigError(
        f"{what} {name!r} is not a valid Kubernetes name: use at most {MAX_NAME} lower-case "
        f"letters, digits and '-', starting with a letter and ending with a letter or digit "
        f"(for example {suggestion!r})"
    )


def _check_container(spec: ServingWorkload | BatchJob) -> None:
    check_name(spec.name)
    if not (len(spec.component) <= MAX_NAME and _LABEL_VALUE.match(spec.component)):
        raise ConfigError(
            f"component {spec.component!r} is not a valid label value: use at most 63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    _check_image(spec.image)
    _check_positive(spec.cpu_cores, "cpu_cores (the measured mean CPU cores)")
    _check_positive(spec.rss_mib, "rss_mib (the measured peak RSS in MiB)")
    _check_count(spec.gpus, "gpus", minimum=0)
    _check_count(spec.run_as_user, "run_as_user", minimum=1)
    if isinstance(spec.command, str) or isinstance(spec.args, str):
        raise ConfigError("command and args are lists of words, not one string: split them")
    if not (math.isfinite(spec.memory_limit_factor) and spec.memory_limit_factor >= 1):
        raise ConfigError(
            f"memory_limit_factor {spec.memory_limit_factor} is below 1: a memory limit "
            "under the request cannot be scheduled; use 1 (the default) or more"
        )
    if spec.cpu_limit_factor is not None and not (
        math.isfinite(spec.cpu_limit_factor) and spec.cpu_limit_factor >= 1
    ):
        raise ConfigError(
            f"cpu_limit_factor {spec.cpu_limit_factor} is below 1: use 1 or more, or None "
            "for no CPU limit"
        )
    for key in spec.env:
        if not _ENV_NAME.match(key):
            raise ConfigError(
                f"environment variable name {key!r} is not valid: use letters, digits, "
                "'_', '-' and '.', not starting with a digit"
            )


def _check_image(image: str) -> None:
    if not image or any(c.isspace() for c in image):
        raise ConfigError(f"image {image!r} is not an image reference: pass e.g. repo/name:1.2")
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if "@sha256:" not in image and tag in ("", "latest"):
        raise ConfigError(
            f"image {image!r} is not pinned: add a version tag ({image.split('@')[0]}:1.2.3) "
            "or a digest (@sha256:...) so every replica runs the same build"
        )


def _check_positive(value: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{what} must be a positive, finite number, not {value!r}")


def _check_count(value: int, what: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{what} must be a whole number of at least {minimum}, not {value!r}")


def _check_port(port: int, what: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{what} {port!r} is not a TCP port: use a number from 1 to 65535")


def _refuse_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise ConfigError(f"{where} holds the float {value!r}: write it as a quantity string")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{where}[{index}]")
