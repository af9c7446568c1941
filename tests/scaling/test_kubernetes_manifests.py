"""The scaling pair's Kubernetes manifests: sized from measured figures, and valid against
the API's own OpenAPI schemas (strict: no unknown fields) on every supported version."""

from __future__ import annotations

import copy
import importlib.util
import math
import shutil
import sys

import pytest

from infragap.errors import ConfigError, MissingDependency
from infragap.proven.kubernetes import manifests as k8s
from infragap.proven.kubernetes.validate import (
    SUPPORTED_VERSIONS,
    bundled_versions,
    validate_all,
    validate_manifest,
)

needs_validator = pytest.mark.skipif(
    importlib.util.find_spec("kubernetes_validate") is None,
    reason="kubernetes-validate (pip install -e '.[scaling]')",
)

FLASK_IMAGE = "registry.example.com/infragap/naive-serving:0.1.0"
TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:24.08-py3"
FLASK_COMMAND = [
    "python",
    "-m",
    "infragap.naive.serving_app",
    "--model=/models/model.pt",
    "--port=5000",
]


def flask(**overrides):
    options = {"cpu_cores": 0.85, "rss_mib": 412.3, "startup_s": 2.4, **overrides}
    return k8s.flask_workload("naive-serving", FLASK_IMAGE, FLASK_COMMAND, **options)


def triton(**overrides):
    options = {"cpu_cores": 1.7, "rss_mib": 1200.0, "startup_s": 18.5, **overrides}
    return k8s.triton_workload("triton-ranker", TRITON_IMAGE, **options)


def job(**overrides):
    options = {
        "name": "train-ranker",
        "image": "registry.example.com/infragap/train:0.1.0",
        "command": ["python", "-m", "infragap.naive.pipeline.train"],
        "cpu_cores": 2.0,
        "rss_mib": 3000.0,
        "deadline_s": 3600,
        **overrides,
    }
    return k8s.BatchJob(**options)


def every_manifest():
    """(label, manifest) for each kind, for the naive Flask app and for Triton."""
    flask_app, server = flask(), triton(shm_mib=256, gpus=1, env={"OMP_NUM_THREADS": "2"})
    return [
        ("flask deployment", k8s.deployment(flask_app)),
        ("flask fixed deployment", k8s.deployment(flask_app, replicas=3)),
        ("flask service", k8s.service(flask_app)),
        ("flask hpa cpu", k8s.hpa_cpu(flask_app)),
        ("flask pdb", k8s.pod_disruption_budget(flask_app)),
        ("triton deployment", k8s.deployment(server)),
        ("triton service", k8s.service(server)),
        ("triton hpa cpu", k8s.hpa_cpu(server, min_replicas=1, max_replicas=4)),
        ("triton hpa queue", k8s.hpa_queue_time(server, 1500.5)),
        ("triton pdb", k8s.pod_disruption_budget(server)),
        ("training job", k8s.training_job(job(non_retryable_exit_codes=(2, 1)))),
    ]


MANIFESTS = every_manifest()


def container(manifest):
    return manifest["spec"]["template"]["spec"]["containers"][0]


# -- valid on every supported version ------------------------------------------------------


@needs_validator
def test_supported_versions_are_bundled_newest_first_class():
    bundled = bundled_versions()
    assert set(SUPPORTED_VERSIONS) <= set(bundled)
    assert SUPPORTED_VERSIONS[-1] == bundled[-1]
    assert len(SUPPORTED_VERSIONS) >= 2


@needs_validator
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize(("label", "manifest"), MANIFESTS, ids=[label for label, _ in MANIFESTS])
def test_every_manifest_is_valid(label, manifest, version):
    assert validate_manifest(manifest, version) == []


@needs_validator
def test_validate_all_prefixes_each_problem_with_its_version():
    broken = copy.deepcopy(k8s.service(flask()))
    broken["spec"]["ports"][0]["port"] = "80"
    problems = validate_all([k8s.deployment(flask()), broken])
    assert [problem.split(":")[0] for problem in problems] == [
        f"Kubernetes {version}" for version in SUPPORTED_VERSIONS
    ]
    assert all("Service/naive-serving: spec.ports[0].port:" in p for p in problems)


