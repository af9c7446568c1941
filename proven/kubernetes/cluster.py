"""The scaling pair on the user's own cluster: apply, wait, sample replicas, clean up.

Used when the user passes --kube-context NAME or --kubeconfig PATH. A KubeSession talks
to the API server through the official `kubernetes` client and applies plain-dict
manifests (Namespace, Service, apps/v1 Deployment, autoscaling/v2 HorizontalPodAutoscaler,
batch/v1 Job) into one namespace. When its `with` block ends, on success, on an error or
on Ctrl-C, it deletes what it owns, newest first, and waits until each object is gone; a
second Ctrl-C is held back until the deletions are done.

Ownership: every applied object carries the label app.kubernetes.io/managed-by=infragap.
An object this session creates, or finds already carrying that label (left by an earlier
run that was killed), is ours: it is patched with the manifest, never duplicated, and
deleted at the end. An object of the same name without the label is the user's: `apply`
refuses it rather than change it, and clean-up never deletes an object without the label.
A namespace that exists without the label is used as given and kept.

Reaching the Service is left to the user, on purpose: the API server's port-forward
(`kubernetes.stream.portforward`, as `kubectl port-forward svc/NAME`) connects to one pod
of the Service, so all the load would reach one replica whatever the HPA does, and the
scaling being measured would be invisible. The caller takes --kube-service-url: a URL that
balances over the Service's pods (a LoadBalancer or NodePort address, an Ingress), and
drives that. `kubectl port-forward` is fine for a smoke test only.

The logic on objects (`deployment_ready`, `replica_sample`, `not_ready_message`) takes and
returns plain dicts; `KubeSession` holds the few API calls.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import urllib3

from infragap.errors import ConfigError, InfragapError, MissingDependency
from infragap.processes import signals_held

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "infragap"
DEFAULT_NAMESPACE = "infragap-scaling"
CONTEXT_OPTION = "--kube-context"
KUBECONFIG_OPTION = "--kubeconfig"
NAMESPACE_OPTION = "--kube-namespace"
READY_TIMEOUT_S = 300.0
DELETE_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 30.0
POLL_S = 1.0
EVENTS_SHOWN = 10

_LOG = logging.getLogger(__name__)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class KubeError(InfragapError):
    """The cluster refused a request, or never reached the state asked for."""


class KubeApiError(KubeError):
    """The API server answered a request with an error status (kept in `status`)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class KubeNotReady(KubeError):
    """A Deployment was not ready in time; the message lists its pods' conditions and events."""


class KubeCleanupError(KubeError):
    """Objects this run created are still in the cluster; the message says how to delete them."""


@dataclass(frozen=True)
class Kind:
    """One kind of object we apply, and the client's API class and method names for it."""

    api_version: str
    kind: str
    api: str  # the client class, e.g. AppsV1Api
    method: str  # e.g. "deployment" in create_namespaced_deployment
    namespaced: bool = True

    def __str__(self) -> str:
        return self.kind


NAMESPACE = Kind("v1", "Namespace", "CoreV1Api", "namespace", namespaced=False)
DEPLOYMENT = Kind("apps/v1", "Deployment", "AppsV1Api", "deployment")
HPA = Kind(
    "autoscaling/v2", "HorizontalPodAutoscaler", "AutoscalingV2Api", "horizontal_pod_autoscaler"
)
KINDS = {
    (kind.api_version, kind.kind): kind
    for kind in (
        NAMESPACE,
        DEPLOYMENT,
        HPA,
        Kind("v1", "Service", "CoreV1Api", "service"),
        Kind("batch/v1", "Job", "BatchV1Api", "job"),
        Kind("policy/v1", "PodDisruptionBudget", "PolicyV1Api", "pod_disruption_budget"),
    )
}


@dataclass(frozen=True)
class ObjectRef:
    """One object in the cluster, as named in messages and in `kubectl` commands."""

    kind: Kind
    name: str
    namespace: str | None  # None for a cluster-wide object (a Namespace)

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}"

    def delete_command(self) -> str:
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"kubectl delete {self.kind.kind.lower()} {self.name}{where}"


