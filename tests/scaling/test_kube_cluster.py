"""KubeSession against a fake Kubernetes API server on loopback.

The fake is a small threaded http.server here, not kmock 0.8: kmock parses
`/api/v1/namespaces` as a namespace scope with no name and answers POST there with a 500
(ValueError from its path parser), reads `GET /api/v1/namespaces/NAME` as "some resource
in namespace NAME", and serves no PUT on named objects, so a session that creates its
namespace could not be tested against it. The fake keeps objects by URL path, records
every request (method, path, query, body, headers), and can be told to fail a request,
to keep an object for a while after DELETE (as finalizers do), and to play a list of
statuses on successive reads.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

pytest.importorskip("kubernetes")

from infragap.errors import ConfigError, InfragapError
from infragap.proven.kubernetes.cluster import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    KubeCleanupError,
    KubeError,
    KubeNotReady,
    KubeSession,
    ReplicaSample,
    deployment_ready,
)

NS = "infragap-test"
PLURALS = {"namespaces", "services", "pods", "events", "deployments", "horizontalpodautoscalers",
           "jobs", "poddisruptionbudgets"}  # fmt: skip
NS_PATH = f"/api/v1/namespaces/{NS}"
DEPLOY_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/ranker"
SERVICE_PATH = f"/api/v1/namespaces/{NS}/services/ranker"
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/ranker"
JOB_PATH = f"/apis/batch/v1/namespaces/{NS}/jobs/warmup"
TOKEN = "test-token"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]  # names in lower case


@dataclass
class FakeApiServer:
    """Objects by path; `fail[(METHOD, path)] = status`; `linger[path] = reads` after a
    DELETE; `statuses[path] = [status, ...]` served one per read (the last one stays)."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    fail: dict[tuple[str, str], int] = field(default_factory=dict)
    linger: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, *methods: str) -> list[tuple[str, str]]:
        return [(s.method, s.path) for s in self.seen if s.method in methods]

    def handle(self, method: str, raw_path: str, body: Any) -> tuple[int, dict[str, Any]]:
        path = urlsplit(raw_path).path.rstrip("/")
        if (method, path) in self.fail:
            return _status(self.fail[(method, path)], "Injected", f"{method} {path} refused")
        parts = path.split("/")
        if parts[-1] in PLURALS:
            if method == "POST":
                return self._create(path, body)
            if method == "GET":
                query = dict(parse_qsl(urlsplit(raw_path).query))
                return 200, {"kind": "List", "items": self._list(path, query)}
        elif len(parts) > 1 and parts[-2] in PLURALS:
            return self._item(method, path, body)
        return _status(404, "NotFound", f"the server could not find {path}")

    def _create(self, collection: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body["metadata"]["name"]
        path = f"{collection}/{name}"
        if path in self.objects:
            return _status(409, "AlreadyExists", f'"{name}" already exists')
        obj = json.loads(json.dumps(body))
        obj["metadata"]["uid"] = f"uid-{len(self.seen)}"
        self.objects[path] = obj
        return 201, obj

    def _list(self, collection: str, query: dict[str, str]) -> list[dict[str, Any]]:
        wanted = dict(p.split("=", 1) for p in query.get("labelSelector", "").split(",") if p)
        return [
            obj
            for path, obj in self.objects.items()
            if path.rsplit("/", 1)[0] == collection
            and all(obj["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]

    def _item(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        obj = self.objects.get(path)
        if obj is None:
            return _status(404, "NotFound", f'"{path.rsplit("/", 1)[1]}" not found')
        if method == "GET":
            if obj["metadata"].get("deletionTimestamp"):
                if self.linger.get(path, 0) <= 0:
                    del self.objects[path]
                    return _status(404, "NotFound", "gone")
                self.linger[path] -= 1
            script = self.statuses.get(path)
            if script:
                obj["status"] = script.pop(0) if len(script) > 1 else script[0]
            return 200, obj
        if method == "PATCH":
            _merge(obj, body)
            return 200, obj
        if method == "DELETE":
            if self.linger.get(path, 0) > 0:
                obj["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
            else:
                del self.objects[path]
            return 200, {"kind": "Status", "status": "Success"}
        return _status(405, "MethodNotAllowed", method)


def _status(code: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                  "reason": reason, "message": message}  # fmt: skip


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _handler(fake: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with fake.lock:
                fake.seen.append(
                    Seen(self.command, urlsplit(self.path).path,
                         dict(parse_qsl(urlsplit(self.path).query)), body,
                         {k.lower(): v for k, v in self.headers.items()})
                )  # fmt: skip
                code, answer = fake.handle(self.command, self.path, body)
                data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[tuple[FakeApiServer, str]]:
    fake = FakeApiServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake-kube-api", daemon=True
    )
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_kubeconfig(path: Path, server_url: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server_url,
                                                   "insecure-skip-tls-verify": True}}],
        "users": [{"name": "tester", "user": {"token": TOKEN}}],
        "contexts": [
            {"name": "fake", "context": {"cluster": "fake", "user": "tester"}},
            {"name": "other", "context": {"cluster": "fake", "user": "tester"}},
        ],
        "current-context": "other",
    }  # fmt: skip
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


@pytest.fixture
def kubeconfig(api: tuple[FakeApiServer, str], tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", api[1])


@pytest.fixture
def fake(api: tuple[FakeApiServer, str]) -> FakeApiServer:
    return api[0]


def session(kubeconfig: Path, **options: Any) -> KubeSession:
    options = {"poll_s": 0.01, "delete_timeout_s": 5.0, "request_timeout_s": 5.0, **options}
    return KubeSession(kube_context="fake", kubeconfig=kubeconfig, namespace=NS, **options)


def manifests(job: bool = False) -> list[dict[str, Any]]:
    labels = {"app": "ranker"}
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ranker", "labels": dict(labels)},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "server", "image": "ranker:1"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ranker"},
            "spec": {"selector": labels, "ports": [{"port": 8000, "targetPort": 8000}]},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "ranker"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ranker"},
                "minReplicas": 2,
                "maxReplicas": 6,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 60},
                        },
                    }
                ],
            },
        },
    ]
    if job:
        docs.append(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "warmup"},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "warm", "image": "ranker:1"}],
                        }
                    }
                },
            }
        )
    return docs


