"""preprocessing-to-feast (unsafe): features computed twice move into a Feast repository.

For a pair of feature functions (see `analysis.feature_pairs`: the same columns built in
a training copy and again, often slightly differently, in a serving copy), it:

* generates a Feast repository beside the code (`feature_repo/`: SQLite online store,
  file offline store, an entity per join key, a feature view over the table the
  training copy reads, an on-demand view carrying the row-level transformations once,
  as training wrote them, and a feature service), with a TODO wherever the code does not
  say (the table's path, features that need other rows);
* adds `<function>_from_feast()` beside each copy: the same frame set-up and return,
  with the features read from Feast in between (`get_historical_features` for the
  training copy, point in time for the same rows; `get_online_features` for serving);
* points the call sites at them, and marks the original functions deprecated, in place.

Where the copies differ goes to the summary and to the repository's README.
"""

from __future__ import annotations

import json
import posixpath
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import ClassVar

import libcst as cst

from infragap.migrate.analysis.call_sites import CallIndex
from infragap.migrate.analysis.expression_diff import code as one_line
from infragap.migrate.analysis.feature_functions import (
    DEPRECATED,
    FeatureFunction,
    feature_functions,
)
from infragap.migrate.analysis.feature_pairs import FeaturePair, candidate_pairs, orient
from infragap.migrate.analysis.feature_values import ROW_MODULES, Feature
from infragap.migrate.analysis.names import all_names
from infragap.migrate.analysis.source_tables import source_table
from infragap.migrate.analysis.trees import too_deep
from infragap.migrate.edits import unique_name
from infragap.migrate.generators.feast_repo import (
    TODO,
    FeastRepoSpec,
    OnDemandFeature,
    Precomputed,
    render_repository,
)
from infragap.migrate.results import Finding, NewFile, Note, RepositoryFix, RuleResult
from infragap.migrate.rules.base import Option, Options, Rule, rule
from infragap.migrate.rules.duplicated_preprocessing import DuplicatedPreprocessing
from infragap.migrate.rules.feast_edits import (
    STORE,
    SUFFIX,
    ModuleEdits,
    add_twin,
    apply,
    local_names,
    rename_call,
)
from infragap.migrate.source import Source

DEFAULT_TIMESTAMP = "event_timestamp"
HISTORICAL = "point-in-time values of its features for the same rows"  # the twins' docstrings
ONLINE = "its features as materialised in Feast's online store"
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"


