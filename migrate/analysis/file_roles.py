"""Whether a file trains or serves, as its code and its name tell, and whether it tests.

A file with a web route handler serves; a notebook trains (unless its name says it
serves); otherwise the words of its path decide (`serve`, `api`, `app`, `predict`,
`infer` against `train`, `preprocess`, `etl`, ...), matched at the start of each word (short
ones whole, so `apply.py` is no app); a file whose name says neither trains if it fits something and
serves if it loads a saved object and predicts. Ambiguous files have no role.
"""

from __future__ import annotations

import re
from typing import Literal

import libcst as cst

from infragap.migrate.analysis.handlers import find_handlers
from infragap.migrate.notebooks import is_notebook
from infragap.migrate.source import Source

Role = Literal["training", "serving", ""]
SERVING_STEMS = ("serv", "online", "endpoint", "predict", "request", "infer", "scor")
SERVING_WORDS = frozenset({"api", "apis", "app", "apps", "web", "flask", "fastapi"})
TRAINING_STEMS = ("train", "preprocess", "prep", "offline", "batch", "pipeline", "etl", "fit")
TEST_FILE = re.compile(r"(?:^|/)(?:tests?/|test_[^/]*$|[^/]*_tests?\.(?:py|ipynb)$|conftest\.py$)")
LOADERS = frozenset({"joblib.load", "pickle.load", "pickle.loads", "dill.load", "cloudpickle.load"})


def is_test_file(path: str) -> bool:
    return TEST_FILE.search(path) is not None


def file_role(source: Source) -> Role:
    """ "training", "serving", or "" when the code and the name do not settle it."""
    if source.language != "shell" and find_handlers(source):
        return "serving"
    by_name = _role_of_words(source.path)
    if by_name or is_notebook(source.path):
        return by_name or "training"
    methods = _methods_and_calls(source)
    if methods & {"fit", "fit_transform", "partial_fit"}:
        return "training"
    if "predict" in methods and methods & LOADERS:
        return "serving"
    return ""


def _role_of_words(path: str) -> Role:
    words = [word for word in re.split(r"[^a-z0-9]+", path.lower()) if word]
    serving = any(word.startswith(SERVING_STEMS) or word in SERVING_WORDS for word in words)
    training = any(word.startswith(TRAINING_STEMS) for word in words)
    if serving == training:
        return ""
    return "serving" if serving else "training"


def _methods_and_calls(source: Source) -> set[str]:
    """The method names called in the module, and the dotted names of loader calls."""
    found: set[str] = set()
    for node in source.nodes:
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute):  # type: ignore[attr-defined]
            func = node.func
            found.add(func.attr.value)
            if isinstance(func.value, cst.Name):
                found.add(f"{func.value.value}.{func.attr.value}")
    return found
