"""Call sites across files: which module an import names, and the calls that reach a function."""

from __future__ import annotations

from textwrap import dedent

import pytest

from infragap.migrate.analysis.call_sites import CallIndex, module_name, resolves_to
from infragap.migrate.source import Source


@pytest.mark.parametrize(
    ("qualname", "importer", "target", "expected"),
    [
        ("serving.features", "serving/app.py", "serving/features.py", True),
        (".features", "serving/app.py", "serving/features.py", True),
        ("..features", "serving/api/app.py", "serving/features.py", True),
        (".features", "serving/__init__.py", "serving/features.py", True),
        ("features", "serving/app.py", "serving/features.py", True),  # a script beside it
        ("features", "app.py", "serving/features.py", False),
        ("serving.features", "src/serving/app.py", "src/serving/features.py", True),
        ("training.features", "serving/app.py", "serving/features.py", False),
    ],
)
def test_which_module_an_import_names(qualname, importer, target, expected):
    assert resolves_to(qualname, importer, target) is expected


def test_of_several_projects_the_nearest_module_wins():
    paths = ["a/serving/features.py", "b/serving/features.py"]
    assert resolves_to("serving.features", "b/serving/app.py", paths[1], paths)
    assert not resolves_to("serving.features", "b/serving/app.py", paths[0], paths)
    exact = [*paths, "serving/features.py"]
    assert not resolves_to("serving.features", "b/serving/app.py", paths[1], exact)


def test_the_index_finds_calls_through_every_import_style():
    texts = {
        "serving/features.py": "def build(rows):\n    return rows\n\n\nbuild([])\n",
        "serving/app.py": dedent(
            """\
            import serving.features as sf
            from serving.features import build as b
            from .features import build


            def handler():
                return sf.build([]), b([]), build([])
            """
        ),
        "other/app.py": "from other.features import build\nbuild([])\n",
        "broken.py": "def build(:\n",
    }
    sources = [Source(text, path) for path, text in texts.items()]
    index = CallIndex(sources, {"build"})
    sites = index.sites("serving/features.py", "build")
    assert sorted((s.source.path, s.line) for s in sites) == [
        ("serving/app.py", 7),
        ("serving/app.py", 7),
        ("serving/app.py", 7),
        ("serving/features.py", 5),
    ]
    assert {s.caller.name.value for s in sites if s.caller} == {"handler"}
    assert module_name("serving/__init__.py") == "serving"
