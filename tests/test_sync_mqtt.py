"""Sync against a real Mosquitto: two stores and HQ as their own processes, the broker and HQ killed mid-stream.

In every case HQ ends up holding each store's events exactly once (the same
(seq, id) list as the store's outbox), each store has them acked, and what
HQ relays converges at the other store, applied once.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.members.service import Consent
from edge.outbox.events import emit
from edge.sync.outbox import Outbox
from edge.sync.topics import StoreTopics
from tests.conftest import MANAGER_PIN, WATER, copied_store, terminal
from tests.mqtt_helpers import (CHAIN, STOREEDGE, Broker, HQDatabase, activate, all_synced, hq_events, hq_process,
                                make_certificates, ready, store_config, store_events, sync_process, wait_until,
                                write_toml)
from tests.postgres_helpers import hq_dsn, postgres_server  # noqa: F401 (fixtures: HQ on SQLite and PostgreSQL)

_phones = (str(number) for number in itertools.count(13_812_340_000))


class Chain:
    """A broker, HQ and stores started for one test, and everything stopped after it."""

    def __init__(self, tmp_path, demo_template, hq_dsn: str | None):
        self.tmp_path = tmp_path
        self.demo_template = demo_template
        self.broker = Broker(tmp_path / "broker").start()
        self.hq_db = HQDatabase(tmp_path / "hq", hq_dsn)
        self.hq = hq_process(self.hq_db, self.broker).start()
        wait_until(lambda: ready(self.hq), what="HQ to subscribe")
        self.stores, self.syncs = {}, {}

    def add_store(self, store_id: str):
        folder = self.tmp_path / store_id
        config = store_config(store_id, self.broker)
        store = copied_store(self.demo_template, folder, config)
        self.stores[store_id] = store
        self.syncs[store_id] = sync_process(folder, write_toml(self.tmp_path / f"{store_id}.toml", config)).start()
        return store

    def synced(self, timeout: float = 60):
        wait_until(lambda: all_synced(self.hq_db, *self.stores.values()), timeout=timeout,
                   what="HQ to hold and ack every store's events")

    def close(self):
        for process in [*self.syncs.values(), self.hq]:
            process.stop()
        self.broker.stop()
        for store in self.stores.values():
            store.db.close()


@pytest.fixture
def chain(tmp_path, demo_template, hq_dsn):
    """The chain with HQ on SQLite, then on PostgreSQL."""
    chain = Chain(tmp_path, demo_template, hq_dsn)
    yield chain
    chain.close()


def register_and_top_up(store, amount: int):
    activate(store)
    caller = terminal(store)
    member = store.members.register(caller, phone=next(_phones), channel="pos",
                                    consent=Consent(store.config.members.privacy_notice_version, ("membership",)))
    store.stored_value.top_up(caller, member.id, amount, "cash")
    return member


def spend_stored_value(store, member_id: str, count: int = 1):
    """A sale of ``count`` bottles of water paid with the member's stored value."""
    activate(store)
    caller = terminal(store, lane=7)
    sale = store.sales.open(caller)
    store.sales.add_line(sale.id, caller, barcode=WATER, qty=count)
    store.sales.set_member(sale.id, caller, store.members.get(member_id))
    total = store.sales.get(sale.id).total
    return store.sales.complete(sale.id, caller, [{"method": "stored_value", "amount": total}])


def balances_at(store, member_id: str) -> tuple[int, int]:
    activate(store)
    return store.stored_value.balance(member_id).total, store.points.balance(member_id)


def test_a_member_of_store_a_spends_at_store_b_and_both_stores_and_hq_agree(chain):
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    member = register_and_top_up(store_a, 50_000)
    wait_until(lambda: balances_at(store_b, member.id)[0] == 50_000, what="the top-up at store B")
    activate(store_b)
    assert store_b.members.find(phone=member.phone).id == member.id

    sale = spend_stored_value(store_b, member.id, count=3)
    wait_until(lambda: balances_at(store_a, member.id) == balances_at(store_b, member.id),
               what="store A to see the spend and the points earned at B")
    chain.synced()

    stored_value, points = balances_at(store_a, member.id)
    assert stored_value == 50_000 - sale.total and points > 0
    assert chain.hq_db.rows("SELECT SUM(amount) FROM ledger_entry WHERE member_id = ? AND ledger = ?",
                   (member.id, "stored_value")) == [(stored_value,)]
    settlement = hq_cli(chain, "report", "settlement")
    assert json.loads(settlement.stdout)["net"] == [{"from": "A", "to": "B", "amount": sale.total}]  # A holds the money
    members = json.loads(hq_cli(chain, "report", "members").stdout)
    assert members == {"total": 1, "by_home_store": {"A": 1}}
    # applied once: every ledger entry id once at each store, as many as HQ holds
    for store in (store_a, store_b):
        activate(store)
        assert store.stored_value.balance_from_ledger(member.id).total == stored_value
        assert store.points.ledger_sum(member.id) == points


