"""Domain errors: each carries the API error code, a message and the field at fault."""

from __future__ import annotations

from pydantic import ValidationError


class DomainError(Exception):
    """A request the business rules refuse; maps to a 4xx answer."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Locked(DomainError):
    status = 423
    code = "locked"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"


def from_validation(error: ValidationError, where: str = "body") -> DomainError:
    """The first schema problem as a DomainError naming the field."""
    first = error.errors()[0]
    path = ""
    for part in first["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return DomainError(f"{path or where}: {message}{suffix}", field=path or where, code="invalid")
