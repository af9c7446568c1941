"""From the measured figures to the two outputs a platform engineer takes away: the
Kubernetes manifests sized from them, and the capacity plan (a model) they imply.

Every figure the plan uses says where it came from: "measured" (this run) or "assumed"
(a documented default). The manifests are validated offline against the API schemas
of several Kubernetes versions before they are written; none is applied here.
"""

from __future__ import annotations

import math
from typing import Any

from infragap.suites.serving.steps import ServingRun

IMAGE_TAG = "0.1.0"
MODEL_PATH = "/models/model.pt"
SPIKE_HEADROOM = 1.2  # the HPA's maxReplicas covers the spike with 20% to spare
# The default day peaks at 4 x the fastest variant's replica, so every variant needs
# several replicas (at the slowest one's capacity, one variant's plan would be a single
# replica all day, and the strategies would not differ).
DEFAULT_PEAK_FACTOR = 4.0
# The training Job is not measured by this suite (the pipelines suite runs that step):
# its resources are a stated assumption.
TRAINING_CPU_CORES = 1.0
TRAINING_RSS_MIB = 1024.0
TRAINING_DEADLINE_S = 3600


def image(registry: str, variant: str) -> str:
    return f"{registry.rstrip('/')}/{variant}:{IMAGE_TAG}"


def serving_workload(name: str, figures: dict[str, Any], startup_s: float, registry: str) -> Any:
    """The ServingWorkload of one variant, sized by its measured figures."""
    from infragap.proven.kubernetes.manifests import flask_workload, triton_workload

    threads = str(max(1, math.ceil(figures["cpu_cores"])))
    sizing = {
        "cpu_cores": figures["cpu_cores"],
        "rss_mib": figures["rss_mib"],
        "startup_s": startup_s,
        # With no CPU limit torch sees every core of the node: one thread per core asked.
        "env": {"OMP_NUM_THREADS": threads},
    }
    if name.startswith("triton"):
        return triton_workload(name, image(registry, "triton"), **sizing)
    module = (
        "infragap.naive.batched_serving_app"
        if name == "naive-batched"
        else ("infragap.naive.serving_app")
    )
    command = ["python", "-m", module, "--model", MODEL_PATH, "--host", "0.0.0.0"]
    if name == "naive-hoisted":
        command.append("--hoisted")
    return flask_workload(name, image(registry, name), command, **sizing)


def max_replicas(spike_rps: float, capacity_rps: float) -> int:
    """Pure: the HPA's maxReplicas: the spike's rate with headroom, and never under
    Kubernetes examples' 10. A cap below the peak would read as the HPA failing."""
    return max(10, math.ceil(spike_rps * SPIKE_HEADROOM / capacity_rps))


def write_manifests(run: ServingRun) -> None:
    """Deployment, Service, PodDisruptionBudget and a CPU HPA per measured variant (and a
    queue-time HPA with its Prometheus adapter rule for Triton), plus the training Job;
    validated on every supported Kubernetes version, written as YAML."""
    from infragap.proven.kubernetes import manifests as k8s
    from infragap.proven.kubernetes.validate import SUPPORTED_VERSIONS, validate_all

    out = run.ctx.work_dir / "manifests"
    out.mkdir(parents=True, exist_ok=True)
    registry = run.config["image_registry"]
    written: dict[str, Any] = {}
    problems: list[str] = []
    plan_peak = peak_rps(run)
    for name, figures in (run.section.get("per_replica") or {}).items():
        if figures is None:
            continue
        startup_s = run.section["startup"][name]["median_s"]
        spec = serving_workload(name, figures, startup_s, registry)
        cap = max_replicas(plan_peak * 2, figures["capacity_rps"])
        documents = [
            k8s.deployment(spec),
            k8s.service(spec),
            k8s.pod_disruption_budget(spec),
            k8s.hpa_cpu(spec, max_replicas=cap),
        ]
        files = {"serving": documents}
        if name.startswith("triton"):
            # Same name as the CPU HPA: a Deployment has one HPA, so it is the other choice.
            files["queue-time-hpa"] = [k8s.hpa_queue_time(spec, QUEUE_TARGET_US, max_replicas=cap)]
            files["prometheus-adapter"] = [k8s.prometheus_adapter_config()]
        for kind, docs in files.items():
            if kind != "prometheus-adapter":
                problems += validate_all(docs, SUPPORTED_VERSIONS)
            path = out / f"{name}-{kind}.yaml"
            path.write_text(k8s.to_yaml(docs))
            written.setdefault(name, {})[kind] = str(path)
    job = k8s.BatchJob(
        name="train",
        image=image(registry, "train"),
        command=["python", "-m", "infragap.naive.pipeline.train"],
        cpu_cores=TRAINING_CPU_CORES,
        rss_mib=TRAINING_RSS_MIB,
        deadline_s=TRAINING_DEADLINE_S,
    )
    job_docs = [k8s.training_job(job)]
    problems += validate_all(job_docs, SUPPORTED_VERSIONS)
    (out / "train-job.yaml").write_text(k8s.to_yaml(job_docs))
    written["train"] = {"job": str(out / "train-job.yaml")}
    run.section["manifests"] = {
        "kubernetes_versions": list(SUPPORTED_VERSIONS),
        "files": written,
        "problems": problems,
        "training_resources": "assumed (not measured by this suite): "
        f"{TRAINING_CPU_CORES:g} core, {TRAINING_RSS_MIB:g} MiB",
    }
    run.ctx.results.save()
    verdict = "valid" if not problems else f"{len(problems)} problems"
    run.say(f"manifests for {', '.join(written)}: {verdict} on Kubernetes {SUPPORTED_VERSIONS}")


