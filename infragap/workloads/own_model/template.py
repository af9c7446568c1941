"""Speaking a team's own JSON: a request body built from a template, the scores read from
the answer by a path (pure).

The template is a JSON document; a string that is exactly `{{NAME}}` becomes input
NAME's rows (a list, batch first) and `{{NAME[0]}}` its first row, for endpoints that
take one example per request. The response path is dotted keys and list indices:
`scores`, `predictions.0.probabilities`, `outputs.logits`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from infragap.errors import ConfigError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]*?)\s*(\[0\])?\s*\}\}")
EXAMPLE = '{"features": "{{x}}"}'


class ResponsePathError(ValueError):
    """The answer has nothing at the response path; the message shows what it has."""


def parse_template(text: str, input_names: Iterable[str]) -> Any:
    """The template as JSON, checked to name at least one input and no unknown one."""
    try:
        template = json.loads(text)
    except ValueError as err:
        raise ConfigError(
            f"--request-template is not JSON ({err}): write e.g. {EXAMPLE}, where "
            '"{{x}}" is input x\'s rows and "{{x[0]}}" its first row'
        ) from None
    names = set(input_names)
    used = {match.group(1) for match in _placeholders(template)}
    if not used:
        raise ConfigError(
            f"--request-template names no input: put one of {sorted(names)} in it as "
            f'"{{{{name}}}}", e.g. {EXAMPLE}'
        )
    unknown = sorted(used - names)
    if unknown:
        raise ConfigError(
            f"--request-template names {unknown}, which the model does not take; "
            f"its inputs are {sorted(names)}"
        )
    return template


def _placeholders(node: Any) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    stack = [node]
    while stack:  # a loop, not recursion: the template's depth is the user's
        item = stack.pop()
        if isinstance(item, str) and (match := PLACEHOLDER.fullmatch(item)):
            found.append(match)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def fill(template: Any, request: Mapping[str, Sequence[Any]]) -> Any:
    """A copy of `template` with every placeholder replaced by the request's values."""
    if isinstance(template, str):
        match = PLACEHOLDER.fullmatch(template)
        if not match:
            return template
        rows = request[match.group(1)]
        return rows[0] if match.group(2) else rows
    if isinstance(template, Mapping):
        return {key: fill(value, request) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, request) for value in template]
    return template


def parse_path(path: str) -> list[str | int]:
    if not path or any(not part for part in path.split(".")):
        raise ConfigError(
            f"--response-path {path!r} is empty or has an empty part: write dotted keys and "
            "indices, e.g. scores or predictions.0.probabilities"
        )
    return [int(part) if part.isdigit() else part for part in path.split(".")]


def extract(body: Any, path: Sequence[str | int]) -> Any:
    """The value at `path` in a decoded JSON answer."""
    node = body
    for depth, part in enumerate(path):
        where = ".".join(map(str, path[: depth + 1]))
        if isinstance(part, int) and isinstance(node, list):
            if part >= len(node):
                raise ResponsePathError(f"{where}: the list has {len(node)} items")
            node = node[part]
        elif isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        else:
            has = sorted(node)[:10] if isinstance(node, Mapping) else type(node).__name__
            raise ResponsePathError(f"nothing at {where} in the answer (it has {has})")
    return node


def numbers(value: Any) -> list[float]:
    """Every number in a nested list (or the one number), in order."""
    out: list[float] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            out.append(float(item))
        else:
            raise ResponsePathError(f"the answer holds {type(item).__name__}, not numbers")
    return out
