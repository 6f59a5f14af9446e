"""`storeedge upgrade`: backup, migrations, health check; a migration that fails is rolled back with the data
intact, and `--rollback` goes back to the last pre-upgrade backup. A real store file, the real migrations."""

from __future__ import annotations

import re

import pytest

from edge.app import StoreEdge
from edge.config import parse_config
from edge.db import available_migrations
from edge.field.backup import integrity_problems
from edge.field.upgrade import PRE_UPGRADE
from tests.server_helpers import count, execute, query, storeedge

NEWEST = max(step.version for step in available_migrations())
OLD = NEWEST - 2  # a box two releases behind
# the first table a pending migration creates: a table of that name in the way makes that step fail
IN_THE_WAY = next(match.group(1) for step in available_migrations() if step.version > OLD
                  for match in (re.match(r"CREATE TABLE (\w+)", statement) for statement in step.statements()) if match)


@pytest.fixture
def old_store(tmp_path):
    """A store at schema version OLD, with an admin (and her audit record) made by that version."""
    data = tmp_path / "data"
    store = StoreEdge(parse_config({}), data)
    try:
        store.db.migrate(target=OLD)
        store.staff.add_staff("王芳", "admin", "4711")
    finally:
        store.db.close()
    return data


def tables(data) -> set[str]:
    return {name for (name,) in query(data, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def upgrade(data, *options: str):
    return storeedge("--data-dir", str(data), "upgrade", *options, check=False)


def test_a_migration_that_fails_is_rolled_back_and_the_data_is_intact(old_store):
    # a table in the way of the last migration's CREATE TABLE: the one before it applies, then this one fails
    execute(old_store, f"CREATE TABLE {IN_THE_WAY} (left_by TEXT)")
    before = tables(old_store)
    done = upgrade(old_store)
    assert done.returncode == 1 and "ROLLED BACK" in done.stderr and IN_THE_WAY in done.stderr
    assert count(old_store, "SELECT MAX(version) FROM schema_migrations") == OLD
    assert tables(old_store) == before  # the migration that had succeeded is undone too
    assert query(old_store, "SELECT name, role FROM staff") == [("王芳", "admin")]
    assert integrity_problems(old_store / "storeedge.db") == []
    assert "audit journal ok" in storeedge("--data-dir", str(old_store), "audit", "verify").stdout


def test_an_upgrade_migrates_checks_health_and_can_be_rolled_back(old_store):
    done = upgrade(old_store)
    assert done.returncode == 0, done.stderr
    assert f"schema version {NEWEST}; health check passed" in done.stdout
    assert count(old_store, "SELECT MAX(version) FROM schema_migrations") == NEWEST
    assert [path.name for path in (old_store / PRE_UPGRADE).iterdir() if path.suffix == ".db"]
    assert "no migration pending" in upgrade(old_store).stdout  # a second run changes nothing, backs up nothing
    assert len(list((old_store / PRE_UPGRADE).glob("*.db"))) == 1

    back = upgrade(old_store, "--rollback")
    assert back.returncode == 0 and f"rolled back to schema version {OLD}" in back.stdout
    assert count(old_store, "SELECT MAX(version) FROM schema_migrations") == OLD
    assert query(old_store, "SELECT name FROM staff") == [("王芳",)]


def test_nothing_to_upgrade_or_roll_back_is_refused_and_writes_nothing(tmp_path):
    assert "no store database" in upgrade(tmp_path / "nowhere").stderr
    assert not (tmp_path / "nowhere").exists()
    refused = upgrade(tmp_path / "nowhere", "--rollback")
    assert refused.returncode == 2 and "no pre-upgrade backup" in refused.stderr
