"""The scaling suite's flow, written down as steps: the serving suite's preparation,
then start-up times, per-replica SLO capacity, manifests and the capacity model. The
section gets "startup", "variants" (the load engine's records), "per_replica",
"manifests" and "plan"."""

from __future__ import annotations

from collections.abc import Callable

from infragap.suites.scaling.cluster_step import drive_cluster
from infragap.suites.scaling.measure import drive_capacity, measure_startup
from infragap.suites.scaling.plan import plan_capacity, write_manifests
from infragap.suites.serving.steps import (
    ServingRun,
    check_equivalence,
    prepare_model,
    prepare_requests,
    start_variants,
    stop_variants,
    tune_triton,
)

STEPS: list[tuple[str, Callable[[ServingRun], None]]] = [
    ("prepare the model", prepare_model),
    ("generate the request stream", prepare_requests),
    ("tune Triton (with --triton-tuning)", tune_triton),
    ("time each variant's start-up", measure_startup),
    ("start the variants", start_variants),
    ("check equivalence", check_equivalence),
    ("find each replica's SLO capacity", drive_capacity),
    ("stop the variants", stop_variants),
    ("write and validate the Kubernetes manifests", write_manifests),
    ("play the traffic traces through each strategy (a model)", plan_capacity),
    ("drive a real cluster (with --kube-context)", drive_cluster),
]