def coupon_status_at(store, code: str) -> str:
    with sqlite3.connect(store.db.path) as conn:
        row = conn.execute("SELECT status FROM coupon WHERE code = ?", (code,)).fetchone()
    return row[0] if row else None


def test_a_coupon_issued_at_store_a_is_used_once_at_store_b_and_is_spent_at_a_too(chain):
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    member = register_and_top_up(store_a, 1_000)
    activate(store_a)
    manager = terminal(store_a, lane=2, pin=MANAGER_PIN, shift_float=None)
    definition = store_a.coupons.define(manager, name="立减2元", kind="amount", value=200,
                                        valid_from="2020-01-01", valid_to="2099-12-31")
    [coupon] = store_a.coupons.issue(manager, definition.id, member_id=member.id)
    wait_until(lambda: coupon_status_at(store_b, coupon.code) == "issued", what="the coupon at B")

    activate(store_b)
    caller = terminal(store_b, lane=6)
    sale = store_b.sales.open(caller)
    store_b.sales.add_line(sale.id, caller, barcode=WATER, qty=2)
    store_b.sales.set_member(sale.id, caller, store_b.members.get(member.id))
    total = store_b.sales.get(sale.id).total
    store_b.sales.complete(sale.id, caller, [{"method": "coupon", "amount": 200, "reference": coupon.code},
                                             {"method": "cash", "amount": total - 200}])
    wait_until(lambda: coupon_status_at(store_a, coupon.code) == "redeemed", what="A to see the coupon used")
    chain.synced()
    assert chain.hq_db.rows("SELECT status, redeemed_store_id FROM coupon WHERE code = ?", (coupon.code,)) == [
        ("redeemed", "B")]
    assert chain.hq_db.rows("SELECT kind FROM flag") == []


def emit_backlog(store, count: int, batch: int = 2000) -> None:
    """``count`` stock movements' worth of outbox events, written as the inventory would (many per transaction)."""
    activate(store)
    for start in range(0, count, batch):
        with store.db.transaction():
            for n in range(start, min(count, start + batch)):
                emit("stock.movement", {"id": f"backlog-{n}", "product_id": 1, "sku": "BACKLOG", "qty": 1,
                                        "reason": "adjust", "ref": None, "note": "backlog"})


def test_the_broker_killed_and_restarted_mid_stream_loses_nothing_and_applies_nothing_twice(chain):
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    members = [register_and_top_up(store_a, 10_000)]
    emit_backlog(store_a, 3000)
    chain.broker.kill()
    members.append(register_and_top_up(store_a, 20_000))  # made while the broker is away
    emit_backlog(store_b, 1000)
    chain.broker.start()
    members.append(register_and_top_up(store_a, 30_000))
    chain.synced()
    for member, amount in zip(members, (10_000, 20_000, 30_000)):
        wait_until(lambda: balances_at(store_b, member.id)[0] == amount, what=f"member {member.code} at B")
    activate(store_b)
    assert store_b.db.peewee.execute_sql("SELECT COUNT(*) FROM stored_value_entry").fetchone()[0] == 3
    assert "Traceback" not in chain.syncs["A"].log() + chain.hq.log()


def test_a_store_offline_with_a_large_backlog_drains_it_when_back(chain):
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    chain.synced()
    chain.syncs["A"].stop()
    emit_backlog(store_a, 20_000)
    member = register_and_top_up(store_a, 8_800)
    chain.syncs["A"].start()
    chain.synced(timeout=120)
    wait_until(lambda: balances_at(store_b, member.id)[0] == 8_800, what="the member topped up offline, at B")
    assert len(hq_events(chain.hq_db, "A")) == len(store_events(store_a)) > 20_000


def test_hq_killed_mid_stream_and_restarted_stores_each_event_once(chain):
    store_a = chain.add_store("A")
    emit_backlog(store_a, 5000)
    wait_until(lambda: hq_events(chain.hq_db, "A"), what="HQ to start storing")
    chain.hq.kill()
    emit_backlog(store_a, 2000)
    chain.hq.start()
    chain.synced()
    seqs = [seq for seq, _ in hq_events(chain.hq_db, "A")]
    assert seqs == list(range(1, len(store_events(store_a)) + 1))