# -- broken manifests are reported with their paths ----------------------------------------


@needs_validator
def test_unknown_field_and_wrong_type_are_reported_with_their_paths():
    broken = copy.deepcopy(k8s.deployment(flask()))
    container(broken)["livenessProbe"]["httpGett"] = {"path": "/health", "port": "http"}
    container(broken)["ports"][0]["containerPort"] = "5000"
    broken["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 30
    problems = validate_manifest(broken, SUPPORTED_VERSIONS[-1])
    prefix = "Deployment/naive-serving: spec.template.spec."
    assert problems == [
        f'{prefix}containers[0].livenessProbe.httpGett: unknown field "httpGett"',
        f"{prefix}containers[0].ports[0].containerPort: '5000' is not of type 'integer'",
        f'{prefix}terminationGracePeriodSecond: unknown field "terminationGracePeriodSecond"',
    ]


@needs_validator
def test_a_quantity_of_the_wrong_type_is_reported():
    broken = copy.deepcopy(k8s.training_job(job()))
    container(broken)["resources"]["requests"]["memory"] = ["1Gi"]
    (problem,) = validate_manifest(broken, SUPPORTED_VERSIONS[0])
    assert problem.startswith("Job/train-ranker: spec.template.spec.containers[0].resources")
    assert ".requests.memory:" in problem


@needs_validator
def test_selector_that_misses_the_pod_labels_is_reported():
    broken = copy.deepcopy(k8s.deployment(triton()))
    broken["spec"]["selector"]["matchLabels"]["tier"] = "gpu"
    (problem,) = validate_manifest(broken, SUPPORTED_VERSIONS[-1])
    assert "does not match template `labels` (tier=gpu missing)" in problem


@needs_validator
def test_unknown_kind_or_api_version_and_missing_name_are_problems():
    assert validate_manifest({"apiVersion": "v1", "kind": "Servce"}, "1.37") == [
        "Servce/?: Kubernetes 1.37 has no Servce in v1"
    ]
    old_hpa = {**k8s.hpa_cpu(flask()), "apiVersion": "autoscaling/v2beta2"}
    assert (
        "has no HorizontalPodAutoscaler in autoscaling/v2beta2"
        in (validate_manifest(old_hpa, "1.33")[0])
    )
    nameless = copy.deepcopy(k8s.service(flask()))
    del nameless["metadata"]["name"]
    assert validate_manifest(nameless, "1.33") == [
        "Service/?: metadata.name: required (the API server rejects nameless objects)"
    ]
    assert validate_manifest({"kind": "Pod"}, "1.33") == [
        "manifest has no string `apiVersion` and `kind`: every object needs both"
    ]


@needs_validator
@pytest.mark.parametrize("version", ["1.20", "2.0", "latest", ""])
def test_a_version_kubernetes_validate_does_not_bundle_is_a_config_error(version):
    with pytest.raises(ConfigError, match="not one kubernetes-validate bundles: pass one of"):
        validate_manifest(k8s.service(flask()), version)


@needs_validator
@pytest.mark.parametrize("version", ["1.37", "v1.37", "1.37.0"])
def test_version_spellings(version):
    assert validate_manifest(k8s.service(flask()), version) == []


def test_missing_kubernetes_validate_names_the_scaling_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)
    with pytest.raises(MissingDependency, match=r"infragap\[scaling\]"):
        validate_manifest(k8s.service(flask()), "1.37")


# -- sized from the measured figures --------------------------------------------------------


