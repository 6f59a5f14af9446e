"""Outbox events: written in the same transaction as the fact they describe."""

from __future__ import annotations

import json
import uuid

import peewee

from edge.db import BaseModel, utc_now


class OutboxEvent(BaseModel):
    seq = peewee.IntegerField(primary_key=True)
    id = peewee.TextField(unique=True)
    type = peewee.TextField()
    at = peewee.TextField()
    data = peewee.TextField()
    acked = peewee.BooleanField(default=False)

    def as_message(self) -> dict:
        return {"id": self.id, "seq": self.seq, "type": self.type, "at": self.at, "data": json.loads(self.data)}


_INSERT = (
    "INSERT INTO outbox_event (seq, id, type, at, data, acked) "
    "SELECT COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, 0 FROM outbox_event RETURNING seq"
)


def emit(event_type: str, data: dict) -> str:
    """Append an event with the next per-store sequence number; returns its id.

    Call inside the fact's transaction, which holds the write lock, so the
    sequence has no gaps and no duplicates.
    """
    event_id = str(uuid.uuid4())
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    OutboxEvent._meta.database.execute_sql(_INSERT, (event_id, event_type, utc_now(), payload)).fetchone()
    return event_id


def depth() -> int:
    return OutboxEvent.select().where(OutboxEvent.acked == False).count()  # noqa: E712
