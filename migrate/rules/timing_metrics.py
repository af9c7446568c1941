"""timing-log-to-metrics: a duration that only lives in a log line becomes a histogram.

Before::

    t0 = time.time()
    ...
    logger.info(f"predict took {(time.time() - t0) * 1000:.1f}ms")

After (option `metrics=otel`, the default)::

    from opentelemetry import metrics
    _meter = metrics.get_meter(__name__)
    PREDICT_DURATION = _meter.create_histogram("predict.duration", unit="ms", ...)
    ...
    t0 = time.time()
    ...
    elapsed_ms = (time.time() - t0) * 1000
    logger.info(f"predict took {elapsed_ms:.1f}ms")
    PREDICT_DURATION.record(elapsed_ms)

With `metrics=prometheus` the histogram is a `prometheus_client.Histogram` in seconds.
The log line stays (with the duration computed once, so log and metric agree). Clocks:
time.time/perf_counter/monotonic/process_time and timeit.default_timer, through any
import alias, and datetime.now()/utcnow()/today() differences (timedeltas, recorded as
`.total_seconds()`); log calls: `logging`, any `*log*` object's level methods, and print.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

import libcst as cst

from infragap.migrate.analysis.durations import TimingSite, find_sites, module_stem, where
from infragap.migrate.analysis.names import names_read
from infragap.migrate.analysis.statements import only_small
from infragap.migrate.edits import (
    MARK,
    add_imports,
    blank_lines,
    insert_after_imports,
    parse_statement,
    parse_statements,
    unique_name,
    with_leading,
)
from infragap.migrate.results import Finding, Note, RuleResult
from infragap.migrate.rules.base import Option, Options, Rule, rule
from infragap.migrate.source import Source

STEM_NOISE = frozenset(
    {
        "elapsed",
        "duration",
        "took",
        "time",
        "timing",
        "latency",
        "ms",
        "msec",
        "s",
        "sec",
        "secs",
        "seconds",
        "t",
        "dt",
        "delta",
        "total",
    }
)


@rule("timing-log-to-metrics")
class TimingLogToMetrics(Rule):
    kind = "safe"
    summary = (
        "Record durations that are only logged (`took {ms}ms`) in an OTel/Prometheus histogram."
    )
    why = (
        "A duration written only into a log line cannot be aggregated, graphed or alerted "
        "on without parsing logs, and percentiles are lost."
    )
    fixes = ("timing-log-to-metrics",)
    prefilter = re.compile(
        r"\b(?:time|perf_counter|monotonic|process_time|default_timer|now|utcnow|today)\b"
    )
    options: ClassVar[Mapping[str, Option]] = {
        "metrics": Option("otel", "the metrics library", choices=("otel", "prometheus")),
    }

    def find(self, source: Source) -> list[Finding]:
        return [
            self.finding(
                source,
                site.stmt,
                f"a duration ({site.unit}) measured in {where(source, site)} is only written "
                "to a log",
                unfixable=site.blocker,
            )
            for site in find_sites(source)
        ]

    def fix(self, source: Source, options: Options) -> RuleResult:
        sites = find_sites(source)
        notes = tuple(Note(source.line_of(s.stmt), s.blocker) for s in sites if s.blocker)
        sites = [site for site in sites if not site.blocker]
        if not sites:
            return RuleResult.from_edits(source.text, source.text, notes)
        backend = self.option(options, "metrics")
        module = _Rewrite(source, sites, backend).run()
        return RuleResult.from_edits(source.text, module.code, notes)


class _Rewrite(cst.CSTTransformer):
    def __init__(self, source: Source, sites: list[TimingSite], backend: str) -> None:
        self.source = source
        self.backend = backend
        self.sites = {site.stmt: site for site in sites}
        self.taken = set(source.module_names) | set(names_read(source.module))
        self.metric: dict[cst.CSTNode, str] = {}
        self.definitions: list[str] = []
        self.inline: dict[cst.CSTNode, str] = {}
        self.prefix = self._library()

    imports: list[tuple[str, str | None, str | None]]

    def _library(self) -> str:
        """How the module will name the library, adding the import."""
        if self.backend == "prometheus":
            bound = self.source.aliases.get("Histogram")
            self.imports = [("prometheus_client", "Histogram", None)]
            if "Histogram" in self.source.module_names and bound != "prometheus_client.Histogram":
                self.imports = [("prometheus_client", None, None)]
                return "prometheus_client.Histogram"
            return "Histogram"
        for local, qualname in self.source.aliases.items():
            if qualname == "opentelemetry.metrics" and local in self.source.module_names:
                self.imports = []
                return local
        alias = "metrics" if "metrics" not in self.source.module_names else "otel_metrics"
        self.imports = [("opentelemetry", "metrics", None if alias == "metrics" else alias)]
        return alias

    def run(self) -> cst.Module:
        meter = self._meter()
        for site in self.sites.values():
            self._plan(site, meter)
        module = self.source.module.visit(self)
        module = add_imports(module, self.imports)
        code = "\n".join(self.definitions) + "\n"
        stmts = parse_statements(code, module)
        comment = f"Durations that were only logged ({MARK}: timing-log-to-metrics)."
        stmts[0] = with_leading(stmts[0], blank_lines(1, comment))
        return insert_after_imports(module, stmts)

    def _meter(self) -> str:
        if self.backend == "prometheus":
            return ""
        for stmt in self.source.module.body:
            small = only_small(stmt)
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                qualname = self.source.qualname(small.value.func) or ""
                target = small.targets[0].target
                if qualname.endswith("metrics.get_meter") and isinstance(target, cst.Name):
                    return target.value
        meter = unique_name("_meter", self.taken)
        self.taken.add(meter)
        self.definitions.append(f"{meter} = {self.prefix}.get_meter(__name__)")
        return meter

    def _plan(self, site: TimingSite, meter: str) -> None:
        scope = site.scope.strip("_") or module_stem(self.source.path)
        noise = STEM_NOISE | set(scope.lower().split("_"))
        words = [w for w in (site.elapsed or "").lower().split("_") if w and w not in noise]
        base = "_".join([scope, *words])
        var = unique_name(f"{base.upper()}_DURATION", self.taken)
        self.taken.add(var)
        self.metric[site.stmt] = var
        stem = module_stem(self.source.path)
        measured = where(self.source, site)
        if self.backend == "prometheus":
            name = f"{stem}_{base}_duration_seconds".lower()
            help_ = f"Duration of {measured} in seconds (was only logged)."
            self.definitions.append(f'{var} = {self.prefix}(\n    "{name}", "{help_}"\n)')
        else:
            help_ = f"Duration of {measured} (was only logged)."
            self.definitions.append(
                f"{var} = {meter}.create_histogram(\n"
                f'    "{base}.duration", unit="{site.unit}", description="{help_}"\n)'
            )
        if site.inline is not None:
            scope_names = self.taken | set(names_read(site.stmt))
            name = unique_name(f"elapsed_{site.unit}", scope_names)
            self.taken.add(name)
            self.inline[site.inline] = name

    # The duration inside a log call is arithmetic, or round()/int()/... around it.
    def leave_BinaryOperation(
        self, original_node: cst.BinaryOperation, updated_node: cst.BinaryOperation
    ) -> cst.BaseExpression:
        return self._inline(original_node, updated_node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self._inline(original_node, updated_node)

    def _inline(self, original: cst.CSTNode, updated: cst.BaseExpression) -> cst.BaseExpression:
        name = self.inline.get(original)
        return cst.Name(name) if name is not None else updated

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated_node.with_changes(body=self._expand(original_node.body, updated_node.body))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(body=self._expand(original_node.body, updated_node.body))

    def _expand(
        self, originals: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement]
    ) -> list[cst.BaseStatement]:
        """The block with each timing log line wrapped: duration before, record after."""
        body: list[cst.BaseStatement] = []
        for old, new in zip(originals, updated, strict=True):
            site = self.sites.get(old) if isinstance(old, cst.SimpleStatementLine) else None
            if site is None or not isinstance(new, cst.SimpleStatementLine):
                body.append(new)
                continue
            value = site.elapsed
            if site.inline is not None:
                value = self.inline[site.inline]
                code = f"{value} = {self.source.code(site.inline)}\n"
                assign = parse_statement(code, self.source.module)
                body.append(with_leading(assign, new.leading_lines))
                new = new.with_changes(leading_lines=[])
            assert value is not None
            body.append(new)
            body.append(parse_statement(self._record(site, value), self.source.module))
        return body

    def _record(self, site: TimingSite, value: str) -> str:
        var = self.metric[site.stmt]
        if site.timedelta:
            value = f"{value}.total_seconds()"
        if self.backend == "prometheus":
            seconds = f"{value} / 1000" if site.unit == "ms" else value
            return f"{var}.observe({seconds})\n"
        return f"{var}.record({value})\n"
