"""One declaration per endpoint.

A domain declares its endpoints on a ``Routes`` group: method, path, who may
call it, and the pydantic models of its body and query. The registry turns
those declarations into Flask views (authentication, validation, one
transaction with idempotency for every mutating call, JSON errors) and into
the OpenAPI document, so what is validated and what is documented are the
same schemas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from edge.staff.service import Caller

AUTH_LEVELS = ("public", "device", "staff")
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


class Schema(BaseModel):
    """Base of every request schema: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


@dataclass
class Call:
    """What a handler gets: the store, who calls, and the validated input."""

    store: Any
    caller: Caller
    body: Any = None
    query: Any = None
    session_token: str | None = None


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Callable[..., Any]
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: str = "staff"
    role: str = "cashier"
    kinds: tuple[str, ...] = ("terminal",)
    status: int = 200
    durable: bool = True
    # False for calls whose answer carries a secret (a session or device token):
    # it is never stored for replay, and the handler opens its own short
    # transactions so a slow PIN hash does not hold the store's write lock.
    replayable: bool = True
    path_params: dict[str, str] = field(default_factory=dict)

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING

    @property
    def flask_rule(self) -> str:
        def convert(match: re.Match) -> str:
            name, kind = match.group(1), match.group(2)
            return f"<int:{name}>" if kind == "int" else f"<{name}>"

        return "/api/v1" + re.sub(r"\{(\w+)(?::(\w+))?\}", convert, self.path)

    @property
    def openapi_path(self) -> str:
        return "/api/v1" + re.sub(r"\{(\w+)(?::\w+)?\}", r"{\1}", self.path)


class Routes:
    """A domain's group of endpoints."""

    def __init__(self, tag: str):
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def endpoint(self, method: str, path: str, summary: str, **options) -> Callable:
        if options.get("auth", "staff") not in AUTH_LEVELS:
            raise ValueError(f"auth must be one of {AUTH_LEVELS}")

        def register(handler: Callable) -> Callable:
            params = {m.group(1): (m.group(2) or "str") for m in re.finditer(r"\{(\w+)(?::(\w+))?\}", path)}
            self.endpoints.append(
                Endpoint(method=method, path=path, handler=handler, summary=summary, tag=self.tag,
                         path_params=params, **options)
            )
            return handler

        return register

    def get(self, path: str, summary: str, **options) -> Callable:
        return self.endpoint("GET", path, summary, **options)

    def post(self, path: str, summary: str, **options) -> Callable:
        return self.endpoint("POST", path, summary, **options)

    def put(self, path: str, summary: str, **options) -> Callable:
        return self.endpoint("PUT", path, summary, **options)

    def patch(self, path: str, summary: str, **options) -> Callable:
        return self.endpoint("PATCH", path, summary, **options)

    def delete(self, path: str, summary: str, **options) -> Callable:
        return self.endpoint("DELETE", path, summary, **options)