@rule("preprocessing-to-feast")
class PreprocessingToFeast(Rule):
    kind = "unsafe"
    scope = "repository"
    summary = "Move features computed in training and again in serving into a Feast repository."
    why = DuplicatedPreprocessing.why
    fixes = ("preprocessing-to-feast",)
    prefilter = re.compile(r"\[\s*['\"][^'\"\n]+['\"]\s*\]\s*=[^=]")  # df["col"] = ...
    options: ClassVar[Mapping[str, Option]] = {
        "repository": Option(
            "feature_repo", "the Feast repository folder, beside the code",
            pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
        ),
        "project": Option("features", "the Feast project name", pattern=IDENTIFIER),
        "training": Option(
            "", "the training copy, PATH:FUNCTION (default: as the code tells)",
            pattern=rf"[^:]+:{IDENTIFIER}",
        ),
        "serving": Option(
            "", "the serving copy, PATH:FUNCTION (default: as the code tells)",
            pattern=rf"[^:]+:{IDENTIFIER}",
        ),
        "entity": Option(
            "", "the join key column(s), comma-separated (default: found in the code)",
            pattern=rf"{IDENTIFIER}(,{IDENTIFIER})*",
        ),
        "timestamp": Option(
            "", "the source table's time column (default: found, else event_timestamp)",
            pattern=IDENTIFIER,
        ),
    }  # fmt: skip

    def find(self, source: Source) -> list[Finding]:
        return []  # duplicated-preprocessing reports the copies and names this rule as the fix

    def fix_repository(self, sources: Sequence[Source], options: Options) -> RepositoryFix:
        functions: list[FeatureFunction] = []
        unreadable: dict[str, str] = {}  # path -> why the analysis passed it over
        for source in sources:
            if not self.wants(source.text) or source.parse_problem():
                continue
            try:
                found = feature_functions(source)
                for function in found:
                    function.line  # noqa: B018 - positions: LibCST recurses here too
            except RecursionError:
                unreadable[source.path] = too_deep()
                continue
            functions.extend(f for f in found if not f.deprecated)
        calls = CallIndex(sources, {f.name for f in functions})
        unreadable.update(calls.passed_over)
        fix = self._fix(functions, calls, options)
        if fix.failure or not unreadable:
            return fix
        by_path = {source.path: source for source in sources}
        passed_over = {
            path: RuleResult.skipped(by_path[path].text, (Note(1, f"file passed over: {why}"),))
            for path, why in unreadable.items()
            if path not in fix.results
        }
        return RepositoryFix({**fix.results, **passed_over}, fix.new_files)

    def _fix(
        self, functions: list[FeatureFunction], calls: CallIndex, options: Options
    ) -> RepositoryFix:
        chosen = self._pair(functions, calls, options)
        if not isinstance(chosen, FeaturePair):
            return chosen
        for function in (chosen.training, chosen.serving):
            if function.blocker:
                return _refuse(function, function.blocker)
            if f"{function.name}{SUFFIX}" in function.source.module_names:
                return _refuse(function, f"{function.name}{SUFFIX}() exists already")
        named = self.option(options, "entity")
        keys = (
            named.split(",")
            if named
            else [*dict.fromkeys([*chosen.training.keys, *chosen.serving.keys])]
        )
        if not keys:
            why = "no join key in the code (a column grouped by, or named *_id)"
            return _refuse(chosen.training, f"{why}: name it with --option entity=COLUMN")
        return _Migration(chosen, calls, keys, self, options).run()

    def _pair(
        self, functions: list[FeatureFunction], calls: CallIndex, options: Options
    ) -> FeaturePair | RepositoryFix:
        by_name = {f"{f.path}:{f.name}": f for f in functions}
        given: dict[str, FeatureFunction] = {}
        for role in ("training", "serving"):
            value = self.option(options, role)
            if value and value not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                why = f"--option {role}={value}: no such feature function (found: {known})"
                return RepositoryFix(failure=why)
            if value:
                given[role] = by_name[value]
        if len(given) == 2:
            return FeaturePair(given["training"], given["serving"])
        pairs = candidate_pairs(functions)
        if given:
            ((role, function),) = given.items()
            pairs = [pair for pair in pairs if any(f is function for f in pair)]
            if not pairs:
                return _refuse(function, f"{function.name}() shares no feature with another copy")
            partner = next(f for f in pairs[0] if f is not function)
            if role == "training":
                return FeaturePair(function, partner)
            return FeaturePair(partner, function)
        if not pairs:
            return RepositoryFix()
        pair = orient(pairs, calls)
        if pair is not None:
            return pair
        one, other = pairs[0]
        why = (
            f"the code does not tell which of {one.path}: {one.name}() and {other.path}: "
            f"{other.name}() trains and which serves: name them with --option "
            "training=PATH:FUNCTION --option serving=PATH:FUNCTION"
        )
        return _refuse(one, why, other)


def _refuse(function: FeatureFunction, why: str, *more: FeatureFunction) -> RepositoryFix:
    return RepositoryFix(
        results={
            f.path: RuleResult.skipped(f.source.text, (Note(f.line, why),))
            for f in (function, *more)
        }
    )


