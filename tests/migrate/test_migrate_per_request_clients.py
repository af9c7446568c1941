"""per-request-client: clients, connections and logins made on every request, each
reported with whether one per process would be the same behaviour, and why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from infragap.errors import ConfigError
from infragap.migrate.apply import select_rules
from infragap.migrate.rules import RULES
from infragap.migrate.scan import scan
from infragap.migrate.source import Source

RULE = "per-request-client"
APP = Path(__file__).resolve().parents[1] / "fixtures" / "per_request_clients" / "app.py"
SHAREABLE = "it could be created once per process"


def _findings() -> dict[int, tuple[str, str]]:
    return {f.line: (f.message, f.unfixable) for f in scan(APP, 1, (RULE,)).findings}


def test_every_planted_client_is_found_and_nothing_else():
    assert sorted(_findings()) == [20, 26, 32, 38, 44, 50, 56, 62, 70, 76, 82, 88, 94]


@pytest.mark.parametrize(
    ("line", "label"),
    [
        (20, "a boto3 client"),
        (26, "a MongoDB client"),
        (32, "a Redis client"),
        (38, "a SQLAlchemy engine"),
        (44, "an OpenAI client"),
    ],
)
def test_shareable_clients_from_constants_are_said_to_be_hoistable(line, label):
    message, why = _findings()[line]
    assert f"creates {label} on every request; {SHAREABLE}" in message
    assert why == ""


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (50, "only works on the thread that made it"),
        (56, "one transaction at a time"),
        (62, "the handler closes it (`.dispose()`)"),
        (70, "it is built from `request`, i.e. the request"),
        (76, "boto3 resources are not thread-safe"),
        (82, "not documented as safe to share"),
        (88, "a login opens a session with side effects"),
        (94, "the handler hands it to other code"),
    ],
)
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


def test_it_only_reports():
    assert RULES.get(RULE).kind == "report-only"
    assert RULE not in select_rules(None)
    with pytest.raises(ConfigError, match="only reports"):
        select_rules([RULE])
