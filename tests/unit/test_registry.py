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
