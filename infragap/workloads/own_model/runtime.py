"""Load a user's TorchScript or ONNX file and run it on named numpy inputs.

Only the processes that serve the model call this (the reference runner, tests); the
harness never does. A file that cannot be loaded raises ModelLoadError saying why in
terms of what the user did (a custom op nobody registered, a pickle instead of
TorchScript) and how to fix it.

Outputs are named by the signature's outputs in order; without them by the model's own
names (ONNX output names, the keys of a returned dict), else `output_0`, `output_1`, ...
"""

from __future__ import annotations

import pickletools
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infragap.errors import InfragapError, MissingDependency
from infragap.workloads.own_model.signature import Signature

Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]

EXPORT_HINT = "export it with torch.jit.script(model).save(path) (or torch.jit.trace)"
TORCH_WARM_UP_CALLS = 3


class ModelError(InfragapError):
    """A user's model file cannot be served."""


class ModelLoadError(ModelError):
    """The model file does not load; the message names what is missing and the fix."""


class ModelRunError(ModelError):
    """The model loaded but failed on, or gave something unusable for, its inputs."""


def load_model(
    path: Path,
    fmt: str,
    threads: int | None = None,
    *,
    signature: Signature | None = None,
    device: str = "cpu",
) -> Runner:
    """A function from {input name: array, batch first} to {output name: array}.

    `threads` bounds intra-op parallelism (torch.set_num_threads, which is per process,
    or onnxruntime's intra_op_num_threads); None keeps the library's default. TorchScript
    gets its inputs positionally, in the signature's order (or the dict's order without
    one).
    """
    if not path.is_file():
        raise ModelLoadError(f"model file {path} does not exist")
    if fmt == "torchscript":
        return _torchscript_runner(path, threads, signature, device)
    if fmt == "onnx":
        return _onnx_runner(path, threads, signature, device)
    raise ModelLoadError(f"{path.name}: unknown model format {fmt!r}: use torchscript or onnx")


def _torchscript_runner(
    path: Path, threads: int | None, signature: Signature | None, device: str
) -> Runner:
    try:
        import torch
    except ImportError:
        raise MissingDependency("PyTorch (to run TorchScript models)", "serving") from None
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model = torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:  # torch raises RuntimeError, ValueError or pickle errors here
        raise ModelLoadError(torchscript_load_message(path, str(exc))) from None
    names = _output_names(signature)

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = _ordered(inputs, signature)
        try:
            with torch.inference_mode():
                result = model(*(torch.from_numpy(a).to(device) for a in arrays))
        except Exception as exc:  # the model's own failure, reported as one line
            raise ModelRunError(f"{path.name} failed: {error_summary(str(exc))}") from None
        return name_outputs(torch_outputs(result), names)

    return run


def torch_outputs(result: Any) -> list[tuple[str | None, np.ndarray]]:
    """(own name or None, array) for a tensor, a tuple/list of tensors or a dict of them."""
    if isinstance(result, Mapping):
        items: list[tuple[str | None, Any]] = [(str(k), v) for k, v in result.items()]
    elif isinstance(result, (tuple, list)):
        items = [(None, v) for v in result]
    else:
        items = [(None, result)]
    out = []
    for name, value in items:
        if not hasattr(value, "detach"):
            raise ModelRunError(
                f"the model returned a {type(value).__name__}, not a tensor: return a tensor, "
                "a tuple of tensors or a dict of tensors from forward()"
            )
        out.append((name, value.detach().cpu().numpy()))
    return out


