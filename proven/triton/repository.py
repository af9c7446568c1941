"""Write Triton model repositories for the ranking model (files only, no processes).

Two repositories come out of one TorchScript file:

- `dest/` for the tritonserver bundled in nvidia-pytriton, which has only the Python
  backend: `ranker_model.py` becomes `<model>/1/model.py` and loads the TorchScript.
- `libtorch_repository_path(dest)` (the sibling `<dest>_libtorch/`) for NVIDIA's server
  image (`nvcr.io/nvidia/tritonserver:<yy.mm>-py3`), whose PyTorch backend runs the same
  file as `<model>/1/model.pt`. Point infragap at such a server with `--triton-url`.

Both accept the KServe v2 request that `to_kserve_json` builds: inputs named after the
model's forward() arguments, one output `score`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infragap.errors import ConfigError
from infragap.workloads.model_sizes import INPUT_NAMES, OUTPUT_NAME, ModelSize

MODEL_SOURCE = Path(__file__).with_name("ranker_model.py")
PYTHON_MODEL_FILE = "ranker.pt"
LIBTORCH_MODEL_FILE = "model.pt"  # the PyTorch backend's default_model_filename
VERSION = "1"

# Defaults sized for a small CPU box (2 cores here), where Triton shares the machine with
# the load generator. One instance: a second one would compete for the same cores and
# only split the queue, so batches would shrink. One torch thread: the other core serves
# Triton's HTTP threads and the load generator, and an MLP this small gains little from
# intra-op parallelism. 500 us of queue delay is small next to an HTTP round trip yet
# lets requests that arrive together share one forward pass.
DEFAULT_MAX_BATCH_SIZE = 256
DEFAULT_QUEUE_DELAY_US = 500
DEFAULT_INSTANCES = 1
DEFAULT_TORCH_THREADS = 1
# Triton's docs reserve preferred sizes for models that run much faster at specific batch
# sizes (TensorRT engines); a CPU MLP does not, so by default any size may be formed.
DEFAULT_PREFERRED_BATCH_SIZES: tuple[int, ...] = ()

DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class ServingOptions:
    """How Triton batches and places the model; validated on construction."""

    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    queue_delay_us: int = DEFAULT_QUEUE_DELAY_US
    preferred_batch_sizes: tuple[int, ...] = DEFAULT_PREFERRED_BATCH_SIZES
    instances: int = DEFAULT_INSTANCES
    torch_threads: int = DEFAULT_TORCH_THREADS
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "instances", "torch_threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.queue_delay_us < 0:
            raise ConfigError(f"queue_delay_us must be >= 0, got {self.queue_delay_us}")
        bad = [n for n in self.preferred_batch_sizes if not 1 <= n <= self.max_batch_size]
        if bad:
            raise ConfigError(
                f"preferred batch sizes {bad} are outside [1, max_batch_size="
                f"{self.max_batch_size}]: drop them or raise max_batch_size"
            )
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")

    @property
    def instance_kind(self) -> str:
        return "KIND_GPU" if self.device == "cuda" else "KIND_CPU"


def libtorch_repository_path(dest: Path) -> Path:
    """Where `write_model_repository(dest, ...)` puts the repository for NVIDIA's image."""
    return dest.with_name(f"{dest.name}_libtorch")


def write_model_repository(
    dest: Path,
    model_file: Path,
    size: ModelSize,
    *,
    model_name: str = "ranker",
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    queue_delay_us: int = DEFAULT_QUEUE_DELAY_US,
    preferred_batch_sizes: Sequence[int] = DEFAULT_PREFERRED_BATCH_SIZES,
    instances: int = DEFAULT_INSTANCES,
    torch_threads: int = DEFAULT_TORCH_THREADS,
    device: str = "cpu",
    libtorch: bool = True,
) -> Path:
    """Write the Python-backend repository at `dest` (and, if `libtorch`, its sibling).

    Returns `dest`, ready for `tritonserver --model-repository`. An existing model folder
    of the same name is replaced; other models in the repository are left alone.
    """
    options = ServingOptions(
        max_batch_size=max_batch_size,
        queue_delay_us=queue_delay_us,
        preferred_batch_sizes=tuple(preferred_batch_sizes),
        instances=instances,
        torch_threads=torch_threads,
        device=device,
    )
    if not model_file.is_file():
        raise ConfigError(
            f"model file {model_file} does not exist: build it with ensure_model_file"
        )
    config = python_backend_config(size, options, model_name)
    version_dir = fresh_model_dir(dest, model_name, config)
    shutil.copyfile(MODEL_SOURCE, version_dir / "model.py")
    place_model_file(model_file, version_dir / PYTHON_MODEL_FILE)
    if libtorch:
        config = libtorch_config(size, options, model_name)
        other = fresh_model_dir(libtorch_repository_path(dest), model_name, config)
        place_model_file(model_file, other / LIBTORCH_MODEL_FILE)
    return dest


