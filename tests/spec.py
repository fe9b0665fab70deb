"""Reading the generated spec in tests: shared parameters, headers and answers are `$ref`s
into `components`."""

from typing import Any


def resolved(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points to."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def parameters(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operation's parameters by name."""
    found = [resolved(spec, p) for p in operation.get("parameters", [])]
    return {p["name"]: p for p in found}


def headers(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The response's headers by name, resolved."""
    response = resolved(spec, response)
    return {name: resolved(spec, h) for name, h in response.get("headers", {}).items()}


def json_schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (OpenAPI 3.0) as a JSON Schema that `jsonschema` validates with, its `$ref`s
    into `components` still resolving: `nullable` becomes a `null` alternative."""
    root = _converted({"components": spec.get("components", {}), **schema})
    return root


def _converted(node: Any) -> Any:
    if isinstance(node, list):
        return [_converted(child) for child in node]
    if not isinstance(node, dict):
        return node
    node = {key: _converted(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node