QUEUE_TARGET_US = 5000  # scale Triton out when requests queue 5 ms on average


def peak_rps(run: ServingRun) -> float:
    """--peak-rps, else DEFAULT_PEAK_FACTOR x the highest measured per-replica capacity."""
    if run.config.get("peak_rps"):
        return float(run.config["peak_rps"])
    capacities = [f["capacity_rps"] for f in (run.section.get("per_replica") or {}).values() if f]
    return DEFAULT_PEAK_FACTOR * max(capacities) if capacities else 0.0


def with_floor(strategies: tuple[Any, ...], hpa: Any) -> tuple[Any, ...]:
    """Pure: fixed plans get the HPA's replica floor too: a team that keeps two replicas
    for redundancy under the HPA keeps them in a script, so the two are compared on
    capacity, not on one having a spare the other lacks."""
    import dataclasses

    from infragap.suites.scaling.capacity_model import Fixed

    floored = []
    for strategy in strategies:
        if isinstance(strategy, Fixed) and strategy.replicas < hpa.min_replicas:
            rule = f"{strategy.rule}, raised to the HPA's floor of {hpa.min_replicas}"
            strategy = dataclasses.replace(strategy, replicas=hpa.min_replicas, rule=rule)
        floored.append(strategy)
    return tuple(floored)


def plan_capacity(run: ServingRun) -> None:
    """The seeded day with a spike, and a step, played through fixed provisioning (for
    the peak, for the average) and the HPA, per measured variant; plus the sensitivity
    to the two least certain inputs. Labelled as a model throughout."""
    from infragap.suites.scaling import capacity_model as model
    from infragap.suites.scaling.traces import daily_with_spike, step

    peak = peak_rps(run)
    if not peak:
        run.say("no variant met the SLO: nothing to plan")
        return
    seed = run.config["seed"]
    traces = [
        daily_with_spike(peak, seed),
        step(peak * 0.25, peak, at_s=600, duration_s=3600),
    ]
    plan: dict[str, Any] = {
        "kind": "model",
        "peak_rps": peak,
        "peak_source": "--peak-rps"
        if run.config.get("peak_rps")
        else (f"assumed: {DEFAULT_PEAK_FACTOR:g} x the highest measured per-replica capacity"),
        "traces": {trace.name: trace.record() for trace in traces},
        "variants": {},
    }
    for name, figures in (run.section.get("per_replica") or {}).items():
        if figures is None:
            continue
        capacity = figures["capacity_rps"]
        startup = run.section["startup"][name]["median_s"]
        sources = {
            "capacity_rps": f"measured: {name}, one replica, {figures['slo']}, this run",
            "startup_s": f"measured: {name}, process start to ready, median, this run",
        }
        hpa = model.Hpa(max_replicas=max_replicas(peak * 2, capacity))
        per_trace = {}
        for trace in traces:
            strategies = with_floor(model.standard_strategies(trace, capacity, hpa=hpa), hpa)
            per_trace[trace.name] = {
                strategy.name: model.outcome_record(
                    model.simulate(
                        trace, strategy, capacity, startup, variant=name, sources=sources
                    )
                )
                for strategy in strategies
            }
        daily = traces[0]
        per_trace["sensitivity"] = model.sensitivity(
            daily,
            with_floor(model.standard_strategies(daily, capacity, hpa=hpa), hpa),
            capacity,
            startup,
            variant=name,
            sources=sources,
        )
        plan["variants"][name] = per_trace
        totals = per_trace[daily.name]
        shown = ", ".join(
            f"{strategy} {outcome['totals']['replica_hours']:.0f} replica-h"
            for strategy, outcome in totals.items()
        )
        run.say(f"{name} (model): {shown}")
    run.section["plan"] = plan
    run.ctx.results.save()
