"""retry-loop-to-tenacity: before/after pairs, loops it must only report, and proof by
execution that each rewrite behaves like the loop it replaces."""

from __future__ import annotations

import time
from textwrap import dedent
from typing import Any

import pytest

from infragap.migrate.results import Status
from infragap.migrate.rules import fix_text

RULE = "retry-loop-to-tenacity"


def test_reraise_on_last_attempt_with_exponential_backoff_and_logging(rewrites):
    rewrites(
        RULE,
        """\
        import logging
        import time

        import requests

        MAX_RETRIES = 5
        logger = logging.getLogger(__name__)


        def fetch(url):
            # the API is flaky at night
            for attempt in range(MAX_RETRIES):
                try:
                    resp = requests.get(url, timeout=30)
                    return resp.json()
                except (ConnectionError, requests.Timeout) as exc:
                    logger.warning("fetch failed: %s", exc)
                    if attempt == MAX_RETRIES - 1:
                        raise
                    time.sleep(2 ** attempt)
        """,
        """\
        import logging
        import time

        import requests
        import tenacity

        MAX_RETRIES = 5
        logger = logging.getLogger(__name__)


        def fetch(url):
            # the API is flaky at night
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_attempt(MAX_RETRIES),
                wait=tenacity.wait_exponential(),
                retry=tenacity.retry_if_exception_type((ConnectionError, requests.Timeout)),
                reraise=True,
            ):
                with attempt:
                    try:
                        resp = requests.get(url, timeout=30)
                        return resp.json()
                    except (ConnectionError, requests.Timeout) as exc:
                        logger.warning("fetch failed: %s", exc)
                        raise
        """,
    )


def test_break_on_success_and_give_up_silently(rewrites):
    rewrites(
        RULE,
        """\
        from time import sleep


        def connect():
            conn = None
            for _ in range(3):
                try:
                    conn = open_connection()
                    break
                except OSError:
                    sleep(5)
            return conn
        """,
        """\
        from time import sleep
        import tenacity


        def connect():
            conn = None
            # After the last failed attempt, carry on past the loop, as the old loop did.
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_attempt(3),
                wait=tenacity.wait_fixed(5),
                retry=tenacity.retry_if_exception_type(OSError),
                retry_error_callback=lambda retry_state: None,
            ):
                with attempt:
                    conn = open_connection()
            return conn
        """,
    )


@pytest.mark.parametrize(
    ("sleep", "wait"),
    [
        ("0.5", "tenacity.wait_fixed(0.5)"),
        ("DELAY", "tenacity.wait_fixed(DELAY)"),
        ("3 * 2 ** i", "tenacity.wait_exponential(multiplier=3)"),
        ("3 ** i", "tenacity.wait_exponential(exp_base=3)"),
        ("min(30, 2 * 2 ** i)", "tenacity.wait_exponential(multiplier=2, max=30)"),
        ("0.5 * (i + 1)", "tenacity.wait_incrementing(start=0.5, increment=0.5)"),
        ("i", "tenacity.wait_incrementing(start=0, increment=1)"),
    ],
)
def test_waits_map_to_their_exact_tenacity_equivalent(sleep, wait):
    source = dedent(
        f"""\
        import time
        DELAY = 2


        def f():
            for i in range(3):
                try:
                    return g()
                except ValueError:
                    time.sleep({sleep})
        """
    )
    result = fix_text(RULE, source)
    assert result.status is Status.CHANGED, result.reason
    assert f"wait={wait}," in result.text


