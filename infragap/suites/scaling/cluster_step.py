"""The scaling suite on the user's own cluster (--kube-context / --kubeconfig): the
manifests written for one measured variant are applied, the load engine drives the
Service's address at a short ramp of open-loop rates sized from the measured per-replica
capacity, and the Deployment's and HPA's replica counts are sampled beside it.

Everything it creates is deleted when it ends, on success, on an error and on Ctrl-C
(KubeSession's `with` block). The section gets "cluster": what was applied, the levels,
the replica samples, the HPA's conditions and any clean-up error.

The manifests applied are the files `plan.write_manifests` wrote and validated, read
back, so the cluster runs exactly what the results link to. The load reaches the pods
through --kube-service-url, never a port-forward (see proven/kubernetes/cluster.py).
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infragap.errors import ConfigError, InfragapError, MissingDependency
from infragap.suites.serving.steps import ServingRun

SERVICE_URL_OPTION = "--kube-service-url"
VARIANT_OPTION = "--kube-variant"
RAMP_FACTORS = (0.5, 2.0, 4.0)  # x the measured per-replica capacity: under one, then over
SAMPLE_INTERVAL_S = 5.0  # the HPA controller acts every 15 s: every change is seen
TRITON_MODEL_NAME = "ranker"  # write_model_repository's default, as the image serves it
# RFC 2606 reserves these: a registry under one is a placeholder no node can pull from.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org", "example", "invalid", "test")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class ClusterStepError(InfragapError):
    """The cluster run cannot start: nothing to apply, or no capacity to size the load by."""


def add_cluster_arguments(group: Any) -> None:
    """The real-cluster options, added to the scaling suite's argument group."""
    from infragap.proven.kubernetes.cluster import (
        CONTEXT_OPTION,
        DEFAULT_NAMESPACE,
        KUBECONFIG_OPTION,
        NAMESPACE_OPTION,
    )

    group.add_argument(
        CONTEXT_OPTION,
        metavar="NAME",
        help="also deploy one measured variant to this kubeconfig context and drive it there "
        f"(needs {SERVICE_URL_OPTION}); everything created is deleted at the end",
    )
    group.add_argument(
        KUBECONFIG_OPTION,
        metavar="PATH",
        help="kubeconfig file for the cluster run (default: $KUBECONFIG or ~/.kube/config)",
    )
    group.add_argument(
        NAMESPACE_OPTION,
        metavar="NAME",
        help=f"namespace the cluster run applies into (default {DEFAULT_NAMESPACE}; created "
        "and deleted unless it exists)",
    )
    group.add_argument(
        SERVICE_URL_OPTION,
        metavar="URL",
        help="where the load reaches the variant's Service: a LoadBalancer, NodePort or "
        "Ingress address that balances over its pods (a port-forward reaches one pod only)",
    )
    group.add_argument(
        VARIANT_OPTION,
        metavar="NAME",
        help="the measured variant to deploy (default: the last of --scaling-variants)",
    )


