"""SQLite through peewee: connection settings, transactions and migrations.

Every model binds to ``database`` (a proxy); ``open_database`` points it at a
file. WAL lets screens read while a sale commits. Durability is chosen per
transaction: business facts (a completed sale, a refund) are flushed to disk
before the transaction is done; cart edits are not, which survives a killed
process (the WAL is in the OS page cache) and may lose only the last cart
edits on power loss. The next flush covers those too.

The flush is a group commit. Every connection runs with synchronous=NORMAL
(a commit appends to the WAL, no fsync), and a durable transaction, once
committed and out of the write lock, waits for an fsync of the WAL that
began after its commit (``WalFlush``). While one fsync runs, the next
writers commit; one fsync then covers them all. Eight lanes paying at once
pay for one or two fsyncs instead of eight in a row. The WAL is replayed as
a prefix after a power cut, so a transaction is never kept without those
before it.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import pkgutil
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import peewee

database = peewee.DatabaseProxy()
log = logging.getLogger("storeedge.db")

DB_FILENAME = "storeedge.db"


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False
        only_save_dirty = True


class Prepared:
    """A statement built once by peewee and run again with new parameters.

    peewee writes the SQL text anew on every call and reads rows through a
    general-purpose wrapper, which on the scan and checkout path costs more
    than SQLite's own work; the few statements every request makes are
    written once and their rows read straight into model instances. Mark
    each parameter with ``Prepared.arg(n)``.
    """

    _MARK = "\x00arg"
    # SQLite hands these back as Python wants them: no conversion per value
    _AS_STORED = (peewee.IntegerField, peewee.TextField)

    @classmethod
    def arg(cls, number: int) -> str:
        return f"{cls._MARK}{number}"

    def __init__(self, query):
        self.query = query
        self.model = query.model
        self.sql: str | None = None  # written at first use, once the database is bound
        self.columns: list[tuple[str, object, bool]] | None = None

    def _params(self, args) -> list:
        if self.sql is None:
            self.sql, self.template = self.query.sql()
            self.slots = [(index, int(value[len(self._MARK):])) for index, value in enumerate(self.template)
                          if isinstance(value, str) and value.startswith(self._MARK)]
        params = list(self.template)
        for index, number in self.slots:
            params[index] = args[number]
        return params

    def _read_columns(self, description) -> list[tuple[str, object, bool]]:
        """Per result column: attribute name, converter (or None), and whether it is the model's field."""
        by_column = self.model._meta.columns
        columns = []
        for name, *_ in description:
            field = by_column.get(name)
            if field is None:  # a joined model's column: an extra attribute, as peewee does
                columns.append((name, None, False))
            else:
                columns.append((field.name, None if isinstance(field, self._AS_STORED) else field.python_value, True))
        return columns

    def all(self, *args) -> list:
        cursor = self.model._meta.database.execute_sql(*self._statement(args))
        if self.columns is None:
            self.columns = self._read_columns(cursor.description)
        found = []
        for row in cursor:
            instance = self.model(__no_default__=1)
            data = instance.__data__
            for (name, convert, is_field), value in zip(self.columns, row):
                if convert is not None and value is not None:
                    value = convert(value)
                if is_field:
                    data[name] = value
                else:
                    setattr(instance, name, value)
            found.append(instance)
        return found

    def _statement(self, args) -> tuple[str, list]:
        params = self._params(args)  # writes the SQL on first use
        return self.sql, params

    def first(self, *args):
        rows = self.all(*args)
        return rows[0] if rows else None

    def execute(self, *args):
        """Run a prepared write (insert, upsert, update); returns the cursor."""
        return self.model._meta.database.execute_sql(*self._statement(args))

    def execute_many(self, arg_rows) -> None:
        """Run a prepared write once per row of arguments, in one call."""
        params = [self._params(args) for args in arg_rows]
        execute_many(self.model._meta.database, self.sql, params)


class RowInsert:
    """INSERT of whole rows of one model, its SQL written once (see Prepared).

    Rows are dicts by field name or model instances; a missing field takes
    its default.
    """

    # a value already of the type SQLite stores for these fields goes in as it is (no db_value call)
    _STORED_AS = {peewee.IntegerField: int, peewee.TextField: str, peewee.CharField: str}

    def __init__(self, model, or_ignore: bool = False):
        self.model = model
        self.fields = [f for f in model._meta.sorted_fields if not isinstance(f, peewee.AutoField)]
        # per field, worked out once: name, conversion, the type needing none, default
        self.plan = [(f.name, f.db_value, self._STORED_AS.get(type(f)), f.default) for f in self.fields]
        columns = ", ".join(f'"{f.column_name}"' for f in self.fields)
        marks = ", ".join("?" for _ in self.fields)
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"  # OR IGNORE: a ledger entry id applied before
        self.sql = f'{verb} INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'

    def _values(self, data: dict) -> list:
        values = []
        for name, db_value, stored_as, default in self.plan:
            if name in data:
                value = data[name]
            else:
                value = default() if callable(default) else default
            values.append(value if value is None or type(value) is stored_as else db_value(value))
        return values

    def rows(self, rows) -> int:
        """Write the rows; returns how many were written (OR IGNORE skips ids already there)."""
        params = []
        for row in rows:
            instance = isinstance(row, peewee.Model)
            params.append(self._values(row.__data__ if instance else row))
            if instance:
                row._dirty.clear()  # saved: a later save() writes only what changes after this
        return execute_many(self.model._meta.database, self.sql, params)


