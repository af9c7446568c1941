"""timing-log-to-metrics: before/after pairs for both backends, and what it leaves alone."""

from __future__ import annotations

import types
from textwrap import dedent

import pytest

from infragap.migrate.results import Status
from infragap.migrate.rules import fix_text

RULE = "timing-log-to-metrics"
COMMENT = "# Durations that were only logged (infragap migrate: timing-log-to-metrics)."


def test_inline_duration_in_an_fstring_becomes_a_variable_and_an_otel_histogram(rewrites):
    rewrites(
        RULE,
        """\
        import logging
        import time

        logger = logging.getLogger(__name__)


        def predict(x):
            t0 = time.time()
            y = x * 2
            # how long did it take?
            logger.info(f"predict took {(time.time() - t0) * 1000:.1f}ms")
            return y
        """,
        f"""\
        import logging
        import time
        from opentelemetry import metrics

        {COMMENT}
        _meter = metrics.get_meter(__name__)
        PREDICT_DURATION = _meter.create_histogram(
            "predict.duration", unit="ms", description="Duration of predict() (was only logged)."
        )

        logger = logging.getLogger(__name__)


        def predict(x):
            t0 = time.time()
            y = x * 2
            # how long did it take?
            elapsed_ms = (time.time() - t0) * 1000
            logger.info(f"predict took {{elapsed_ms:.1f}}ms")
            PREDICT_DURATION.record(elapsed_ms)
            return y
        """,
    )


def test_duration_variable_with_aliased_clock_and_prometheus(rewrites):
    rewrites(
        RULE,
        """\
        import logging
        from time import perf_counter as clock

        log = logging.getLogger("train")


        def fit(model, data):
            start = clock()
            model.fit(data)
            fit_s = clock() - start
            log.warning("fit took %.2f s", fit_s)
        """,
        f"""\
        import logging
        from time import perf_counter as clock
        from prometheus_client import Histogram

        {COMMENT}
        FIT_DURATION = Histogram(
            "module_fit_duration_seconds", "Duration of fit() in seconds (was only logged)."
        )

        log = logging.getLogger("train")


        def fit(model, data):
            start = clock()
            model.fit(data)
            fit_s = clock() - start
            log.warning("fit took %.2f s", fit_s)
            FIT_DURATION.observe(fit_s)
        """,
        metrics="prometheus",
    )


def test_a_metrics_name_taken_by_sklearn_gets_an_alias():
    result = fix_text(
        RULE,
        dedent(
            """\
            import time
            from sklearn import metrics


            def main():
                t0 = time.monotonic()
                print("auc", metrics.roc_auc_score([0, 1], [0.1, 0.9]))
                print(f"done in {time.monotonic() - t0:.0f}s")
            """
        ),
    )
    assert result.status is Status.CHANGED
    assert "from opentelemetry import metrics as otel_metrics" in result.text
    assert "_meter = otel_metrics.get_meter(__name__)" in result.text
    assert "metrics.roc_auc_score" in result.text  # sklearn's metrics untouched
    assert 'unit="s"' in result.text


def test_module_level_script_timing():
    result = fix_text(
        RULE,
        "import time\nt = time.time()\nrun()\nprint('took', time.time() - t)\n",
    )
    assert result.text.endswith(
        "elapsed_s = time.time() - t\nprint('took', elapsed_s)\nMODULE_DURATION.record(elapsed_s)\n"
    )


def test_leaves_a_duration_formatted_as_text(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import time


        def f():
            t0 = time.time()
            took = f"{time.time() - t0:.2f}s"
            print("took", took)
        """,
        reason="holds formatted text",
    )


def test_leaves_logs_without_a_measured_duration(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import logging
        import time

        logger = logging.getLogger(__name__)


        def f(started_at):
            now = time.time()
            logger.info("started at %s, now %s", started_at, now)
            logger.info("took %s", time.time() - started_at)  # not a clock() start in scope
        """,
    )


def test_recorded_values_reach_a_prometheus_histogram():
    prometheus = pytest.importorskip("prometheus_client")
    source = dedent(
        """\
        import time


        def work():
            start = time.perf_counter()
            time.sleep(0.01)
            print(f"work took {(time.perf_counter() - start) * 1000:.1f} ms")
        """
    )
    result = fix_text(RULE, source, {"metrics": "prometheus"})
    module = types.ModuleType("timed_module")
    module.__dict__["__name__"] = "timed_module"
    try:
        exec(compile(result.text, "timed_module.py", "exec"), module.__dict__)
        module.work()
        module.work()
        registry = prometheus.REGISTRY
        assert registry.get_sample_value("module_work_duration_seconds_count") == 2
        total = registry.get_sample_value("module_work_duration_seconds_sum")
        assert total is not None and 0.015 < total < 5  # seconds, not milliseconds
    finally:
        if "WORK_DURATION" in module.__dict__:
            prometheus.REGISTRY.unregister(module.WORK_DURATION)
