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


def emit(event_type: str, data: dict) -> OutboxEvent:
    """Append an event with the next per-store sequence number."""
    last = OutboxEvent.select(peewee.fn.MAX(OutboxEvent.seq)).scalar() or 0
    return OutboxEvent.create(
        seq=last + 1,
        id=str(uuid.uuid4()),
        type=event_type,
        at=utc_now(),
        data=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    )


def depth() -> int:
    return OutboxEvent.select().where(OutboxEvent.acked == False).count()  # noqa: E712
