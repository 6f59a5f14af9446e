"""The hash-chained audit journal: what it covers, and that verify (and `storeedge audit verify`) catches tampering."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge import audit
from edge.app import StoreEdge
from edge.audit.journal import GENESIS, _digest
from edge.db import DB_FILENAME
from edge.demo.seed import seed
from tests.conftest import CASHIER_PIN, COLA, WATER, terminal
from tests.domain2_helpers import MANAGER_APPROVAL, audit_records, open_sale_with, sell

STOREEDGE = Path(sys.executable).with_name("storeedge")


@pytest.fixture(scope="module")
def journal_template(tmp_path_factory):
    """A store opened as the services open it, with a day's worth of audited facts (built once)."""
    path = tmp_path_factory.mktemp("journal")
    store = StoreEdge.open(data_dir=path)
    seed(store)
    caller = terminal(store)
    store.staff.login(caller.device, CASHIER_PIN)
    sale = sell(store, caller, [(WATER, 2), (COLA, 1)])
    store.refunds.refund(caller, sale.id, None, "damaged", "original", MANAGER_APPROVAL)
    store.sales.void(open_sale_with(store, caller, [(WATER, 1)]).id, caller, "left", MANAGER_APPROVAL)
    override = open_sale_with(store, caller, [(COLA, 1)])
    store.sales.update_line(override.id, store.sales.lines(override)[0].id, caller, unit_price=250,
                            approval=MANAGER_APPROVAL)
    shift = store.shifts.current(caller.device_id)
    store.shifts.cash_movement(shift.id, caller, "no_sale", 0, "change for a note", MANAGER_APPROVAL)
    store.db.close()
    return path


@pytest.fixture
def journal_store(journal_template, tmp_path):
    """A copy of the journal store for one test to inspect or damage."""
    shutil.copytree(journal_template, tmp_path, dirs_exist_ok=True)
    store = StoreEdge.open(data_dir=tmp_path)
    yield store
    store.db.close()


def tamper(store, *statements: tuple[str, tuple]) -> None:
    """Edit the database file behind the store's back, as someone with the SD card would."""
    with sqlite3.connect(store.data_dir / DB_FILENAME) as raw:
        for sql, params in statements:
            raw.execute(sql, params)


def last_seq() -> int:
    return audit_records()[-1]["seq"]


def forged(seq: int, prev_hash: str, action: str = "sale.voided") -> tuple[str, tuple]:
    """A record whose hash is right for its content: a forger knows the (public) algorithm."""
    at, data = "2026-01-01T00:00:00.000+00:00", '{"forged":true}'
    digest = _digest(seq, at, action, None, None, None, None, data, prev_hash)
    return ("INSERT INTO audit_record (seq, at, action, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
            (seq, at, action, data, prev_hash, digest))


def cli_verify(data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREEDGE_")}
    return subprocess.run([str(STOREEDGE), "audit", "verify", "--data-dir", str(data_dir), *extra],
                          capture_output=True, text=True, env=env, timeout=60)


def test_journal_covers_the_business_facts(journal_store):
    actions = {r["action"] for r in audit_records()}
    assert {"config.first_start", "staff.added", "device.added", "staff.login", "shift.opened", "sale.completed",
            "refund.completed", "sale.voided", "sale.price_override", "drawer.no_sale", "stock.received",
            "product.created"} <= actions


def test_config_change_is_audited_with_the_keys_that_changed(journal_store, tmp_path_factory):
    config = tmp_path_factory.mktemp("etc") / "storeedge.toml"
    config.write_text('[checkout]\ncash_rounding = "floor_jiao"\n[hq]\nbroker = "mqtts://hq:8883"\n'
                      'password = "s3cret"\n')
    journal_store.db.close()
    reopened = StoreEdge.open(config, journal_store.data_dir)
    try:
        [change] = audit_records("config.changed")
        # an [hq] section brings its defaults with it (receive_maximum): the effective config changed there too
        assert change["data"]["keys"] == ["checkout.cash_rounding", "hq.broker", "hq.password", "hq.receive_maximum"]
        assert change["data"]["before"] == {"checkout.cash_rounding": "none", "hq.broker": None, "hq.password": None,
                                            "hq.receive_maximum": None}
        assert change["data"]["after"] == {"checkout.cash_rounding": "floor_jiao", "hq.broker": "mqtts://hq:8883",
                                           "hq.password": "(set)",  # a secret never enters the journal
                                           "hq.receive_maximum": 100}
        assert "s3cret" not in str(audit_records())
        # The same config again is no change.
        assert reopened.record_config_change() == []
        assert len(audit_records("config.changed")) == 1
    finally:
        reopened.db.close()


def test_chain_links_every_record_with_a_gap_free_sequence(journal_store):
    records = audit_records()
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["prev_hash"] == GENESIS
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(records, records[1:]))
    result = audit.verify()
    assert (result.ok, result.records, result.problems) == (True, len(records), [])


