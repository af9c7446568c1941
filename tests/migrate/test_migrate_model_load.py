"""model-load-in-handler: before/after pairs, and the loads it must leave alone."""

from __future__ import annotations

import pytest

from infragap.migrate.rules import RULES
from infragap.migrate.source import Source

RULE = "model-load-in-handler"
LOADER_COMMENT = (
    "# Loaded once per process, not on every request (infragap migrate: model-load-in-handler)."
)


def test_hoists_an_aliased_torchscript_load_and_keeps_its_comment(rewrites):
    rewrites(
        RULE,
        """\
        import torch as th
        from flask import Flask

        MODEL_PATH = "models/ranker.pt"
        app = Flask(__name__)


        @app.route("/predict", methods=["POST"])
        def predict():
            model = th.jit.load(MODEL_PATH)  # picks up new models (slow!)
            return str(model)
        """,
        f"""\
        import torch as th
        from flask import Flask
        import functools

        MODEL_PATH = "models/ranker.pt"
        app = Flask(__name__)


        {LOADER_COMMENT}
        @functools.lru_cache(maxsize=None)
        def _load_model():
            return th.jit.load(MODEL_PATH)


        @app.route("/predict", methods=["POST"])
        def predict():
            model = _load_model()  # picks up new models (slow!)
            return str(model)
        """,
    )


def test_hoists_a_load_one_helper_away_without_changing_the_helper(rewrites):
    rewrites(
        RULE,
        """\
        import joblib
        from fastapi import FastAPI

        api = FastAPI()


        def get_model():
            return joblib.load("model.joblib")


        @api.get("/score")
        async def score():
            clf = get_model()
            return {"n": clf.n_features_in_}
        """,
        f"""\
        import joblib
        from fastapi import FastAPI
        import functools

        api = FastAPI()


        def get_model():
            return joblib.load("model.joblib")


        {LOADER_COMMENT}
        @functools.lru_cache(maxsize=None)
        def _load_clf():
            return get_model()


        @api.get("/score")
        async def score():
            clf = _load_clf()
            return {{"n": clf.n_features_in_}}
        """,
    )


def test_hoists_a_with_open_pickle_load_from_a_nested_route(rewrites):
    rewrites(
        RULE,
        """\
        import os
        import pickle
        from flask import Blueprint


        def make_blueprint(model_dir):
            bp = Blueprint("b", __name__)

            @bp.route("/p")
            def p():
                # the old model
                with open(os.path.join(model_dir, "m.pkl"), "rb") as fh:
                    clf = pickle.load(fh)
                return str(clf)

            return bp
        """,
        f"""\
        import os
        import pickle
        from flask import Blueprint
        import functools


        {LOADER_COMMENT}
        @functools.lru_cache(maxsize=None)
        def _load_clf(model_dir):
            with open(os.path.join(model_dir, "m.pkl"), "rb") as fh:
                return pickle.load(fh)


        def make_blueprint(model_dir):
            bp = Blueprint("b", __name__)

            @bp.route("/p")
            def p():
                # the old model
                clf = _load_clf(model_dir)
                return str(clf)

            return bp
        """,
    )


def test_a_local_computed_without_request_data_becomes_a_loader_argument(rewrites):
    result = rewrites(
        RULE,
        """\
        import torch
        from flask import Flask
        app = Flask(__name__)


        @app.post("/p")
        def p():
            device = "cuda" if torch.cuda.is_available() else "cpu"
            net = torch.load("net.pt", map_location=device)
            return str(net)
        """,
        f"""\
        import torch
        from flask import Flask
        import functools

        app = Flask(__name__)


        {LOADER_COMMENT}
        @functools.lru_cache(maxsize=None)
        def _load_net(device):
            return torch.load("net.pt", map_location=device)


        @app.post("/p")
        def p():
            device = "cuda" if torch.cuda.is_available() else "cpu"
            net = _load_net(device)
            return str(net)
        """,
    )
    assert result.notes == ()


def test_the_same_load_in_two_handlers_shares_one_loader(rewrites):
    result = rewrites(
        RULE,
        """\
        import pickle
        from flask import Flask
        app = Flask(__name__)


        @app.route("/a")
        def a():
            return str(pickle.load(open("m.pkl", "rb")))


        @app.route("/b")
        def b():
            return str(pickle.load(open("m.pkl", "rb")))
        """,
        f"""\
        import pickle
        from flask import Flask
        import functools

        app = Flask(__name__)


        {LOADER_COMMENT}
        @functools.lru_cache(maxsize=None)
        def _load_model():
            return pickle.load(open("m.pkl", "rb"))


        @app.route("/a")
        def a():
            return str(_load_model())


        @app.route("/b")
        def b():
            return str(_load_model())
        """,
    )
    assert result.text.count("def _load_model") == 1


