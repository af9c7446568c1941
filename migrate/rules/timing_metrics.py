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

Options besides `metrics`: `name=` replaces the derived histogram name (in a file with
one timed site only: a name is one histogram); `buckets=` gives the bucket upper bounds
in ms (converted to seconds where the histogram records seconds) instead of the
library's defaults, which are coarse for a fast endpoint. `options_problem` vets them
all, alone and together; `fix` runs it first and fails without touching the text.
"""

from __future__ import annotations

import math
import re
import string
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
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


# What a histogram name may hold: (first character, the others, most characters).
NAME_CHARS = {
    "prometheus": (string.ascii_letters + "_:", string.ascii_letters + string.digits + "_:", 0),
    "otel": (string.ascii_letters, string.ascii_letters + string.digits + "_.-/", 255),
}
NAME_KIND = {"prometheus": "a Prometheus metric name", "otel": "an OTel instrument name"}
NAME_SYNTAX = {
    "prometheus": "ASCII letters, digits, '_' and ':', not starting with a digit",
    "otel": "an ASCII letter, then at most 254 ASCII letters, digits, '_', '.', '-' or '/'",
}
BUCKETS_HOW = (
    "write the bucket upper bounds in milliseconds, increasing, separated by commas, "
    "e.g. buckets=1,2.5,5,10,25,50,100,250"
)
LINE_LENGTH = 100  # a bucket list longer than this goes on lines of its own


def _no_problem(value: str) -> str:
    return ""


@dataclass(frozen=True)
class CheckedOption(Option):
    """An Option whose value `check` vets: it returns what is wrong, or "" when nothing.

    `parse_options` calls `problem()` on every `--option`, so a bad value stops the
    command before any file is read."""

    check: Callable[[str], str] = _no_problem

    def problem(self, value: str) -> str:
        return super().problem(value) or self.check(value)


def name_faults(name: str, backend: str) -> list[str]:
    """What keeps `name` from being a histogram name for `backend`; empty when nothing."""
    if not name:
        return ["it is empty"]
    first, rest, most = NAME_CHARS[backend]
    faults = []
    if name[0] not in first:
        faults.append(f"it starts with {name[0]!r}")
    bad = [c for c in dict.fromkeys(name) if c not in rest and not (faults and c == name[0])]
    if bad:
        listed = ", ".join(repr(c) for c in bad)
        faults.append(f"{listed} {'is' if len(bad) == 1 else 'are'} not allowed")
    if most and len(name) > most:
        faults.append(f"it is {len(name)} characters long")
    return faults


def suggested_name(name: str) -> str:
    """A name both libraries take, close to `name`: runs of ASCII letters and digits
    joined by '_', starting with a letter."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    return "_".join(words).lstrip(string.digits + "_")[:255].rstrip("_") or "request_duration"


def name_problem(name: str, backend: str = "") -> str:
    """What is wrong with `name` as the histogram name for `backend`, or "" when nothing.
    Without a backend, a name either library takes passes."""
    if not name:
        return "the name is empty: give one (e.g. name=request_duration) or leave name= out"
    backends = [backend] if backend else list(NAME_CHARS)
    faults = {b: name_faults(name, b) for b in backends}
    if not all(faults.values()):
        return ""
    what = f"not {NAME_KIND[backend]}" if backend else "not a histogram name for either library"
    why = "; ".join(f"metrics={b}: {' and '.join(f)}" for b, f in faults.items())
    syntax = "; ".join(f"{NAME_KIND[b]} is {NAME_SYNTAX[b]}" for b in backends)
    syntax = syntax[0].upper() + syntax[1:]
    return f"{what} ({why}). {syntax}. Try name={suggested_name(name)}"


def parse_buckets(text: str) -> tuple[list[float], str]:
    """The bucket upper bounds (ms) in `text` ("1,2.5,5"), and what is wrong with them
    ("" when nothing)."""
    if not text.strip():
        return [], "no bound is given"
    bounds: list[float] = []
    before = ""
    for part in (p.strip() for p in text.split(",")):
        try:
            bound = float(part)
        except ValueError:
            return [], f"{part!r} is not a number" if part else "a bound is missing (',,')"
        if not math.isfinite(bound):
            return [], f"{part!r} is not a finite number"
        if bound < 0:
            return [], f"{part!r} is negative (a duration is not)"
        if bounds and bound <= bounds[-1]:
            return [], f"{part} comes after {before} (each bound must exceed the one before)"
        bounds.append(bound)
        before = part
    if len(set(_seconds(bounds))) < len(bounds):
        return [], "two bounds are the same number of seconds"
    return bounds, ""


