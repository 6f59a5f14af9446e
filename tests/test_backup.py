"""`storeedge backup` and `storeedge restore` on real files: online copies while sales commit, rotation, refusals.

The CLI runs as its own process beside the test's store, as the systemd timer's
backup runs beside web.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading

import pytest

from edge.field.backup import backups_in, integrity_problems
from edge.staff.secrets import SECRET_FILENAME, pin_lookup
from tests.conftest import CASHIER_PIN, WATER
from tests.domain2_helpers import sell
from tests.server_helpers import query, storeedge
from tests.test_crash_safety import partial_facts

PATIENCE = 2000  # sales the seller makes at most, should the test never tell it to stop


def completed_sales(data_dir) -> int:
    return query(data_dir, "SELECT COUNT(*) FROM sale WHERE status = 'completed'")[0][0]


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backup(data_dir, *options) -> str:
    return storeedge("--data-dir", str(data_dir), "backup", *options).stdout


class Seller(threading.Thread):
    """A cashier completing one-water sales until told to stop; counts them."""

    def __init__(self, store, caller):
        super().__init__(daemon=True)
        self.store, self.caller = store, caller
        self.sold = 0
        self.stop = threading.Event()
        self.progress = threading.Condition()
        self.error: BaseException | None = None

    def run(self):
        try:
            while not self.stop.is_set() and self.sold < PATIENCE:
                sell(self.store, self.caller, [(WATER, 1)])
                with self.progress:
                    self.sold += 1
                    self.progress.notify_all()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error
            with self.progress:
                self.progress.notify_all()

    def wait_for(self, sales: int) -> None:
        with self.progress:
            self.progress.wait_for(lambda: self.sold >= sales or self.error is not None or not self.is_alive())
        assert self.error is None, self.error


def test_a_backup_while_sales_commit_restores_to_a_sound_store(store, cashier, tmp_path):
    seller = Seller(store, cashier)
    seller.start()
    try:
        seller.wait_for(3)
        backup(tmp_path, "--to", str(tmp_path / "usb"))
        at_backup_end = seller.sold
        seller.wait_for(at_backup_end + 3)  # sales went on committing after the copy
    finally:
        seller.stop.set()
        seller.join()
    [made] = backups_in(tmp_path / "usb")
    assert integrity_problems(made) == []

    restored = tmp_path / "restored"
    storeedge("--data-dir", str(restored), "restore", str(made))
    in_backup = completed_sales(restored)
    assert 3 <= in_backup <= at_backup_end < completed_sales(tmp_path)
    assert all(rows == [] for rows in partial_facts(restored).values()), partial_facts(restored)
    # the PINs work there: the key came with the backup
    key = bytes.fromhex((restored / SECRET_FILENAME).read_text())
    assert query(restored, "SELECT COUNT(*) FROM staff WHERE pin_lookup = ?", pin_lookup(key, CASHIER_PIN)) == [(1,)]


def test_backups_rotate_keeping_the_newest(store, tmp_path):
    folder = tmp_path / "backups"
    for _ in range(4):
        backup(tmp_path, "--to", str(folder), "--keep", "2")
    names = [path.name for path in backups_in(folder)]
    assert len(names) == 2 and names == sorted(names)
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [*names, *(name.replace(".db", ".key") for name in names)])


def test_the_default_folder_is_in_the_data_folder_and_the_key_is_private(store, tmp_path):
    output = backup(tmp_path)
    [made] = backups_in(tmp_path / "backups")
    assert str(made) in output
    assert made.with_suffix(".key").stat().st_mode & 0o777 == 0o600


def test_restore_keeps_the_database_it_replaces(store, cashier, tmp_path):
    backup(tmp_path, "--to", str(tmp_path / "usb"))
    sell(store, cashier, [(WATER, 2)])
    after_sale = completed_sales(tmp_path)
    store.db.close()  # the services are stopped for a restore
    [made] = backups_in(tmp_path / "usb")
    storeedge("--data-dir", str(tmp_path), "restore", str(made))
    assert completed_sales(tmp_path) == after_sale - 1
    [kept] = tmp_path.glob("storeedge.before-restore-*.db")
    assert sqlite3.connect(kept).execute("SELECT COUNT(*) FROM sale WHERE status = 'completed'").fetchone()[0] \
        == after_sale


def corrupt(path) -> None:
    """Garbage over the pages after the first: the header still says SQLite, the b-trees are broken."""
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:len(data) - page] = bytes(range(256)) * ((len(data) - 2 * page) // 256) + b"\x07" * (
        (len(data) - 2 * page) % 256)
    path.write_bytes(bytes(data))


def foreign_database(path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes(text)")


@pytest.mark.parametrize("spoil, reason", [
    (corrupt, "integrity check"),
    (lambda path: path.write_text("not a database\n" * 500), "integrity check"),
    (lambda path: (path.unlink(), foreign_database(path)), "not a StoreEdge database"),
])
def test_restore_refuses_a_bad_file_and_changes_nothing(store, tmp_path, spoil, reason):
    backup(tmp_path, "--to", str(tmp_path / "usb"))
    [made] = backups_in(tmp_path / "usb")
    spoil(made)
    store.db.close()
    before = {path.name: file_digest(path) for path in tmp_path.iterdir() if path.is_file()}
    done = storeedge("--data-dir", str(tmp_path), "restore", str(made), check=False)
    assert done.returncode == 2 and "refused" in done.stderr and reason in done.stderr, done.stderr
    assert {path.name: file_digest(path) for path in tmp_path.iterdir() if path.is_file()} == before


def test_a_backup_with_no_store_says_so_and_writes_nothing(tmp_path):
    done = storeedge("--data-dir", str(tmp_path / "typo"), "backup", "--to", str(tmp_path / "usb"), check=False)
    assert done.returncode == 1 and "no store database" in done.stderr
    assert not (tmp_path / "typo").exists() and not (tmp_path / "usb").exists()


def test_keep_must_be_at_least_one(store, tmp_path):
    done = storeedge("--data-dir", str(tmp_path), "backup", "--to", str(tmp_path / "usb"), "--keep", "0",
                     check=False)
    assert done.returncode == 2 and "--keep" in done.stderr
    assert not (tmp_path / "usb").exists()