def test_verify_detects_an_edited_record(journal_store):
    [sale] = audit_records("sale.completed")
    tamper(journal_store, ("UPDATE audit_record SET data = replace(data, '\"total\":700', '\"total\":70') "
                           "WHERE seq = ?", (sale["seq"],)))
    assert audit.verify().problems == [f"seq {sale['seq']}: content does not match its hash (record edited)"]


def test_verify_detects_a_record_inserted_in_the_middle(journal_store):
    [void] = audit_records("sale.voided")
    k = void["seq"]
    # Make room after seq k (negating first keeps the primary key unique), then slip a record in.
    tamper(journal_store,
           ("UPDATE audit_record SET seq = -seq WHERE seq > ?", (k,)),
           ("UPDATE audit_record SET seq = 1 - seq WHERE seq < 0", ()),
           forged(k + 1, void["hash"]))
    problems = audit.verify().problems
    assert f"seq {k + 2}: does not link to the previous record's hash" in problems
    assert f"seq {k + 2}: content does not match its hash (record edited)" in problems
    assert any("head says" in p for p in problems)


def test_verify_detects_a_record_appended_at_the_end(journal_store):
    last = audit_records()[-1]
    tamper(journal_store, forged(last["seq"] + 1, last["hash"]))
    [problem] = audit.verify().problems
    assert problem.startswith(f"journal ends at seq {last['seq'] + 1} but its head says seq {last['seq']}")


def test_verify_detects_a_deleted_record(journal_store):
    [refund] = audit_records("refund.completed")
    tamper(journal_store, ("DELETE FROM audit_record WHERE seq = ?", (refund["seq"],)))
    assert audit.verify().problems == [
        f"seq {refund['seq'] + 1}: expected seq {refund['seq']} (records missing or inserted)",
        f"seq {refund['seq'] + 1}: does not link to the previous record's hash",
    ]


def test_verify_detects_records_cut_off_the_end(journal_store):
    end = last_seq()
    tamper(journal_store, ("DELETE FROM audit_record WHERE seq >= ?", (end - 1,)))
    [problem] = audit.verify().problems
    assert "records cut off the end" in problem and f"head says seq {end}" in problem


def test_cli_verify_passes_on_a_clean_store(journal_store):
    answer = cli_verify(journal_store.data_dir)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == f"audit journal ok: {last_seq()} records"


@pytest.mark.parametrize("damage", ["edit", "delete", "insert"])
def test_cli_verify_fails_and_names_the_broken_record(journal_store, damage):
    seq = audit_records("sale.completed")[0]["seq"]
    statement = {
        "edit": ("UPDATE audit_record SET staff_id = 999 WHERE seq = ?", (seq,)),
        "delete": ("DELETE FROM audit_record WHERE seq = ?", (seq,)),
        "insert": ("INSERT INTO audit_record (seq, at, action, data, prev_hash, hash) "
                   "VALUES (?, 'now', 'sale.voided', '{}', 'x', 'y')", (last_seq() + 1,)),
    }[damage]
    tamper(journal_store, statement)
    answer = cli_verify(journal_store.data_dir)
    assert answer.returncode == 1
    assert "audit journal BROKEN" in answer.stdout
    assert f"seq {seq if damage != 'insert' else last_seq()}" in answer.stderr


def test_cli_verify_writes_nothing_even_with_another_config(journal_store, tmp_path_factory):
    """Checking the journal must not append to it: a new record would hide a cut-off end."""
    end = last_seq()
    tamper(journal_store, ("DELETE FROM audit_record WHERE seq = ?", (end,)))
    config = tmp_path_factory.mktemp("etc") / "other.toml"
    config.write_text('[checkout]\ncash_rounding = "round_jiao"\n')
    answer = cli_verify(journal_store.data_dir, "--config", str(config))
    assert answer.returncode == 1, answer.stdout
    assert "records cut off the end" in answer.stderr
    assert last_seq() == end - 1
