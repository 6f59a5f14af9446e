"""Group commit (edge/db.py WalFlush): a durable transaction returns only after an fsync of the WAL that began
after its commit, and writers that commit while an fsync runs share the next one.

os.fdatasync is wrapped to log and slow down the real call (the disk is not ours to make slow); everything else is
the real store database on a real file.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from edge.db import Database, WalFlush
from edge.store_meta import Meta

SLOW_FSYNC_SECONDS = 0.2


@pytest.fixture
def fsyncs(monkeypatch):
    """Every os.fdatasync as ("fsync-start", path) / ("fsync-end", path) in one ordered log, each taking 0.2 s."""
    log: list[tuple] = []
    lock = threading.Lock()
    real_fsync = os.fdatasync

    def logged_fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        with lock:
            log.append(("fsync-start", path))
        time.sleep(SLOW_FSYNC_SECONDS)
        real_fsync(fd)
        with lock:
            log.append(("fsync-end", path))

    monkeypatch.setattr(os, "fdatasync", logged_fsync)
    return log, lock


def test_each_commit_waits_for_an_fsync_begun_after_it_and_a_burst_shares_them(tmp_path, fsyncs):
    log, lock = fsyncs
    (tmp_path / "storeedge.db-wal").write_bytes(b"")
    flush = WalFlush(tmp_path / "storeedge.db")
    writers = 8
    start = threading.Barrier(writers)

    def writer(n: int) -> None:
        start.wait(timeout=10)
        with lock:
            log.append(("commit", n))
        flush.wait(flush.committed())
        with lock:
            log.append(("returned", n))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for n in range(writers):
        committed, returned = log.index(("commit", n)), log.index(("returned", n))
        begun_after = [i for i, entry in enumerate(log) if entry[0] == "fsync-start" and committed < i < returned]
        assert begun_after, f"writer {n} returned without an fsync begun after its commit: {log}"
        ends = [i for i, entry in enumerate(log) if entry[0] == "fsync-end" and begun_after[0] < i < returned]
        assert ends, f"writer {n} returned before its fsync ended: {log}"
    syncs = [entry for entry in log if entry[0] == "fsync-start"]
    assert all(path.endswith("storeedge.db-wal") for _, path in syncs)
    # eight commits at once: the first fsync covers the first, the next the others that came meanwhile
    assert len(syncs) <= 4, log


def test_durable_transactions_flush_the_wal_and_cart_edits_do_not(tmp_path, fsyncs):
    log, _ = fsyncs
    db = Database(tmp_path / "storeedge.db")
    try:
        db.migrate(backup=False)
        log.clear()
        with db.transaction(durable=False):
            Meta.put("edit", "cart")
        assert log == []
        with db.transaction():
            Meta.put("fact", "sale")
        assert [entry[0] for entry in log] == ["fsync-start", "fsync-end"]
        assert log[0][1] == str(tmp_path / "storeedge.db-wal")
        told = []
        with db.transaction():
            Meta.put("fact", "refund")
            db.after_commit(lambda: told.append(len(log)))
        assert told == [4], "the after-commit notice came before the flush"
    finally:
        db.close()


def test_without_a_wal_file_the_database_file_is_flushed(tmp_path, fsyncs):
    log, _ = fsyncs
    (tmp_path / "storeedge.db").write_bytes(b"")
    WalFlush(tmp_path / "storeedge.db").sync()
    assert log == [("fsync-start", str(tmp_path / "storeedge.db")), ("fsync-end", str(tmp_path / "storeedge.db"))]
