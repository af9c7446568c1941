"""Skew between encodings: the same column encoded one way in training, another in serving.

Pure: it pairs `Use`s (an encoding, or a column read raw, in a file that trains or
serves) and says why each pair is skew. A pair is skew when

* the two encodings are of different families (LabelEncoder's one integer column vs
  pd.get_dummies' one 0/1 column per value);
* training scales a column (MinMaxScaler, StandardScaler, ...) outside any Pipeline and
  serving, which transforms nothing, reads it raw;
* training one-hot encodes with a fitted OneHotEncoder and serving with pd.get_dummies
  (the columns agree only while someone keeps them in step by hand);
* serving fits a scikit-learn encoder again, on the request.

An encoding of the whole frame (`pd.get_dummies(df)`) touches text columns only: it is
compared with categorical encodings only, never with scalers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SCALED_BY = {
    "min-max": "the training minimum and maximum",
    "standard": "the training mean and standard deviation",
    "robust": "the training median and quartiles",
    "max-abs": "the training largest magnitude",
}
GIVES = {
    "codes": "one integer column of codes",
    "one-hot": "one 0/1 column per value",
    "raw": "the raw values",
    **{family: f"values scaled with {by}" for family, by in SCALED_BY.items()},
}
CATEGORICAL = frozenset({"codes", "one-hot"})
WHOLE_FRAME = "on the whole frame"


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    where: str  # "train.py:12", or "train.ipynb cell 3 line 2"
    role: str  # "training" or "serving"
    columns: tuple[str, ...]
    encoder: str  # "LabelEncoder", "pd.get_dummies", "raw"
    family: str
    fitted: bool
    detail: str = ""
    in_model: bool = False

    @property
    def label(self) -> str:
        if self.encoder == "raw":
            return "no encoding"
        if self.encoder.startswith("pd."):
            return " ".join(filter(None, (self.encoder, self.detail)))
        return f"{self.encoder} {'fitted' if self.fitted else 'applied'}"


@dataclass(frozen=True)
class Skew:
    serving: Use
    training: Use
    columns: tuple[str, ...]
    why: str

    @property
    def message(self) -> str:
        names = ", ".join(repr(c) for c in self.columns)
        verb = "is" if len(self.columns) == 1 else "are"
        t, s = self.training, self.serving
        return (
            f"{names} {verb} encoded differently in training and serving: "
            f"{t.label} in {t.where} vs {s.label} here: {self.why}; the model gets "
            "inputs unlike those it was trained on (training/serving skew)"
        )


def skews(uses: Sequence[Use]) -> list[Skew]:
    """Every training/serving pair of uses that share columns and are skew, columns
    merged per serving place, training file and encoder, and reason (the fitting place
    named, when training fits it in one place and applies it in another)."""
    merged: dict[tuple[str, int, str, str, str], Skew] = {}
    training = [use for use in uses if use.role == "training" and use.encoder != "raw"]
    training.sort(key=lambda use: not use.fitted)  # `le.fit(...)` speaks for `le.transform(...)`
    for serving in (use for use in uses if use.role == "serving"):
        for trained in training:
            if trained.path == serving.path:
                continue
            shared = tuple(c for c in serving.columns if c in trained.columns)
            why = _why(trained, serving) if shared else ""
            if not why:
                continue
            key = (serving.path, serving.line, trained.path, trained.encoder, why)
            first = merged.get(key)
            columns = tuple(dict.fromkeys((*(first.columns if first else ()), *shared)))
            merged[key] = Skew(serving, first.training if first else trained, columns, why)
    return list(merged.values())


def _why(trained: Use, serving: Use) -> str:
    """Why the two encodings of the same columns differ in what the model sees, or ""."""
    whole = WHOLE_FRAME in trained.detail or WHOLE_FRAME in serving.detail
    if whole and not {trained.family, serving.family} <= CATEGORICAL:
        return ""  # a whole-frame get_dummies leaves numbers alone
    if serving.family == "raw":
        if trained.family not in SCALED_BY or trained.in_model:
            return ""
        return (
            f"{trained.encoder} scales with {SCALED_BY[trained.family]}, serving passes "
            "the raw values"
        )
    if trained.family != serving.family:
        return (
            f"{trained.encoder} gives {GIVES[trained.family]}, {serving.encoder} gives "
            f"{GIVES[serving.family]}"
        )
    if trained.encoder in ("OneHotEncoder", "LabelBinarizer") and serving.encoder.startswith("pd."):
        return (
            f"{trained.encoder} makes a column per category it saw in training, in its order; "
            f"{serving.encoder} makes one per value in the data it is given, so the two "
            "agree only while the columns are kept in step by hand"
        )
    if serving.fitted and not serving.encoder.startswith("pd."):
        return (
            f"serving fits {serving.encoder} again, on the request's values, so its "
            f"{GIVES[serving.family]} come from the request, not from training"
        )
    return ""
