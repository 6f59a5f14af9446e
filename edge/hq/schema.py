"""HQ's schema version: the steps of edge/hq/migrations applied in order, each in one transaction.

Several HQ instances may start at once on one database: each step takes a
lock (SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock) and looks at the
version again before it runs, so a step runs once.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

import peewee

from edge.db import utc_now

TABLE = "hq_schema"
LOCK_KEY = 0x5E_4801  # any constant of ours: pg_advisory_xact_lock's key for "migrating HQ"
FIRST_TABLE = "store_event"  # made by HQ before its schema was versioned: such a database is at version 1


@dataclass(frozen=True)
class Step:
    version: int
    name: str
    module: ModuleType


def dialect(db: peewee.Database) -> str:
    return "postgresql" if isinstance(db, peewee.PostgresqlDatabase) else "sqlite"


def atomic(db: peewee.Database):
    """One transaction; on SQLite BEGIN IMMEDIATE, so writers queue for the lock instead of failing."""
    return db.atomic("IMMEDIATE") if isinstance(db, peewee.SqliteDatabase) else db.atomic()


def steps() -> list[Step]:
    from edge.hq import migrations

    found = []
    for info in pkgutil.iter_modules(migrations.__path__):
        match = re.fullmatch(r"h(\d{4})_(\w+)", info.name)
        if match:
            found.append(Step(int(match[1]), match[2], importlib.import_module(f"edge.hq.migrations.{info.name}")))
    return in_order(found)


def in_order(found: list[Step]) -> list[Step]:
    """The steps by version, which must run 1..N: a missing step would be skipped on every database."""
    found = sorted(found, key=lambda step: step.version)
    if [step.version for step in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"HQ migrations must be numbered 1..N without gaps, found {[s.version for s in found]}")
    return found


def version(db: peewee.Database) -> int:
    if not db.table_exists(TABLE):
        return 0
    return db.execute_sql(f'SELECT COALESCE(MAX("version"), 0) FROM "{TABLE}"').fetchone()[0]


def migrate(db: peewee.Database) -> list[int]:
    """Apply the steps this database lacks; returns their versions."""
    applied = []
    for step in steps():
        with atomic(db):
            if isinstance(db, peewee.PostgresqlDatabase):
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            db.execute_sql(f'CREATE TABLE IF NOT EXISTS "{TABLE}" ("version" INTEGER NOT NULL PRIMARY KEY, '
                           '"name" TEXT NOT NULL, "applied_at" TEXT NOT NULL)')
            current = version(db)
            if current == 0 and step.version == 1 and db.table_exists(FIRST_TABLE):
                _record(db, step, "adopted")  # the tables are there already, as step 1 makes them
                continue
            if current >= step.version:
                continue
            for statement in step.module.SQL[dialect(db)].split(";\n"):
                if statement.strip():
                    db.execute_sql(statement)
            if hasattr(step.module, "run"):
                step.module.run(db)
            _record(db, step)
            applied.append(step.version)
    return applied


def _record(db: peewee.Database, step: Step, how: str = "") -> None:
    mark = db.param
    db.execute_sql(f'INSERT INTO "{TABLE}" ("version", "name", "applied_at") VALUES ({mark}, {mark}, {mark})',
                   (step.version, f"{step.name} ({how})" if how else step.name, utc_now()))
