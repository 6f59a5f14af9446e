"""Outbox events: written in the same transaction as the fact they describe."""

from __future__ import annotations

import json
import uuid

import peewee

from edge.db import BaseModel, utc_now
from edge.store_meta import Meta

# HQ has every event up to this seq (the sync service writes it when HQ acks); the unacked ones are after it
ACKED_UPTO_KEY = "sync.acked_upto"


class OutboxEvent(BaseModel):
    seq = peewee.IntegerField(primary_key=True)
    id = peewee.TextField(unique=True)
    type = peewee.TextField()
    at = peewee.TextField()
    data = peewee.TextField()

    def as_message(self) -> dict:
        return {"id": self.id, "seq": self.seq, "type": self.type, "at": self.at, "data": json.loads(self.data)}


_INSERT = (
    "INSERT INTO outbox_event (seq, id, type, at, data) "
    "SELECT COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM outbox_event RETURNING seq"
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


def acked_upto() -> int:
    return int(Meta.get_value(ACKED_UPTO_KEY) or 0)


def depth() -> int:
    """Events HQ has not acked (sequence numbers have no gaps)."""
    last = OutboxEvent.select(peewee.fn.COALESCE(peewee.fn.MAX(OutboxEvent.seq), 0)).scalar()
    return last - acked_upto()
