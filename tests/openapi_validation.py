"""Validate HTTP responses against the response schemas of an OpenAPI 3 document.

Generic over specs: the sidecar's ``inference-server.openapi.json`` (FastAPI shapes,
``{"detail": ...}`` errors) and ``runrobot-cloud.openapi.json`` (``{"error": ...}`` errors)
both go through the same :class:`SpecValidator`.

Schemas are checked with the JSON Schema Draft 2020-12 validator (the dialect of
OpenAPI 3.1). The whole spec document is registered as one ``referencing`` resource, and
each check validates against a JSON pointer *into* that resource, so local references such
as ``#/components/schemas/Error`` resolve against the spec wherever they appear. For
OpenAPI 3.0 documents, ``nullable: true`` is translated to the 3.1 form first.

Typical use::

    validator = SpecValidator(spec)
    validator.validate_response("post", "/sessions", 200, response.json())
    validator.validate_http_response("/sessions/{session_id}", response)  # status + JSON body
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["HTTP_METHODS", "SpecValidator"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SPEC_URI = "urn:openapi:spec"
_MAX_SHOWN_ERRORS = 8
_MAX_INSTANCE_CHARS = 300


def _escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str) -> str:
    return "".join("/" + _escape_pointer_token(str(t)) for t in tokens)


def _json_path(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_INSTANCE_CHARS else text[: _MAX_INSTANCE_CHARS - 3] + "..."


def _nullable_to_31(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema 2020-12 (``type`` list / ``anyOf`` with null)."""
    if isinstance(node, list):
        return [_nullable_to_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_to_31(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            out["type"] = [*kind, "null"] if "null" not in kind else kind
        else:
            return {"anyOf": [out, {"type": "null"}]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


class SpecValidator:
    """Response-schema checks for one OpenAPI 3 document.

    ``spec`` is the parsed document. Failures raise ``AssertionError`` with the operation,
    the status, where in the body the mismatch is and what the schema wanted, so a failing
    test reads as a contract violation.
    """

    def __init__(self, spec: dict[str, Any], *, check_formats: bool = True) -> None:
        version = str(spec.get("openapi", ""))
        if not version.startswith("3."):
            raise ValueError(f"not an OpenAPI 3 document (openapi: {version!r})")
        self.spec = _nullable_to_31(copy.deepcopy(spec)) if version.startswith("3.0") else spec
        self.version = version
        resource = Resource(contents=self.spec, specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self._format_checker = Draft202012Validator.FORMAT_CHECKER if check_formats else None
        self._validators: dict[str, Draft202012Validator] = {}

    # ---- spec lookups ------------------------------------------------------------------------
    def operations(self) -> set[tuple[str, str]]:
        """Every documented ``(METHOD, path template)`` pair, methods upper-case."""
        return {
            (method.upper(), path)
            for path, item in self.spec.get("paths", {}).items()
            for method in item
            if method in HTTP_METHODS
        }

    def operation(self, method: str, path_template: str) -> dict[str, Any]:
        """The operation object for ``method`` on ``path_template`` (exactly as written in the spec)."""
        paths = self.spec.get("paths", {})
        item = paths.get(path_template)
        if item is None:
            raise AssertionError(f"path {path_template!r} is not in the spec; documented paths: {sorted(paths)}")
        item = self._deref(item)
        op = item.get(method.lower())
        if op is None:
            documented = sorted(m.upper() for m in item if m in HTTP_METHODS)
            raise AssertionError(
                f"{method.upper()} {path_template} is not documented; methods on that path: {documented}"
            )
        return op

    def documented_statuses(self, method: str, path_template: str) -> list[str]:
        return sorted(self.operation(method, path_template).get("responses", {}))

    def _response_key(self, method: str, path_template: str, status: int | str) -> str:
        """The ``responses`` key that covers ``status``: exact code, then ``4XX``-style range, then ``default``."""
        responses = self.operation(method, path_template).get("responses", {})
        code = str(status)
        if code in responses:
            return code
        for key in responses:
            if len(key) == 3 and key[0] == code[0] and key[1:].upper() == "XX":
                return key
        if "default" in responses:
            return "default"
        raise AssertionError(
            f"{method.upper()} {path_template} returned status {code}, which the spec does not document "
            f"(documented: {sorted(responses)})"
        )

    def response_object(self, method: str, path_template: str, status: int | str) -> dict[str, Any]:
        """The (dereferenced) response object for ``status``."""
        key = self._response_key(method, path_template, status)
        return self._deref(self.operation(method, path_template)["responses"][key])

    def _media_type(self, content: dict[str, Any], media_type: str | None, where: str) -> str:
        if media_type is not None:
            if media_type not in content:
                raise AssertionError(f"{where}: media type {media_type!r} not documented (have {sorted(content)})")
            return media_type
        if "application/json" in content:
            return "application/json"
        for candidate in content:
            if candidate.split(";")[0].strip().endswith("json"):
                return candidate
        if len(content) == 1:
            return next(iter(content))
        raise AssertionError(f"{where}: no JSON media type documented (have {sorted(content)}); pass media_type")

    def _schema_pointer(self, method: str, path_template: str, status: int | str, media_type: str | None) -> str | None:
        """JSON pointer (into the spec) of the response schema; None when the response has no body."""
        where = f"{method.upper()} {path_template} -> {status}"
        key = self._response_key(method, path_template, status)
        raw = self.operation(method, path_template)["responses"][key]
        if "$ref" in raw:
            ref = raw["$ref"]
            if not ref.startswith("#/"):
                raise AssertionError(f"{where}: only local response $refs are supported, got {ref!r}")
            base = ref[1:]
            response = self._deref(raw)
        else:
            base = _pointer("paths", path_template, method.lower(), "responses", key)
            response = raw
        content = response.get("content")
        if not content:
            return None
        chosen = self._media_type(content, media_type, where)
        if "schema" not in content[chosen]:
            return None
        return base + _pointer("content", chosen, "schema")

    def response_schema(
        self, method: str, path_template: str, status: int | str, media_type: str | None = None
    ) -> dict[str, Any] | None:
        """The response schema for ``status`` (``$ref`` left as written); None when no body is documented."""
        pointer = self._schema_pointer(method, path_template, status, media_type)
        return None if pointer is None else self._at(pointer)

    # ---- validation -----------------------------------------------------------------------------
    def validate_response(
        self,
        method: str,
        path_template: str,
        status: int | str,
        body: Any,
        media_type: str | None = None,
    ) -> None:
        """Assert ``body`` (parsed JSON) matches the documented response for ``status``.

        Fails when the status is not documented for the operation (and there is no
        ``default`` response), or when the body does not match the schema. A response that
        documents no content must have ``body`` None.
        """
        where = f"{method.upper()} {path_template} -> {status}"
        pointer = self._schema_pointer(method, path_template, status, media_type)
        if pointer is None:
            response = self.response_object(method, path_template, status)
            if response.get("content"):
                return  # a body is documented but without a schema: anything goes
            if body is not None:
                raise AssertionError(f"{where}: the spec documents no body, got {_short(body)}")
            return
        self._validate(pointer, body, where)

    def validate_http_response(self, path_template: str, response: Any, method: str | None = None) -> Any:
        """Check an httpx/requests-style response (status, JSON content type, body); return the body."""
        method = method or response.request.method
        where = f"{method.upper()} {path_template} -> {response.status_code}"
        self._response_key(method, path_template, response.status_code)
        content_type = response.headers.get("content-type", "")
        pointer = self._schema_pointer(method, path_template, response.status_code, None)
        if pointer is None and not response.content:
            return None
        if "json" not in content_type:
            raise AssertionError(f"{where}: expected a JSON body, got content-type {content_type!r}")
        body = response.json()
        self.validate_response(method, path_template, response.status_code, body)
        return body

    def validate_component(self, name: str, instance: Any) -> None:
        """Assert ``instance`` matches ``#/components/schemas/<name>``."""
        schemas = self.spec.get("components", {}).get("schemas", {})
        if name not in schemas:
            raise AssertionError(f"schema {name!r} is not in components.schemas (have {sorted(schemas)})")
        self._validate(_pointer("components", "schemas", name), instance, f"components.schemas.{name}")

    def errors(self, pointer: str, instance: Any) -> list[ValidationError]:
        """Every validation error of ``instance`` against the schema at ``pointer`` (into the spec)."""
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"},
                registry=self.registry,
                format_checker=self._format_checker,
            )
            self._validators[pointer] = validator
        return sorted(validator.iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message))

    def _validate(self, pointer: str, instance: Any, where: str) -> None:
        errors = self.errors(pointer, instance)
        if not errors:
            return
        lines = [f"{where}: body does not match the spec schema at #{pointer} ({len(errors)} error(s))"]
        for error in errors[:_MAX_SHOWN_ERRORS]:
            lines.append(
                f"  at {_json_path(error.absolute_path)}: {error.message} "
                f"(schema path: {'/'.join(str(p) for p in error.absolute_schema_path)})"
            )
        if len(errors) > _MAX_SHOWN_ERRORS:
            lines.append(f"  ... and {len(errors) - _MAX_SHOWN_ERRORS} more")
        lines.append(f"  body: {_short(instance)}")
        raise AssertionError("\n".join(lines))

    # ---- helpers --------------------------------------------------------------------------------
    def _at(self, pointer: str) -> Any:
        node: Any = self.spec
        for raw in pointer.lstrip("/").split("/") if pointer else []:
            token = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow local ``$ref``s of path items / responses (not schemas) to their object."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#") or ref in seen:
                raise AssertionError(f"unsupported or cyclic $ref {ref!r}")
            seen.add(ref)
            node = self._at(ref[1:])
        return node