def test_hq_on_a_new_database_gets_every_event_again_and_its_broadcasts_are_applied(chain, request):
    """HQ's database replaced (lost, or a fresh install): a new epoch, hq_seq from 1 again."""
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    first = register_and_top_up(store_a, 5_000)
    wait_until(lambda: balances_at(store_b, first.id)[0] == 5_000, what="the first member at B")
    chain.synced()
    applied_before = applied_at(store_b)

    chain.hq.stop()
    new_dsn = request.getfixturevalue("postgres_server").new_database() if chain.hq_db.dsn else None
    chain.hq_db = HQDatabase(chain.tmp_path / "new-hq", new_dsn)
    chain.hq = hq_process(chain.hq_db, chain.broker).start()
    wait_until(lambda: ready(chain.hq), what="the new HQ to subscribe")
    second = register_and_top_up(store_a, 7_000)
    wait_until(lambda: balances_at(store_b, second.id)[0] == 7_000, what="the member joined after the change, at B")
    chain.synced()  # the new HQ holds every event of both stores from seq 1, and both know it
    assert applied_at(store_b) == applied_before + 2  # the new member and its top-up; the rest once only
    assert chain.hq_db.rows("SELECT COUNT(*) FROM ledger_entry") == [(2,)]
    assert balances_at(store_b, first.id)[0] == 5_000
    assert "Traceback" not in chain.syncs["A"].log() + chain.syncs["B"].log() + chain.hq.log()


def hq_cli(chain, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*STOREEDGE, "hq", *args, *chain.hq_db.options], capture_output=True, text=True,
                          timeout=60)


def test_prices_pushed_from_a_csv_and_a_command_reach_the_stores(chain, tmp_path):
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    prices = tmp_path / "prices.csv"
    prices.write_text("sku,name,price,barcodes\nHQ-TEA,总部乌龙茶,450,6900000000014\n", encoding="utf-8")
    pushed = hq_cli(chain, "push-catalog", str(prices))
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout) == {"products": 1, "errors": []}
    for store in (store_a, store_b):
        wait_until(lambda: price_at(store, "HQ-TEA") == 450, what=f"the pushed price at {store.config.store.id}")

    command_id = hq_cli(chain, "command", "B", "status").stdout.strip()
    reply = wait_until(lambda: chain.hq_db.rows("SELECT reply FROM command WHERE id = ? AND reply IS NOT NULL",
                                       (command_id,)), what="store B's reply")
    answer = json.loads(reply[0][0])
    assert answer["ok"] and answer["result"]["store_id"] == "B" and "outbox_depth" in answer["result"]
    telemetry = wait_until(lambda: chain.hq_db.rows("SELECT telemetry FROM store_state WHERE store_id = 'A' "
                                                         "AND telemetry IS NOT NULL"), what="store A's telemetry")
    assert {"outbox_depth", "oldest_unacked_age_seconds", "disk", "uptime_seconds", "hq_seq"} <= set(
        json.loads(telemetry[0][0]))


