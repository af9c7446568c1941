"""A regression gate over two runs: `--fail-if` rules judged against bootstrap intervals.

Pure: takes two loaded results documents and parsed rules, returns what each figure did
against each rule. A rule such as `p99>+10%` fails a figure only when the whole 95%
interval of its change lies beyond the threshold in the rule's direction; a point
estimate beyond the threshold whose interval reaches back across it is "within noise"
and does not fail. pytest-benchmark's `--benchmark-compare-fail` is the model; it
compares point estimates, with no interval. The changes are `compare.compare_metrics`'s,
so the gate and the report's comparison view agree figure by figure.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from infragap.errors import ConfigError, ResultsError
from infragap.reports import format as fmt
from infragap.reports.bootstrap import SEED, RatioEstimate
from infragap.reports.compare import Change, Metric, compare_metrics
from infragap.reports.sections.all import section_for

Outcome = Literal["breaks", "within noise", "ok", "no data"]

RULE_EXAMPLES = "p99>+10% or throughput<-5%"
_RULE = re.compile(
    r"^(?P<metric>[A-Za-z0-9_.*/-]+)(?P<op>[<>])(?P<sign>[+-])(?P<number>\d+(?:\.\d+)?)%$"
)


@dataclass(frozen=True)
class Rule:
    """`<metric>(>|<)(+|-)<N>%`: fail when `metric` changed by more than +N% (`>`) or by
    less than -N% (`<`), the whole interval of the change beyond that threshold.

    `metric` names figures by the end of their key (`p99`, `throughput`, `capacity`,
    `32/p99`, `triton/32/p99`), by their name with `_` for spaces (`p99_latency`), or by
    a glob over the key (`triton/*/p99`).
    """

    text: str
    metric: str
    op: Literal[">", "<"]
    percent: float

    @property
    def threshold(self) -> float:
        """The threshold as a ratio after / before: +10% -> 1.1."""
        return 1.0 + self.percent / 100.0

    def matches(self, change: Change) -> bool:
        wanted = self.metric.lower()
        key = change.key.lower()
        if "*" in wanted:
            return fnmatch.fnmatchcase(key, wanted)
        name = change.name.lower().replace(" ", "_")
        return key == wanted or key.endswith("/" + wanted) or name == wanted

    def judge(self, estimate: RatioEstimate) -> Outcome:
        if not estimate.known:
            return "no data"
        assert estimate.point is not None and estimate.low is not None
        assert estimate.high is not None
        if self.op == ">":
            beyond, whole = estimate.point > self.threshold, estimate.low > self.threshold
        else:
            beyond, whole = estimate.point < self.threshold, estimate.high < self.threshold
        if whole:
            return "breaks"
        return "within noise" if beyond else "ok"


def parse_rule(text: str) -> Rule:
    """Parse one `--fail-if` rule, or raise ConfigError saying how to write it."""
    compact = "".join(text.split())
    match = _RULE.match(compact)
    if match is None:
        hint = ""
        if re.match(r"^[^<>]+[<>]\d", compact):
            hint = " (write the sign of the change: +10% or -5%)"
        elif not compact.endswith("%"):
            hint = " (give the change in percent, ending in %)"
        raise ConfigError(
            f"--fail-if {text!r} is not a rule{hint}: write <metric><op><sign><N>% with "
            f"<op> > or <, such as {RULE_EXAMPLES}"
        )
    sign = 1.0 if match["sign"] == "+" else -1.0
    percent = sign * float(match["number"])
    if percent <= -100.0:
        raise ConfigError(
            f"--fail-if {text!r}: a figure cannot fall by 100% or more; use a threshold "
            "above -100%, such as throughput<-5%"
        )
    op: Literal[">", "<"] = ">" if match["op"] == ">" else "<"
    return Rule(text=compact, metric=match["metric"], op=op, percent=percent)


def parse_rules(texts: Sequence[str]) -> list[Rule]:
    return [parse_rule(text) for text in texts]


@dataclass(frozen=True)
class Check:
    """One figure of one suite: its change and what each matching rule made of it."""

    suite: str
    change: Change
    outcomes: tuple[tuple[Rule, Outcome], ...]

    def rules(self, outcome: Outcome) -> list[Rule]:
        return [rule for rule, found in self.outcomes if found == outcome]

    @property
    def failed(self) -> bool:
        return bool(self.rules("breaks"))

    @property
    def result(self) -> str:
        """FAIL / within noise / ok / no data, with the rules concerned; '' if no rule."""
        labels: tuple[tuple[Outcome, str], ...] = (
            ("breaks", "FAIL"),
            ("within noise", "within noise"),
        )
        for outcome, label in labels:
            found = self.rules(outcome)
            if found:
                return f"{label}: {', '.join(rule.text for rule in found)}"
        if self.rules("no data"):
            return "no data"
        return "ok" if self.outcomes else ""


@dataclass(frozen=True)
class GateResult:
    rules: list[Rule]
    checks: list[Check]
    notes: list[str]

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.failed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        checked = [c for c in self.checks if c.outcomes]
        noisy = [c for c in self.checks if not c.failed and c.rules("within noise")]
        if not self.rules:
            return f"no --fail-if rule, so nothing can fail: {len(self.checks)} figures compared"
        noise = (
            f"; {len(noisy)} beyond a threshold but within the noise of the run" if noisy else ""
        )
        if self.passed:
            return f"PASS: none of the {len(checked)} figures the rules check breaks one{noise}"
        broken = ", ".join(
            f"{c.suite} {c.change.key} ({', '.join(r.text for r in c.rules('breaks'))})"
            for c in self.failures
        )
        return (
            f"FAIL: {len(self.failures)} of the {len(checked)} figures the rules check "
            f"break a rule, beyond the bootstrap interval: {broken}{noise}"
        )


def gate(
    base: dict[str, Any],
    new: dict[str, Any],
    rules: Sequence[Rule],
    suites: Sequence[str] = (),
    metrics: Sequence[str] = (),
    seed: int = SEED,
) -> GateResult:
    """Judge NEW against BASE: every figure of the chosen suites, every rule on each.

    `suites` limits the suites (default: all that both runs hold); `metrics` keeps the
    figures whose key matches one of these globs (`triton/*`, `*/32/*`). Raises
    ConfigError for input the gate cannot judge: no shared suite, a filter or rule that
    matches nothing, or rules none of whose figures NEW still has.
    """
    shared = [name for name in new["suites"] if name in base["suites"]]
    unknown = [name for name in suites if name not in shared]
    if unknown:
        raise ConfigError(
            f"--suite {', '.join(unknown)}: not in both runs; both hold "
            f"{', '.join(shared) or 'no suite'}"
        )
    chosen = list(dict.fromkeys(suites)) or shared
    if not chosen:
        raise ConfigError(
            f"the runs share no suite (BASE: {', '.join(base['suites']) or 'none'}; NEW: "
            f"{', '.join(new['suites']) or 'none'}): compare two runs of the same suite"
        )
    notes = _suite_notes(base, new, chosen)
    checks = []
    for suite in chosen:
        changes = compare_metrics(_metrics(suite, base, "BASE"), _metrics(suite, new, "NEW"), seed)
        for change in changes:
            if metrics and not any(fnmatch.fnmatchcase(change.key, m) for m in metrics):
                continue
            outcomes = tuple(
                (rule, rule.judge(change.estimate)) for rule in rules if rule.matches(change)
            )
            checks.append(Check(suite, change, outcomes))
    _check_coverage(checks, rules, metrics)
    missing = [c for c in checks if c.change.verdict == "only before"]
    if missing:
        keys = ", ".join(c.change.key for c in missing[:5]) + (", ..." if len(missing) > 5 else "")
        notes.append(f"{len(missing)} figures of BASE are missing from NEW ({keys})")
    return GateResult(list(rules), checks, notes)


def _metrics(suite: str, doc: dict[str, Any], label: str) -> list[Metric]:
    try:
        return section_for(suite).metrics(doc["suites"][suite])
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsError(
            f"{label}'s {suite} section is malformed ({type(error).__name__}: {error}): "
            "was it written by another version of infragap, or edited by hand?"
        ) from None


def _suite_notes(base: dict[str, Any], new: dict[str, Any], chosen: list[str]) -> list[str]:
    notes = []
    for label, doc, other in (("BASE", base, new), ("NEW", new, base)):
        alone = [name for name in doc["suites"] if name not in other["suites"]]
        if alone:
            notes.append(f"only {label} holds {', '.join(alone)}: not compared")
    for suite in chosen:
        for label, doc in (("BASE", base), ("NEW", new)):
            status = doc["suites"][suite].get("status")
            if status != "complete":
                notes.append(f"{label}'s {suite} run is {status}: its figures may be partial")
    return notes


def _check_coverage(checks: list[Check], rules: Sequence[Rule], metrics: Sequence[str]) -> None:
    if metrics and not checks:
        raise ConfigError(
            f"--metric {' '.join(metrics)} matches no figure: keys look like "
            "triton/32/p99 (use globs such as 'triton/*' or '*/p99')"
        )
    names = sorted({c.change.key.rsplit("/", 1)[-1] for c in checks})
    for rule in rules:
        judged = [found for c in checks for r, found in c.outcomes if r == rule]
        if not judged:
            raise ConfigError(
                f"--fail-if {rule.text!r} matches no figure of these runs; their figures end "
                f"in {', '.join(names) or 'nothing'}"
            )
        if all(found == "no data" for found in judged):
            raise ConfigError(
                f"--fail-if {rule.text!r}: none of its {len(judged)} figures can be compared "
                "(missing from one run, or too few samples): is NEW a complete run of the "
                "same suite and levels?"
            )


def rows(result: GateResult) -> list[list[str]]:
    """The table the command prints: one row per figure."""
    return [
        [
            check.suite,
            check.change.group,
            check.change.name,
            _value(check.change.before, check.change.unit),
            _value(check.change.after, check.change.unit),
            fmt.change(check.change.estimate.point),
            fmt.change_interval(check.change.estimate),
            check.result,
        ]
        for check in result.checks
    ]


COLUMNS = ["suite", "figure", "metric", "before", "after", "change", "95% interval", "gate"]


def _value(value: float | None, unit: str) -> str:
    if unit == "ms":
        return fmt.ms(value)
    if unit == "s":
        return fmt.seconds(value)
    return fmt.rate(value, unit)