def cluster_config(args: argparse.Namespace) -> dict[str, Any]:
    """The cluster part of the scaling configuration, checked before anything starts: the
    options together, the variant, the registry, and the kubeconfig and context (read,
    not contacted). {"enabled": False} when no cluster is named."""
    from infragap.proven.kubernetes.cluster import (
        CONTEXT_OPTION,
        DEFAULT_NAMESPACE,
        KUBECONFIG_OPTION,
        NAMESPACE_OPTION,
        READY_TIMEOUT_S,
        KubeSession,
    )

    context, kubeconfig = args.kube_context, args.kubeconfig
    if context is None and kubeconfig is None:
        given = [
            option
            for option, value in (
                (NAMESPACE_OPTION, args.kube_namespace),
                (SERVICE_URL_OPTION, args.kube_service_url),
                (VARIANT_OPTION, args.kube_variant),
            )
            if value is not None
        ]
        if given:
            raise ConfigError(
                f"{', '.join(given)} apply to a cluster run only: pass {CONTEXT_OPTION} NAME "
                f"or {KUBECONFIG_OPTION} PATH too (never the current context by default), or "
                f"leave {' and '.join(given)} out"
            )
        return {"enabled": False}
    if not args.kube_service_url:
        raise ConfigError(
            f"{CONTEXT_OPTION}/{KUBECONFIG_OPTION} need {SERVICE_URL_OPTION} URL: the load "
            "must reach the Service through an address that balances over its pods (a "
            "LoadBalancer or NodePort address, an Ingress; `kubectl get svc -n NAMESPACE` "
            "shows it once exposed), or the HPA's new replicas would get no traffic"
        )
    variants = [v.strip() for v in args.scaling_variants.split(",") if v.strip()]
    variant: str | None = args.kube_variant or (variants[-1] if variants else None)
    if variant is None or variant not in variants:
        raise ConfigError(
            f"{VARIANT_OPTION} {variant}: not among --scaling-variants "
            f"({', '.join(variants)}): the cluster run is sized from the variant's measured "
            f"capacity, so pass one of them or add {variant} to --scaling-variants"
        )
    registry_host = args.image_registry.split("/", 1)[0].lower()
    if is_reserved(registry_host):
        from infragap.suites.scaling.plan import image

        raise ConfigError(
            f"--image-registry {args.image_registry} is a placeholder no node can pull from: "
            f"build the {variant} image (with the model under /models), push it as "
            f"{image('REGISTRY', variant)} and pass --image-registry REGISTRY"
        )
    namespace = args.kube_namespace or DEFAULT_NAMESPACE
    # Reads the kubeconfig and checks the context and namespace name; sends nothing.
    KubeSession(kube_context=context, kubeconfig=kubeconfig, namespace=namespace).close()
    return {
        "enabled": True,
        "context": context,
        "kubeconfig": str(kubeconfig) if kubeconfig is not None else None,
        "namespace": namespace,
        "service_url": service_url(args.kube_service_url),
        "variant": variant,
        "ramp_factors": list(RAMP_FACTORS),
        "sample_interval_s": SAMPLE_INTERVAL_S,
        "ready_timeout_s": READY_TIMEOUT_S,
    }


def is_reserved(host: str) -> bool:
    """Pure: whether a host (with or without a port) lies under an RFC 2606 name."""
    name = host.rsplit(":", 1)[0].rstrip(".")
    return any(name == domain or name.endswith(f".{domain}") for domain in RESERVED_DOMAINS)


def service_url(text: str) -> str:
    """Pure: --kube-service-url checked and without a trailing slash, or ConfigError."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{SERVICE_URL_OPTION} {text!r}: give the Service's address as http://HOST:PORT "
            "(or https://, with an Ingress path prefix if it has one)"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{SERVICE_URL_OPTION} {text!r}: leave out the query and fragment: the load adds "
            "each variant's own path (/predict, /v2/models/NAME/infer)"
        )
    return text.strip().rstrip("/")


def load_target(variant: str) -> tuple[str, str]:
    """Pure: the load target and its option for a serving variant, as the local run has
    them (serving/variants.py): Triton over binary tensors, its JSON twin, or Flask."""
    from infragap.suites.serving.variants import HEADLINE_TARGET

    if variant == "triton-json":
        return "kserve", TRITON_MODEL_NAME
    if variant.startswith("triton"):
        return HEADLINE_TARGET, TRITON_MODEL_NAME
    return "flask", ""


def ramp_rates(capacity_rps: float, factors: tuple[float, ...] = RAMP_FACTORS) -> list[float]:
    """Pure: the open-loop rates of the cluster ramp, from one replica's measured capacity."""
    return [max(1.0, round(capacity_rps * factor, 1)) for factor in factors]


def loopback_warning(url: str) -> str | None:
    """Pure: a warning when the Service URL is on this machine (a port-forward, most
    likely), which reaches one pod whatever the HPA does."""
    if (urlsplit(url).hostname or "") in LOOPBACK_HOSTS:
        return (
            f"cluster: {SERVICE_URL_OPTION} {url} is on loopback, a port-forward most likely: "
            "it sends all the load to one pod, so the replicas the HPA adds get none of it; "
            "use a LoadBalancer, NodePort or Ingress address"
        )
    return None


