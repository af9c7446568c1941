"""The serving suite's flow for a model infragap did not make (--model, --naive-url,
--before-after): read the signature, make or replay requests, run the model once in a
reference process, start the variants, check equivalence, drive load, measure the ceiling.

The harness never loads the model: the reference runner, the naive app and Triton do,
each in its own process. Results go to the same section keys as the built-in model's
flow ("equivalence", "variants", "ceiling"), plus "model" and, for --before-after,
"migration".
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infragap.errors import EquivalenceError, InfragapError
from infragap.loadtests.targets.tensors import WIRES
from infragap.processes import Child
from infragap.suites.base import BenchContext
from infragap.suites.endpoint import Endpoint
from infragap.suites.levels import LevelProbe, UnitRate, drive_levels, load_plan
from infragap.suites.serving import equivalence
from infragap.suites.serving.own_variants import OWN_VARIANTS, OwnSetup, start_own_triton
from infragap.suites.serving.safety import confirm_load
from infragap.suites.serving.steps import TritonBatching, tune
from infragap.workloads.own_model import requests as own_requests
from infragap.workloads.own_model.requests import TensorRequests
from infragap.workloads.own_model.signature import Signature, TensorSpec, parse_tensor
from infragap.workloads.own_model.template import ResponsePathError, parse_template

EQUIVALENCE_REQUESTS = 32
REFERENCE_TIMEOUT_S = 600.0
HTTP_TIMEOUT_S = 60.0


class ReferenceError(InfragapError):
    """The reference process could not load or run the model; its own words follow."""


@dataclass
class OwnRun:
    ctx: BenchContext
    section: dict[str, Any]
    config: dict[str, Any]
    signature: Signature | None = None
    stream: TensorRequests | None = None
    reference: list[list[float]] = field(default_factory=list)
    setup: OwnSetup | None = None
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def say(self, text: str) -> None:
        self.ctx.console.print(f"[bold]serving[/] {text}")

    @property
    def model_file(self) -> Path:
        return Path(self.config["own_model"]["model"])

    @property
    def requests_file(self) -> Path:
        return self.ctx.work_dir / "requests.json"

    @property
    def signature_file(self) -> Path:
        return self.ctx.work_dir / "signature.json"


def read_signature(run: OwnRun) -> None:
    from infragap.suites.serving.own_signature import model_signature

    run.signature = model_signature(run.config)
    shown = ", ".join(f"{t.name} {t.dtype}{list(t.dims)}" for t in run.signature.inputs)
    run.say(f"model {run.model_file.name} ({run.signature.format}): inputs {shown}")


def prepare_requests(run: OwnRun) -> None:
    assert run.signature is not None
    own = run.config["own_model"]
    if own["request_template"]:
        parse_template(own["request_template"], [t.name for t in run.signature.inputs])
    if own["requests_file"]:
        replayed = own_requests.read_jsonl(Path(own["requests_file"]), run.signature)
        run.say(f"{len(replayed)} requests replayed from {own['requests_file']}")
    else:
        rows = run.config["rows_per_request"]
        count = own_requests.stream_length(run.signature, rows)
        replayed = own_requests.generate_requests(run.signature, run.config["seed"], count, rows)
        run.say(f"{count} seeded requests of {rows} row(s) each")
    run.stream = TensorRequests(
        run.signature, replayed, own["request_template"], own["response_path"]
    )
    own_requests.write_requests_file(run.requests_file, run.stream)
    run.signature.write(run.signature_file)


def run_reference(run: OwnRun) -> None:
    """The model run once in its own process on the equivalence sample: the answers every
    variant must give, and the outputs' names and shapes."""
    assert run.signature is not None and run.stream is not None
    count = min(EQUIVALENCE_REQUESTS, len(run.stream.requests))
    with run.ctx.console.status("running the model in a reference process"):
        answer = reference_process(run, "answers", ["--count", str(count)])
    outputs = tuple(
        parse_tensor(spec, "output", "the reference run", outputs=True)
        for spec in answer["output_specs"]
    )
    run.signature = run.signature.with_outputs(_named_like(outputs, run.signature.outputs))
    run.signature.write(run.signature_file)
    run.stream = TensorRequests(
        run.signature, run.stream.requests, run.stream.template, run.stream.response_path
    )
    own_requests.write_requests_file(run.requests_file, run.stream)
    first = run.signature.outputs[0].name
    run.reference = [_flat(out[first]) for out in answer["outputs"]]
    run.section["model"] = {
        "file": str(run.model_file),
        "format": run.signature.format,
        "bytes": run.model_file.stat().st_size,
        "signature": run.signature.to_json(),
        "signature_from": run.config["own_model"].get("signature_from") or "",
        "requests": "replayed" if run.config["own_model"]["requests_file"] else "seeded",
        "compared_output": first,
    }
    run.ctx.results.save()


