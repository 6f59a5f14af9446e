"""HQ's tables, on SQLite by default or PostgreSQL through a DSN: the same peewee models either way."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import peewee

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
    id = peewee.TextField()  # the event's uuid: stored once per store whatever is delivered twice
    type = peewee.TextField()
    at = peewee.TextField()
    data = peewee.TextField()
    received_at = peewee.TextField()

    class Meta:
        primary_key = peewee.CompositeKey("store_id", "seq")
        # per store: a box cloned from another's image starts with the same event ids
        indexes = ((("store_id", "id"), True),)


class Broadcast(HQModel):
    """HQ's own outbox towards the stores: numbered by hq_seq, published until the broker has it."""

    hq_seq = peewee.AutoField()
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


MODELS = (StoreState, StoreEvent, Broadcast, Member, LedgerEntry, SalesDay, Flag, Command)


def open_hq_database(dsn: str | None, data_dir: Path) -> peewee.Database:
    """PostgreSQL when a DSN is given (postgresql://…), else SQLite in the HQ data folder."""
    if dsn and dsn.startswith(("postgres://", "postgresql://")):
        from playhouse.db_url import connect  # needs psycopg2, which only an HQ on PostgreSQL installs

        db = connect(dsn)
    else:
        path = Path(dsn.removeprefix("sqlite:///")) if dsn else Path(data_dir) / "hq.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        db = peewee.SqliteDatabase(str(path), check_same_thread=False, pragmas={
            "journal_mode": "wal", "synchronous": "full", "busy_timeout": 10_000, "foreign_keys": 1})
    hq_database.initialize(db)
    db.connect(reuse_if_open=True)
    db.create_tables(MODELS, safe=True)
    return db


@contextmanager
def transaction():
    """One unit of HQ's work; on SQLite BEGIN IMMEDIATE, so instances sharing a file queue instead of failing."""
    db = hq_database.obj
    with (db.atomic("IMMEDIATE") if isinstance(db, peewee.SqliteDatabase) else db.atomic()):
        yield
