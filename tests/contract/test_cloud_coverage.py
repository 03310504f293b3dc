"""The app's generated OpenAPI covers the cloud contract (``runrobot-cloud.openapi.json``).

Checked, statically (no requests):

- every path + method of the cloud spec exists in ``create_app(...).openapi()`` with the same operationId;
- every status code the spec documents for an operation is documented by the app, and the app
  documents no FastAPI 422 on cloud paths (validation errors are answered 400 there);
- every operation has the same parameters (location, name, required) and request body media types;
  request bodies accept the spec's properties, and require no field the spec leaves optional;
- every component schema of the spec exists among the app's schemas with the same property names
  and required list (``$ref`` and ``allOf`` resolved, so ``allOf[ApiToken, {token}]`` equals a flat model).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


@pytest.fixture(scope="module")
def app_openapi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return create_app(tmp_path_factory.mktemp("coverage") / "data", enable_ros=False).openapi()


def operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {
        (method, path): op for path, item in doc["paths"].items() for method, op in item.items() if method in METHODS
    }


def resolve(doc: dict, schema: dict) -> dict:
    """The schema behind local ``$ref``s, with ``allOf`` parts merged into one object schema."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].removeprefix("#/components/schemas/")]
    if "allOf" not in schema:
        return schema
    properties: dict = dict(schema.get("properties", {}))
    required: list[str] = list(schema.get("required", []))
    for part in schema["allOf"]:
        merged = resolve(doc, part)
        properties |= merged.get("properties", {})
        required += [name for name in merged.get("required", []) if name not in required]
    return {"type": "object", "properties": properties, "required": required}


def shape(doc: dict, schema: dict) -> tuple[set[str], set[str]]:
    resolved = resolve(doc, schema)
    return set(resolved.get("properties", {})), set(resolved.get("required", []))


def parameters(path_item: dict, op: dict) -> set[tuple[str, str, bool]]:
    return {
        (p["in"], p["name"], p.get("required", False))
        for p in [*path_item.get("parameters", []), *op.get("parameters", [])]
    }


def test_every_cloud_operation_exists_with_its_operation_id(cloud_spec: dict, app_openapi: dict) -> None:
    app_ops = operations(app_openapi)
    missing = sorted(key for key in operations(cloud_spec) if key not in app_ops)
    assert not missing, f"operations of the cloud spec missing from the app: {missing}"
    wrong = {
        key: (op.get("operationId"), app_ops[key].get("operationId"))
        for key, op in operations(cloud_spec).items()
        if op.get("operationId") != app_ops[key].get("operationId")
    }
    assert not wrong, f"operationId differs (spec, app): {wrong}"


def test_every_documented_status_code_is_documented_by_the_app(cloud_spec: dict, app_openapi: dict) -> None:
    app_ops = operations(app_openapi)
    gaps = {
        f"{method.upper()} {path}": sorted(set(op["responses"]) - set(app_ops[method, path]["responses"]))
        for (method, path), op in operations(cloud_spec).items()
    }
    assert not {k: v for k, v in gaps.items() if v}, f"status codes the app does not document: {gaps}"


def test_cloud_operations_document_no_422(cloud_spec: dict, app_openapi: dict) -> None:
    """Cloud validation errors are answered 400 with ``{"error": ...}``; FastAPI's 422 must not be documented."""
    app_ops = operations(app_openapi)
    with_422 = sorted(f"{m.upper()} {p}" for m, p in operations(cloud_spec) if "422" in app_ops[m, p]["responses"])
    assert not with_422
    session_ops = [op for (_, path), op in app_ops.items() if path.startswith("/sessions/")]
    assert session_ops and all("422" in op["responses"] for op in session_ops)  # the session API keeps its 422


def test_parameters_and_request_bodies_match(cloud_spec: dict, app_openapi: dict) -> None:
    problems = []
    for (method, path), op in operations(cloud_spec).items():
        app_op = app_openapi["paths"][path][method]
        where = f"{method.upper()} {path}"
        spec_params = parameters(cloud_spec["paths"][path], op)
        app_params = parameters(app_openapi["paths"][path], app_op)
        if spec_params != app_params:
            problems.append(f"{where}: parameters spec={sorted(spec_params)} app={sorted(app_params)}")
        spec_body, app_body = op.get("requestBody"), app_op.get("requestBody")
        if bool(spec_body) != bool(app_body):
            problems.append(f"{where}: request body spec={bool(spec_body)} app={bool(app_body)}")
            continue
        if not spec_body:
            continue
        if set(spec_body["content"]) != set(app_body["content"]):
            problems.append(f"{where}: media types spec={set(spec_body['content'])} app={set(app_body['content'])}")
            continue
        if app_body.get("required", False) and not spec_body.get("required", False):
            problems.append(f"{where}: the app requires a body the spec makes optional")
        for media_type, content in spec_body["content"].items():
            spec_props, spec_required = shape(cloud_spec, content["schema"])
            app_props, app_required = shape(app_openapi, app_body["content"][media_type]["schema"])
            if spec_props != app_props:
                problems.append(
                    f"{where} {media_type}: fields spec-only {spec_props - app_props} app-only {app_props - spec_props}"
                )
            if not app_required <= spec_required:
                problems.append(
                    f"{where} {media_type}: the app requires {app_required - spec_required} beyond the spec"
                )
    assert not problems, "\n".join(problems)


def test_component_schemas_match(cloud_spec: dict, app_openapi: dict) -> None:
    app_schemas = app_openapi["components"]["schemas"]
    missing = sorted(set(cloud_spec["components"]["schemas"]) - set(app_schemas))
    assert not missing, f"component schemas missing from the app: {missing}"
    problems = []
    for name, schema in cloud_spec["components"]["schemas"].items():
        spec_props, spec_required = shape(cloud_spec, schema)
        app_props, app_required = shape(app_openapi, app_schemas[name])
        if spec_props != app_props:
            problems.append(f"{name}: properties spec-only {spec_props - app_props}, app-only {app_props - spec_props}")
        if spec_required != app_required:
            problems.append(
                f"{name}: required spec-only {spec_required - app_required}, app-only {app_required - spec_required}"
            )
    assert not problems, "\n".join(problems)


def test_the_resolver_merges_all_of(cloud_spec: dict) -> None:
    """Guard the comparison itself: the spec's ``CreatedApiToken`` is ``allOf[ApiToken, {token}]``."""
    props, required = shape(cloud_spec, cloud_spec["components"]["schemas"]["CreatedApiToken"])
    assert "allOf" in cloud_spec["components"]["schemas"]["CreatedApiToken"]
    assert {"id", "owner", "token"} <= props and {"id", "token"} <= required


def test_generated_openapi_is_cached_without_cloud_422(tmp_path: Path) -> None:
    """The post-processed document is generated once and cached, like FastAPI's own."""
    app = create_app(tmp_path / "data", enable_ros=False)
    first = app.openapi()
    assert app.openapi() is first
    assert all("422" not in op["responses"] for (_, p), op in operations(first).items() if p.startswith("/api/"))