class _Migration:
    """Every decision for one pair, then the edits and the repository that follow."""

    def __init__(
        self,
        pair: FeaturePair,
        calls: CallIndex,
        keys: list[str],
        rule_: Rule,
        options: Options,
    ) -> None:
        self.pair = pair
        self.calls = calls
        self.keys = keys
        self.service = pair.training.name
        folders = [posixpath.dirname(f.path) for f in (pair.training, pair.serving)]
        parent = posixpath.commonpath(folders)
        self.repository = posixpath.join(parent, rule_.option(options, "repository"))
        self.project = rule_.option(options, "project")
        self.timestamp, self.timestamp_note = self._timestamp(rule_.option(options, "timestamp"))
        self.edits: dict[str, ModuleEdits] = {}
        self.table, self.table_note, self.table_todo = self._source()

    def run(self) -> RepositoryFix:
        training, serving = self.pair.training, self.pair.serving
        self._migrate(training, self._historical(training), HISTORICAL)
        self._migrate(serving, self._online(serving), ONLINE)
        spec = self._spec()
        self._notes(spec)
        results = {
            path: RuleResult.from_edits(
                edits.source.text, apply(edits, self.repository), tuple(edits.notes)
            )
            for path, edits in sorted(self.edits.items())
        }
        files = tuple(NewFile(p, t) for p, t in render_repository(spec).items())
        return RepositoryFix(results=results, new_files=files)

    # -- what the code says ------------------------------------------------------------

    def _timestamp(self, named: str) -> tuple[str, str]:
        if named:
            return named, "The source table's time column (--option timestamp)."
        for function in (self.pair.training, self.pair.serving):
            if function.times:
                return function.times[0], (
                    f"The time column, as {function.path}: {function.name}() uses it."
                )
        return DEFAULT_TIMESTAMP, (
            f"{TODO}: no time column in the code: the source table needs one (named "
            f"{DEFAULT_TIMESTAMP} here), so training can read values as of each row's time."
        )

    def _source(self) -> tuple[str, str, str]:
        """(path relative to the code's root, comment, what is left to do) of the table
        training reads."""
        training = self.pair.training
        where = f"{training.path}: {training.name}()"
        table = source_table(training, self.calls)
        if table is None:
            return (
                f"TODO-{self.service}-source.parquet",
                f"{TODO}: the code does not say which table {where} reads: point path at it, "
                "a parquet file with the keys, the time column and the columns the feature "
                "view lists.",
                f"the code does not say which table {training.name}() reads: set its path",
            )
        if table.reader == "pandas.read_csv":
            return (
                table.path,
                f"{TODO}: {where} reads {table.path} with pd.read_csv ({table.where}); Feast "
                "reads parquet: write the table as parquet and point path at that file.",
                f"{training.name}() reads CSV and Feast parquet: convert {table.path}",
            )
        return table.path, f"The table {where} reads ({table.where}).", ""

    def _spec(self) -> FeastRepoSpec:
        training, serving = self.pair.training, self.pair.serving
        carried: list[Feature] = []
        precomputed: list[Precomputed] = []
        taken: set[str] = set()  # the names in carried or precomputed
        for function in (training, serving):
            for feature in function.features:
                if feature.name in taken:
                    continue  # computed by the training copy, which wins
                taken.add(feature.name)
                origin = f"{function.path}:{feature.line}"
                why = feature.across_rows
                if not why and function is serving and serving.frame != training.frame:
                    why = "it is computed in serving only, on a frame of another name"
                if why:
                    precomputed.append(Precomputed(feature.name, why, origin))
                else:
                    carried.append(feature)
        produced = {f.name for function in (training, serving) for f in function.features}
        read = [c for f in carried for c in f.reads if c not in produced]
        returned = [c for f in (training, serving) for c in f.returns or () if c not in produced]
        skip = {*self.keys, self.timestamp}
        return FeastRepoSpec(
            project=self.project,
            service=self.service,
            view=_view_name(self.table, self.service),
            keys=tuple(self.keys),
            timestamp=self.timestamp,
            timestamp_note=self.timestamp_note,
            source_path=self.table,
            source_note=self.table_note,
            frame=training.frame,
            constants=_constants(carried, (training, serving)),
            imports=_imports(carried, (training, serving)),
            on_demand=tuple(_on_demand(f, (training, serving)) for f in carried),
            precomputed=tuple(precomputed),
            inputs=tuple(c for c in dict.fromkeys([*read, *returned]) if c not in skip),
            training=f"{training.path}: {training.name}()",
            serving=f"{serving.path}: {serving.name}()",
            differences=tuple(self._differences()),
            call_sites=tuple(
                f"{path}:{line} {verb} {name}{SUFFIX}()"
                for path, edits in sorted(self.edits.items())
                for line, verb, name in edits.renamed()
            ),
            repository=self.repository,
        )

    def _differences(self) -> list[str]:
        training, serving = self.pair.training, self.pair.serving
        lines = [
            f"{d.feature}: {'; '.join(f'`{a}` vs `{b}`' for a, b in d.pairs)} "
            f"({training.path}:{d.training_line} vs {serving.path}:{d.serving_line})"
            for d in self.pair.differences
        ]
        shared = set(self.pair.shared)
        for function, other in ((training, serving), (serving, training)):
            only = [f.name for f in function.features if f.name not in shared]
            if only:
                lines.append(
                    f"only {function.path}: {function.name}() computes {', '.join(only)}, "
                    f"not {other.name}()"
                )
        return lines

    def _notes(self, spec: FeastRepoSpec) -> None:
        training, serving = self.pair.training, self.pair.serving
        todo = f"{TODO} in {self.repository}/features.py"
        for difference in self.pair.differences:
            parts = "; ".join(f"{a} vs {b}" for a, b in difference.pairs)
            self._edits(serving.source).notes.append(
                Note(
                    difference.serving_line,
                    f"{difference.feature} differs from {training.path}:"
                    f"{difference.training_line} ({parts}): Feast keeps the training copy",
                )
            )
        for item in spec.precomputed:
            path, _, line = item.origin.rpartition(":")
            function = training if path == training.path else serving
            self._edits(function.source).notes.append(
                Note(int(line), f"{item.name}: {item.why}: left as a column to fill ({todo})")
            )
        left = [self.table_todo]
        if TODO in spec.timestamp_note:
            left.append(f"no time column in the code: check {spec.timestamp}, assumed")
        for what in filter(None, left):
            self._edits(training.source).notes.append(Note(training.line, f"{what} ({todo})"))

    # -- edits -------------------------------------------------------------------------

    def _edits(self, source: Source) -> ModuleEdits:
        return self.edits.setdefault(source.path, ModuleEdits(source))

    def _migrate(self, function: FeatureFunction, lookup: list[str], doc: str) -> None:
        edits = self._edits(function.source)
        twin = add_twin(edits, function, lookup, doc)
        edits.deprecate[function.node] = textwrap.wrap(
            f"Deprecated ({DEPRECATED}): Feast serves these features now; call {twin}() "
            f'(feature service "{self.service}" in {self.repository}/).',
            86,
        )
        for site in self.calls.sites(function.path, function.name):
            if site.caller is not function.node:
                rename_call(self._edits(site.source), site, function, twin)

    def _historical(self, function: FeatureFunction) -> list[str]:
        frame, taken = function.frame, local_names(function)
        entity = unique_name("entity_df", taken)
        found = unique_name("feast_features", taken)
        columns = json.dumps([*self.keys, self.timestamp])
        return [
            f"{entity} = {frame}[{columns}].assign(feast_row=range(len({frame})))",
            f"{found} = {STORE}().get_historical_features(\n"
            f"    entity_df={entity},\n"
            f'    features={STORE}().get_feature_service("{self.service}"),\n'
            ").to_df()",
            f'{frame} = {found}.sort_values("feast_row").drop(columns="feast_row")'
            f".set_axis({frame}.index)",
        ]

    def _online(self, function: FeatureFunction) -> list[str]:
        frame = function.frame
        found = unique_name("feast_features", local_names(function))
        return [
            f"{found} = {STORE}().get_online_features(\n"
            f'    features={STORE}().get_feature_service("{self.service}"),\n'
            f'    entity_rows={frame}[{json.dumps(self.keys)}].to_dict("records"),\n'
            ").to_df()",
            f"{frame} = {found}.set_axis({frame}.index)",
        ]