def test_requests_follow_the_measured_cpu_and_rss_with_headroom():
    resources = container(k8s.deployment(flask(cpu_cores=0.5, rss_mib=400.1)))["resources"]
    assert k8s.CPU_REQUEST_HEADROOM == 1.2 and k8s.MEMORY_REQUEST_HEADROOM == 1.25
    assert resources["requests"] == {"cpu": "600m", "memory": "501Mi"}  # 500.125 rounded up
    # Memory limited at the request; no CPU limit, so no CFS throttling.
    assert resources["limits"] == {"memory": "501Mi"}


def test_limit_factors_scale_the_request():
    spec = flask(cpu_cores=1.0, rss_mib=800, memory_limit_factor=1.5, cpu_limit_factor=2)
    resources = container(k8s.deployment(spec))["resources"]
    assert resources["requests"] == {"cpu": "1200m", "memory": "1000Mi"}
    assert resources["limits"] == {"cpu": "2400m", "memory": "1500Mi"}


def test_shared_memory_and_gpus_are_in_the_resources():
    manifest = k8s.deployment(triton(rss_mib=1000, shm_mib=256, gpus=1))
    resources = container(manifest)["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "1506Mi"
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    volumes = manifest["spec"]["template"]["spec"]["volumes"]
    assert {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}} in volumes


def test_job_resources_follow_its_measured_run():
    resources = container(k8s.training_job(job(cpu_cores=3.0, rss_mib=2048)))["resources"]
    assert resources == {
        "requests": {"cpu": "3600m", "memory": "2560Mi"},
        "limits": {"memory": "2560Mi"},
    }


@pytest.mark.parametrize("startup_s", [0.2, 2.4, 18.5, 95.3, 600.0])
def test_startup_probe_covers_the_measured_start_up_with_the_safety_factor(startup_s):
    for spec in (flask(startup_s=startup_s), triton(startup_s=startup_s)):
        probe = container(k8s.deployment(spec))["startupProbe"]
        budget = probe["failureThreshold"] * probe["periodSeconds"]
        assert budget >= startup_s * k8s.STARTUP_SAFETY_FACTOR
        assert budget >= k8s.MIN_STARTUP_BUDGET_S
        assert (
            budget
            < max(startup_s * k8s.STARTUP_SAFETY_FACTOR, k8s.MIN_STARTUP_BUDGET_S)
            + (probe["periodSeconds"])
        )
        assert probe["httpGet"] == {"path": spec.readiness_path, "port": "http"}


def test_a_long_start_up_extends_the_rollout_deadline():
    assert k8s.deployment(triton(startup_s=5))["spec"]["progressDeadlineSeconds"] == 600
    slow = k8s.deployment(triton(startup_s=400))["spec"]["progressDeadlineSeconds"]
    assert slow >= 400 * k8s.STARTUP_SAFETY_FACTOR


# -- what a platform engineer expects in them ----------------------------------------------


def test_probes_hit_the_real_health_endpoints():
    flask_container = container(k8s.deployment(flask()))
    assert flask_container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert flask_container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert flask_container["ports"] == [{"name": "http", "containerPort": 5000, "protocol": "TCP"}]
    triton_container = container(k8s.deployment(triton()))
    assert triton_container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert triton_container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert {p["name"]: p["containerPort"] for p in triton_container["ports"]} == {
        "http": 8000,
        "metrics": 8002,
    }
    assert "--exit-timeout-secs=30" in triton_container["args"]


