"""Closing a store gives back every file descriptor it opened.

A process that opens stores again and again (the CLI's tests, a restore, the
HQ tools) must not creep towards 1024 descriptors: past that, select()-based
code such as paho's network loop can no longer wait on a new socket, and an
MQTT client connects but never hears its CONNACK.
"""

from __future__ import annotations

import gc
import os

import shutil

from edge.field import backup
from tests.conftest import copied_store, terminal
from tests.test_cli import cli
from tests.domain2_helpers import sell

WATER = "6904321000012"


def open_descriptors() -> int:
    gc.collect()  # earlier tests' garbage (connections in cycles) is closed now, not in the middle of a count
    return len(os.listdir("/proc/self/fd"))


def test_a_store_that_sold_and_closed_holds_no_descriptor(demo_template, tmp_path):
    def sell_once_and_close(folder):
        store = copied_store(demo_template, folder)
        sell(store, terminal(store), [(WATER, 1)])  # takes the writer lock, opens the WAL
        store.db.close()

    sell_once_and_close(tmp_path / "warm-up")  # imports and caches settle first
    before = open_descriptors()
    for round_number in range(20):
        sell_once_and_close(tmp_path / f"store{round_number}")
    assert open_descriptors() <= before


def test_restores_hold_no_descriptor(demo_template, tmp_path):
    store = copied_store(demo_template, tmp_path / "store")
    sell(store, terminal(store), [(WATER, 1)])
    made = backup.take(store.db, store.db.path.parent, tmp_path / "backups")
    store.db.close()
    backup.restore(made.path, tmp_path / "restored")
    before = open_descriptors()
    for _ in range(20):
        backup.restore(made.path, tmp_path / "restored")
    assert open_descriptors() <= before


def test_cli_commands_run_in_process_close_their_store(demo_template, tmp_path):
    data_dir = tmp_path / "store"
    shutil.copytree(demo_template, data_dir)
    assert cli("audit", "verify", "--data-dir", str(data_dir)).exit_code == 0
    before = open_descriptors()
    for _ in range(20):
        assert cli("audit", "verify", "--data-dir", str(data_dir)).exit_code == 0
    assert open_descriptors() <= before
