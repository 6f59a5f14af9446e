"""HQ's tables, on SQLite by default or PostgreSQL through a DSN: the same peewee models either way.

The tables themselves are made by the numbered steps of edge/hq/migrations
(edge/hq/schema.py), not by the models, so an HQ upgrade keeps its data.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import peewee

from edge.hq import schema

hq_database = peewee.DatabaseProxy()


class HQModel(peewee.Model):
    class Meta:
        database = hq_database
        legacy_table_names = False


class StoreState(HQModel):
    store_id = peewee.TextField(primary_key=True)
    acked_upto = peewee.IntegerField(default=0)  # every event up to here is stored (no gaps)
    state = peewee.TextField(null=True)  # online / offline, from the retained status
    version = peewee.TextField(null=True)
    status_at = peewee.TextField(null=True)
    telemetry = peewee.TextField(null=True)  # the last figures, JSON
    telemetry_at = peewee.TextField(null=True)


class StoreEvent(HQModel):
    store_id = peewee.TextField()
    seq = peewee.IntegerField()
    id = peewee.TextField()  # the event's uuid, sent with its seq every time (edge/hq/ingest.py checks it)
    type = peewee.TextField()
    at = peewee.TextField()
    data = peewee.TextField()
    received_at = peewee.TextField()

    class Meta:
        # an event is its store's seq: stored once whatever is delivered twice
        primary_key = peewee.CompositeKey("store_id", "seq")


class Broadcast(HQModel):
    """HQ's own outbox towards the stores: numbered by hq_seq, published until the broker has it."""

    hq_seq = peewee.IntegerField(primary_key=True)  # given by add_broadcast: one after the largest, no gaps
    events = peewee.TextField()  # JSON list
    created_at = peewee.TextField()
    published = peewee.BooleanField(default=False, index=True)


class Member(HQModel):
    id = peewee.TextField(primary_key=True)
    code = peewee.TextField(index=True)
    phone = peewee.TextField(null=True, index=True)
    name = peewee.TextField(null=True)
    status = peewee.TextField()
    home_store = peewee.TextField()
    level = peewee.TextField(null=True)
    registered_at = peewee.TextField()
    updated_at = peewee.TextField()


class LedgerEntry(HQModel):
    n = peewee.AutoField()  # arrival order at HQ: settlement takes lots first in, first out
    id = peewee.TextField(unique=True)
    ledger = peewee.TextField()  # points, stored_value
    member_id = peewee.TextField(index=True)
    store_id = peewee.TextField()
    account = peewee.TextField(null=True)  # stored value: principal, bonus
    amount = peewee.IntegerField()  # fen (stored value) or points, signed
    kind = peewee.TextField()
    ref = peewee.TextField(null=True)
    at = peewee.TextField()


class SalesDay(HQModel):
    store_id = peewee.TextField()
    day = peewee.TextField()
    sales = peewee.IntegerField(default=0)
    sales_total = peewee.IntegerField(default=0)
    refunds = peewee.IntegerField(default=0)
    refunds_total = peewee.IntegerField(default=0)

    class Meta:
        primary_key = peewee.CompositeKey("store_id", "day")


class Flag(HQModel):
    """Something a manager must look at (a stored-value overdraw, one phone joined at two stores)."""

    id = peewee.AutoField()
    kind = peewee.TextField()
    member_id = peewee.TextField(null=True)
    store_id = peewee.TextField(null=True)
    detail = peewee.TextField()  # JSON
    at = peewee.TextField()
    resolved_at = peewee.TextField(null=True)


class Command(HQModel):
    id = peewee.TextField(primary_key=True)
    store_id = peewee.TextField()
    command = peewee.TextField()
    args = peewee.TextField()  # JSON
    created_at = peewee.TextField()
    published = peewee.BooleanField(default=False, index=True)
    reply = peewee.TextField(null=True)  # JSON
    replied_at = peewee.TextField(null=True)


class Coupon(HQModel):
    id = peewee.TextField(primary_key=True)
    code = peewee.TextField(index=True)
    member_id = peewee.TextField(null=True)
    store_id = peewee.TextField()  # where it was issued
    status = peewee.TextField()  # issued, redeemed
    sale_id = peewee.TextField(null=True)
    redeemed_store_id = peewee.TextField(null=True)
    redeemed_at = peewee.TextField(null=True)


class InvoiceRequest(HQModel):
    """A store's e-invoice request (its invoice.requested event) and where HQ has got with it."""

    id = peewee.TextField(primary_key=True)  # the store's request id: invoice.status names it
    store_id = peewee.TextField()
    sale_id = peewee.TextField()
    receipt_no = peewee.TextField()
    amount = peewee.IntegerField()  # fen
    buyer = peewee.TextField()  # company, personal
    title = peewee.TextField()
    taxpayer_id = peewee.TextField(null=True)
    email = peewee.TextField()
    channel = peewee.TextField()
    requested_at = peewee.TextField()
    status = peewee.TextField()  # requested, processing, issued, rejected
    reason = peewee.TextField(null=True)
    invoice_no = peewee.TextField(null=True)
    updated_at = peewee.TextField()


class HQMeta(HQModel):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField()


MODELS = (StoreState, StoreEvent, Broadcast, Member, LedgerEntry, SalesDay, Flag, Command, Coupon, InvoiceRequest,
          HQMeta)


def open_hq_database(dsn: str | None, data_dir: Path) -> peewee.Database:
    """PostgreSQL when a DSN is given (postgresql://…), else SQLite in the HQ data folder."""
    if dsn and dsn.startswith(("postgres://", "postgresql://")):
        from playhouse.db_url import connect  # psycopg2 (psycopg2-binary, a StoreEdge dependency)

        db = connect(dsn)
    else:
        path = Path(dsn.removeprefix("sqlite:///")) if dsn else Path(data_dir) / "hq.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        db = peewee.SqliteDatabase(str(path), check_same_thread=False, pragmas={
            "journal_mode": "wal", "synchronous": "full", "busy_timeout": 10_000, "foreign_keys": 1})
    hq_database.initialize(db)
    db.connect(reuse_if_open=True)
    schema.migrate(db)
    return db


@contextmanager
def transaction():
    """One unit of HQ's work; on SQLite BEGIN IMMEDIATE, so instances sharing a file queue instead of failing."""
    with schema.atomic(hq_database.obj):
        yield


def add_broadcast(events: list[dict], now: str) -> int:
    """Queue ``events`` for every store as the next hq_seq, inside the caller's transaction; returns the hq_seq.

    The stores wait for a gap in hq_seq to be filled, so it has none: a
    PostgreSQL sequence would leave one for each rolled-back transaction,
    hence the largest plus one, under a lock that concurrent HQ instances
    queue for (SQLite's BEGIN IMMEDIATE is that lock already).
    """
    if isinstance(hq_database.obj, peewee.PostgresqlDatabase):
        hq_database.obj.execute_sql('LOCK TABLE "broadcast" IN SHARE ROW EXCLUSIVE MODE')
    hq_seq = (Broadcast.select(peewee.fn.MAX(Broadcast.hq_seq)).scalar() or 0) + 1
    Broadcast.insert(hq_seq=hq_seq, events=json.dumps(events, ensure_ascii=False), created_at=now,
                     published=False).execute()
    return hq_seq


def epoch() -> str:
    """This HQ database's id: a new database is a new epoch, whose hq_seq starts at 1 again."""
    return HQMeta.get_by_id("epoch").value
