"""The Flask application: endpoints from the registry, JSON errors, idempotent writes."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from edge.api import idempotency
from edge.api.openapi import build_openapi
from edge.api.registry import Call, Endpoint
from edge.errors import BadRequest, DomainError, Forbidden, Unauthorized, from_validation
from edge.staff.service import Caller

log = logging.getLogger("storeedge.web")

MAX_BODY_BYTES = 1 << 20


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    text = payload if isinstance(payload, str) else dumps(payload)
    return Response(text, status=status, headers=headers, mimetype="application/json")


def dumps(payload) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def error_response(error: DomainError) -> Response:
    return json_response(error.as_dict(), error.status)


def parse_model(model: type[BaseModel], data, where: str):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation(error, where) from None


class WebApp:
    """Binds the registry's endpoints to one store."""

    def __init__(self, store, endpoints: list[Endpoint]):
        self.store = store
        self.endpoints = endpoints
        self.flask = Flask("storeedge", static_folder=None)
        self.flask.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
        for endpoint in endpoints:
            self.flask.add_url_rule(
                endpoint.flask_rule,
                endpoint=f"{endpoint.method} {endpoint.path}",
                view_func=self._view(endpoint),
                methods=[endpoint.method],
            )
        self.openapi = build_openapi(endpoints, store)
        self.flask.add_url_rule("/api/v1/openapi.json", "openapi", lambda: json_response(self.openapi))
        self.flask.register_error_handler(HTTPException, self._http_error)
        self.flask.register_error_handler(Exception, self._unexpected)

    @staticmethod
    def _http_error(error: HTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return json_response(
            {"error": {"code": codes.get(error.code, "http_error"), "message": error.description}}, error.code
        )

    @staticmethod
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return json_response({"error": {"code": "internal", "message": "internal error; nothing was saved"}}, 500)

    def _view(self, endpoint: Endpoint):
        def view(**path_args):
            try:
                return self._handle(endpoint, path_args)
            except DomainError as error:
                return error_response(error)

        return view

    def _caller(self, endpoint: Endpoint) -> tuple[Caller, str | None]:
        if endpoint.auth == "public":
            return Caller(), None
        token = request.headers.get("X-Device-Token")
        if not token:
            raise Unauthorized("this call needs a paired device: send its token in X-Device-Token")
        device = self.store.staff.device_for_token(token)
        if device.kind not in endpoint.kinds:
            raise Forbidden(f"a {device.kind} device may not call this endpoint")
        header = request.headers.get("Authorization", "")
        bearer = header[len("Bearer "):].strip() if header.startswith("Bearer ") else None
        if endpoint.auth == "device":
            # a kiosk's member session travels as the bearer token too; its endpoints judge it
            return Caller(device=device), bearer
        if not bearer:
            raise Unauthorized("log in first: send the session token as 'Authorization: Bearer …'")
        session_token = bearer
        staff = self.store.staff.staff_for_session(session_token, device)
        if not staff.has_role(endpoint.role):
            raise Forbidden(f"this needs the {endpoint.role} role; {staff.name} is {staff.role}")
        return Caller(device=device, staff=staff), session_token

    def _handle(self, endpoint: Endpoint, path_args: dict) -> Response:
        caller, session_token = self._caller(endpoint)
        call = Call(store=self.store, caller=caller, session_token=session_token)
        if endpoint.query is not None:
            call.query = parse_model(endpoint.query, request.args.to_dict(), "query")
        raw = request.get_data(cache=True)
        if endpoint.body is not None:
            if not raw:
                data = {}
            else:
                try:
                    data = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as error:
                    raise BadRequest(f"request body is not valid JSON: {error}", code="malformed_json") from None
            call.body = parse_model(endpoint.body, data, "body")
        if not endpoint.mutating:
            result = endpoint.handler(call, **path_args)
            # an image or file answers as itself; everything else is JSON
            return result if isinstance(result, Response) else json_response(result, endpoint.status)
        return self._mutate(endpoint, call, path_args, raw)

    def _mutate(self, endpoint: Endpoint, call: Call, path_args: dict, raw: bytes) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not endpoint.replayable:
            return json_response(endpoint.handler(call, **path_args), endpoint.status)
        if key is None:
            with self.store.db.transaction(durable=endpoint.durable):
                result = endpoint.handler(call, **path_args)
            return json_response(result, endpoint.status)
        idempotency.check_key(key)
        scope = f"device:{call.caller.device_id}" if call.caller.device else "public"
        # The validated body, not its bytes: a retry that spaces or orders the JSON differently is the same request.
        canonical = call.body.model_dump_json().encode() if call.body is not None else raw
        fingerprint = idempotency.request_fingerprint(request.method, request.path, canonical)
        with self.store.db.transaction(durable=endpoint.durable):
            stored = idempotency.find(scope, key, fingerprint)
            if stored is not None:
                return json_response(stored.body, stored.status, {"Idempotent-Replayed": "true"})
            body = dumps(endpoint.handler(call, **path_args))
            idempotency.remember(scope, key, request.method, request.path, fingerprint, endpoint.status, body)
        return json_response(body, endpoint.status)
