"""Loading and running a user's model file, and the errors for files that do not load."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from infragap.errors import InfragapError
from infragap.workloads.own_model.runtime import (
    ModelLoadError,
    ModelRunError,
    error_summary,
    load_model,
    name_outputs,
    pickle_globals,
)
from infragap.workloads.own_model.signature import Signature, TensorSpec

torch = pytest.importorskip("torch")


class TwoHeads(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"diff": a - b, "total": (a + b).sum(dim=1)}


class Pair(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * 2, x[:, :1]


def scripted(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.script(module).save(str(path))
    return path


def test_torchscript_inputs_follow_the_signature_order(tmp_path: Path) -> None:
    path = scripted(TwoHeads(), tmp_path / "two.pt")
    signature = Signature(
        "torchscript",
        (TensorSpec("a", "float32", (2,)), TensorSpec("b", "float32", (2,))),
        (TensorSpec("total", "float32", ()), TensorSpec("diff", "float32", (2,))),
    )
    run = load_model(path, "torchscript", 1, signature=signature)
    # Given out of order: the signature decides what is a and what is b.
    out = run({"b": np.ones((3, 2)), "a": np.full((3, 2), 4.0)})
    assert list(out) == ["total", "diff"]  # a dict's keys cover the names: by name
    np.testing.assert_allclose(out["diff"], np.full((3, 2), 3.0))
    np.testing.assert_allclose(out["total"], np.full(3, 10.0))
    assert out["diff"].dtype == np.float32


def test_tuple_outputs_are_named_in_order_or_numbered(tmp_path: Path) -> None:
    path = scripted(Pair(), tmp_path / "pair.pt")
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert list(load_model(path, "torchscript")({"x": x})) == ["output_0", "output_1"]
    signature = Signature(
        "torchscript",
        (TensorSpec("x", "float32", (2,)),),
        (TensorSpec("doubled", "float32", (2,)), TensorSpec("first", "float32", (1,))),
    )
    out = load_model(path, "torchscript", signature=signature)({"x": x})
    np.testing.assert_array_equal(out["doubled"], x * 2)
    np.testing.assert_array_equal(out["first"], x[:, :1])


def test_name_outputs_refuses_a_count_mismatch() -> None:
    with pytest.raises(ModelRunError, match="gave 1 output"):
        name_outputs([(None, np.zeros(1))], ["a", "b"])


def test_onnx_runs_by_input_name(examples) -> None:
    run = load_model(examples.encoder, "onnx", 1, signature=examples.encoder_signature)
    ids = np.zeros((2, 16), dtype=np.int32)  # cast to the model's int64
    assert run({"input_ids": ids})["logits"].shape == (2, 10)


def test_a_model_failure_is_one_line(tmp_path: Path) -> None:
    path = scripted(Pair(), tmp_path / "pair.pt")
    run = load_model(path, "torchscript")
    with pytest.raises(ModelRunError) as info:
        run({"x": np.zeros((2,), dtype=np.float32)})  # x[:, :1] on a 1-d tensor
    assert "\n" not in str(info.value) and "pair.pt failed" in str(info.value)


def _rewrite_code(source: Path, target: Path, old: str, new: str) -> Path:
    """A copy of a TorchScript archive with `old` replaced by `new` in its code."""
    replaced = False
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if "/code/" in info.filename and info.filename.endswith(".py"):
                text = data.decode()
                replaced = replaced or old in text
                data = text.replace(old, new).encode()
            zout.writestr(info, data)
    assert replaced, f"{old!r} is not in the archive's code"
    return target


class AddOne(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1


def test_a_custom_class_is_named_with_the_fix(tmp_path: Path) -> None:
    plain = scripted(AddOne(), tmp_path / "plain.pt")
    crafted = _rewrite_code(
        plain,
        tmp_path / "custom.pt",
        "return torch.add(x, 1)",
        "t = annotate(Optional[__torch__.torch.classes.mylib.Thing], None)\n"
        "    return torch.add(x, 1)",
    )
    with pytest.raises(ModelLoadError) as info:
        load_model(crafted, "torchscript")
    message = str(info.value)
    assert "torch.classes.mylib.Thing" in message and "'mylib'" in message
    assert "torch.ops.load_library" in message
    assert isinstance(info.value, InfragapError)


def test_a_custom_op_is_named_with_the_fix(tmp_path: Path) -> None:
    plain = scripted(AddOne(), tmp_path / "plain.pt")
    crafted = _rewrite_code(plain, tmp_path / "op.pt", "torch.add(x, 1)", "ops.mylib.fancy_add(x)")
    with pytest.raises(ModelLoadError, match=r"mylib::fancy_add.*torch\.ops\.load_library"):
        load_model(crafted, "torchscript")


class UsersNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)


def test_a_pickled_module_is_not_torchscript(tmp_path: Path) -> None:
    path = tmp_path / "pickled.pt"
    torch.save(UsersNet(), path)
    with pytest.raises(ModelLoadError) as info:
        load_model(path, "torchscript")
    message = str(info.value)
    assert "not TorchScript" in message
    assert f"{__name__}.UsersNet" in message or "UsersNet" in message
    assert "torch.jit.script(model).save(path)" in message


def test_a_state_dict_is_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(UsersNet().state_dict(), path)
    with pytest.raises(ModelLoadError, match="state_dict"):
        load_model(path, "torchscript")


class Boom:
    def __reduce__(self):  # would run a command on unpickling; reading opcodes must not
        return (os.system, ("false",))


def test_pickle_globals_never_unpickle() -> None:
    data = pickle.dumps(Boom(), protocol=2)
    assert "posix.system" in pickle_globals(data)
    data4 = pickle.dumps(Boom(), protocol=4)
    assert "posix.system" in pickle_globals(data4)


def test_garbage_is_not_torchscript(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match=r"not a TorchScript file.*torch\.jit\.script"):
        load_model(path, "torchscript")


def test_onnx_with_a_custom_domain_names_it(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    node = helper.make_node("MyOp", ["x"], ["y"], domain="mylib")
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node],
        "g",
        [value("x", TensorProto.FLOAT, ["batch", 2])],
        [value("y", TensorProto.FLOAT, ["batch", 2])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("mylib", 1)]
    )
    model.ir_version = 8
    path = tmp_path / "custom.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match=r"custom domain 'mylib'.*register_custom_ops"):
        load_model(path, "onnx")


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "nope.pt", "torchscript")
    (tmp_path / "m.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="unknown model format"):
        load_model(tmp_path / "m.bin", "keras")


def test_error_summary_keeps_the_real_error() -> None:
    torchscript = (
        "The following operation failed in the TorchScript interpreter.\n"
        "Traceback of TorchScript (most recent call last):\n  File x, line 3\n"
        "RuntimeError: index 5 is out of bounds\n"
    )
    assert error_summary(torchscript) == "RuntimeError: index 5 is out of bounds"
    assert error_summary("first line\nsecond") == "first line"
