"""Training/serving skew: what the model saw in training vs what serving hands it.

Pure functions over DataFrames: both frames hold one row per entity, in the same
order, with the model's feature columns. A value "differs" when the two are not equal
(a missing value on one side only counts as a difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MAX_EXAMPLES = 5


def differing(training: pd.Series, serving: pd.Series) -> np.ndarray:
    """Row mask: the two values are not equal (NaN/None equal only to each other)."""
    left = training.to_numpy(dtype=object)
    right = serving.to_numpy(dtype=object)
    left_missing = training.isna().to_numpy()
    right_missing = serving.isna().to_numpy()
    mask = left_missing != right_missing
    for i in np.flatnonzero(~left_missing & ~right_missing):
        mask[i] = bool(left[i] != right[i])
    return mask


def feature_skew(
    training: pd.DataFrame, serving: pd.DataFrame, features: Sequence[str], key: str = "user_id"
) -> dict[str, Any]:
    """Per feature: how many of the entities' values differ, their share and examples."""
    if len(training) != len(serving):
        raise ValueError(f"{len(training)} training rows but {len(serving)} serving rows")
    keys = training[key].to_numpy()
    if not np.array_equal(keys, serving[key].to_numpy()):
        raise ValueError("training and serving rows are not for the same entities in order")
    per_feature = {}
    any_differ = np.zeros(len(training), dtype=bool)
    total = 0
    for name in features:
        mask = differing(
            training[name].reset_index(drop=True), serving[name].reset_index(drop=True)
        )
        any_differ |= mask
        total += int(mask.sum())
        examples = [
            {
                key: _plain(keys[i]),
                "training": _plain(training[name].iloc[i]),
                "serving": _plain(serving[name].iloc[i]),
            }
            for i in np.flatnonzero(mask)[:MAX_EXAMPLES]
        ]
        per_feature[name] = {
            "differ": int(mask.sum()),
            "share": float(mask.mean()) if len(mask) else 0.0,
            "examples": examples,
        }
    entities = len(training)
    return {
        "entities": entities,
        "features": per_feature,
        "values_compared": entities * len(features),
        "values_differ": total,
        "values_share": total / (entities * len(features)) if entities and features else 0.0,
        "entities_with_any_difference": int(any_differ.sum()),
        "entities_share": float(any_differ.mean()) if entities else 0.0,
    }


def prediction_shift(
    training_scores: Sequence[float] | np.ndarray,
    serving_scores: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """How far the model's scores move between the two views, and how many labels flip."""
    a = np.asarray(training_scores, dtype=float)
    b = np.asarray(serving_scores, dtype=float)
    diff = np.abs(a - b)
    flips = int(((a >= threshold) != (b >= threshold)).sum())
    return {
        "entities": len(a),
        "mean_abs_diff": float(diff.mean()) if len(a) else 0.0,
        "max_abs_diff": float(diff.max()) if len(a) else 0.0,
        "p90_abs_diff": float(np.quantile(diff, 0.9)) if len(a) else 0.0,
        "threshold": threshold,
        "label_flips": flips,
        "flip_share": flips / len(a) if len(a) else 0.0,
    }


def _plain(value: Any) -> Any:
    """numpy scalars and missing values as JSON-friendly Python values."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value