def test_keras_load_model_through_any_import_form(rewrites):
    rewrites(
        RULE,
        """\
        from fastapi import FastAPI
        from tensorflow import keras
        api = FastAPI()


        @api.post("/s")
        def s():
            model = keras.models.load_model("m.h5")
            return model.predict([[1.0]]).tolist()
        """,
        f"""\
        from fastapi import FastAPI
        from tensorflow import keras
        import functools

        api = FastAPI()


        {LOADER_COMMENT}
        @functools.lru_cache(maxsize=None)
        def _load_model():
            return keras.models.load_model("m.h5")


        @api.post("/s")
        def s():
            model = _load_model()
            return model.predict([[1.0]]).tolist()
        """,
    )


def test_leaves_a_load_that_depends_on_the_url(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import joblib
        from flask import Flask
        app = Flask(__name__)


        @app.route("/m/<name>")
        def m(name):
            model = joblib.load(f"models/{name}.joblib")
            return str(model)
        """,
        reason="depends on the handler argument `name`",
    )


def test_leaves_a_load_that_reads_the_request_through_a_local(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import torch
        from flask import Flask, request
        app = Flask(__name__)


        @app.route("/p", methods=["POST"])
        def p():
            version = request.args.get("v", "1")
            path = f"models/v{version}.pt"
            return str(torch.load(path))
        """,
        reason="`path`, which is computed from request data",
    )


def test_leaves_a_helper_that_reads_the_request(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import joblib
        from flask import Flask, request
        app = Flask(__name__)


        def current_model():
            return joblib.load(request.headers.get("X-Model", "default.joblib"))


        @app.route("/p")
        def p():
            return str(current_model())
        """,
        reason="current_model() reads `request`",
    )


def test_leaves_a_handler_that_changes_the_model_in_place(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import pickle
        from flask import Flask, request
        app = Flask(__name__)


        @app.route("/p", methods=["POST"])
        def p():
            model = pickle.load(open("m.pkl", "rb"))
            model.set_params(**request.json)
            return str(model)
        """,
        reason="changes the loaded model",
    )


def test_leaves_loads_that_are_already_cached(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import functools
        import torch
        from flask import Flask
        app = Flask(__name__)
        MODEL = None


        @functools.lru_cache(maxsize=None)
        def get_model():
            return torch.load("m.pt")


        @app.route("/a")
        def a():
            return str(get_model())


        @app.route("/b")
        def b():
            global MODEL
            if MODEL is None:
                MODEL = torch.load("m.pt")
            return str(MODEL)
        """,
    )


def test_leaves_loads_outside_route_handlers(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import torch
        from flask import Flask
        app = Flask(__name__)
        model = torch.load("m.pt")


        def offline_eval(path):
            return torch.load(path)


        class Predictor:
            @app.route("/not-a-view-function")
            def method(self):
                return torch.load("m.pt")
        """,
    )


def test_leaves_files_without_a_web_framework(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import torch
        registry = {}


        @registry.get("/looks/like/a/route")
        def f():
            return torch.load("m.pt")
        """,
    )


def test_add_url_rule_views_count_as_handlers():
    source = Source(
        "import torch\nfrom flask import Flask\napp = Flask(__name__)\n\n"
        "def view():\n    return str(torch.load('m.pt'))\n\n"
        "app.add_url_rule('/v', 'v', view_func=view)\n"
    )
    findings = RULES.get(RULE).find(source)
    assert [(f.line, f.fixes) for f in findings] == [
        (6, ("model-load-in-handler", "flask-to-triton"))
    ]


def test_findings_say_why_a_site_cannot_be_fixed():
    source = Source(
        "import joblib\nfrom flask import Flask\napp = Flask(__name__)\n\n"
        "@app.get('/m/<n>')\ndef m(n):\n    return str(joblib.load(n))\n"
    )
    (finding,) = RULES.get(RULE).find(source)
    assert finding.line == 7
    assert finding.code == "return str(joblib.load(n))"
    assert "handler argument `n`" in finding.unfixable


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("rows = json.loads(body)\n", False),  # no loader is called `loads`
        ("files = downloads(folder)\n", False),
        ("model = pickle.load(f)\n", True),
        ("model = load_object(path)\n", True),  # a helper may load one call away
        ("from torch import load as torch_load\n", True),
        ("@app.route('/p')\ndef p():\n    return json.loads(x)\n", True),  # a handler
    ],
)
def test_only_text_that_may_load_a_model_is_parsed_for_it(text, wanted):
    assert RULES.get("model-load-in-handler").wants(text) is wanted