def test_a_command_the_broker_could_not_deliver_is_sent_again_until_answered_once(chain):
    """A command to a store the broker has no session for is dropped by the broker: HQ publishes it again."""
    chain.hq.stop()
    chain.hq = hq_process(chain.hq_db, chain.broker, instance="2", options=("--command-resend-seconds", "1")).start()
    wait_until(lambda: ready(chain.hq), what="HQ to subscribe again")
    command_id = hq_cli(chain, "command", "C", "status").stdout.strip()
    wait_until(lambda: chain.hq_db.rows("SELECT 1 FROM command WHERE id = ? AND published", (command_id,)),
               what="the broker to take the command (for nobody: store C has never connected)")
    store_c = chain.add_store("C")
    reply = wait_until(lambda: chain.hq_db.rows("SELECT reply FROM command WHERE id = ? AND reply IS NOT NULL",
                                                (command_id,)), what="store C's reply to the command sent again")
    assert json.loads(reply[0][0])["result"]["store_id"] == "C"
    assert "publishing it again" in chain.hq.log()
    with sqlite3.connect(store_c.db.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sync_command WHERE id = ?", (command_id,)).fetchone() == (1,)


def price_at(store, sku: str) -> int | None:
    with sqlite3.connect(store.db.path) as conn:
        row = conn.execute("SELECT price FROM product WHERE sku = ?", (sku,)).fetchone()
    return row[0] if row else None


def test_a_store_stopped_says_offline_and_back_online(chain):
    chain.add_store("A")
    chain.synced()
    state = lambda: chain.hq_db.rows("SELECT state FROM store_state WHERE store_id = 'A'")  # noqa: E731
    chain.syncs["A"].stop()
    wait_until(lambda: state() == [("offline",)], what="HQ to see store A offline")
    chain.syncs["A"].start()
    wait_until(lambda: state() == [("online",)], what="HQ to see store A online again")


def test_duplicated_and_reordered_deliveries_change_nothing_at_hq_or_at_the_store(chain):
    """A stray client replays a store's events backwards and HQ's broadcasts out of order, twice."""
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    member = register_and_top_up(store_a, 12_000)
    wait_until(lambda: balances_at(store_b, member.id)[0] == 12_000, what="the member at B")
    chain.synced()
    broadcasts = chain.hq_db.rows("SELECT hq_seq, events FROM broadcast ORDER BY hq_seq")
    activate(store_a)
    outbox = Outbox(store_a, "A")
    batches = [outbox.batch(seq, 10)[1] for seq in range(1, outbox.last_seq() + 1, 10)]
    applied_before = applied_at(store_b)

    replay = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="replayer", protocol=mqtt.MQTTv5)
    replay.connect("127.0.0.1", chain.broker.port)
    replay.loop_start()
    topics = StoreTopics(CHAIN, "A")
    try:
        for _ in range(2):
            for payload in reversed(batches):
                replay.publish(topics.events, payload, qos=1).wait_for_publish(timeout=10)
            for hq_seq, events in reversed(broadcasts):
                replay.publish(topics.broadcast, f'{{"hq_seq":{hq_seq},"events":{events}}}', qos=1) \
                    .wait_for_publish(timeout=10)
    finally:
        replay.disconnect()
        replay.loop_stop()
    register_and_top_up(store_a, 1_000)  # a new fact after the replay still flows
    chain.synced()
    wait_until(lambda: applied_at(store_b) > applied_before, what="the new member at B")
    assert applied_at(store_b) == applied_before + 2  # the new member and its one top-up entry, nothing else
    assert len(chain.hq_db.rows("SELECT id FROM ledger_entry")) == 2
    assert balances_at(store_b, member.id)[0] == 12_000


def applied_at(store) -> int:
    with sqlite3.connect(store.db.path) as conn:
        return conn.execute("SELECT COUNT(*) FROM sync_applied").fetchone()[0]


def test_store_and_hq_sync_over_tls_with_client_certificates(tmp_path, demo_template):
    certs = make_certificates(tmp_path / "tls", ("A", "hq"))
    broker = Broker(tmp_path / "broker", access=[
        f"cafile {certs / 'ca.crt'}", f"certfile {certs / 'broker.crt'}", f"keyfile {certs / 'broker.key'}",
        "require_certificate true", "use_identity_as_username true"]).start()
    tls_url = f"mqtts://127.0.0.1:{broker.port}"
    hq_db = HQDatabase(tmp_path / "hq")
    hq = hq_process(hq_db, broker, options=("--broker", tls_url, "--ca-file", str(certs / "ca.crt"),
                                             "--cert-file", str(certs / "hq.crt"),
                                             "--key-file", str(certs / "hq.key"))).start()
    config = store_config("A", broker, hq={"broker": tls_url, "ca_file": str(certs / "ca.crt"),
                                           "cert_file": str(certs / "A.crt"), "key_file": str(certs / "A.key")})
    store = copied_store(demo_template, tmp_path / "A", config)
    sync = sync_process(tmp_path / "A", write_toml(tmp_path / "A.toml", config))
    try:
        wait_until(lambda: ready(hq), what="HQ to subscribe over TLS")
        sync.start()
        wait_until(lambda: all_synced(hq_db, store), what="store A's events at HQ over TLS")
    finally:
        sync.stop()
        hq.stop()
        broker.stop()
        store.db.close()


def test_two_hq_instances_share_the_load_and_store_each_event_once(chain):
    second = hq_process(chain.hq_db, chain.broker, instance="2").start()
    try:
        wait_until(lambda: ready(second), what="the second HQ instance to subscribe")
        store_a, store_b = chain.add_store("A"), chain.add_store("B")
        emit_backlog(store_a, 3000)
        emit_backlog(store_b, 3000)
        member = register_and_top_up(store_a, 6_600)
        chain.synced()
        wait_until(lambda: balances_at(store_b, member.id)[0] == 6_600, what="the member at B")
        stored = chain.hq_db.rows("SELECT COUNT(*) FROM store_event")
        assert stored == [(len(store_events(store_a)) + len(store_events(store_b)),)]
        assert "Traceback" not in chain.hq.log() + second.log()
    finally:
        second.stop()