def execute_many(db, sql: str, params: list) -> int:
    """One statement over many parameter rows in a single call (a sale's ten stock movements);
    returns the rows changed.

    peewee has no executemany; its query hooks (the benchmarks' SQL timer) still hear of it.
    """
    if not params:
        return 0
    if len(params) == 1:
        return db.execute_sql(sql, params[0]).rowcount
    start = time.perf_counter()
    cursor = db.cursor()
    cursor.executemany(sql, params)
    event = peewee.QueryEvent(sql, params, time.perf_counter() - start, None)
    for hook in db.query_hooks:
        hook(event)
    return cursor.rowcount


def utc_now() -> str:
    """Informative timestamp (the box may have no RTC; ordering uses sequences)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class WriterLock:
    """Writers queue here, across threads and processes, before BEGIN IMMEDIATE.

    SQLite's own busy handler sleeps in growing steps (up to 100 ms), which
    turns two writers meeting into a long stall; a lock in the kernel wakes
    the next writer as soon as the last one commits. Threads of one process
    share a mutex, processes (web workers, sync, gateway, the CLI) an flock
    on a file beside the database. The file is opened per process, since an
    flock is shared by everything that inherited its descriptor over fork.
    """

    def __init__(self, path: Path):
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def __enter__(self):
        self._threads.acquire()
        try:
            if self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Give the lock file's descriptor back (a process that opens many databases would run out)."""
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = self._pid = None


class Checkpointer:
    """Copies the WAL into the database file from a thread of its own.

    SQLite otherwise checkpoints inside whichever commit crosses the WAL's
    threshold, and that sale waits for the copy and its fsync. Here the
    request threads only append to the WAL; a passive checkpoint never
    blocks them. SQLite's own automatic checkpoint stays on, with a high
    threshold, as the backstop should this thread stop.
    """

    INTERVAL_SECONDS = 0.5
    BACKSTOP_PAGES = 20_000  # about 80 MB of WAL

    def __init__(self, path: Path):
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            while not self._stop.wait(self.INTERVAL_SECONDS):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed; SQLite's own checkpoint remains")
        finally:
            conn.close()


class WalFlush:
    """Group commit: one fsync of the WAL makes every commit before it durable.

    ``committed()`` is called after a COMMIT returns and gives the commit a
    number; ``wait(number)`` returns once an fsync that started after that
    commit has finished: at once when one already has, else after the fsync
    in progress and, if that one started too early, one more (which also
    covers every commit that came in meanwhile). Other processes' commits
    to the same WAL are covered by their own flushes.
    """

    def __init__(self, path: Path):
        self.wal = path.with_name(path.name + "-wal")
        self.database = path
        self._numbers = threading.Lock()
        self._syncing = threading.Lock()  # one fsync at a time; the waiters behind it are the group
        self.commits = 0  # durable commits numbered in this process
        self.syncs = 0  # fsyncs done for them: commits / syncs is the group's size (the benchmark reports it)
        self.sync_seconds = 0.0  # and the time they took: what the disk charges for durability
        self._flushed = 0

    def committed(self) -> int:
        with self._numbers:
            self.commits += 1
            return self.commits

    def wait(self, number: int) -> None:
        if self._flushed >= number:
            return
        with self._syncing:
            if self._flushed >= number:  # the fsync this thread waited behind covered it
                return
            with self._numbers:
                upto = self.commits  # every commit numbered so far is in the WAL already
            started = time.perf_counter()
            self.sync()
            self.sync_seconds += time.perf_counter() - started
            self.syncs += 1
            self._flushed = upto

    def sync(self) -> None:
        """fsync the WAL; when SQLite has removed it (its content checkpointed into the database file on the
        last close), the database file, which is what then holds the commits."""
        try:
            fd = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:
            fd = os.open(self.database, os.O_RDONLY)
        try:
            os.fdatasync(fd)  # as SQLite's own sync: the data (and a size that grew), not the times
        finally:
            os.close(fd)


class _TransactionState(threading.local):
    def __init__(self):
        self.durable = True
        self.regardless = []
        self.after_commit = []


