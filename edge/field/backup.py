"""Backups of the store database: SQLite's online backup, checked and rotated; a restore that checks first.

A backup is one self-contained SQLite file (`storeedge-<UTC time>.db`) and,
beside it, the store's secret key (`.key`): PIN look-ups and device tokens
were made with that key, so a restore onto a new box needs both.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from edge.db import DB_FILENAME, Database, WriterLock, available_migrations
from edge.staff.secrets import SECRET_FILENAME

PREFIX, SUFFIX, KEY_SUFFIX = "storeedge-", ".db", ".key"
DEFAULT_KEEP = 14


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


@dataclass
class BackupMade:
    path: Path
    schema_version: int
    removed: list[Path] = field(default_factory=list)


@dataclass
class Restored:
    schema_version: int
    previous: Path | None  # the database as it was before, kept beside it


def integrity_problems(path: Path) -> list[str]:
    """What PRAGMA integrity_check finds wrong in a database file ([] when sound), opened read-only."""
    path = Path(path)
    if not path.is_file():
        return [f"{path}: no such file"]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        return [f"{path}: {error}"]
    try:
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:  # not a database at all, or its header is damaged
        return [f"{path}: {error}"]
    finally:
        conn.close()
    return [] if rows == ["ok"] else [f"{path}: {row}" for row in rows]


def schema_version_of(path: Path) -> int:
    """The schema version recorded in a database file (0: not a StoreEdge database)."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'").fetchone():
            return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
        return 0
    finally:
        conn.close()


def backups_in(folder: Path) -> list[Path]:
    """This folder's backups, oldest first (the UTC time in the name sorts)."""
    return sorted(Path(folder).glob(f"{PREFIX}*{SUFFIX}"))


def take(db: Database, data_dir: Path, folder: Path, keep: int = DEFAULT_KEEP,
         now: datetime | None = None) -> BackupMade:
    """Copy the database while sales go on, check the copy, keep the newest `keep` backups in `folder`."""
    if keep < 1:
        raise BackupError("keep: at least 1 backup must be kept")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"backup folder {folder}: {error.strerror}") from None
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"{PREFIX}{stamp}{SUFFIX}"
    try:
        db.backup(path)
        _sync(path)
    except (OSError, sqlite3.Error) as error:
        raise BackupError(f"backup to {path}: {error}") from None
    problems = integrity_problems(path)
    if problems:
        path.unlink()
        raise BackupError(f"the copy failed its integrity check: {'; '.join(problems)}")
    key = Path(data_dir) / SECRET_FILENAME
    if key.exists():
        write_private(path.with_suffix(KEY_SUFFIX), key.read_bytes())
    return BackupMade(path, schema_version_of(path), rotate(folder, keep))


def rotate(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups (and their keys); returns the removed backups."""
    removed = backups_in(folder)[:-keep]
    for old in removed:
        old.unlink()
        old.with_suffix(KEY_SUFFIX).unlink(missing_ok=True)
    return removed


def restore(backup: Path, data_dir: Path, now: datetime | None = None) -> Restored:
    """Replace the store database with a checked backup; the services must be stopped.

    Refused, with nothing changed, for a file that fails PRAGMA integrity_check,
    is not a StoreEdge database, or was made by a newer StoreEdge. The database
    being replaced is kept beside it as storeedge.before-restore-<time>.db.
    """
    backup = Path(backup)
    problems = integrity_problems(backup)
    if problems:
        raise BackupError(f"refused: {backup} fails its integrity check: {'; '.join(problems)}")
    version = schema_version_of(backup)
    if version == 0:
        raise BackupError(f"refused: {backup} is not a StoreEdge database (no schema_migrations)")
    newest = max(step.version for step in available_migrations())
    if version > newest:
        raise BackupError(f"refused: {backup} has schema version {version}; this StoreEdge knows up to {newest}")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / DB_FILENAME
    previous = None
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    # no writer of ours gets between the pages; closing gives the lock file's descriptor back afterwards
    with closing(WriterLock(target.with_name(target.name + ".writer"))) as writers, writers:
        if target.exists():
            previous = data_dir / f"storeedge.before-restore-{stamp}.db"
            _copy(target, previous)
        _copy(backup, target)
    key = backup.with_suffix(KEY_SUFFIX)
    if key.exists():
        secret = data_dir / SECRET_FILENAME
        if secret.exists() and secret.read_bytes() != key.read_bytes():
            shutil.copy2(secret, data_dir / f"{SECRET_FILENAME}.before-restore-{stamp}")
        write_private(secret, key.read_bytes())
    return Restored(version, previous)


def _copy(source: Path, destination: Path) -> None:
    """Page by page through SQLite's backup API (a live WAL database copies consistently)."""
    source_conn, destination_conn = sqlite3.connect(source), sqlite3.connect(destination)
    try:
        source_conn.backup(destination_conn)
    finally:
        destination_conn.close()
        source_conn.close()


def write_private(path: Path, data: bytes) -> None:
    """Owner-only, written whole then renamed (a stick pulled mid-write leaves the old file)."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(part, path)


def _sync(path: Path) -> None:
    """To the medium now: a USB stick may be pulled right after the backup says done."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
