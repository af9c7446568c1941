"""per-request-client: clients made on every request become one cached factory per
process where that is the same behaviour; every other site is reported with the reason."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from infragap.migrate.apply import select_rules
from infragap.migrate.results import Status
from infragap.migrate.rules import RULES, fix_text
from infragap.migrate.scan import scan
from infragap.migrate.source import Source

RULE = "per-request-client"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "per_request_clients"
APP = FIXTURE / "app.py"
SHAREABLE = "it could be created once per process"
COMMENT = "# Created once per process, not on every request (infragap migrate: per-request-client)."
PLANTED = [20, 26, 32, 38, 44, 50, 56, 62, 70, 76, 82, 88, 94, 109, 115, 130, 136]
SHARED = [20, 26, 32, 38, 44, 109]


def _findings() -> dict[int, tuple[str, str]]:
    return {f.line: (f.message, f.unfixable) for f in scan(APP, 1, (RULE,)).findings}


# -- what the scan says ------------------------------------------------------------------


def test_every_planted_client_is_found_and_nothing_else():
    assert sorted(_findings()) == PLANTED


@pytest.mark.parametrize(
    ("line", "label"),
    [
        (20, "a boto3 client"),
        (26, "a MongoDB client"),
        (32, "a Redis client"),
        (38, "a SQLAlchemy engine"),
        (44, "an OpenAI client"),
        (109, "a boto3 client"),
    ],
)
def test_shareable_clients_from_constants_are_said_to_be_hoistable(line, label):
    message, why = _findings()[line]
    assert f"creates {label} on every request; {SHAREABLE}" in message
    assert why == ""


REFUSED = [
    (50, "only works on the thread that made it"),
    (56, "one transaction at a time"),
    (62, "the handler closes it (`.dispose()`)"),
    (70, "it is built from `request`, i.e. the request"),
    (76, "boto3 resources are not thread-safe"),
    (82, "not documented as safe to share"),
    (88, "a login opens a session with side effects"),
    (94, "the handler hands it to other code"),
    (115, "the handler changes it (`llm.timeout = ...`)"),
    (130, "`MONGO_URL`, which a function rebinds (`global MONGO_URL`)"),
    (136, "the handler changes it (`s3.meta.events.register(...)`)"),
]


@pytest.mark.parametrize(("line", "reason"), REFUSED)
def test_clients_that_must_stay_per_request_say_why(line, reason):
    message, why = _findings()[line]
    assert SHAREABLE not in message
    assert reason in why


def test_a_client_in_a_with_block_is_not_shareable():
    source = Source(
        "import pymongo\nfrom flask import Flask\napp = Flask(__name__)\n\n"
        "@app.get('/m')\ndef m():\n    with pymongo.MongoClient('mongodb://db') as c:\n"
        "        return str(c.list_database_names())\n"
    )
    (finding,) = RULES.get(RULE).find(source)
    assert "a `with` block" in finding.unfixable


def test_it_is_a_safe_codemod_that_the_default_apply_runs():
    assert RULES.get(RULE).kind == "safe"
    assert RULE in select_rules(None)


# -- the fixture, before and after -------------------------------------------------------


def _fixture_fix():
    return fix_text(RULE, APP.read_text(), path=str(APP))


def test_the_fixture_becomes_its_after_and_a_second_run_changes_nothing():
    result = _fixture_fix()
    assert result.status is Status.CHANGED, result.reason
    assert result.text == (FIXTURE / "after.py").read_text()
    again = fix_text(RULE, result.text)
    assert again.text == result.text
    assert again.status is Status.SKIPPED  # the refused sites are still reported


def test_only_the_shareable_sites_are_rewritten_and_the_others_keep_their_reason():
    result = _fixture_fix()
    notes = {note.line: note.message for note in result.notes}
    assert sorted(notes) == [line for line, _ in REFUSED]
    for line, reason in REFUSED:
        assert reason in notes[line]
    before = APP.read_text().splitlines()
    still_found = [finding.code for finding in RULES.get(RULE).find(Source(result.text))]
    assert still_found == [before[line - 1].strip() for line, _ in REFUSED]


def test_the_same_client_made_in_two_handlers_shares_one_factory():
    after = (FIXTURE / "after.py").read_text()
    assert after.count("def _s3_client():") == 1
    assert "    s3 = _s3_client()\n" in after
    assert "    bucket_client = _s3_client()\n" in after
    assert after.count("import functools\n") == 1


def test_precision_and_recall_on_the_fixture():
    found = _findings()
    assert sorted(found) == PLANTED  # recall and precision of the scan: 17 of 17
    hoistable = sorted(line for line, (_, why) in found.items() if not why)
    assert hoistable == SHARED  # every shareable site, and only those, is rewritten
    after = (FIXTURE / "after.py").read_text()
    assert after.count("@functools.lru_cache(maxsize=None)") == len(SHARED) - 1  # one shared


# -- rewrites ----------------------------------------------------------------------------


def test_hoists_a_boto3_client_and_keeps_its_comments(rewrites):
    rewrites(
        RULE,
        """\
        import boto3
        from flask import Flask

        REGION = "eu-west-1"
        app = Flask(__name__)


        @app.route("/files")
        def files():
            # one client per request (slow)
            s3 = boto3.client(
                "s3",
                region_name=REGION,  # where the bucket lives
            )  # TODO: share it
            return str(s3.list_buckets())
        """,
        f"""\
        import boto3
        from flask import Flask
        import functools

        REGION = "eu-west-1"
        app = Flask(__name__)


        {COMMENT}
        @functools.lru_cache(maxsize=None)
        def _s3_client():
            return boto3.client(
                "s3",
                region_name=REGION,  # where the bucket lives
            )


        @app.route("/files")
        def files():
            # one client per request (slow)
            s3 = _s3_client()  # TODO: share it
            return str(s3.list_buckets())
        """,
    )


def test_reuses_functools_imported_under_another_name(rewrites):
    rewrites(
        RULE,
        """\
        import functools as ft

        import redis
        from flask import Flask

        app = Flask(__name__)


        @app.get("/hits")
        def hits():
            cache = redis.Redis(host="cache", port=6379)
            return str(cache.incr("hits"))
        """,
        f"""\
        import functools as ft

        import redis
        from flask import Flask

        app = Flask(__name__)


        {COMMENT}
        @ft.lru_cache(maxsize=None)
        def _cache_client():
            return redis.Redis(host="cache", port=6379)


        @app.get("/hits")
        def hits():
            cache = _cache_client()
            return str(cache.incr("hits"))
        """,
    )


def test_reuses_lru_cache_imported_from_functools(rewrites):
    rewrites(
        RULE,
        """\
        from functools import lru_cache

        from fastapi import FastAPI
        from sqlalchemy import create_engine

        api = FastAPI()


        @api.get("/dialect")
        def dialect():
            engine = create_engine("sqlite:///app.db")
            return engine.dialect.name
        """,
        f"""\
        from functools import lru_cache

        from fastapi import FastAPI
        from sqlalchemy import create_engine

        api = FastAPI()


        {COMMENT}
        @lru_cache(maxsize=None)
        def _engine():
            return create_engine("sqlite:///app.db")


        @api.get("/dialect")
        def dialect():
            engine = _engine()
            return engine.dialect.name
        """,
    )


def test_a_taken_name_gets_a_unique_one_and_different_arguments_get_their_own(rewrites):
    rewrites(
        RULE,
        """\
        import functools

        import boto3
        from flask import Flask

        app = Flask(__name__)
        _s3_client = "taken"


        @app.route("/a")
        def a():
            s3 = boto3.client("s3", region_name="eu-west-1")
            return str(s3.list_buckets())


        @app.route("/b")
        def b():
            _s3_client_2 = 1
            s3 = boto3.client("s3", region_name="us-east-1")
            return str(s3.list_buckets()) + str(_s3_client_2)
        """,
        f"""\
        import functools

        import boto3
        from flask import Flask

        app = Flask(__name__)
        _s3_client = "taken"


        {COMMENT}
        @functools.lru_cache(maxsize=None)
        def _s3_client_3():
            return boto3.client("s3", region_name="eu-west-1")


        @app.route("/a")
        def a():
            s3 = _s3_client_3()
            return str(s3.list_buckets())


        {COMMENT}
        @functools.lru_cache(maxsize=None)
        def _s3_client_4():
            return boto3.client("s3", region_name="us-east-1")


        @app.route("/b")
        def b():
            _s3_client_2 = 1
            s3 = _s3_client_4()
            return str(s3.list_buckets()) + str(_s3_client_2)
        """,
    )


def test_a_route_inside_an_app_factory_gets_a_module_level_factory(rewrites):
    rewrites(
        RULE,
        """\
        import openai
        from flask import Flask


        def create_app():
            app = Flask(__name__)

            @app.post("/chat")
            def chat():
                llm = openai.OpenAI(max_retries=2)
                return llm.models.list().data[0].id

            return app
        """,
        f"""\
        import openai
        from flask import Flask
        import functools


        {COMMENT}
        @functools.lru_cache(maxsize=None)
        def _llm_client():
            return openai.OpenAI(max_retries=2)


        def create_app():
            app = Flask(__name__)

            @app.post("/chat")
            def chat():
                llm = _llm_client()
                return llm.models.list().data[0].id

            return app
        """,
    )


# -- refusals: the file is left as it is, with the reason --------------------------------

HEADER = """\
import boto3
import redis
from flask import Flask
from sqlalchemy import create_engine