def _named_like(observed: tuple[TensorSpec, ...], given: tuple[TensorSpec, ...]) -> list:
    """The observed outputs, under the names the spec gave them, when it gave any."""
    if not given:
        return list(observed)
    return [
        TensorSpec(g.name, o.dtype, o.dims) for g, o in zip(given, observed, strict=False)
    ] + list(observed[len(given) :])


def _flat(value: Any) -> list[float]:
    import numpy as np

    return [float(x) for x in np.asarray(value, dtype=np.float64).reshape(-1)]


def reference_process(run: OwnRun, purpose: str, extra: list[str]) -> dict[str, Any]:
    out = run.ctx.work_dir / f"reference-{purpose}.json"
    argv = [sys.executable, "-m", "infragap.proven.tensor_reference", "--model"]
    argv += [str(run.model_file), "--signature", str(run.signature_file)]
    argv += ["--requests", str(run.requests_file), "--out", str(out), *extra]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=REFERENCE_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ReferenceError(f"the reference process could not run {run.model_file.name}: {why}")
    return json.loads(out.read_text(encoding="utf-8"))


def confirm(run: OwnRun) -> None:
    plan = load_plan(run.config, run.requests_file, run.config["seed"])
    confirm_load(run.config, plan, EQUIVALENCE_REQUESTS, run.ctx.console)


def prepare_migration(run: OwnRun) -> None:
    """--before-after: the app as it was, rebuilt from HEAD, and the diff applied."""
    from infragap.suites.serving.before_after import build_before_tree, record_migration

    found = run.config.get("before_after")
    if not found:
        return
    found["before_tree"] = str(build_before_tree(found, run.ctx.work_dir / "before"))
    run.section["migration"] = record_migration(found)
    run.ctx.results.save()
    run.say(f"before/after: the migration changed {', '.join(run.section['migration']['files'])}")


def prepare_servers(run: OwnRun) -> None:
    assert run.signature is not None
    run.setup = OwnSetup(
        run.ctx.supervisor,
        run.ctx.work_dir,
        run.model_file,
        run.signature_file,
        run.signature,
        run.config,
    )


def tune_triton(run: OwnRun) -> None:
    """The built-in model's tuning search, on this model: Triton configured for it the way
    its maintainers advise (measure, then choose), not left at infragap's defaults."""
    setup = run.setup
    assert setup is not None

    def start(options: dict[str, int], work_dir: Path, name: str) -> tuple[Endpoint, Child]:
        return start_own_triton(setup, options, work_dir, name)

    tune(run.ctx, run.section, run.config, start, run.say)


def start_variants(run: OwnRun) -> None:
    assert run.setup is not None
    for name in run.config["variants"]:
        with run.ctx.console.status(f"starting {name}"):
            run.endpoints[name] = OWN_VARIANTS.get(name)(run.setup)
        run.setup.shared[name] = run.endpoints[name]
        run.say(f"{name} ready at {run.endpoints[name].url}")