@pytest.mark.parametrize(
    ("loop", "reason"),
    [
        (
            "while True:\n    try:\n        return g()\n    except OSError:\n        time.sleep(1)",
            "`while` retry loop",
        ),
        (
            "for i in range(n):\n    try:\n        return g()\n    except OSError:\n"
            "        time.sleep(1)",
            "attempt count in `range(n)`",
        ),
        (
            "for i in range(3):\n    try:\n        return g()\n    except OSError:\n"
            "        time.sleep(random.random())",
            "random (jitter)",
        ),
        (
            "for i in range(3):\n    try:\n        return g(timeout=10 * (i + 1))\n"
            "    except OSError:\n        time.sleep(1)",
            "uses the loop counter",
        ),
        (
            "for i in range(3):\n    try:\n        return g()\n    except OSError:\n"
            "        time.sleep(1)\nelse:\n    alert()",
            "`else:` block",
        ),
        (
            "for i in range(3):\n    try:\n        return g()\n    except OSError:\n"
            "        time.sleep(1)\n    except ValueError:\n        time.sleep(2)",
            "several except clauses",
        ),
        (
            "for i in range(3):\n    log.info('try %d', i)\n    try:\n        return g()\n"
            "    except OSError:\n        time.sleep(1)",
            "more than one try statement",
        ),
        (
            "for i in range(3):\n    try:\n        x = g()\n    except OSError:\n"
            "        time.sleep(1)",
            "does not stop after a successful attempt",
        ),
        (
            "for i in range(3):\n    try:\n        return g()\n    except OSError as e:\n"
            "        if fatal(e):\n            raise\n        time.sleep(1)",
            "does more than log, wait and re-raise",
        ),
        (
            "for i in range(3):\n    try:\n        return g()\n    except OSError:\n"
            "        log.warning('attempt %d failed', i)\n        time.sleep(1)",
            "uses the loop counter",
        ),
    ],
)
def test_reports_loops_it_cannot_prove_equivalent(leaves_alone, loop, reason):
    body = "\n".join(f"    {line}" for line in loop.splitlines())
    source = f"import random\nimport time\n\n\ndef f(n):\n{body}\n"
    leaves_alone(RULE, source, reason=reason)


def test_leaves_loops_that_do_not_retry(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import time


        def poll(jobs):
            for job in jobs:
                time.sleep(1)
                job.check()
            for i in range(3):
                try:
                    work(i)
                except ValueError:
                    pass
        """,
    )


# --- equivalence, by running both versions -----------------------------------------


LOOPS = {
    "reraise": (
        """\
        import time
        MAX = 4
        failures = []


        def call():
            for attempt in range(MAX):
                try:
                    return flaky()
                except (ConnectionError, TimeoutError) as exc:
                    failures.append(str(exc))
                    if attempt == MAX - 1:
                        raise
                    time.sleep(0.5 * 2 ** attempt)
        """,
        ConnectionError,
    ),
    "break-and-give-up": (
        """\
        import time


        def call():
            conn = "none"
            for _ in range(3):
                try:
                    conn = flaky()
                    break
                except OSError:
                    time.sleep(5)
            return conn
        """,
        OSError,
    ),
    "try-else-break": (
        """\
        import time


        def call():
            result = "unset"
            for i in range(4):
                try:
                    result = flaky()
                except ValueError:
                    time.sleep(min(3, 2 ** i))
                else:
                    break
            return result
        """,
        ValueError,
    ),
    "fall-through-raise": (
        """\
        import time


        def call():
            for attempt in range(2):
                try:
                    return flaky()
                except Exception:
                    time.sleep(0.1 * (attempt + 1))
            raise RuntimeError("gave up")
        """,
        KeyError,
    ),
}


def _run(code: str, outcomes: list[Any], monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Run `call()` from `code` against a callable that fails as `outcomes` say."""
    sleeps: list[float] = []
    calls: list[int] = []

    def flaky() -> Any:
        calls.append(1)
        outcome = outcomes[len(calls) - 1] if len(calls) <= len(outcomes) else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(time, "sleep", sleeps.append)
    namespace: dict[str, Any] = {"flaky": flaky}
    exec(compile(code, "loop.py", "exec"), namespace)
    try:
        result: Any = ("returned", namespace["call"]())
    except Exception as err:  # the outcome under comparison
        result = ("raised", type(err), str(err))
    finally:
        monkeypatch.undo()
    return result, len(calls), sleeps, namespace.get("failures")


@pytest.mark.parametrize("name", sorted(LOOPS))
@pytest.mark.parametrize("failures", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("other_error", [False, True])
def test_rewrite_behaves_like_the_loop(monkeypatch, name, failures, other_error):
    pytest.importorskip("tenacity")
    code, retryable = LOOPS[name]
    naive = dedent(code)
    result = fix_text(RULE, naive)
    assert result.status is Status.CHANGED, result.reason
    outcomes: list[Any] = [retryable(f"boom {n}") for n in range(failures)]
    if other_error:
        outcomes.append(ZeroDivisionError("not retried"))
    before = _run(naive, outcomes, monkeypatch)
    after = _run(result.text, outcomes, monkeypatch)
    assert after[0] == before[0]  # same value returned or same exception raised
    assert after[1] == before[1]  # same number of attempts
    assert after[3] == before[3]  # the except block's side effects, run as often
    # Same waits between attempts; the old loop may also have slept after its last one.
    assert before[2][: len(after[2])] == after[2]
    assert len(before[2]) - len(after[2]) in (0, 1)