def name_outputs(
    outputs: Sequence[tuple[str | None, np.ndarray]], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """The model's outputs keyed by `names` (the signature's): by the model's own names
    when they cover `names`, else in order. Without `names`, the model's own names or
    output_<i>."""
    own = {name: array for name, array in outputs if name is not None}
    if names and set(names) <= set(own):
        return {name: own[name] for name in names}
    if names:
        if len(names) != len(outputs):
            raise ModelRunError(
                f"the model gave {len(outputs)} output(s) but the signature names "
                f"{len(names)} ({', '.join(names)}): list every output in order"
            )
        return {name: array for name, (_, array) in zip(names, outputs, strict=True)}
    return {name or f"output_{i}": array for i, (name, array) in enumerate(outputs)}


def _onnx_runner(
    path: Path, threads: int | None, signature: Signature | None, device: str
) -> Runner:
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependency("onnxruntime (to run ONNX models)", "own-model") from None
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    providers = ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # onnxruntime's errors are pybind classes without a common base
        raise ModelLoadError(onnx_load_message(path, str(exc))) from None
    own_names = [o.name for o in session.get_outputs()]
    input_types = {i.name: _ONNX_TYPES.get(i.type) for i in session.get_inputs()}
    names = _output_names(signature)

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {
            name: np.ascontiguousarray(array, dtype=input_types.get(name) or array.dtype)
            for name, array in inputs.items()
        }
        try:
            arrays = session.run(None, feeds)
        except Exception as exc:  # the model's own failure, reported as one line
            raise ModelRunError(f"{path.name} failed: {error_summary(str(exc))}") from None
        return name_outputs(list(zip(own_names, arrays, strict=True)), names)

    return run


_ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def _output_names(signature: Signature | None) -> list[str]:
    return [t.name for t in signature.outputs] if signature else []


def _ordered(inputs: dict[str, np.ndarray], signature: Signature | None) -> list[np.ndarray]:
    if signature is None:
        return [np.ascontiguousarray(a) for a in inputs.values()]
    missing = [t.name for t in signature.inputs if t.name not in inputs]
    if missing:
        raise ModelRunError(f"input(s) {', '.join(missing)} missing")
    return [np.ascontiguousarray(inputs[t.name], dtype=t.dtype) for t in signature.inputs]


# --- why a file does not load (pure: messages from error text and file bytes) ---------

_CUSTOM_CLASS = re.compile(r"__torch__\.torch\.classes\.(\w+)\.(\w+)")
_CUSTOM_OP = re.compile(r"Unknown builtin op: (\w+)::(\w+)")
_ONNX_OP = re.compile(r"([\w.]+):(\w+)\(-?\d+\) is not a registered function/op")
_ONNX_STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"}


def torchscript_load_message(path: Path, error: str) -> str:
    """Why torch.jit.load failed on `path`, as cause and fix."""
    name = path.name
    match = _CUSTOM_CLASS.search(error)
    if match:
        namespace, cls = match.groups()
        return (
            f"{name} uses the custom TorchScript class torch.classes.{namespace}.{cls}, and "
            f"no library registering namespace {namespace!r} is loaded: load the library "
            f"that defines it (torch.ops.load_library('lib{namespace}.so')) or install the "
            f"package that registers it on import, or export the model without it"
        )
    match = _CUSTOM_OP.search(error)
    if match:
        namespace, op = match.groups()
        return (
            f"{name} calls the custom operator {namespace}::{op}, and no library registering "
            f"namespace {namespace!r} is loaded: load the library that defines it "
            f"(torch.ops.load_library('lib{namespace}.so')) or install the package that "
            f"registers it on import, or export the model without it"
        )
    pickled = pickle_summary(path)
    if pickled is not None:
        return f"{name} is not TorchScript: {pickled}; {EXPORT_HINT}"
    return (
        f"{name} is not a TorchScript file torch can load ({error_summary(error)}); {EXPORT_HINT}"
    )


def pickle_summary(path: Path) -> str | None:
    """What a torch.save() file holds, read from its pickle opcodes without unpickling;
    None when the file is not such a pickle (a TorchScript archive has code/)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if any("/code/" in n or n.startswith("code/") for n in names):
                return None
            data_pkl = next((n for n in names if n.endswith("data.pkl")), None)
            if data_pkl is None:
                return None
            data = archive.read(data_pkl)
    except (OSError, zipfile.BadZipFile):
        data = path.read_bytes()[: 1 << 20] if path.is_file() else b""
        if not data.startswith(b"\x80"):
            return None
    globals_ = pickle_globals(data)
    user = [g for g in globals_ if not g.startswith(("torch", "collections.", "builtins."))]
    user = [g for g in user if not g.startswith(("__builtin__.", "_codecs.", "numpy."))]
    if user:
        where = user[0].rsplit(".", 1)[0]
        note = (
            " (defined in the script that saved it)"
            if where == "__main__"
            else f" (importing it would run module {where})"
        )
        return f"it is a pickled {user[0]}{note}, saved with torch.save(model)"
    if any(g.endswith("OrderedDict") for g in globals_):
        return "it holds a state_dict (weights only, saved with torch.save(model.state_dict()))"
    return "it is a pickle (saved with torch.save), which infragap does not unpickle"


def pickle_globals(data: bytes) -> list[str]:
    """module.name of each class or function a pickle refers to, in order, read from its
    GLOBAL / STACK_GLOBAL opcodes: nothing is imported or constructed."""
    found: list[str] = []
    strings: list[str] = []
    position = 0
    try:
        # A legacy torch.save file is several pickles back to back; zip files hold one.
        while position < len(data) and len(found) < 100:
            for opcode, arg, pos in pickletools.genops(data[position:]):
                if opcode.name == "GLOBAL":
                    found.append(".".join(str(arg).split(" ", 1)))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str):
                    strings.append(arg)
                if opcode.name == "STOP":
                    position += (pos or 0) + 1
                    break
            else:
                break
    except Exception:  # a truncated or foreign stream: keep what was read
        pass
    return list(dict.fromkeys(found))


def onnx_load_message(path: Path, error: str) -> str:
    """Why onnxruntime refused `path`, as cause and fix."""
    name = path.name
    match = _ONNX_OP.search(error)
    domains = [match.group(1)] if match else []
    if match and match.group(1) in _ONNX_STANDARD_DOMAINS:
        return (
            f"{name} uses operator {match.group(2)}, which this onnxruntime does not know: "
            f"upgrade onnxruntime or export with an older opset ({error_summary(error)})"
        )
    domains = domains or custom_onnx_domains(path)
    if domains:
        op = f" (operator {match.group(2)})" if match else ""
        return (
            f"{name} uses operators from the custom domain {domains[0]!r}{op}, which "
            f"onnxruntime does not know: register the library that implements them "
            f"(SessionOptions.register_custom_ops_library) or export the model with "
            f"standard ONNX operators only"
        )
    return (
        f"{name} is not an ONNX model onnxruntime can load ({error_summary(error)}): export it "
        "with torch.onnx.export(model, args, path, dynamo=True)"
    )


def custom_onnx_domains(path: Path) -> list[str]:
    """The non-standard operator domains a model imports (parsed, never run)."""
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # not readable as ONNX at all: the caller says so
        return []
    used = [o.domain for o in model.opset_import] + [n.domain for n in model.graph.node]
    return [d for d in dict.fromkeys(used) if d not in _ONNX_STANDARD_DOMAINS]


def error_summary(error: str) -> str:
    """One line from a multi-line library error: TorchScript puts the real error last
    (`RuntimeError: ...`) after its traceback; others put it first."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    if not lines:
        return "no message"
    for line in reversed(lines):
        if re.match(r"^[A-Z]\w*(Error|Exception): ", line):
            return line
    # torch's zip reader appends a paragraph of guesses after the one sentence that counts.
    return lines[0].split(". This is an internal miniz error")[0]
