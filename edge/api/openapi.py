"""The OpenAPI 3 document, built from the registry and its pydantic schemas."""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from edge import __version__
from edge.api.registry import Endpoint

REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}


def build_openapi(endpoints: list[Endpoint], store) -> dict:
    models = {m for e in endpoints for m in (e.body, e.query) if m is not None}
    refs, definitions = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                           ref_template=REF)
    schemas = dict(definitions.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    paths: dict[str, dict] = {}
    for endpoint in endpoints:
        operation = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "operationId": endpoint.handler.__name__,
            "parameters": _parameters(endpoint, refs, schemas),
            "responses": {
                str(endpoint.status): {"description": "success", "content": {"application/json": {}}},
                "4XX": {"description": "refused; nothing was written",
                        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}},
            },
        }
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
            }
        security = _security(endpoint)
        if security is not None:
            operation["security"] = security
        if endpoint.role != "cashier" and endpoint.auth == "staff":
            operation["description"] = f"Needs the {endpoint.role} role."
        paths.setdefault(endpoint.openapi_path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "StoreEdge store API", "version": __version__,
                 "description": f"Store {store.config.store.id}. Money is integer fen."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "device": {"type": "apiKey", "in": "header", "name": "X-Device-Token"},
                "session": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _security(endpoint: Endpoint) -> list | None:
    if endpoint.auth == "public":
        return []
    if endpoint.auth == "device":
        return [{"device": []}]
    return [{"device": [], "session": []}]


def _parameters(endpoint: Endpoint, refs: dict, schemas: dict) -> list[dict]:
    params = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "integer" if kind == "int" else "string"}}
        for name, kind in endpoint.path_params.items()
    ]
    if endpoint.query is not None:
        query_schema = schemas.get(endpoint.query.__name__, {})
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if endpoint.method in ("POST", "PUT", "PATCH", "DELETE") and endpoint.replayable:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "maxLength": 128},
                       "description": "A retried request with the same key returns the first answer."})
    return params
