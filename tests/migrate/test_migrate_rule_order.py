"""Rules are found by importing the package and run in the order RULE_ORDER states."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import infragap.migrate.rules as rules_package
from infragap.migrate.apply import select_rules
from infragap.migrate.rules import RULE_ORDER, RULES, Rule, base
from infragap.migrate.rules.base import in_order, rule
from infragap.registry import Registry

SAFE = (
    "model-load-in-handler",
    "per-request-client",
    "retry-loop-to-tenacity",
    "timing-log-to-metrics",
)
UNSAFE = ("flask-to-triton", "preprocessing-to-feast", "shell-to-airflow", "vm-batch-to-k8s-job")


def _declared_rule_ids() -> set[str]:
    """Ids of the @rule classes defined in the package's modules, found without RULES."""
    ids = set()
    for info in pkgutil.iter_modules(rules_package.__path__, prefix="infragap.migrate.rules."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and vars(value).get("id")  # set by @rule; Rule itself has ""
            ):
                ids.add(value.id)
    return ids


def test_every_rule_module_is_discovered():
    assert set(RULES.names()) == _declared_rule_ids()


def test_every_registered_rule_is_in_the_order_and_listed_in_it():
    assert RULES.names() == list(RULE_ORDER)


def test_the_default_run_order_is_unchanged():
    assert select_rules(None) == SAFE


def test_unsafe_rules_run_first_then_safe_ones_whatever_order_they_are_named_in():
    named = list(reversed(SAFE + UNSAFE))
    assert select_rules(named) == UNSAFE + SAFE


def test_the_order_does_not_depend_on_the_order_rules_are_found():
    found = {rule_id: RULES.get(rule_id) for rule_id in reversed(RULE_ORDER)}
    assert [rule.id for rule in in_order(found, RULE_ORDER)] == list(RULE_ORDER)


def test_a_rule_missing_from_the_order_is_an_error():
    with pytest.raises(ValueError, match="new-rule: not in RULE_ORDER"):
        in_order({"old-rule": Rule(), "new-rule": Rule()}, ["old-rule"])


def test_an_order_naming_no_rule_is_an_error():
    with pytest.raises(ValueError, match="names gone-rule, which no rule module registers"):
        in_order({"old-rule": Rule()}, ["old-rule", "gone-rule"])


def test_an_order_naming_a_rule_twice_is_an_error():
    with pytest.raises(ValueError, match="old-rule more than once"):
        in_order({"old-rule": Rule()}, ["old-rule", "old-rule"])


class _ExtensionRule(Rule):
    """A rule defined outside infragap.migrate.rules, as an extension module would."""


def test_extension_rules_come_after_the_built_in_ones_by_id():
    found = {"zz-ext": _ExtensionRule(), "aa-ext": _ExtensionRule(), "old-rule": Rule()}
    listed = in_order(found, ["old-rule"])
    assert listed == [found["old-rule"], found["aa-ext"], found["zz-ext"]]


def test_a_rule_registered_after_the_package_is_imported_is_not_lost(monkeypatch):
    later = Registry[Rule]("migrate rule")
    monkeypatch.setattr(base, "RULES", later)

    @rule("late-extension-rule")
    class _Late(Rule):
        pass

    assert later.names() == ["late-extension-rule"]
