"""The model both sides train: purchase within 7 days, from the five features.

A gradient-boosted tree classifier with balanced class weights (so 0.5 is a sensible
threshold for label flips), the same seeded 80/20 row split for both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

TEST_SHARE = 0.2


def split_rows(
    rows: int, seed: int, test_share: float = TEST_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row positions: a seeded shuffle, as hurried training code splits."""
    order = np.random.default_rng(seed).permutation(rows)
    cut = round(rows * (1 - test_share))
    return np.sort(order[:cut]), np.sort(order[cut:])


def fit(table: pd.DataFrame, features: Sequence[str], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, class_weight="balanced", random_state=seed
    )
    model.fit(table[list(features)].to_numpy(dtype=float), table["label"].to_numpy())
    return model


def scores(model: Any, table: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Purchase probabilities; missing feature values go in as NaN (the trees route them)."""
    values = table[list(features)].astype("float64").to_numpy()
    return np.asarray(model.predict_proba(values)[:, 1], dtype=float)


def auc(
    labels: Sequence[int] | np.ndarray, predicted: Sequence[float] | np.ndarray
) -> float | None:
    """ROC AUC, or None when the rows hold one class only."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, np.asarray(predicted)))
