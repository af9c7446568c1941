"""Evaluate: score the held-out users with the day's model and write the metrics."""

from __future__ import annotations

import sys

from pipeline_io import Output, StepArgs, StepError, json_writer, main, read_parquet, read_pickle
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

LABEL = "purchased"
HOLDOUT_EVERY = 5


def evaluate(args: StepArgs) -> list[Output]:
    model_path = args.partition("models", "model.pkl")
    bundle = read_pickle(model_path, "model file", f"run train for {args.day} first")
    if not isinstance(bundle, dict) or "model" not in bundle:
        raise StepError(f"model file {model_path} holds no model: run train for {args.day} again")
    path = args.partition("features", "features.parquet")
    features = read_parquet(
        path, "features file", f"run preprocess for {args.day} first", ("user_id", LABEL)
    )
    holdout = features[features["user_id"] % HOLDOUT_EVERY == 0]
    if holdout[LABEL].nunique() < 2:
        raise StepError(f"features file {path} has one class only among held-out users")
    scores = bundle["model"].predict_proba(holdout[bundle["features"]])[:, 1]
    metrics = {
        "date": args.day,
        "train_rows": int(bundle["train_rows"]),
        "holdout_rows": len(holdout),
        "holdout_positives": int(holdout[LABEL].sum()),
        "roc_auc": round(float(roc_auc_score(holdout[LABEL], scores)), 9),
        "log_loss": round(float(log_loss(holdout[LABEL], scores)), 9),
        "accuracy": round(float(accuracy_score(holdout[LABEL], scores >= 0.5)), 9),
    }
    return [(args.partition("metrics", "metrics.json"), json_writer(metrics))]


if __name__ == "__main__":
    sys.exit(main("evaluate", evaluate))
