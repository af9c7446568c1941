"""The same features computed twice: which copy trains, which serves, where they differ.

Two feature functions in different files that compute columns of the same names are a
pair. The serving copy is the one a web route handler calls, or that builds its frame
from rows it is given, or whose file or name says so (serving, api, predict, ...); the
training copy reads its data from a file, or says so (train, preprocess, ...). Copies
are compared with module constants inlined, so `bins=AGE_BINS` is compared by value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from infragap.migrate.analysis.call_sites import CallIndex
from infragap.migrate.analysis.canonical import canonical
from infragap.migrate.analysis.expression_diff import differences
from infragap.migrate.analysis.feature_functions import FeatureFunction

SERVING_WORDS = re.compile(r"(?i)serv|online|api|app|endpoint|predict|request|infer|scor|view")
TRAINING_WORDS = re.compile(r"(?i)train|preprocess|offline|batch|pipeline|etl|dataset|prepare")


@dataclass(frozen=True)
class Difference:
    feature: str
    training_line: int
    serving_line: int
    pairs: tuple[tuple[str, str], ...]  # (training code, serving code) where they part


@dataclass(frozen=True)
class FeaturePair:
    training: FeatureFunction
    serving: FeatureFunction

    @property
    def shared(self) -> list[str]:
        names = {f.name for f in self.serving.features}
        return [f.name for f in self.training.features if f.name in names]

    @cached_property
    def differences(self) -> list[Difference]:
        found = []
        for name in self.shared:
            train, serve = self.training.feature(name), self.serving.feature(name)
            assert train is not None and serve is not None
            training, serving = self.training, self.serving
            pairs = differences(
                canonical(training.source, train.value, training.constants, training.frame),
                canonical(serving.source, serve.value, serving.constants, serving.frame),
            )
            if pairs:
                found.append(Difference(name, train.line, serve.line, tuple(pairs)))
        return found


def candidate_pairs(functions: Sequence[FeatureFunction]) -> list[tuple[FeatureFunction, ...]]:
    """Functions in different files sharing feature names, most shared first."""
    pairs = []
    for index, one in enumerate(functions):
        for other in functions[index + 1 :]:
            if one.path == other.path:
                continue
            shared = {f.name for f in one.features} & {f.name for f in other.features}
            if shared:
                pairs.append((len(shared), one.path, other.path, one, other))
    pairs.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [(one, other) for _, _, _, one, other in pairs]


def orient(pairs: Sequence[tuple[FeatureFunction, ...]], calls: CallIndex) -> FeaturePair | None:
    """The first candidate pair whose code tells which copy trains and which serves."""
    leans: dict[int, int] = {}

    def lean(function: FeatureFunction) -> int:
        if id(function) not in leans:
            leans[id(function)] = serving_lean(function, calls)
        return leans[id(function)]

    for one, other in pairs:
        if lean(one) != lean(other):
            return FeaturePair(other, one) if lean(one) > lean(other) else FeaturePair(one, other)
    return None


def serving_lean(function: FeatureFunction, calls: CallIndex) -> int:
    """How much the code says this copy serves (positive) or trains (negative)."""
    sites = calls.sites(function.path, function.name)
    lean = 3 if any(calls.in_handler(site) for site in sites) else 0
    lean += {"rows": 1, "read": -1}.get(function.origin.kind, 0)
    words = f"{function.path} {function.name}"
    lean += bool(SERVING_WORDS.search(words)) - bool(TRAINING_WORDS.search(words))
    return lean
