"""The serving suite's options for a model and an endpoint of your own, checked before
anything starts: --model, --model-spec, --requests, --naive-url with --request-template
and --response-path, --before-after with --app-command, and --yes."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infragap.errors import ConfigError
from infragap.suites.serving.own_variants import OWN_VARIANTS, TRITON_MODEL
from infragap.workloads.own_model.signature import model_format
from infragap.workloads.own_model.template import parse_path, parse_template

DEFAULT_TOLERANCE = 1e-4
DEFAULT_APP_COMMAND = "{python} -m flask --app {entry} run --host 127.0.0.1 --port {port}"


def add_own_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "your own model and endpoint",
        "Benchmark a model file of yours instead of the built-in one, your running service "
        "as the naive side, or your app before and after `migrate apply --rule "
        "flask-to-triton`. The model is loaded only by the server processes.",
    )
    group.add_argument("--model", type=Path, help="a TorchScript (.pt) or ONNX (.onnx) file")
    group.add_argument(
        "--model-spec",
        type=Path,
        help='the inputs: a JSON spec {"inputs": [{"name", "dtype", "shape": ["batch", ...]}]} '
        'or a sample request {"inputs": {name: rows}}; needed for TorchScript',
    )
    group.add_argument(
        "--requests", type=Path, help="replay these request bodies (JSONL) instead of seeded ones"
    )
    group.add_argument("--naive-url", help="your running service's URL, driven as the naive side")
    group.add_argument(
        "--request-template",
        help="your service's request body, JSON or @FILE; \"{{x}}\" stands for input x's rows",
    )
    group.add_argument(
        "--response-path", help="where the scores are in your service's answer: a.b.0.c"
    )
    group.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="largest difference allowed from the reference answers "
        f"(default {DEFAULT_TOLERANCE:g})",
    )
    group.add_argument(
        "--triton-model", default=TRITON_MODEL, help="the model's name on --triton-url's server"
    )
    group.add_argument(
        "--before-after",
        type=Path,
        metavar="REPO",
        help="benchmark REPO's app as committed (before) against the Triton repository "
        "`migrate apply --rule flask-to-triton --write` generated in it (after)",
    )
    group.add_argument(
        "--app-command",
        default=DEFAULT_APP_COMMAND,
        help="how REPO's app starts, run in REPO; {python} and {port} are filled in "
        f"(default: {DEFAULT_APP_COMMAND!r}, {{entry}} being the file the migration changed)",
    )
    group.add_argument("--app-python", help="REPO's interpreter, e.g. REPO/.venv/bin/python")
    group.add_argument("--app-route", default="/predict", help="the app's scoring route")
    group.add_argument(
        "--yes", action="store_true", help="send the load to a URL off this machine unasked"
    )


def wants_own_model(args: argparse.Namespace) -> bool:
    return bool(args.model or args.naive_url or args.before_after)


def own_config(args: argparse.Namespace) -> dict[str, Any]:
    """The "own_model" and "before_after" parts of the configuration, and the variants."""
    before_after = _before_after(args) if args.before_after else None
    model = Path(before_after["model_file"]) if before_after else args.model
    if model is None:
        raise ConfigError("--naive-url needs --model: the file Triton serves beside your service")
    model = model.resolve()
    if not model.is_file():
        raise ConfigError(f"--model {model} does not exist")
    fmt = model_format(model)
    for option, path in (("--model-spec", args.model_spec), ("--requests", args.requests)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option} {path} does not exist")
    template = _template(args)
    if args.tolerance < 0:
        raise ConfigError("--tolerance must be 0 or more")
    own = {
        "model": str(model),
        "format": fmt,
        "model_spec": str(args.model_spec.resolve()) if args.model_spec else None,
        "requests_file": str(args.requests.resolve()) if args.requests else None,
        "naive_url": args.naive_url,
        "request_template": template,
        "response_path": args.response_path,
        "tolerance": args.tolerance,
        "triton_model": args.triton_model,
        "yes": args.yes,
    }
    return {"own_model": own, "before_after": before_after, "variants": _variants(args)}


def _template(args: argparse.Namespace) -> str | None:
    needs = bool(args.naive_url or args.before_after)
    given = args.request_template is not None, args.response_path is not None
    if needs and not all(given):
        raise ConfigError(
            "your endpoint speaks its own JSON: give --request-template (e.g. "
            '\'{"features": "{{x}}"}\') and --response-path (e.g. scores)'
        )
    if not needs:
        if any(given):
            raise ConfigError("--request-template and --response-path go with --naive-url")
        return None
    if args.naive_url:
        parts = urlsplit(args.naive_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--naive-url {args.naive_url!r} is not an http(s):// URL")
    text = args.request_template
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read --request-template {text}: {err}") from None
    parse_template(text, _placeholder_names(text))
    parse_path(args.response_path)
    return text


def _placeholder_names(text: str) -> list[str]:
    # The input names are known only once the signature is read; here the template is
    # checked for form, and for names at the first request.
    from infragap.workloads.own_model.template import PLACEHOLDER

    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def _before_after(args: argparse.Namespace) -> dict[str, Any]:
    from infragap.suites.serving.before_after import find_migration

    found = find_migration(args.before_after)
    command = args.app_command
    if "{entry}" in command:
        if not found["entry"]:
            raise ConfigError("no changed .py file to start: give --app-command")
        command = command.replace("{entry}", found["entry"])
    argv = shlex.split(command)
    if not any("{port}" in part for part in argv):
        raise ConfigError(
            "--app-command must say where the port goes, as {port} (it is in $PORT too)"
        )
    found["command"] = argv
    found["python"] = args.app_python or sys.executable
    found["route"] = args.app_route
    return found


def _variants(args: argparse.Namespace) -> list[str]:
    if args.variants:
        names = [v.strip() for v in args.variants.split(",") if v.strip()]
    elif args.before_after:
        names = ["before-app", "triton", "after-app"]
    elif args.naive_url:
        names = ["your-endpoint", "triton"]
    else:
        names = ["naive-reload", "naive-hoisted", "triton"]
    for name in names:
        OWN_VARIANTS.get(name)
    return names