class ReplicaSample(NamedTuple):
    """The replica counts read from the API at one moment of a run."""

    t_s: float  # seconds since sampling began
    ready: int  # the Deployment's status.readyReplicas
    desired: int  # the HPA's status.desiredReplicas; without one, the Deployment's spec.replicas
    current: int  # the HPA's status.currentReplicas; without one, the Deployment's status.replicas


# --- the pure core: plain dicts in, plain values out ----------------------------------


def kind_of(document: Mapping[str, Any]) -> Kind:
    key = (document.get("apiVersion"), document.get("kind"))
    if key not in KINDS:
        known = ", ".join(f"{k.api_version} {k.kind}" for k in KINDS.values())
        raise KubeError(f"cannot apply {key[0]} {key[1]}: infragap applies only {known}")
    return KINDS[key]


def is_managed(obj: Mapping[str, Any]) -> bool:
    """Whether the object carries our managed-by label."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY


def labelled(document: Mapping[str, Any], namespace: str | None) -> dict[str, Any]:
    """A copy of the manifest with our label, placed in `namespace` (None: cluster-wide)."""
    body = copy.deepcopy(dict(document))
    metadata = body.setdefault("metadata", {})
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise KubeError(
            f"a {body.get('kind')} manifest has no metadata.name: every object needs one"
        )
    given = metadata.get("namespace")
    if namespace is not None:
        if given not in (None, namespace):
            raise KubeError(
                f"{body.get('kind')} {name} names namespace {given}, but this run applies into "
                f"{namespace}: drop metadata.namespace from the manifest or pass "
                f"{NAMESPACE_OPTION} {given}"
            )
        metadata["namespace"] = namespace
    metadata.setdefault("labels", {})[MANAGED_BY_LABEL] = MANAGED_BY
    return body


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int) else default


def deployment_ready(deployment: Mapping[str, Any]) -> bool:
    """readyReplicas == replicas, as observed by the controller for the latest spec."""
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation = (deployment.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return False
    return _int(status.get("readyReplicas")) == _int(spec.get("replicas"), 1)


def replica_sample(
    t_s: float, deployment: Mapping[str, Any], hpa: Mapping[str, Any] | None
) -> ReplicaSample:
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    hpa_status = (hpa or {}).get("status") or {}
    return ReplicaSample(
        t_s=t_s,
        ready=_int(status.get("readyReplicas")),
        desired=_int(hpa_status.get("desiredReplicas"), _int(spec.get("replicas"), 1)),
        current=_int(hpa_status.get("currentReplicas"), _int(status.get("replicas"))),
    )


def _condition_lines(conditions: Iterable[Mapping[str, Any]], only_false: bool) -> list[str]:
    lines = []
    for cond in conditions:
        if only_false and cond.get("status") == "True":
            continue
        reason = f" {cond['reason']}" if cond.get("reason") else ""
        message = f": {cond['message']}" if cond.get("message") else ""
        lines.append(f"{cond.get('type')}={cond.get('status')}{reason}{message}")
    return lines


def _pod_line(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    parts = [str(status.get("phase", "Unknown"))]
    parts += _condition_lines(status.get("conditions") or [], only_false=True)
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        for what in ("waiting", "terminated"):
            if what in state:
                detail = state[what] or {}
                code = f" exit code {detail['exitCode']}" if "exitCode" in detail else ""
                message = f": {detail['message']}" if detail.get("message") else ""
                parts.append(
                    f"container {container.get('name')} {what}: "
                    f"{detail.get('reason', '')}{code}{message}"
                )
        if container.get("restartCount"):
            parts.append(
                f"container {container.get('name')} restarted {container['restartCount']}x"
            )
    return f"{(pod.get('metadata') or {}).get('name')}: " + "; ".join(parts)


def _event_time(event: Mapping[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def not_ready_message(
    deployment: Mapping[str, Any],
    pods: list[dict[str, Any]] | str,
    events: list[dict[str, Any]] | str,
    timeout_s: float,
) -> str:
    """Why a Deployment is not ready: its conditions, its pods', and the latest events about
    it, its ReplicaSets and its pods. `pods`/`events` are a string when they could not be read.
    """
    metadata = deployment.get("metadata") or {}
    name, namespace = metadata.get("name"), metadata.get("namespace")
    sample = replica_sample(0.0, deployment, None)
    lines = [
        f"Deployment {name} in namespace {namespace} was not ready after {timeout_s:g} s: "
        f"{sample.ready} of {sample.desired} replicas ready."
    ]
    conditions = _condition_lines((deployment.get("status") or {}).get("conditions") or [], False)
    if conditions:
        lines += ["Deployment conditions:", *(f"  {line}" for line in conditions)]
    if isinstance(pods, str):
        lines.append(f"Pods: {pods}")
    else:
        lines += ["Pods:", *(f"  {_pod_line(pod)}" for pod in pods)] if pods else ["Pods: none"]
    if isinstance(events, str):
        lines.append(f"Events: {events}")
    else:
        # Events about the Deployment, its ReplicaSets (NAME-hash) and pods (NAME-hash-id).
        ours = [e for e in events if _about(e, str(name))]
        ours.sort(key=_event_time)
        shown = [
            f"  {e.get('type', '')} {e.get('reason', '')} "
            f"{(e.get('involvedObject') or {}).get('kind', '').lower()}/"
            f"{(e.get('involvedObject') or {}).get('name', '')}: {e.get('message', '')}"
            for e in ours[-EVENTS_SHOWN:]
        ]
        lines += [f"Events (latest {len(shown)}):", *shown] if shown else ["Events: none"]
    lines.append(
        f"Fix the cause above, or allow more time if the pods are only slow to start "
        f"(`kubectl describe deployment {name} -n {namespace}` shows the same)."
    )
    return "\n".join(lines)


def _about(event: Mapping[str, Any], name: str) -> bool:
    involved = str((event.get("involvedObject") or {}).get("name", ""))
    return involved == name or involved.startswith(f"{name}-")


def _selector(deployment: Mapping[str, Any]) -> dict[str, str]:
    return dict(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})


def _matches(obj: Mapping[str, Any], selector: Mapping[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


# --- the I/O: configuration and the API calls -----------------------------------------


def _kubernetes() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise MissingDependency(
            f"the kubernetes Python client (needed by {CONTEXT_OPTION}/{KUBECONFIG_OPTION})",
            "scaling",
        ) from None
    return kubernetes


def connect(kube_context: str | None = None, kubeconfig: str | Path | None = None) -> Any:
    """An ApiClient for `kube_context` in `kubeconfig` ($KUBECONFIG or ~/.kube/config when
    None). A missing file, an unknown context or a broken kubeconfig is a ConfigError."""
    kubernetes = _kubernetes()
    if kubeconfig is not None:
        config_file = str(Path(kubeconfig).expanduser())
        where = f"{KUBECONFIG_OPTION} {kubeconfig}"
        if not Path(config_file).is_file():
            raise ConfigError(
                f"{where}: no such file: pass the path of a kubeconfig file "
                f"(`kubectl config view --raw > FILE` writes one), or leave {KUBECONFIG_OPTION} "
                "out to use $KUBECONFIG or ~/.kube/config"
            )
    elif os.environ.get("KUBECONFIG"):
        config_file = os.environ["KUBECONFIG"]
        where = f"$KUBECONFIG ({config_file})"
    else:
        config_file = str(Path("~/.kube/config").expanduser())
        where = config_file
    try:
        contexts, _ = kubernetes.config.list_kube_config_contexts(config_file)
    except Exception as exc:  # ConfigException, yaml errors, KeyError/TypeError on odd files
        raise ConfigError(
            f"no usable kubeconfig at {where}: {exc}: pass {KUBECONFIG_OPTION} PATH of a "
            f"kubeconfig that works with kubectl, and {CONTEXT_OPTION} NAME if it has no "
            "current context"
        ) from None
    names = [str(context.get("name")) for context in contexts or []]
    if kube_context is not None and kube_context not in names:
        raise ConfigError(
            f"{CONTEXT_OPTION} {kube_context}: no such context in {where}: pass one of "
            f"{', '.join(names) or '(none: the file has no contexts)'} "
            "(`kubectl config get-contexts` lists them)"
        )
    try:
        # persist_config=False: never write refreshed tokens back into the user's file.
        return kubernetes.config.new_client_from_config(
            config_file=config_file, context=kube_context, persist_config=False
        )
    except Exception as exc:
        raise ConfigError(
            f"the kubeconfig at {where} cannot be used for context "
            f"{kube_context or '(current)'}: {exc}: check it with `kubectl config view`"
        ) from None


def _api_message(exc: Any) -> str:
    """The `message` of the Status body the API server sends with an error."""
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.body or exc.reason or "").strip()[:500]


class KubeSession:
    """Objects applied into one namespace of a user's cluster, deleted when the `with`
    block ends (however it ends). See the module docstring for what is deleted.

        with KubeSession(kube_context="prod", namespace="infragap-scaling") as kube:
            kube.apply([deployment, service, hpa])
            kube.wait_ready("ranker", timeout_s=300)
            stop = threading.Event()
            with ThreadPoolExecutor(1) as pool:
                sampling = pool.submit(kube.replica_samples, "ranker", "ranker", 5.0, stop)
                try:
                    ...  # drive load at --kube-service-url
                finally:
                    stop.set()
                samples = sampling.result()  # re-raises an API error met while sampling

    A clean-up that fails raises KubeCleanupError when the block ended normally; when it
    ends with an exception, that exception goes on and the clean-up error is logged and
    kept in `cleanup_error` (for the results' warnings).
    """

    def __init__(
        self,
        *,
        kube_context: str | None = None,
        kubeconfig: str | Path | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        delete_timeout_s: float = DELETE_TIMEOUT_S,
        poll_s: float = POLL_S,
    ) -> None:
        if not _DNS_LABEL.match(namespace):
            raise ConfigError(
                f"{NAMESPACE_OPTION} {namespace!r} is not a valid namespace name: use at most "
                "63 lower-case letters, digits and '-', starting and ending with a letter or digit"
            )
        self.namespace = namespace
        self.request_timeout_s = request_timeout_s
        self.delete_timeout_s = delete_timeout_s
        self.poll_s = poll_s
        self.owned: list[ObjectRef] = []  # in the order applied; deleted in reverse
        self.cleanup_error: KubeCleanupError | None = None
        self._namespace_checked = False
        self._kubernetes = _kubernetes()
        self.api_client = connect(kube_context, kubeconfig)
        self._apis: dict[str, Any] = {}

    # -- the API calls: every one returns the JSON body as a dict ------------------------

    def _call(self, kind: Kind, verb: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        scope = "namespaced_" if kind.namespaced else ""
        name = f"{verb}_{scope}{kind.method}"
        if kind.api not in self._apis:
            self._apis[kind.api] = getattr(self._kubernetes.client, kind.api)(self.api_client)
        if kind.namespaced:  # create_namespaced_x(ns, body), but read_namespaced_x(name, ns)
            at = 0 if verb in ("create", "list") else 1
            args = (*args[:at], self.namespace, *args[at:])
        return self._send(getattr(self._apis[kind.api], name), f"{verb} {kind}", *args, **kwargs)

    def _send(
        self, method: Callable[..., Any], what: str, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        client = self._kubernetes.client
        try:
            response = method(
                *args, _preload_content=False, _request_timeout=self.request_timeout_s, **kwargs
            )
        except client.ApiException as exc:
            raise self._api_error(exc, what) from None
        except urllib3.exceptions.HTTPError as exc:
            host = self.api_client.configuration.host
            raise KubeError(
                f"the API server at {host} could not be reached to {what} ({exc}): check that "
                f"the cluster is up and that `kubectl get namespace {self.namespace}` works"
            ) from None
        try:
            return dict(json.loads(response.data or b"{}"))
        finally:
            response.release_conn()

    def _api_error(self, exc: Any, what: str) -> KubeApiError:
        status = int(exc.status or 0)
        message = f"the API server refused to {what}: {status} {_api_message(exc)}"
        if status in (401, 403):
            message += (
                ": the credentials of this context lack the right (`kubectl auth can-i "
                f"--list -n {self.namespace}` shows what they allow)"
            )
        elif status == 422:
            message += ": the manifest is invalid for this cluster's API version"
        return KubeApiError(message, status)

    def read(self, kind: Kind, name: str) -> dict[str, Any]:
        return self._call(kind, "read", name)

    # -- apply ----------------------------------------------------------------------------

    def ensure_namespace(self) -> None:
        """Create the namespace (labelled as ours) unless it exists; adopt it if it is ours."""
        if self._namespace_checked:
            return
        ref = ObjectRef(NAMESPACE, self.namespace, None)
        try:
            existing = self.read(NAMESPACE, self.namespace)
        except KubeApiError as exc:
            if exc.status == 403:  # a user bound to one namespace may not read it: use it
                self._namespace_checked = True
                return
            if exc.status != 404:
                raise
            manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ref.name}}
            self._create_owned(ref, labelled(manifest, None))
            self._namespace_checked = True
            return
        if (existing.get("status") or {}).get("phase") == "Terminating":
            raise KubeError(
                f"namespace {self.namespace} is still being deleted: wait until `kubectl get "
                f"namespace {self.namespace}` says NotFound, or pass another {NAMESPACE_OPTION}"
            )
        if is_managed(existing) and ref not in self.owned:
            self.owned.append(ref)  # left by an earlier run that was killed
        self._namespace_checked = True

    def _create_owned(self, ref: ObjectRef, body: dict[str, Any]) -> None:
        # Owned before the request is sent: if it is cut short (Ctrl-C, a timeout), the object
        # may exist, and clean-up reads it before deleting it (only when labelled ours).
        self.owned.append(ref)
        try:
            self._call(ref.kind, "create", body)
        except KubeApiError:
            self.owned.remove(ref)  # refused: nothing was created
            raise

    def _adopt(self, ref: ObjectRef, body: dict[str, Any]) -> None:
        """Patch an object that exists already, if it is ours (left by an earlier run)."""
        if not is_managed(self.read(ref.kind, ref.name)):
            raise KubeError(
                f"{ref} already exists and infragap did not create it (it has no "
                f"{MANAGED_BY_LABEL}={MANAGED_BY} label): pass another {NAMESPACE_OPTION}, "
                f"or delete it if it is a leftover (`{ref.delete_command()}`)"
            )
        self.owned.append(ref)
        self._call(ref.kind, "patch", ref.name, body)

    def apply(self, documents: Iterable[Mapping[str, Any]]) -> list[ObjectRef]:
        """Create each object, or patch it when it exists and is ours; every manifest is
        checked before anything is sent. Returns the objects in the order applied."""
        bodies = [(kind_of(doc), doc) for doc in documents]
        prepared = [
            (kind, labelled(doc, self.namespace if kind.namespaced else None))
            for kind, doc in bodies
        ]
        self.ensure_namespace()
        refs = []
        for kind, body in prepared:
            ref = ObjectRef(kind, body["metadata"]["name"], body["metadata"].get("namespace"))
            refs.append(ref)
            if ref in self.owned:  # applied before in this session
                self._call(kind, "patch", ref.name, body)
                continue
            try:
                self._create_owned(ref, body)
            except KubeApiError as exc:
                if exc.status != 409:
                    raise
                self._adopt(ref, body)
        return refs

    # -- wait and sample ------------------------------------------------------------------

    def wait_ready(self, name: str, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Poll the Deployment until readyReplicas == replicas; return it. On timeout,
        KubeNotReady says why: the Deployment's and pods' conditions and the latest events."""
        deadline = time.monotonic() + timeout_s
        while True:
            deployment = self.read(DEPLOYMENT, name)
            if deployment_ready(deployment):
                return deployment
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(self.poll_s, left))
        raise KubeNotReady(self._why_not_ready(deployment, timeout_s))

    def _why_not_ready(self, deployment: dict[str, Any], timeout_s: float) -> str:
        core = self._kubernetes.client.CoreV1Api(self.api_client)
        selector = _selector(deployment)
        pods: list[dict[str, Any]] | str
        events: list[dict[str, Any]] | str
        try:
            found = self._send(
                core.list_namespaced_pod,
                "list pods",
                self.namespace,
                label_selector=",".join(f"{k}={v}" for k, v in selector.items()) or None,
            )
            pods = [pod for pod in found.get("items") or [] if _matches(pod, selector)]
        except KubeError as exc:
            pods = f"could not be listed ({exc})"
        try:
            listed = self._send(core.list_namespaced_event, "list events", self.namespace)
            events = list(listed.get("items") or [])
        except KubeError as exc:
            events = f"could not be listed ({exc})"
        return not_ready_message(deployment, pods, events, timeout_s)

    def sample_replicas(
        self, deployment: str, hpa: str | None = None, t_s: float = 0.0
    ) -> ReplicaSample:
        """One reading of the Deployment's and the HPA's replica counts."""
        return replica_sample(
            t_s,
            self.read(DEPLOYMENT, deployment),
            self.read(HPA, hpa) if hpa is not None else None,
        )

    def replica_samples(
        self,
        deployment: str,
        hpa: str | None,
        interval_s: float,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> list[ReplicaSample]:
        """Sample every `interval_s` until `stop` is set, then once more; meant to run in a
        thread beside the load. An API error ends it (raised to whoever collects the result)."""
        start = clock()
        samples = [self.sample_replicas(deployment, hpa, 0.0)]
        beat = 1
        while not stop.wait(max(0.0, start + beat * interval_s - clock())):
            samples.append(self.sample_replicas(deployment, hpa, clock() - start))
            beat += 1
        samples.append(self.sample_replicas(deployment, hpa, clock() - start))
        return samples

    # -- clean-up -------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Delete what this session owns, newest first, each waited for until gone, all
        within `delete_timeout_s`. Safe to call again: what is gone is forgotten. Raises
        KubeCleanupError naming what is left and the commands that delete it."""
        deadline = time.monotonic() + self.delete_timeout_s
        problems: list[tuple[ObjectRef, str]] = []
        with signals_held():
            for ref in reversed(list(self.owned)):
                try:
                    gone = self._delete(ref, deadline)
                except KubeError as exc:
                    problems.append((ref, str(exc)))
                    continue
                if gone:
                    self.owned.remove(ref)
                else:
                    problems.append((ref, f"still there after {self.delete_timeout_s:g} s"))
        if problems:
            lines = [f"  {ref}: {why}" for ref, why in problems]
            commands = [f"  {ref.delete_command()}" for ref, _ in problems]
            raise KubeCleanupError(
                "objects this run created are still in the cluster:\n"
                + "\n".join(lines)
                + "\ndelete them with:\n"
                + "\n".join(commands)
            )

    def _delete(self, ref: ObjectRef, deadline: float) -> bool:
        """Delete one object if it is ours and wait until it is gone; False on timeout."""
        try:
            current = self.read(ref.kind, ref.name)
        except KubeApiError as exc:
            if exc.status == 404:
                return True
            raise
        if not is_managed(current):
            return True  # someone else's object took the name: never ours to delete
        if not (current.get("metadata") or {}).get("deletionTimestamp"):
            try:
                # Foreground: the object goes only after its dependents (ReplicaSets, pods).
                self._call(ref.kind, "delete", ref.name, propagation_policy="Foreground")
            except KubeApiError as exc:
                if exc.status == 404:
                    return True
                raise
        while True:
            try:
                self.read(ref.kind, ref.name)
            except KubeApiError as exc:
                if exc.status == 404:
                    return True
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.poll_s, left))

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> KubeSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.cleanup()
        except KubeCleanupError as error:
            if exc is None:
                raise
            self.cleanup_error = error  # the run's own error goes on; this one is not lost
            _LOG.error("%s", error)
        finally:
            self.close()