def python_backend_config(
    size: ModelSize, options: ServingOptions | None = None, model_name: str = "ranker"
) -> str:
    """config.pbtxt for the Python backend running ranker_model.py."""
    options = options or ServingOptions()
    parameters = {
        "model_file": PYTHON_MODEL_FILE,
        "torch_threads": str(options.torch_threads),
        # The model refuses ids outside the embedding tables per request (see model.py).
        "n_users": str(size.n_users),
        "n_items": str(size.n_items),
    }
    return _config('backend: "python"', size, options, model_name, parameters)


def libtorch_config(
    size: ModelSize, options: ServingOptions | None = None, model_name: str = "ranker"
) -> str:
    """config.pbtxt for NVIDIA's PyTorch (libtorch) backend.

    Inputs named exactly like forward()'s arguments use the backend's FORWARD_ARGUMENT
    naming convention; the one output, not named `<name>__<index>`, falls back to config
    order. Ids out of range fail the whole batch there (an embedding lookup error), unlike
    the Python backend, which answers 400 for the offending request only.
    """
    options = options or ServingOptions()
    parameters = {
        "INFERENCE_MODE": "true",
        "INTRA_OP_THREAD_COUNT": str(options.torch_threads),
    }
    return _config('platform: "pytorch_libtorch"', size, options, model_name, parameters)


def _config(
    runtime: str,
    size: ModelSize,
    options: ServingOptions,
    model_name: str,
    parameters: dict[str, str],
) -> str:
    user, item, dense = INPUT_NAMES
    batching = [f"  max_queue_delay_microseconds: {options.queue_delay_us}"]
    if options.preferred_batch_sizes:
        sizes = ", ".join(map(str, options.preferred_batch_sizes))
        batching.insert(0, f"  preferred_batch_size: [ {sizes} ]")
    lines = [
        f'name: "{model_name}"',
        runtime,
        f"max_batch_size: {options.max_batch_size}",
        "input [",
        _tensor(user, "TYPE_INT64", 1) + ",",
        _tensor(item, "TYPE_INT64", 1) + ",",
        _tensor(dense, "TYPE_FP32", size.dense_dim),
        "]",
        "output [",
        _tensor(OUTPUT_NAME, "TYPE_FP32", 1),
        "]",
        "dynamic_batching {",
        *batching,
        "}",
        f"instance_group [ {{ count: {options.instances} kind: {options.instance_kind} }} ]",
    ]
    lines += [
        f'parameters: {{ key: "{key}" value: {{ string_value: "{value}" }} }}'
        for key, value in parameters.items()
    ]
    return "\n".join(lines) + "\n"


def _tensor(name: str, data_type: str, width: int) -> str:
    return f'  {{ name: "{name}" data_type: {data_type} dims: [ {width} ] }}'


def fresh_model_dir(repository: Path, model_name: str, config: str) -> Path:
    """Replace `<repository>/<model_name>/` with one holding `config` and an empty version."""
    model_dir = repository / model_name
    if model_dir.exists():
        shutil.rmtree(model_dir)
    version_dir = model_dir / VERSION
    version_dir.mkdir(parents=True)
    (model_dir / "config.pbtxt").write_text(config)
    return version_dir


def place_model_file(source: Path, target: Path) -> None:
    """Hard-link the model file when possible (it may be 100 MB); copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
