"""HQ's versioned schema on SQLite and PostgreSQL: a new database gets every step once, a database made before
the schema was versioned is taken as version 1 and upgraded with its data, and each database has its own epoch."""

from __future__ import annotations

import sqlite3

import pytest

from edge.hq import schema
from edge.hq.ingest import ingest
from edge.hq.models import StoreEvent, epoch, hq_database, open_hq_database
from tests.postgres_helpers import hq_dsn, postgres_server  # noqa: F401 (fixtures: HQ on SQLite and PostgreSQL)


def one_event_batch(store_id: str, seq: int) -> dict:
    return {"store_id": store_id, "events": [{"id": f"{store_id}-{seq}", "seq": seq, "type": "stock.movement",
                                               "at": "2026-11-23T09:00:00+00:00", "data": {"qty": 1}}]}


def versions(db) -> list[int]:
    return [row[0] for row in db.execute_sql('SELECT "version" FROM "hq_schema" ORDER BY "version"')]


def test_a_new_hq_database_gets_every_step_once_and_opening_it_again_changes_nothing(tmp_path, hq_dsn):
    db = open_hq_database(hq_dsn, tmp_path)
    try:
        every_step = [step.version for step in schema.steps()]
        assert versions(db) == every_step and schema.version(db) == every_step[-1]
        first_epoch = epoch()
        assert schema.migrate(db) == []
        assert versions(db) == every_step and epoch() == first_epoch
    finally:
        db.close()


def test_each_new_hq_database_is_a_new_epoch(tmp_path, hq_dsn):
    db = open_hq_database(hq_dsn, tmp_path / "one")
    first = epoch()
    db.close()
    db = open_hq_database(None, tmp_path / "two")
    try:
        assert epoch() != first
    finally:
        db.close()


def unversioned_hq_database(path) -> None:
    """An hq.db as HQ made it before its schema was versioned (peewee's create_tables), with one stored event."""
    with sqlite3.connect(path) as conn:
        conn.executescript(schema.steps()[0].module.SQL["sqlite"])
        conn.execute("INSERT INTO store_event VALUES ('A', 1, 'A-1', 'stock.movement', 'x', '{}', 'x')")
        conn.execute("INSERT INTO store_state (store_id, acked_upto) VALUES ('A', 1)")
    conn.close()


def test_an_hq_database_from_before_versioning_is_upgraded_and_keeps_its_events(tmp_path):
    unversioned_hq_database(tmp_path / "hq.db")
    db = open_hq_database(None, tmp_path)
    try:
        assert schema.version(db) == len(schema.steps())
        assert db.execute_sql('SELECT "name" FROM "hq_schema" WHERE "version" = 1').fetchone()[0] == \
            "tables (adopted)"
        assert ingest("A", one_event_batch("A", 2)) == 2  # the old events are there: acked on from them
        assert [e.id for e in StoreEvent.select().order_by(StoreEvent.seq)] == ["A-1", "A-2"]
        assert epoch()
    finally:
        db.close()


def test_a_failing_step_leaves_the_database_at_the_version_before_it(tmp_path, hq_dsn, monkeypatch):
    """A step is one transaction: its tables and its version row commit together or not at all."""
    def broken(db):
        raise RuntimeError("step 2 broke")

    monkeypatch.setattr(schema.steps()[1].module, "run", broken)
    with pytest.raises(RuntimeError, match="step 2 broke"):
        open_hq_database(hq_dsn, tmp_path)
    db = hq_database.obj
    try:
        assert schema.version(db) == 1
        assert "hq_meta" not in db.get_tables()
    finally:
        db.close()
    monkeypatch.undo()
    db = open_hq_database(hq_dsn, tmp_path)
    try:
        assert schema.version(db) == len(schema.steps()) and epoch()
    finally:
        db.close()


def test_hq_refuses_migrations_numbered_with_a_gap():
    first, second = schema.steps()[:2]
    with pytest.raises(RuntimeError, match="without gaps, found \\[1, 3\\]"):
        schema.in_order([schema.Step(3, "gap", second.module), first])