class Database:
    """The store database: one SQLite file in the data folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.peewee = peewee.SqliteDatabase(
            str(self.path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": "normal",  # durable transactions are flushed by WalFlush, a group commit
                "foreign_keys": 1,
                "busy_timeout": 10_000,
                "cache_size": -16_000,
            },
            check_same_thread=False,
        )
        database.initialize(self.peewee)
        self._local = _TransactionState()
        self._writers = WriterLock(self.path.with_name(self.path.name + ".writer"))
        self.wal_flush = WalFlush(self.path)
        self._checkpointer: Checkpointer | None = None

    @contextmanager
    def transaction(self, durable: bool = True):
        """One business fact: BEGIN IMMEDIATE so racing writers queue instead of failing."""
        local = self._local
        if self.peewee.in_transaction():
            # A service called inside a request's transaction joins it: the
            # request commits or rolls back as one fact.
            if durable and not local.durable:
                raise RuntimeError("a durable write was nested in a non-durable transaction")
            yield
            return
        self.peewee.connect(reuse_if_open=True)
        local.durable = durable
        local.regardless = []
        local.after_commit = []
        try:
            with self._writers, self.peewee.atomic("IMMEDIATE"):
                yield
            if durable:  # out of the write lock: the next writers commit while this one's fsync runs
                self.wal_flush.wait(self.wal_flush.committed())
        finally:
            pending, local.regardless = local.regardless, []
            told, local.after_commit = local.after_commit, []
            for write in pending:
                with self.transaction(durable=True):
                    write()
        for tell in told:  # reached only when the transaction committed (and, durable, is on disk)
            try:
                tell()
            except Exception:
                log.exception("an after-commit notification failed; the transaction stands")

    @contextmanager
    def savepoint(self):
        """Part of a transaction that can fail alone (one row of an import)."""
        with self.peewee.atomic():
            yield

    def write_regardless(self, write) -> None:
        """Commit ``write`` whether or not the surrounding transaction commits.

        A failed PIN must count even though the request that carried it is
        refused and rolled back.
        """
        if self.peewee.in_transaction():
            self._local.regardless.append(write)
        else:
            with self.transaction(durable=True):
                write()

    def after_commit(self, tell) -> None:
        """Call ``tell`` once the surrounding transaction has committed (never if it rolls back): a payment
        attempt is on disk before the provider hears of it, and live notifications never announce what the
        database does not hold."""
        if self.peewee.in_transaction():
            self._local.after_commit.append(tell)
        else:
            tell()

    def flush(self) -> None:
        """Everything committed so far on disk (what another process committed without a flush, too): before
        telling the world outside the box about it."""
        self.wal_flush.sync()

    def checkpoint_in_background(self) -> None:
        """For the long-running web process: commits stop paying for WAL checkpoints."""
        if self._checkpointer is not None:
            return
        self.peewee.pragma("wal_autocheckpoint", Checkpointer.BACKSTOP_PAGES, permanent=True)
        self._checkpointer = Checkpointer(self.path)
        self._checkpointer.start()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if not self.peewee.is_closed():
            self.peewee.close()
        self._writers.close()

    # -- migrations ---------------------------------------------------------

    def schema_version(self) -> int:
        cursor = self.peewee.execute_sql(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        )
        if cursor.fetchone() is None:
            return 0
        row = self.peewee.execute_sql("SELECT MAX(version) FROM schema_migrations").fetchone()
        return row[0] or 0

    def migrate(self, target: int | None = None, backup: bool = True) -> list[int]:
        """Apply pending numbered migrations, each in its own transaction.

        A copy of the database is taken first (SQLite's online backup), so a
        failed upgrade can be rolled back by hand.
        """
        steps = available_migrations()
        current = self.schema_version()
        pending = [s for s in steps if s.version > current and (target is None or s.version <= target)]
        if not pending:
            return []
        if backup and current > 0:
            self.backup(self.path.with_name(f"{self.path.stem}.before-v{pending[0].version}.db"))
        applied = []
        for step in pending:
            with self.transaction(durable=True):
                for statement in step.statements():
                    self.peewee.execute_sql(statement)
                step.after(self.peewee)
                self.peewee.execute_sql(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (step.version, step.name, utc_now()),
                )
            applied.append(step.version)
        return applied

    def backup(self, destination: Path) -> Path:
        """A consistent copy while others keep writing (SQLite's online backup API)."""
        destination = Path(destination)
        tmp = destination.with_suffix(destination.suffix + ".part")
        source = sqlite3.connect(self.path)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            # one self-contained file: reading the copy (in WAL mode, as copied) would leave -wal and -shm beside it
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
            source.close()
        shutil.move(tmp, destination)
        return destination


class Migration:
    def __init__(self, version: int, name: str, module):
        self.version = version
        self.name = name
        self.module = module

    def statements(self) -> list[str]:
        return [s.strip() for s in self.module.SQL.split(";") if s.strip()]

    def after(self, connection) -> None:
        """A step's optional data fill that SQL cannot do (``after(connection)``), in the step's transaction."""
        fill = getattr(self.module, "after", None)
        if fill is not None:
            fill(connection)


def available_migrations() -> list[Migration]:
    from edge import migrations

    found = []
    for info in pkgutil.iter_modules(migrations.__path__):
        if not info.name.startswith("m"):
            continue
        version = int(info.name[1:5])
        module = importlib.import_module(f"edge.migrations.{info.name}")
        found.append(Migration(version, info.name[6:], module))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found