def check_equivalence(run: OwnRun) -> None:
    """Every variant's first output against the reference process's, within --tolerance;
    a mismatch stops the run with examples."""
    assert run.stream is not None
    tolerance = run.config["own_model"]["tolerance"]
    sample = run.stream.requests[: len(run.reference)]
    comparisons = {}
    for name, endpoint in run.endpoints.items():
        answers = ask_all(endpoint, run.stream, sample)
        comparisons[name] = equivalence.compare_scores(run.reference, answers, tolerance)
    record = equivalence.equivalence_record(comparisons, tolerance)
    record["reference"] = "the same model file run by onnxruntime or torch in its own process"
    run.section["equivalence"] = record
    run.ctx.results.save()
    equivalence.raise_on_mismatch(comparisons, tolerance)
    run.say(f"equivalence: {len(comparisons)} variants agree on {len(sample)} requests")


def ask_all(endpoint: Endpoint, stream: TensorRequests, sample: list) -> list[list[float]]:
    wire = WIRES[endpoint.target]
    url = f"{endpoint.url}{wire.path(endpoint.target_option)}"
    answers = []
    with requests.Session() as session:
        for index, request in enumerate(sample):
            body = wire.encode(stream, request)
            reply = session.post(
                url, data=body.payload, headers=dict(body.headers), timeout=HTTP_TIMEOUT_S
            )
            if reply.status_code != 200:
                raise EquivalenceError(
                    f"{endpoint.name} answered HTTP {reply.status_code} to request {index}: "
                    f"{reply.text[:300]}"
                )
            try:
                answers.append(wire.scores(stream, reply.json()))
            except (ValueError, KeyError, IndexError, TypeError, ResponsePathError) as err:
                raise EquivalenceError(
                    f"{endpoint.name}'s answer to request {index} has no scores where expected "
                    f"({err}): {reply.text[:200]}"
                ) from None
    return answers


def drive_load(run: OwnRun) -> None:
    cfg = run.config
    plan = load_plan(cfg, run.requests_file, cfg["seed"])

    def probes(endpoint: Endpoint) -> list[LevelProbe]:
        return [UnitRate("rows_per_s", cfg["rows_per_request"]), TritonBatching(endpoint)]

    drive_levels(run.ctx, run.section, list(run.endpoints.values()), plan, run.say, probes)


def stop_variants(run: OwnRun) -> None:
    run.ctx.supervisor.stop_all()


def measure_ceiling(run: OwnRun) -> None:
    levels = run.section.get("variants", {}).get("triton", {}).get("levels", [])
    top = levels[-1] if levels else None
    batch = ((top or {}).get("triton") or {}).get("mean_batch_size")
    rows = max(1, round(batch or run.config["rows_per_request"]))
    seconds = 1.0 if run.config["quick"] else 5.0
    # Triton's own thread count: more threads than cores on a busy box would make the
    # bare model look slower than the server it is meant to bound.
    threads = str(run.config["triton"]["torch_threads"])
    with run.ctx.console.status(f"in-process ceiling at batch {rows}"):
        answer = reference_process(
            run,
            "ceiling",
            [
                "--count",
                "0",
                "--threads",
                threads,
                "--ceiling-rows",
                str(rows),
                "--ceiling-seconds",
                str(seconds),
            ],
        )
    measured = answer["ceiling"] or {}
    ceiling = {
        "batch_rows": rows,
        "rows_per_s": measured.get("rows_per_s"),
        "forward_ms": measured.get("forward_ms"),
        "torch_threads": measured.get("threads"),
        "device": run.config["device"],
        "requests_per_s": (measured.get("rows_per_s") or 0) / run.config["rows_per_request"],
        "at_users": top["users"] if top else None,
    }
    run.section["ceiling"] = ceiling
    run.ctx.results.save()
    run.say(f"in-process ceiling at batch {rows}: {ceiling['requests_per_s']:.0f} req/s")


OWN_STEPS: list[tuple[str, Callable[[OwnRun], None]]] = [
    ("read the model's signature", read_signature),
    ("make the requests", prepare_requests),
    ("run the model in a reference process", run_reference),
    ("show the load and ask before sending it", confirm),
    ("record the migration", prepare_migration),
    ("prepare the servers", prepare_servers),
    ("tune Triton", tune_triton),
    ("start the variants", start_variants),
    ("check equivalence", check_equivalence),
    ("drive load", drive_load),
    ("stop the variants", stop_variants),
    ("measure the in-process ceiling", measure_ceiling),
]