def _view_name(path: str, service: str) -> str:
    stem = re.sub(r"\W+", "_", path.rsplit("/", 1)[-1].split(".", 1)[0]).strip("_")
    if path.startswith("TODO-") or not stem:
        return f"{service}_features"
    return f"t_{stem}" if stem[0].isdigit() else stem


def _owner(feature: Feature, functions: Sequence[FeatureFunction]) -> FeatureFunction:
    return next(f for f in functions if any(g is feature for g in f.features))


def _on_demand(feature: Feature, functions: Sequence[FeatureFunction]) -> OnDemandFeature:
    owner = _owner(feature, functions)
    code = cst.Module(body=[feature.statement]).code.rstrip("\n")
    return OnDemandFeature(feature.name, feature.dtype, code, f"{owner.path}:{feature.line}")


def _constants(
    carried: list[Feature], functions: Sequence[FeatureFunction]
) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for feature in carried:
        owner = _owner(feature, functions)
        for name in feature.constants:
            found.setdefault(name, one_line(owner.constants[name]))
    return tuple(found.items())


def _imports(carried: list[Feature], functions: Sequence[FeatureFunction]) -> tuple[str, ...]:
    """Import lines for the modules the carried statements use, under the same names."""
    lines = set()
    for feature in carried:
        aliases = _owner(feature, functions).source.aliases
        for local in all_names(feature.statement):
            qualname = aliases.get(local)
            if qualname is None or qualname.split(".", 1)[0] not in ROW_MODULES:
                continue
            module, _, leaf = qualname.rpartition(".")
            if qualname == local:
                lines.add(f"import {qualname}")
            elif not module:
                lines.add(f"import {qualname} as {local}")
            else:
                alias = f" as {local}" if leaf != local else ""
                lines.add(f"from {module} import {leaf}{alias}")
    return tuple(sorted(lines))
