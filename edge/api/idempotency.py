"""Idempotency-Key: a retried mutating request returns the first answer and writes nothing.

The record is written in the same transaction as the business fact, so a
request either happened (and its answer is kept) or did not happen at all.
"""

from __future__ import annotations

import hashlib

import peewee

from edge.db import BaseModel, utc_now
from edge.errors import DomainError

MAX_KEY_LENGTH = 128


class IdempotencyRecord(BaseModel):
    scope = peewee.TextField()
    key = peewee.TextField()
    method = peewee.TextField()
    path = peewee.TextField()
    request_hash = peewee.TextField()
    status = peewee.IntegerField()
    body = peewee.TextField()
    created_at = peewee.TextField()

    class Meta:
        primary_key = peewee.CompositeKey("scope", "key")


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                          field="Idempotency-Key", code="bad_idempotency_key")


def find(scope: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """The stored answer for this key, or None; the same key for another request is an error."""
    record = IdempotencyRecord.get_or_none((IdempotencyRecord.scope == scope) & (IdempotencyRecord.key == key))
    if record is not None and record.request_hash != fingerprint:
        raise DomainError(
            "Idempotency-Key was already used for a different request", field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return record


def remember(scope: str, key: str, method: str, path: str, fingerprint: str, status: int, body: str) -> None:
    IdempotencyRecord.create(
        scope=scope, key=key, method=method, path=path, request_hash=fingerprint,
        status=status, body=body, created_at=utc_now(),
    )
