"""`storeedge upgrade`: a backup, the migrations, a health check; the backup put back when anything fails.

Run with the services stopped (install.sh stops and starts them around
it). The pre-upgrade backups live in their own folder
(DATA_DIR/backups/pre-upgrade) so the daily rotation never removes the
one a rollback needs; `storeedge upgrade --rollback` puts the newest back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.db import DB_FILENAME, available_migrations
from edge.field import backup as backups

PRE_UPGRADE = Path("backups") / "pre-upgrade"
KEEP = 5


class UpgradeError(Exception):
    """Refused before anything changed (no store, a backup that could not be made)."""


@dataclass
class Upgraded:
    backup: Path | None  # None: nothing was pending, nothing was done
    before: int
    after: int
    applied: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # non-empty: rolled back to `backup`

    @property
    def rolled_back(self) -> bool:
        return bool(self.problems)


def health_problems(store) -> list[str]:
    """What is wrong with a freshly migrated store: file integrity, foreign keys, the audit chain, /health."""
    from edge import audit

    problems = backups.integrity_problems(store.db.path)
    broken_keys = store.db.peewee.execute_sql("PRAGMA foreign_key_check").fetchall()
    problems += [f"foreign key broken in {row[0]} row {row[1]} (to {row[2]})" for row in broken_keys]
    newest = max(step.version for step in available_migrations())
    if store.db.schema_version() != newest:
        problems.append(f"schema version {store.db.schema_version()}, expected {newest}")
    verified = audit.verify()
    problems += [f"audit journal: {problem}" for problem in verified.problems]
    answer = store.web().test_client().get("/api/v1/health")
    if answer.status_code != 200:
        problems.append(f"/api/v1/health answered {answer.status_code}: {answer.get_data(as_text=True)[:200]}")
    return problems


def upgrade(open_store, data_dir: Path) -> Upgraded:
    """Backup, migrate, check; on any failure restore the backup. `open_store(migrate=False)` gives the store."""
    data_dir = Path(data_dir)
    if not (data_dir / DB_FILENAME).exists():
        raise UpgradeError(f"no store database in {data_dir}")
    store = open_store(migrate=False)
    try:
        before = store.db.schema_version()
        if all(step.version <= before for step in available_migrations()):
            return Upgraded(None, before, before)
        try:
            made = backups.take(store.db, data_dir, data_dir / PRE_UPGRADE, KEEP)
        except backups.BackupError as error:
            raise UpgradeError(f"no upgrade without a backup: {error}") from None
        outcome = Upgraded(made.path, before, before)
        try:
            outcome.applied = store.db.migrate(backup=False)  # the backup above is the one to roll back to
            outcome.problems = health_problems(store)
        except Exception as error:  # whatever stopped it (a step's SQL, a module that cannot load): roll back
            outcome.problems = [f"migration failed: {error}"]
        outcome.after = store.db.schema_version()
    finally:
        store.db.close()
    if outcome.rolled_back:
        backups.restore(made.path, data_dir)
        outcome.after = backups.schema_version_of(data_dir / DB_FILENAME)
    return outcome


def rollback(data_dir: Path) -> backups.Restored:
    """Put the newest pre-upgrade backup back (the services must be stopped)."""
    found = backups.backups_in(Path(data_dir) / PRE_UPGRADE)
    if not found:
        raise UpgradeError(f"no pre-upgrade backup in {Path(data_dir) / PRE_UPGRADE}: nothing to roll back to")
    return backups.restore(found[-1], data_dir)