app = Flask(__name__)
REGION = "eu-west-1"


@app.route("/x")
def handler():
"""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            'engine = create_engine("sqlite://")\n    engine.echo = True\n    return "ok"',
            "the handler changes it (`engine.echo = ...`)",
        ),
        (
            'cache = redis.Redis(host="c")\n    cache.connection_pool.max_connections = 5\n'
            "    return str(cache.ping())",
            "the handler changes it (`cache.connection_pool.max_connections = ...`)",
        ),
        (
            'cache = redis.Redis(host="c")\n    cache.retries += 1\n    return "ok"',
            "the handler changes it (`cache.retries = ...`)",
        ),
        (
            'engine = create_engine("sqlite://")\n'
            '    engine.update_execution_options(isolation_level="AUTOCOMMIT")\n    return "ok"',
            "the handler changes it (`engine.update_execution_options(...)`)",
        ),
        (
            'cache = redis.Redis(host="c")\n    n = cache.dbsize()\n'
            "    cache.connection_pool.disconnect()\n    return str(n)",
            "the handler closes it (`.disconnect()`)",
        ),
        (
            's3 = boto3.client("s3")\n    other = s3\n    return str(other.list_buckets())',
            "the handler uses `s3` as a value",
        ),
        ('s3 = boto3.client("s3")\n    return s3', "the handler returns it"),
        (
            'global s3\n    s3 = boto3.client("s3")\n    return str(s3.list_buckets())',
            "the handler makes it a global (`global s3`)",
        ),
        (
            's3 = boto3.client("s3", region_name=os.environ["AWS_REGION"])\n    return "ok"',
            '`os.environ["AWS_REGION"]`, which is neither a literal nor a module constant',
        ),
        (
            's3 = boto3.client("s3", region_name=pick_region())\n    return "ok"',
            "`pick_region()`, which is neither a literal nor a module constant",
        ),
        (
            's3 = boto3.client("s3", region_name=AWS_REGION)\n    return "ok"',
            "`AWS_REGION`, which the module does not assign",
        ),
        (
            'import boto3\n    s3 = boto3.client("s3")\n    return str(s3.list_buckets())',
            "`boto3` is not imported at module level",
        ),
        (
            'region = REGION\n    s3 = boto3.client("s3", region_name=region)\n    return "ok"',
            "`region`, which the handler computes or receives",
        ),
    ],
)
def test_a_client_the_handler_changes_or_builds_from_non_constants_is_left(
    leaves_alone, body, reason
):
    leaves_alone(RULE, f"import os\n{HEADER}    {body}\n", reason)


def test_a_module_constant_assigned_twice_or_changed_in_place_is_not_a_constant(leaves_alone):
    twice = f"{HEADER}    s3 = boto3.client('s3', region_name=REGION)\n    return 'ok'\n"
    twice += "\n\nREGION = 'us-east-1'\n"
    leaves_alone(RULE, twice, "`REGION`, which the module assigns more than once")
    changed = HEADER.replace('REGION = "eu-west-1"', 'OPTIONS = {"region_name": "eu-west-1"}')
    changed += "    s3 = boto3.client('s3', **OPTIONS)\n    return 'ok'\n\n\n"
    changed += "def use_region(region):\n    OPTIONS['region_name'] = region\n"
    leaves_alone(RULE, changed, "which the module changes (`OPTIONS['region_name']`)")


def test_a_name_from_the_app_factory_is_out_of_a_module_level_factorys_sight(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import boto3
        from flask import Flask


        def create_app(region):
            app = Flask(__name__)

            @app.route("/files")
            def files():
                s3 = boto3.client("s3", region_name=region)
                return str(s3.list_buckets())

            return app
        """,
        "`region`, which a function around the handler binds",
    )


