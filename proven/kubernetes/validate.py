"""Offline validation of manifests against the Kubernetes API's own OpenAPI schemas.

kubernetes-validate bundles the schemas of each Kubernetes release as JSON Schema; the
strict variant forbids unknown fields, as `kubectl apply --validate=strict` does. Every
problem is reported (not only the first), each with the path kubectl would name, such as
`spec.template.spec.containers[0].ports[0].containerPort`. The few rules the API server
enforces beyond the schema that these manifests could break are checked too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from infragap.errors import ConfigError, MissingDependency

# The newest release kubernetes-validate 1.37.0 bundles, and one four minors older: the
# oldest still in the managed clouds' extended support when 1.37 came out.
SUPPORTED_VERSIONS: tuple[str, ...] = ("1.33", "1.37")

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


def validate_manifest(doc: Mapping[str, Any], kubernetes_version: str) -> list[str]:
    """Problems with `doc` as Kubernetes `kubernetes_version` (e.g. "1.37") would see
    them, as "Kind/name: path: message" lines; empty when the manifest is valid.
    A version kubernetes-validate does not bundle is a ConfigError."""
    version = _bundled_version(kubernetes_version)
    if not isinstance(doc, Mapping):
        return [f"manifest is a {type(doc).__name__}, not a mapping"]
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return ["manifest has no string `apiVersion` and `kind`: every object needs both"]
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    where = f"{kind}/{name or '?'}"
    validator = _validator(version, kind, api_version)
    if validator is None:
        return [f"{where}: Kubernetes {version} has no {kind} in {api_version}"]
    problems = [f"{where}: {line}" for line in _schema_problems(validator, doc)]
    problems += [f"{where}: {line}" for line in _server_side_problems(doc)]
    return problems


def validate_all(
    docs: Iterable[Mapping[str, Any]], versions: Iterable[str] = SUPPORTED_VERSIONS
) -> list[str]:
    """Every problem of every manifest under every version, each prefixed with the version."""
    return [
        f"Kubernetes {version}: {problem}"
        for version in versions
        for doc in docs
        for problem in validate_manifest(doc, version)
    ]


def bundled_versions() -> list[str]:
    """The Kubernetes minor versions ("1.25", ...) the installed kubernetes-validate knows."""
    utils = _kubernetes_validate()
    return list(dict.fromkeys(_minor(version) for version in utils.all_versions()))


def _bundled_version(requested: str) -> str:
    match = _VERSION.match(str(requested).strip())
    bundled = bundled_versions()
    minor = f"{match.group(1)}.{match.group(2)}" if match else None
    if minor not in bundled:
        raise ConfigError(
            f"Kubernetes version {requested!r} is not one kubernetes-validate bundles: pass "
            f"one of {bundled[0]} to {bundled[-1]} (major.minor, e.g. {bundled[-1]})"
        )
    assert minor is not None
    return minor


def _kubernetes_validate() -> Any:
    try:
        from kubernetes_validate import utils
    except ImportError:
        raise MissingDependency("kubernetes-validate", "scaling") from None
    return utils


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@functools.cache
def _validator(version: str, kind: str, api_version: str) -> Any:
    """The strict schema's validator for one kind, or None when the version has none.
    Schemas are read from kubernetes-validate's data the way its own `validate` reads
    them, and cached: the shared definitions file is 1.8 MB per version."""
    utils = _kubernetes_validate()
    import jsonschema  # kubernetes-validate's own dependencies
    from referencing import Registry, Resource

    full = next(v for v in utils.all_versions() if _minor(v) == version)
    folder = f"kubernetes-json-schema/v{full}-local-strict"
    # rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", full)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ Registry()
    registry = _definitions(folder, full) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _definitions(folder: str, full: str) -> Any:
    from referencing import Resource

    return Resource.from_contents(
        _kubernetes_validate().schema_contents(f"{folder}/_definitions.json", full)
    )


def _schema_problems(validator: Any, doc: Mapping[str, Any]) -> list[str]:
    problems = []
    for error in validator.iter_errors(dict(doc)):
        path = _path(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - known):
                problems.append(f'{_join(path, key)}: unknown field "{key}"')
        else:
            problems.append(f"{path or '(top level)'}: {error.message}")
    return sorted(problems)


def _server_side_problems(doc: Mapping[str, Any]) -> list[str]:
    """Rules the API server enforces that the schema cannot express."""
    problems = []
    metadata = doc.get("metadata")
    if not (isinstance(metadata, Mapping) and metadata.get("name")):
        problems.append("metadata.name: required (the API server rejects nameless objects)")
    if doc.get("kind") == "Deployment":
        spec = doc.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        template = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            problems.append("spec.selector.matchLabels: required, and must not be empty")
        for key, value in selector.items():
            if template.get(key) != value:
                problems.append(
                    f"spec.template.metadata.labels: `selector` does not match template "
                    f"`labels` ({key}={value} missing)"
                )
    return problems


def _path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
    return path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