def test_labels_security_and_graceful_shutdown():
    manifest = k8s.deployment(flask())
    labels = {
        "app.kubernetes.io/name": "naive-serving",
        "app.kubernetes.io/component": "serving",
        "app.kubernetes.io/part-of": "infragap",
    }
    assert manifest["metadata"]["labels"] == labels
    pod = manifest["spec"]["template"]
    assert pod["metadata"]["labels"] == labels
    assert manifest["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["automountServiceAccountToken"] is False
    security = container(manifest)["securityContext"]
    assert security == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"name": "tmp", "mountPath": "/tmp"} in container(manifest)["volumeMounts"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace == k8s.PRESTOP_SLEEP_S + 30
    assert container(manifest)["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}


def test_an_hpa_managed_deployment_leaves_replicas_to_the_hpa():
    assert "replicas" not in k8s.deployment(flask())["spec"]
    assert k8s.deployment(flask(), replicas=4)["spec"]["replicas"] == 4


def test_service_selects_the_deployments_pods():
    service = k8s.service(triton())
    deployment = k8s.deployment(triton())
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("http", 8000, "http"),
        ("metrics", 8002, "metrics"),
    ]


def test_cpu_hpa_states_kubernetes_default_behaviour():
    hpa = k8s.hpa_cpu(flask(), min_replicas=2, max_replicas=12, cpu_utilisation=70)["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "naive-serving",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 12)
    assert hpa["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_queue_time_hpa_uses_the_metric_the_adapter_rule_exposes():
    hpa = k8s.hpa_queue_time(triton(), 2000)["spec"]
    (metric,) = hpa["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": "2000"}
    (rule,) = k8s.prometheus_adapter_config()["rules"]
    assert metric["pods"]["metric"]["name"] == rule["name"]["as"] == k8s.QUEUE_METRIC
    assert rule["seriesQuery"] == 'nv_inference_queue_duration_us{namespace!="",pod!=""}'
    assert rule["resources"] == {
        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    }
    assert rule["metricsQuery"] == (
        "sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>}[1m])) / clamp_min("
        "sum by (<<.GroupBy>>) (rate(nv_inference_request_success{<<.LabelMatchers>>}[1m])), "
        "1e-9)"
    )
    assert (
        k8s.hpa_queue_time(triton(), 1500.5)["spec"]["metrics"][0]["pods"]["target"]["averageValue"]
        == "1500500m"
    )


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus)")
def test_the_adapter_query_is_promql_once_its_templates_are_filled(tmp_path):
    from infragap.proven.prometheus.rules import check_rules
    from infragap.proven.prometheus.server import yaml_text

    (rule,) = k8s.prometheus_adapter_config(window="2m")["rules"]
    query = (
        rule["metricsQuery"]
        .replace("<<.Series>>", "nv_inference_queue_duration_us")
        .replace("<<.LabelMatchers>>", 'namespace="ml",pod=~"triton-.*"')
        .replace("<<.GroupBy>>", "pod")
    )
    assert "[2m]" in query
    document = {"groups": [{"name": "adapter", "rules": [{"record": "q", "expr": query}]}]}
    path = tmp_path / "adapter.yml"
    path.write_text(yaml_text(document))
    check_rules(path)


def test_training_job_is_a_run_to_completion_job():
    manifest = k8s.training_job(
        job(retries=3, deadline_s=7200, ttl_after_finished_s=600, non_retryable_exit_codes=(2,))
    )
    spec = manifest["spec"]
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert spec["backoffLimit"] == 3
    assert spec["activeDeadlineSeconds"] == 7200
    assert spec["ttlSecondsAfterFinished"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert container(manifest)["command"] == ["python", "-m", "infragap.naive.pipeline.train"]
    assert spec["podFailurePolicy"]["rules"] == [
        {
            "action": "FailJob",
            "onExitCodes": {"containerName": "train-ranker", "operator": "In", "values": [2]},
        },
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]


# -- bad inputs are refused with the fix -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Naive_Serving", "naive-serving"),
        ("-serving", "serving"),
        ("serving-", "serving"),
        ("1serving", "serving"),
        ("a" * 64, "a" * 63),
        ("", "model-server"),
    ],
)
def test_bad_names_are_refused_with_a_valid_suggestion(name, suggestion):
    with pytest.raises(ConfigError, match="not a valid Kubernetes name") as caught:
        k8s.flask_workload(name, FLASK_IMAGE, FLASK_COMMAND, cpu_cores=1, rss_mib=1, startup_s=1)
    assert f"(for example {suggestion!r})" in str(caught.value)
    assert k8s.check_name(suggestion) == suggestion


@pytest.mark.parametrize("field", ["cpu_cores", "rss_mib", "startup_s"])
@pytest.mark.parametrize("value", [0, -1.5, math.nan, math.inf, "2", True])
def test_measured_figures_must_be_positive_numbers(field, value):
    with pytest.raises(ConfigError, match=field):
        flask(**{field: value})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: flask(port=0), "port 0 is not a TCP port"),
        (lambda: flask(port=70000), "port 70000 is not a TCP port"),
        (lambda: flask(metrics_port=5000), "metrics_port 5000 is the serving port"),
        (lambda: flask(component="Serving Tier"), "not a valid label value"),
        (lambda: flask(memory_limit_factor=0.5), "memory_limit_factor 0.5 is below 1"),
        (lambda: flask(cpu_limit_factor=0.9), "cpu_limit_factor 0.9 is below 1"),
        (lambda: flask(gpus=-1), "gpus must be a whole number"),
        (lambda: flask(run_as_user=0), "run_as_user must be a whole number of at least 1"),
        (lambda: flask(env={"1BAD": "x"}), "environment variable name '1BAD'"),
        (lambda: flask(shm_mib=0), "shm_mib must be a whole number"),
        (lambda: flask(args="--port 5000"), "lists of words, not one string"),
        (
            lambda: k8s.ServingWorkload("x", FLASK_IMAGE, 80, "health", "/health", 1, 1, 1),
            "readiness_path 'health' is not an HTTP path",
        ),
        (
            lambda: k8s.flask_workload("x", "python", [], cpu_cores=1, rss_mib=1, startup_s=1),
            "image 'python' is not pinned",
        ),
        (
            lambda: k8s.flask_workload(
                "x", "reg:5000/py:latest", [], cpu_cores=1, rss_mib=1, startup_s=1
            ),
            "is not pinned",
        ),
        (lambda: job(deadline_s=0), "deadline_s must be a whole number of at least 1"),
        (lambda: job(retries=-1), "retries must be a whole number of at least 0"),
        (lambda: job(command=[]), "has no command"),
        (lambda: job(non_retryable_exit_codes=(0,)), "exit code 0 is not an exit status"),
        (lambda: k8s.hpa_cpu(flask(), min_replicas=5, max_replicas=2), "below min_replicas"),
        (lambda: k8s.hpa_cpu(flask(), min_replicas=0), "min_replicas must be"),
        (lambda: k8s.hpa_cpu(flask(), cpu_utilisation=0), "cpu_utilisation must be"),
        (lambda: k8s.hpa_cpu(flask(), scale_down_window_s=7200), "Kubernetes allows 0 to 3600"),
        (lambda: k8s.hpa_queue_time(triton(), 0), "target_queue_us_per_request must be a positive"),
        (lambda: k8s.prometheus_adapter_config(window="1 minute"), "not a Prometheus duration"),
        (lambda: k8s.deployment(flask(), replicas=-1), "replicas must be"),
    ],
)
def test_bad_inputs_are_config_errors_that_say_the_fix(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_pinned_images_are_accepted():
    for image in ("reg:5000/team/app:1.2", "app@sha256:" + "0" * 64, "nvcr.io/nvidia/x:24.08"):
        assert k8s.flask_workload("x", image, [], cpu_cores=1, rss_mib=1, startup_s=1).image


# -- YAML ----------------------------------------------------------------------------------------


def test_yaml_round_trips_every_manifest():
    yaml = pytest.importorskip("yaml")
    documents = [manifest for _, manifest in MANIFESTS]
    text = k8s.to_yaml(documents)
    assert text.count("\n---\n") == len(documents) - 1
    assert list(yaml.safe_load_all(text)) == documents


def test_yaml_refuses_floats_and_empty_documents():
    with pytest.raises(ConfigError, match=r"document 0\.spec\.x holds the float 1e-05"):
        k8s.to_yaml([{"spec": {"x": 1e-05}}])
    with pytest.raises(ConfigError, match="document 1 is not a manifest"):
        k8s.to_yaml([k8s.service(flask()), {}])