def test_a_module_that_binds_functools_itself_is_left_with_the_reason(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import boto3
        from flask import Flask

        app = Flask(__name__)
        functools = None


        @app.route("/files")
        def files():
            s3 = boto3.client("s3")
            return str(s3.list_buckets())
        """,
        "the module binds `functools` itself",
    )


# -- live: the rewritten module imports and its factory makes one client -----------------


class StandInClient:
    """Stands in for boto3.client: counts how often it is made, talks to nothing."""

    made = 0

    def __init__(self, service: str, region_name: str = "") -> None:
        type(self).made += 1
        self.service = service
        self.region_name = region_name

    def list_buckets(self) -> dict[str, list[str]]:
        return {"Buckets": [self.service, self.region_name]}


LIVE_APP = """\
import boto3
from flask import Flask, jsonify

REGION = "eu-west-1"
app = Flask(__name__)


@app.route("/buckets")
def buckets():
    s3 = boto3.client("s3", region_name=REGION)
    return jsonify(s3.list_buckets())


@app.route("/again")
def again():
    client = boto3.client("s3", region_name=REGION)
    return jsonify(client.list_buckets())
"""


def test_the_rewritten_module_imports_and_makes_one_client_per_process(tmp_path, monkeypatch):
    fake_boto3 = types.ModuleType("boto3")
    fake_boto3.client = StandInClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", fake_boto3)
    monkeypatch.setattr(StandInClient, "made", 0)
    result = fix_text(RULE, LIVE_APP)
    assert result.status is Status.CHANGED, result.reason
    assert result.notes == ()
    assert result.text.count("= _s3_client()") == 2
    path = tmp_path / "live_app.py"
    path.write_text(result.text)
    spec = importlib.util.spec_from_file_location("live_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert StandInClient.made == 0  # lazy: importing the module makes no client
    first = module._s3_client()
    assert module._s3_client() is first
    assert isinstance(first, StandInClient) and first.region_name == "eu-west-1"
    http = module.app.test_client()
    assert http.get("/buckets").get_json() == {"Buckets": ["s3", "eu-west-1"]}
    assert http.get("/buckets").status_code == 200
    assert http.get("/again").get_json() == {"Buckets": ["s3", "eu-west-1"]}
    assert StandInClient.made == 1  # three requests, two handlers, one client