APPLIED = [DEPLOY_PATH, SERVICE_PATH, HPA_PATH, JOB_PATH]
DELETED_IN_ORDER = [("DELETE", p) for p in [JOB_PATH, HPA_PATH, SERVICE_PATH, DEPLOY_PATH, NS_PATH]]


def collection(path: str) -> str:
    return path.rsplit("/", 1)[0]


# --- apply --------------------------------------------------------------------------------


def test_apply_creates_the_labelled_namespace_then_each_object(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    docs = manifests(job=True)
    with session(kubeconfig) as kube:
        refs = kube.apply(docs)
        assert [str(ref) for ref in refs] == [
            f"Deployment ranker in namespace {NS}",
            f"Service ranker in namespace {NS}",
            f"HorizontalPodAutoscaler ranker in namespace {NS}",
            f"Job warmup in namespace {NS}",
        ]
        posts = [s for s in fake.seen if s.method == "POST"]
        assert [s.path for s in posts] == ["/api/v1/namespaces"] + [collection(p) for p in APPLIED]
        assert posts[0].body["metadata"] == {"name": NS, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}
        for post, doc in zip(posts[1:], docs, strict=True):
            assert post.body["kind"] == doc["kind"]
            assert post.body["spec"] == doc["spec"]
            assert post.body["metadata"]["namespace"] == NS
            assert post.body["metadata"]["labels"][MANAGED_BY_LABEL] == MANAGED_BY
        assert set(fake.objects) == {NS_PATH, *APPLIED}
        # the kubeconfig's context and credentials were used
        assert all(s.headers.get("authorization") == f"Bearer {TOKEN}" for s in fake.seen)
    assert "labels" not in docs[1]["metadata"], "the caller's manifests are not modified"
    assert fake.objects == {}


def test_an_object_left_by_an_earlier_run_is_patched_not_duplicated(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.objects[NS_PATH] = {"metadata": {"name": NS}}  # the user's namespace: kept
    fake.objects[DEPLOY_PATH] = {
        "metadata": {"name": "ranker", "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        "spec": {"replicas": 1},
    }
    with session(kubeconfig) as kube:
        kube.apply(manifests()[:1])
        assert fake.calls("POST", "PATCH") == [
            ("POST", collection(DEPLOY_PATH)),
            ("PATCH", DEPLOY_PATH),
        ]
        patch = next(s for s in fake.seen if s.method == "PATCH")
        assert patch.headers["content-type"] == "application/strategic-merge-patch+json"
        assert fake.objects[DEPLOY_PATH]["spec"]["replicas"] == 2
        kube.apply(manifests()[:1])  # applying again patches again
        assert fake.calls("POST", "PATCH")[-1] == ("PATCH", DEPLOY_PATH)
        assert [ref.name for ref in kube.owned] == ["ranker"]
    assert fake.calls("DELETE") == [("DELETE", DEPLOY_PATH)]
    assert NS_PATH in fake.objects


def test_an_object_we_did_not_create_is_refused_and_left_alone(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.objects[SERVICE_PATH] = {"metadata": {"name": "ranker"}, "spec": {"ports": []}}
    with pytest.raises(KubeError) as caught, session(kubeconfig) as kube:
        kube.apply(manifests())
    message = str(caught.value)
    assert f"Service ranker in namespace {NS} already exists" in message
    assert "--kube-namespace" in message
    assert f"kubectl delete service ranker -n {NS}" in message
    assert fake.calls("PATCH") == []
    assert fake.calls("DELETE") == [("DELETE", DEPLOY_PATH), ("DELETE", NS_PATH)]
    assert list(fake.objects) == [SERVICE_PATH]


def test_a_namespace_we_may_not_read_is_used_as_given_and_kept(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.fail[("GET", NS_PATH)] = 403  # a user whose Role covers one namespace only
    with session(kubeconfig) as kube:
        kube.apply(manifests()[:1])
    assert fake.calls("POST") == [("POST", collection(DEPLOY_PATH))]
    assert fake.calls("DELETE") == [("DELETE", DEPLOY_PATH)]


def test_a_namespace_still_being_deleted_is_named_with_the_fix(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.objects[NS_PATH] = {"metadata": {"name": NS}, "status": {"phase": "Terminating"}}
    with pytest.raises(KubeError) as caught, session(kubeconfig) as kube:
        kube.apply(manifests())
    assert str(caught.value) == (
        f"namespace {NS} is still being deleted: wait until `kubectl get namespace {NS}` "
        "says NotFound, or pass another --kube-namespace"
    )
    assert fake.calls("POST", "DELETE") == []


def test_a_manifest_of_another_kind_is_refused_before_anything_is_sent(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    docs = [*manifests(), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]
    refused = pytest.raises(KubeError, match="cannot apply v1 ConfigMap: infragap applies only")
    with refused, session(kubeconfig) as kube:
        kube.apply(docs)
    assert fake.seen == []


def test_a_refusal_names_the_request_and_the_server_message(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.fail[("POST", collection(HPA_PATH))] = 403
    with pytest.raises(KubeError) as caught, session(kubeconfig) as kube:
        kube.apply(manifests())
    message = str(caught.value)
    assert "refused to create HorizontalPodAutoscaler: 403" in message
    assert "refused" in message and "kubectl auth can-i" in message
    # what had been created is gone, newest first; the refused HPA is not deleted
    assert fake.calls("DELETE") == [
        ("DELETE", SERVICE_PATH),
        ("DELETE", DEPLOY_PATH),
        ("DELETE", NS_PATH),
    ]
    assert fake.objects == {}


# --- wait_ready ---------------------------------------------------------------------------


def test_wait_ready_returns_once_ready_replicas_reach_replicas(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.statuses[DEPLOY_PATH] = [
        {"replicas": 2, "readyReplicas": 0},
        {"replicas": 2, "readyReplicas": 1},
        {"replicas": 2, "readyReplicas": 2},
    ]
    with session(kubeconfig) as kube:
        kube.apply(manifests()[:1])
        deployment = kube.wait_ready("ranker", timeout_s=5.0)
        assert deployment["status"]["readyReplicas"] == 2
        assert fake.calls("GET").count(("GET", DEPLOY_PATH)) == 3


def test_wait_ready_times_out_with_the_pods_conditions_and_events(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake.statuses[DEPLOY_PATH] = [
        {
            "replicas": 2,
            "readyReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability."},
            ],
        }
    ]  # fmt: skip
    pods = f"/api/v1/namespaces/{NS}/pods"
    fake.objects[f"{pods}/ranker-7d9-a"] = {
        "metadata": {"name": "ranker-7d9-a", "labels": {"app": "ranker"}},
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available: 3 Insufficient cpu."},
            ],
        },
    }  # fmt: skip
    fake.objects[f"{pods}/ranker-7d9-b"] = {
        "metadata": {"name": "ranker-7d9-b", "labels": {"app": "ranker"}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "server", "restartCount": 0, "state": {"running": {}}}],
        },
    }
    fake.objects[f"{pods}/other-1"] = {"metadata": {"name": "other-1", "labels": {"app": "x"}}}
    events = f"/api/v1/namespaces/{NS}/events"
    fake.objects[f"{events}/e1"] = {
        "metadata": {"name": "e1"},
        "type": "Warning",
        "reason": "FailedScheduling",
        "message": "0/3 nodes are available: 3 Insufficient cpu.",
        "involvedObject": {"kind": "Pod", "name": "ranker-7d9-a"},
        "lastTimestamp": "2024-01-01T00:00:02Z",
    }
    fake.objects[f"{events}/e2"] = {
        "metadata": {"name": "e2"},
        "type": "Normal",
        "reason": "Pulled",
        "message": "about someone else",
        "involvedObject": {"kind": "Pod", "name": "rankerx-1"},
    }
    with pytest.raises(KubeNotReady) as caught, session(kubeconfig) as kube:
        kube.apply(manifests()[:1])
        kube.wait_ready("ranker", timeout_s=0.05)
    message = str(caught.value)
    assert message.startswith(
        f"Deployment ranker in namespace {NS} was not ready after 0.05 s: 1 of 2 replicas ready."
    )
    assert "Available=False MinimumReplicasUnavailable: Deployment does not have" in message
    assert (
        "ranker-7d9-a: Pending; PodScheduled=False Unschedulable: "
        "0/3 nodes are available: 3 Insufficient cpu." in message
    )
    assert "ranker-7d9-b: Running" in message
    assert "other-1" not in message
    assert "Warning FailedScheduling pod/ranker-7d9-a: 0/3 nodes" in message
    assert "someone else" not in message
    assert f"kubectl describe deployment ranker -n {NS}" in message
    pod_list = next(s for s in fake.seen if s.path == pods)
    assert pod_list.query == {"labelSelector": "app=ranker"}
    assert isinstance(caught.value, InfragapError)
    assert DEPLOY_PATH not in fake.objects


def test_ready_means_all_replicas_ready_for_the_latest_spec() -> None:
    def deployment(generation: int, observed: int, ready: int) -> dict[str, Any]:
        return {
            "metadata": {"generation": generation},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": observed, "readyReplicas": ready},
        }

    assert deployment_ready(deployment(3, 3, 2))
    assert not deployment_ready(deployment(3, 3, 1))
    assert not deployment_ready(deployment(4, 3, 2)), "the controller has not seen the new spec"
    assert deployment_ready({"spec": {}, "status": {"readyReplicas": 1}}), "replicas default to 1"


# --- replica samples ----------------------------------------------------------------------


def test_replica_samples_are_read_from_the_deployment_and_the_hpa(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    with session(kubeconfig) as kube:
        kube.apply(manifests())
        fake.objects[DEPLOY_PATH]["status"] = {"replicas": 2, "readyReplicas": 2}
        fake.objects[HPA_PATH]["status"] = {"currentReplicas": 2, "desiredReplicas": 4}
        assert kube.sample_replicas("ranker", "ranker", t_s=1.5) == ReplicaSample(1.5, 2, 4, 2)
        fake.objects[DEPLOY_PATH]["spec"]["replicas"] = 4
        fake.objects[DEPLOY_PATH]["status"] = {"replicas": 4, "readyReplicas": 3}
        fake.objects[HPA_PATH]["status"] = {"currentReplicas": 4, "desiredReplicas": 4}
        assert kube.sample_replicas("ranker", "ranker") == ReplicaSample(0.0, 3, 4, 4)
        # without an HPA: the Deployment's own counts
        assert kube.sample_replicas("ranker") == ReplicaSample(0.0, 3, 4, 4)
        del fake.objects[HPA_PATH]["status"]  # a new HPA has no status yet
        assert kube.sample_replicas("ranker", "ranker") == ReplicaSample(0.0, 3, 4, 4)


def test_replica_samples_run_beside_the_load_until_stopped(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    ticks = itertools.count()  # a clock that moves one interval per reading
    with session(kubeconfig) as kube:
        kube.apply(manifests())
        fake.statuses[DEPLOY_PATH] = [{"readyReplicas": n, "replicas": n} for n in (2, 3, 4)]
        fake.statuses[HPA_PATH] = [{"currentReplicas": 2, "desiredReplicas": 4}]
        stop = threading.Event()
        result: list[list[ReplicaSample]] = []
        thread = threading.Thread(
            target=lambda: result.append(
                kube.replica_samples("ranker", "ranker", 1.0, stop, clock=lambda: next(ticks))
            )
        )
        thread.start()
        try:
            while len(fake.calls("GET")) < 8:  # 2 reads per sample: 4 samples in
                threading.Event().wait(0.005)
        finally:
            stop.set()
            thread.join(timeout=5)
        samples = result[0]
    assert len(samples) >= 5
    assert samples[0] == ReplicaSample(0.0, 2, 4, 2)
    assert [s.ready for s in samples[:3]] == [2, 3, 4]
    assert [s.t_s for s in samples] == sorted(s.t_s for s in samples)
    assert all(s.desired == 4 for s in samples)


def test_an_api_error_while_sampling_reaches_the_caller(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    with session(kubeconfig) as kube:
        kube.apply(manifests())
        fake.fail[("GET", HPA_PATH)] = 500
        with pytest.raises(KubeError, match="refused to read HorizontalPodAutoscaler: 500"):
            kube.replica_samples("ranker", "ranker", 0.01, threading.Event())
        del fake.fail[("GET", HPA_PATH)]


# --- clean-up -----------------------------------------------------------------------------


def test_cleanup_on_success_deletes_newest_first_and_waits(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    fake_lingering = {DEPLOY_PATH: 3, NS_PATH: 2}
    with session(kubeconfig) as kube:
        kube.apply(manifests(job=True))
        fake.linger.update(fake_lingering)
    assert fake.calls("DELETE") == DELETED_IN_ORDER
    deletes = [s for s in fake.seen if s.method == "DELETE"]
    assert all(s.query == {"propagationPolicy": "Foreground"} for s in deletes)
    # the namespace was deleted only once the Deployment was gone (after its lingering reads)
    order = [(s.method, s.path) for s in fake.seen]
    last_deploy_read = max(i for i, c in enumerate(order) if c == ("GET", DEPLOY_PATH))
    assert last_deploy_read < order.index(("DELETE", NS_PATH))
    assert fake.objects == {}
    assert kube.owned == []


def test_cleanup_on_an_exception_deletes_everything_and_the_error_goes_on(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    with pytest.raises(RuntimeError, match="load generator crashed"), session(kubeconfig) as kube:
        kube.apply(manifests(job=True))
        raise RuntimeError("load generator crashed")
    assert fake.calls("DELETE") == DELETED_IN_ORDER
    assert fake.objects == {}


def test_cleanup_on_ctrl_c_mid_run(fake: FakeApiServer, kubeconfig: Path) -> None:
    with pytest.raises(KeyboardInterrupt), session(kubeconfig) as kube:
        kube.apply(manifests(job=True))
        raise KeyboardInterrupt
    assert fake.calls("DELETE") == DELETED_IN_ORDER
    assert fake.objects == {}


def test_cleanup_on_ctrl_c_while_waiting_for_ready(
    fake: FakeApiServer, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_sleep = time.sleep
    pressed: list[float] = []

    def ctrl_c_once(seconds: float) -> None:
        if not pressed:
            pressed.append(seconds)
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", ctrl_c_once)
    with pytest.raises(KeyboardInterrupt), session(kubeconfig) as kube:
        kube.apply(manifests(job=True))  # no status: never ready
        kube.wait_ready("ranker", timeout_s=60.0)
    assert pressed
    assert fake.calls("DELETE") == DELETED_IN_ORDER
    assert fake.objects == {}


def test_cleanup_that_times_out_names_what_is_left_and_how_to_delete_it(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    with (
        pytest.raises(KubeCleanupError) as caught,
        session(kubeconfig, delete_timeout_s=0.1) as kube,
    ):
        kube.apply(manifests())
        fake.linger[DEPLOY_PATH] = fake.linger[NS_PATH] = 10**6
    message = str(caught.value)
    assert f"Deployment ranker in namespace {NS}: still there after 0.1 s" in message
    assert f"kubectl delete deployment ranker -n {NS}" in message
    assert f"kubectl delete namespace {NS}" in message  # not gone in time either
    assert ("DELETE", NS_PATH) in fake.calls("DELETE")  # but its deletion was asked for
    assert [ref.kind.kind for ref in kube.owned] == ["Namespace", "Deployment"]


def test_a_failed_cleanup_does_not_hide_the_runs_own_error(
    fake: FakeApiServer, kubeconfig: Path
) -> None:
    failed = pytest.raises(RuntimeError, match="load failed")
    with failed, session(kubeconfig, delete_timeout_s=0.05) as kube:
        kube.apply(manifests()[:1])
        fake.linger[DEPLOY_PATH] = 10**6
        raise RuntimeError("load failed")
    assert isinstance(kube.cleanup_error, KubeCleanupError)
    assert "kubectl delete deployment ranker" in str(kube.cleanup_error)


# --- configuration ------------------------------------------------------------------------


def test_a_missing_kubeconfig_is_a_config_error_naming_the_option(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        KubeSession(kubeconfig=missing)
    assert str(caught.value).startswith(f"--kubeconfig {missing}: no such file: pass the path")


def test_no_kubeconfig_anywhere_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(ConfigError) as caught:
        KubeSession(kube_context="prod")
    message = str(caught.value)
    assert f"no usable kubeconfig at $KUBECONFIG ({tmp_path / 'absent'})" in message
    assert "--kubeconfig PATH" in message


def test_an_unknown_context_is_a_config_error_listing_the_known_ones(kubeconfig: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        KubeSession(kube_context="prod", kubeconfig=kubeconfig)
    assert str(caught.value) == (
        f"--kube-context prod: no such context in --kubeconfig {kubeconfig}: pass one of "
        "fake, other (`kubectl config get-contexts` lists them)"
    )


def test_an_invalid_namespace_name_is_a_config_error(kubeconfig: Path) -> None:
    with pytest.raises(ConfigError, match="--kube-namespace 'Bad_NS' is not a valid"):
        KubeSession(kube_context="fake", kubeconfig=kubeconfig, namespace="Bad_NS")


def test_an_unreachable_api_server_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    with pytest.raises(KubeError) as caught, session(config, request_timeout_s=2.0) as kube:
        kube.apply(manifests())
    assert f"the API server at http://127.0.0.1:{port} could not be reached" in str(caught.value)
