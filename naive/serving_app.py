"""The naive model endpoint, written the way it shows up in real code.

`/predict` loads the TorchScript model from disk inside the request handler, runs it on
the request's rows, logs how long it took and returns JSON. `--hoisted` is the quick fix
teams reach for next: the same app with the model loaded once at start-up. Comparing the
two separates the cost of reloading from the gain of Triton's batching.

Served by Flask's threaded development server, which is how most of these apps run
(`app.run(threaded=True)` behind a port-forward) before anyone adds gunicorn.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import torch
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

logger = logging.getLogger("predict")

MAX_BODY_BYTES = 1 << 20
FLOAT32_MAX = 3.4028234663852886e38  # beyond it the model sees inf and scores NaN
NOT_JSON = "body must be JSON (Content-Type: application/json)"


class BadRequest(ValueError):
    """The request body is not a valid scoring request."""


def check_rows(
    body: Any, n_users: int, n_items: int, dense_dim: int
) -> tuple[list[int], list[int], list[list[float]]]:
    """The request's (user_id, item_id, dense) lists once every check passes, else
    BadRequest. Ids must lie in [0, n_users) and [0, n_items)."""
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object with user_id, item_id and dense")
    missing = [key for key in ("user_id", "item_id", "dense") if key not in body]
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}")
    users, items, dense = body["user_id"], body["item_id"], body["dense"]
    if not (isinstance(users, list) and isinstance(items, list) and isinstance(dense, list)):
        raise BadRequest("user_id, item_id and dense must be lists")
    if not users or len(users) != len(items) or len(users) != len(dense):
        raise BadRequest("user_id, item_id and dense must have the same, non-zero length")
    for name, ids, limit in (("user_id", users, n_users), ("item_id", items, n_items)):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest(f"{name} must hold integers")
        if not all(0 <= i < limit for i in ids):
            raise BadRequest(f"{name} out of range [0, {limit})")
    for row in dense:
        if not isinstance(row, list) or len(row) != dense_dim:
            raise BadRequest(f"each dense row must be a list of {dense_dim} numbers")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row):
            raise BadRequest("dense must hold numbers")
        # False for NaN and inf too; and an int of any size compares without overflow.
        if not all(abs(x) <= FLOAT32_MAX for x in row):
            raise BadRequest(f"dense must hold finite numbers (|x| <= {FLOAT32_MAX:.4g})")
    return users, items, dense


def parse_rows(body: Any, n_users: int, n_items: int, dense_dim: int) -> tuple[torch.Tensor, ...]:
    users, items, dense = check_rows(body, n_users, n_items, dense_dim)
    return (
        torch.tensor(users, dtype=torch.int64).reshape(-1, 1),
        torch.tensor(items, dtype=torch.int64).reshape(-1, 1),
        torch.tensor(dense, dtype=torch.float32),
    )


def score(model: Any, body: Any, device: str) -> list[float]:
    """The model's scores for a request body; BadRequest when the body is not a valid
    scoring request for this model."""
    users, items, dense = parse_rows(
        body, n_users=model.n_users, n_items=model.n_items, dense_dim=model.dense_dim
    )
    with torch.no_grad():
        scores = model(users.to(device), items.to(device), dense.to(device))
    return scores.reshape(-1).tolist()


def new_app(import_name: str) -> Flask:
    """A Flask app with what every naive model endpoint shares: the body size limit,
    errors as JSON ({"error": ...}) and `/health`."""
    app = Flask(import_name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify(error=error.description), error.code

    @app.get("/health")
    def health() -> Any:
        return jsonify(status="ok")

    return app


def json_body() -> Any:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # silent=True only swallows ValueError; deep nesting is this
        return None


LOOPBACK_HOST = "127.0.0.1"
HOST_HELP = "address to listen on (default loopback; 0.0.0.0 inside a container, for probes)"


def serve(app: Flask, port: int, host: str = LOOPBACK_HOST) -> None:
    """Flask's threaded development server, on loopback unless told, logging at INFO."""
    logging.basicConfig(level=logging.INFO)
    app.run(host=host, port=port, threaded=True)


def create_app(model_path: str, hoisted: bool = False) -> Flask:
    app = new_app(__name__)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded_once = torch.jit.load(model_path, map_location=device) if hoisted else None

    @app.post("/predict")
    def predict() -> Any:
        start = time.time()
        body = json_body()
        if body is None:
            return jsonify(error=NOT_JSON), 400
        # The anti-pattern under test: every request pays for reading the model from disk.
        model = (
            loaded_once
            if loaded_once is not None
            else torch.jit.load(model_path, map_location=device)
        )
        try:
            scores = score(model, body, device)
        except BadRequest as error:
            return jsonify(error=str(error)), 400
        logger.info(f"predict took {(time.time() - start) * 1000:.1f}ms for {len(scores)} rows")
        return jsonify(scores=scores)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Naive Flask model endpoint")
    parser.add_argument("--model", required=True, help="TorchScript file")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default=LOOPBACK_HOST, help=HOST_HELP)
    parser.add_argument("--hoisted", action="store_true", help="load the model once at start-up")
    args = parser.parse_args(argv)
    serve(create_app(args.model, hoisted=args.hoisted), args.port, args.host)


if __name__ == "__main__":
    main()
