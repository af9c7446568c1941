import pytest

from infragap.errors import ConfigError
from infragap.registry import Registry


def test_register_and_get():
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    assert reg.get("a") == 1
    assert reg.names() == ["a"]
    assert "a" in reg


def test_unknown_name_lists_choices():
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ConfigError, match="unknown thing 'b': choose one of a"):
        reg.get("b")


def test_double_registration_is_a_bug():
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ValueError):
        reg.register("a")(2)


def _distribution(folder, name: str, entry_points: str | None) -> None:
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Name: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


def test_plugins_are_looked_up_only_where_a_distribution_may_declare_them(tmp_path):
    from infragap.registry import _may_declare_plugins

    _distribution(tmp_path, "plain", None)
    _distribution(tmp_path, "cli", "[console_scripts]\ntool = tool:main\n")
    assert not _may_declare_plugins([str(tmp_path), str(tmp_path / "missing")])
    _distribution(tmp_path, "pair", "[infragap.plugins]\npair = pair_module\n")
    assert _may_declare_plugins([str(tmp_path)])


def test_a_path_entry_read_only_through_importlib_is_left_to_it(tmp_path):
    from infragap.registry import _may_declare_plugins

    (tmp_path / "bundle.zip").write_bytes(b"PK")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "old.egg").mkdir()
    assert _may_declare_plugins([str(tmp_path / "bundle.zip")])
    assert _may_declare_plugins([str(tmp_path / "site")])