def buckets_problem(text: str) -> str:
    problem = parse_buckets(text)[1]
    return f"{problem}: {BUCKETS_HOW}" if problem else ""


def _seconds(ms: Sequence[float]) -> list[float]:
    """Milliseconds to seconds in decimal, so the literal stays short (5077.2 -> 5.0772,
    where 5077.2 / 1000 is 5.0771999999999995)."""
    return [float(Decimal(repr(bound)) / 1000) for bound in ms]


def _bounds_literal(bounds: Sequence[float], keyword: str) -> str:
    """`    keyword=[...],` on one line, or the bounds on lines of their own when too long."""
    listed = ", ".join(repr(bound) for bound in bounds)
    line = f"    {keyword}=[{listed}],"
    if len(line) <= LINE_LENGTH:
        return line
    indent = " " * 8
    inner = textwrap.fill(
        f"{listed},",
        LINE_LENGTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return f"    {keyword}=[\n{inner}\n    ],"


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
        "name": CheckedOption(
            "",
            "the histogram name instead of one derived from the function, for a file "
            "with one timed site (otel: letters, digits, _ . - /; prometheus: letters, "
            "digits, _ :)",
            check=name_problem,
        ),
        "buckets": CheckedOption(
            "",
            "bucket upper bounds in ms, increasing, comma-separated (e.g. "
            "1,2.5,5,10,25,50,100,250) instead of the library's defaults",
            check=buckets_problem,
        ),
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

    def options_problem(self, options: Options) -> str:
        """What is wrong with the options, each alone or together (a name the chosen
        library does not take), as a message naming the option and the fix; or ""."""
        for key, option in self.options.items():
            value = options.get(key)
            problem = option.problem(value) if value is not None else ""
            if problem:
                return f"--option {key}={value}: {problem}"
        backend = self.option(options, "metrics")
        name = options.get("name")
        problem = name_problem(name, backend) if name is not None else ""
        return f"--option name={name}: {problem}" if problem else ""

    def fix(self, source: Source, options: Options) -> RuleResult:
        problem = self.options_problem(options)
        if problem:
            return RuleResult.failed(source.text, problem)
        sites = find_sites(source)
        notes = tuple(Note(source.line_of(s.stmt), s.blocker) for s in sites if s.blocker)
        sites = [site for site in sites if not site.blocker]
        name = self.option(options, "name")
        if name and len(sites) > 1:
            lines = ", ".join(str(source.line_of(site.stmt)) for site in sites)
            message = (
                f"--option name={name} names one histogram, but this file logs "
                f"{len(sites)} durations (lines {lines}): leave name= out for this file"
            )
            notes += tuple(Note(source.line_of(site.stmt), message) for site in sites)
            sites = []
        if not sites:
            return RuleResult.from_edits(source.text, source.text, notes)
        backend = self.option(options, "metrics")
        buckets = self.option(options, "buckets")
        bounds = parse_buckets(buckets)[0] if buckets else None
        module = _Rewrite(source, sites, backend, name, bounds).run()
        return RuleResult.from_edits(source.text, module.code, notes)


class _Rewrite(cst.CSTTransformer):
    def __init__(
        self,
        source: Source,
        sites: list[TimingSite],
        backend: str,
        name: str = "",
        bounds: list[float] | None = None,
    ) -> None:
        self.source = source
        self.backend = backend
        self.name = name  # the histogram's name; "" derives it from the site
        self.bounds = bounds  # bucket upper bounds in ms; None keeps the library's
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
            metric = self.name or f"{stem}_{base}_duration_seconds".lower()
            help_ = f"Duration of {measured} in seconds (was only logged)."
            if self.bounds is None:
                self.definitions.append(f'{var} = {self.prefix}(\n    "{metric}", "{help_}"\n)')
            else:
                buckets = _bounds_literal(_seconds(self.bounds), "buckets")
                self.definitions.append(
                    f'{var} = {self.prefix}(\n    "{metric}",\n    "{help_}",\n{buckets}\n)'
                )
        else:
            metric = self.name or f"{base}.duration"
            help_ = f"Duration of {measured} (was only logged)."
            if self.bounds is None:
                self.definitions.append(
                    f"{var} = {meter}.create_histogram(\n"
                    f'    "{metric}", unit="{site.unit}", description="{help_}"\n)'
                )
            else:
                bounds = self.bounds if site.unit == "ms" else _seconds(self.bounds)
                advisory = _bounds_literal(bounds, "explicit_bucket_boundaries_advisory")
                self.definitions.append(
                    f"{var} = {meter}.create_histogram(\n"
                    f'    "{metric}",\n    unit="{site.unit}",\n'
                    f'    description="{help_}",\n{advisory}\n)'
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
