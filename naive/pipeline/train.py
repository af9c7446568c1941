"""Train: fit a purchase model on the day's features, holding out one user in five."""

from __future__ import annotations

import sys

from pipeline_io import Output, StepArgs, StepError, main, pickle_writer, read_parquet
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

LABEL = "purchased"
HOLDOUT_EVERY = 5  # users whose id is a multiple of this are kept for evaluation


def train(args: StepArgs) -> list[Output]:
    path = args.partition("features", "features.parquet")
    features = read_parquet(
        path, "features file", f"run preprocess for {args.day} first", ("user_id", LABEL)
    )
    columns = [c for c in features.columns if c not in ("user_id", "item_id", LABEL)]
    rows = features[features["user_id"] % HOLDOUT_EVERY != 0]
    if rows[LABEL].nunique() < 2:
        raise StepError(
            f"features file {path} has one class only in its training rows: the day's "
            "data is too small or broken; rerun preprocess on a fuller export"
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(rows[columns], rows[LABEL])
    bundle = {"model": model, "features": columns, "train_rows": len(rows)}
    return [(args.partition("models", "model.pkl"), pickle_writer(bundle))]


if __name__ == "__main__":
    sys.exit(main("train", train))