def split_applicable(
    documents: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Pure: the documents KubeSession applies, and a line for each it does not."""
    from infragap.proven.kubernetes.cluster import KINDS

    applied, skipped = [], []
    for doc in documents:
        if (doc.get("apiVersion"), doc.get("kind")) in KINDS:
            applied.append(doc)
        else:
            name = (doc.get("metadata") or {}).get("name")
            skipped.append(f"{doc.get('apiVersion')} {doc.get('kind')} {name}: not applied")
    return applied, skipped


def named(documents: list[dict[str, Any]], kind: str) -> str | None:
    """Pure: the name of the first document of `kind`."""
    for doc in documents:
        if doc.get("kind") == kind:
            return str((doc.get("metadata") or {}).get("name"))
    return None


def read_manifests(path: Path) -> list[dict[str, Any]]:
    """The documents of one YAML file write_manifests wrote."""
    try:
        import yaml
    except ImportError:
        raise MissingDependency("PyYAML (to read the manifests back)", "scaling") from None
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterStepError(
            f"cannot read the manifests {path}: {exc}: run the suite again so that its "
            "manifests step writes them"
        ) from None
    if not all(isinstance(doc, dict) for doc in documents):
        raise ClusterStepError(f"{path} holds something other than manifests: run again")
    return documents


def variant_manifests(section: Mapping[str, Any], variant: str, slo: str) -> list[dict[str, Any]]:
    """The serving manifests written for `variant` (Deployment, Service, ..., CPU HPA)."""
    if (section.get("per_replica") or {}).get(variant) is None:
        raise ClusterStepError(
            f"{variant} met no rate under {slo} on this machine, so there is no capacity to "
            f"size its replicas and the cluster load by: pass {VARIANT_OPTION} with a variant "
            "that met it, or a looser --slo"
        )
    files = ((section.get("manifests") or {}).get("files") or {}).get(variant) or {}
    if "serving" not in files:
        raise ClusterStepError(
            f"no manifests were written for {variant}: the manifests step must run before "
            "the cluster step (check the scaling suite's STEPS)"
        )
    return read_manifests(Path(files["serving"]))


def hpa_warnings(name: str, hpa: Mapping[str, Any]) -> list[str]:
    """Pure: why the HPA could not act, from its False conditions (AbleToScale,
    ScalingActive), with the usual cause: no metrics API for a CPU target."""
    warnings = []
    for cond in (hpa.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("AbleToScale", "ScalingActive") and cond.get("status") == "False":
            warnings.append(
                f"cluster: the HPA {name} was not scaling ({cond.get('type')}=False "
                f"{cond.get('reason', '')}: {cond.get('message', '')}): a CPU target needs "
                "the metrics API (metrics-server); `kubectl top pods` checks it"
            )
    return warnings


def drive_cluster(run: ServingRun) -> None:
    """With --kube-context/--kubeconfig: apply the chosen variant's manifests, wait until
    its Deployment is ready, drive --kube-service-url at each ramp rate while a thread
    samples the replica counts, then delete everything (also on an error or Ctrl-C)."""
    cfg = run.config.get("cluster") or {}
    if not cfg.get("enabled"):
        return
    from infragap.proven.kubernetes.cluster import HPA, KubeCleanupError, KubeSession

    variant = cfg["variant"]
    written = variant_manifests(run.section, variant, run.config["slo"])
    documents, skipped = split_applicable(written)
    deployment = named(documents, "Deployment")
    if deployment is None:
        raise ClusterStepError(f"the manifests of {variant} hold no Deployment: run again")
    hpa = named(documents, "HorizontalPodAutoscaler")
    capacity = run.section["per_replica"][variant]["capacity_rps"]
    record: dict[str, Any] = {
        "status": "running",
        "context": cfg["context"],
        "kubeconfig": cfg["kubeconfig"],
        "namespace": cfg["namespace"],
        "variant": variant,
        "service_url": cfg["service_url"],
        "capacity_rps": capacity,
        "rates_rps": ramp_rates(capacity, tuple(cfg["ramp_factors"])),
        "applied": [],
        "skipped": skipped,
        "levels": [],
        "replicas": [],
        "hpa_conditions": None,
        "cleanup_error": None,
        "server": None,
    }
    # Reads the kubeconfig again, before anything is recorded: it may have changed.
    session = KubeSession(
        kube_context=cfg["context"], kubeconfig=cfg["kubeconfig"], namespace=cfg["namespace"]
    )
    record["server"] = session.api_client.configuration.host
    run.section["cluster"] = record
    warnings = run.section.setdefault("warnings", [])
    if (warning := loopback_warning(cfg["service_url"])) is not None:
        warnings.append(warning)
    for line in skipped:
        run.say(f"cluster: {line} (KubeSession does not apply this kind)")
    try:
        with session:
            run.ctx.results.save()
            record["applied"] = [str(ref) for ref in session.apply(documents)]
            run.say(f"cluster: applied {', '.join(record['applied'])}")
            with run.ctx.console.status(f"cluster: waiting for Deployment {deployment}"):
                session.wait_ready(deployment, cfg["ready_timeout_s"])
            run.say(f"cluster: {deployment} ready; driving {cfg['service_url']}")
            sampled_drive(
                session, deployment, hpa, cfg["sample_interval_s"], record, _ramp(run, record)
            )
            if hpa is not None:
                status = session.read(HPA, hpa).get("status") or {}
                record["hpa_conditions"] = status.get("conditions") or []
                warnings.extend(hpa_warnings(hpa, {"status": status}))
        record["status"] = "complete"
    except KubeCleanupError as error:  # the run itself went well: the leftovers fail it
        record["status"] = "complete"
        record["cleanup_error"] = str(error)
        raise
    except KeyboardInterrupt:
        record["status"] = "interrupted"
        raise
    except BaseException:
        record["status"] = "failed"
        raise
    finally:
        if session.cleanup_error is not None:  # kept by the session when the run failed
            record["cleanup_error"] = str(session.cleanup_error)
        run.ctx.results.save()
    peak = max((s["current"] for s in record["replicas"]), default=0)
    run.say(f"cluster: {len(record['levels'])} levels driven, up to {peak} replicas; cleaned up")


def _ramp(run: ServingRun, record: dict[str, Any]) -> Callable[[Callable[[], None]], None]:
    """The drive: one open-loop level per rate of the ramp against the Service, each
    record kept in record["levels"] and saved as it arrives; `check` after each level."""
    from infragap.suites.endpoint import Endpoint
    from infragap.suites.levels import LevelDriver, load_plan

    plan = load_plan(run.config, run.ctx.work_dir / "requests.json", run.config["seed"])
    target, option = load_target(record["variant"])
    name = f"{record['variant']}-cluster"
    endpoint = Endpoint(name, target, record["service_url"], target_option=option)
    # The section only takes the levels' warnings: the records go into record["levels"].
    driver = LevelDriver(run.ctx, run.section, plan, run.say)

    def drive(check: Callable[[], None]) -> None:
        for rate_rps in record["rates_rps"]:
            record["levels"].append(driver.run(endpoint, plan.open(rate_rps)))
            run.ctx.results.save()
            check()

    return drive


def sampled_drive(
    session: Any,
    deployment: str,
    hpa: str | None,
    interval_s: float,
    record: dict[str, Any],
    drive: Callable[[Callable[[], None]], None],
) -> None:
    """Run `drive(check)` while a thread samples the replica counts into
    record["replicas"], kept when the drive fails too. `check()` raises the sampler's
    error if it has stopped on one, so the drive stops at its next level."""
    stop = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="replica-sampler") as pool:
        sampling = pool.submit(session.replica_samples, deployment, hpa, interval_s, stop)
        try:
            drive(lambda: _raise_if_failed(sampling))
        except BaseException:
            stop.set()
            with contextlib.suppress(Exception):  # the drive's own error is the one to raise
                record["replicas"] = [s._asdict() for s in sampling.result()]
            raise
        finally:
            stop.set()
        record["replicas"] = [s._asdict() for s in sampling.result()]


def _raise_if_failed(sampling: Future[Any]) -> None:
    if sampling.done():
        sampling.result()  # the sampler ends early only on an error: raise it here
