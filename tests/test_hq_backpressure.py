"""HQ's back-pressure over a real Mosquitto: a message is acked to the broker only once HQ is done with it, and
the broker sends HQ at most its receive maximum unacked, so HQ holds no more than that while its PostgreSQL
(the real server the tests start) is away; the broker keeps the rest, and what HQ held when it died is sent
again and stored once.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import SyncSection, parse_config
from edge.hq.models import open_hq_database
from edge.hq.service import HQService
from edge.sync.topics import StoreTopics
from tests.conftest import copied_store
from tests.mqtt_helpers import (CHAIN, Broker, HQDatabase, acked_upto, all_synced, hq_events, hq_process, ready,
                                store_config, store_events, sync_process, wait_until, write_toml)
from tests.postgres_helpers import postgres_server  # noqa: F401 (the fixture: the session's PostgreSQL)
from tests.test_sync_mqtt import emit_backlog

RECEIVE_MAXIMUM = 8
RESENT = "sending from the first unacked event again"  # the store's log, when its ack timeout runs out


class Deliveries:
    """Counts the QoS 1 messages HQ takes in from its paho client and the acks it sends back, on the real
    client: the most ever held unacked at once is exact, not sampled."""

    def __init__(self, service: HQService):
        self.lock = threading.Lock()
        self.delivered = self.acked = self.peak = 0
        on_message, ack = service.client.on_message, service.client.ack

        def counted_message(client, userdata, message):
            on_message(client, userdata, message)  # returns once HQ has taken the message in
            if message.qos == 1:
                with self.lock:
                    self.delivered += 1
                    self.peak = max(self.peak, self.delivered - self.acked)

        def counted_ack(mid, qos):
            with self.lock:
                self.acked += 1
            return ack(mid, qos)

        service.client.on_message = counted_message
        service.client.ack = counted_ack


def checksum(rows) -> str:
    """(seq, id, type, at, data as JSON text) rows, the data compared parsed: one digest for a list of events."""
    canonical = [(seq, event_id, kind, at, json.loads(data)) for seq, event_id, kind, at, data in rows]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def stored_at_store(store) -> list[tuple]:
    with sqlite3.connect(store.db.path) as conn:
        return conn.execute("SELECT seq, id, type, at, data FROM outbox_event ORDER BY seq").fetchall()


def stored_at_hq(hq_db: HQDatabase, store_id: str) -> list[tuple]:
    return hq_db.rows("SELECT seq, id, type, at, data FROM store_event WHERE store_id = ? ORDER BY seq",
                      (store_id,))


def test_hq_holds_at_most_its_receive_maximum_while_its_database_is_away_then_stores_everything_once(
        tmp_path, demo_template, postgres_server):  # noqa: F811 (postgres_server: the fixture imported)
    broker = Broker(tmp_path / "broker").start()
    dsn = postgres_server.new_database()
    hq_db = HQDatabase(tmp_path / "hq", dsn)
    db = open_hq_database(dsn, hq_db.folder)
    subscribed = threading.Event()
    section = parse_config({"hq": {"broker": broker.url, "receive_maximum": RECEIVE_MAXIMUM}}).hq
    service = HQService(section, CHAIN, "1", pace=SyncSection(reconnect_max_seconds=1), on_ready=subscribed.set)
    deliveries = Deliveries(service)
    stop = threading.Event()
    hq_thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    hq_thread.start()
    # the store keeps more batches in flight than HQ's receive maximum, and sends them again every 3 s unacked
    config = store_config("A", broker, batch_size=20, max_batches_in_flight=30)
    store = copied_store(demo_template, tmp_path / "A", config)
    sync = sync_process(tmp_path / "A", write_toml(tmp_path / "A.toml", config))
    try:
        wait_until(subscribed.is_set, what="HQ to subscribe")
        sync.start()
        emit_backlog(store, 200)
        wait_until(lambda: all_synced(hq_db, store), what="the first events at HQ")

        postgres_server.shut_down()
        wait_until(lambda: service.reconnect_at is not None, what="HQ to find its database gone")
        with deliveries.lock:
            delivered_before = deliveries.delivered
        acked_before, resent_before = acked_upto(store), sync.log().count(RESENT)
        emit_backlog(store, 2000)  # 100 batches
        wait_until(lambda: service.unacked() == RECEIVE_MAXIMUM, what="HQ to hold as many as it asked for")
        wait_until(lambda: sync.log().count(RESENT) > resent_before,
                   what="the store to send its batches again (HQ has acked none)")
        with deliveries.lock:
            assert deliveries.delivered - delivered_before == RECEIVE_MAXIMUM  # the broker keeps the rest
        assert service.unacked() == RECEIVE_MAXIMUM
        assert acked_upto(store) == acked_before  # nothing acked to the store without its commit

        postgres_server.restart()
        wait_until(lambda: all_synced(hq_db, store), timeout=120, what="HQ to store and ack every event")
        events = stored_at_store(store)
        assert len(events) > 2200
        assert hq_db.rows("SELECT COUNT(*), COUNT(DISTINCT id) FROM store_event") == [(len(events), len(events))]
        assert checksum(stored_at_hq(hq_db, "A")) == checksum(events)
        with deliveries.lock:
            assert deliveries.delivered - delivered_before >= 100  # every batch went through HQ …
            assert deliveries.peak <= RECEIVE_MAXIMUM  # … never more than this many held unacked at once
        assert "Traceback" not in sync.log()
    finally:
        stop.set()
        hq_thread.join(timeout=30)
        sync.stop()
        broker.stop()
        store.db.close()
        db.close()


def events_batch(store_id: str, count: int) -> tuple[bytes, list[tuple[int, str]]]:
    """One events-topic payload as a store sends it, and its (seq, id) list."""
    events = [{"id": str(uuid.uuid4()), "seq": seq, "type": "stock.movement", "at": "2026-12-07T10:00:00.000Z",
               "data": {"id": f"movement-{seq}", "sku": "KILL", "qty": 1, "reason": "adjust"}}
              for seq in range(1, count + 1)]
    payload = json.dumps({"store_id": store_id, "events": events}).encode()
    return payload, [(event["seq"], event["id"]) for event in events]


def publisher(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def held_unacked(log: str) -> int:
    """What HQ last said it holds unacked while its database is away."""
    found = re.findall(r"messages held unacked: (\d+)", log)
    return int(found[-1]) if found else 0


def tear_down(client, hq, broker) -> None:
    """The test's publisher (if it got one), HQ's process and the broker, stopped in that order."""
    if client is not None:
        client.disconnect()
        client.loop_stop()
    hq.stop()
    broker.stop()


def test_a_batch_hq_held_uncommitted_when_killed_is_sent_again_by_the_broker_and_stored_once(
        tmp_path, postgres_server):  # noqa: F811 (postgres_server: the fixture imported)
    broker = Broker(tmp_path / "broker").start()
    hq_db = HQDatabase(tmp_path / "hq", postgres_server.new_database())
    hq = hq_process(hq_db, broker).start()
    client = None
    try:
        wait_until(lambda: ready(hq), what="HQ to subscribe")
        postgres_server.shut_down()
        wait_until(lambda: "database connection is lost" in hq.log(), what="HQ to find its database gone")
        # no store behind it: only the broker can deliver this batch again
        payload, expected = events_batch("K", 5)
        client = publisher(broker)
        client.publish(StoreTopics(CHAIN, "K").events, payload, qos=1).wait_for_publish(timeout=10)
        wait_until(lambda: held_unacked(hq.log()) == 1, what="HQ to hold the batch unacked")
        hq.kill()
        postgres_server.restart()
        hq.start()  # the same instance: the broker's session for it, with the batch never acked
        wait_until(lambda: hq_events(hq_db, "K") == expected, what="the batch stored after HQ's restart")
        assert hq_db.rows("SELECT COUNT(*) FROM store_event") == [(5,)]
        assert hq_db.rows("SELECT acked_upto FROM store_state WHERE store_id = 'K'") == [(5,)]
        assert "Traceback" not in hq.log()
    finally:
        tear_down(client, hq, broker)


def test_malformed_messages_are_acked_so_they_never_block_the_receive_maximum(tmp_path):
    broker = Broker(tmp_path / "broker").start()
    hq_db = HQDatabase(tmp_path / "hq")
    hq = hq_process(hq_db, broker, options=("--receive-maximum", "2")).start()
    client, acks = None, []
    try:
        wait_until(lambda: ready(hq), what="HQ to subscribe")
        client = publisher(broker)
        topics = StoreTopics(CHAIN, "K")
        client.on_message = lambda c, u, message: acks.append(json.loads(message.payload)["upto_seq"])
        client.subscribe(topics.ack, qos=1)
        for topic, bad in ((topics.events, b"not json"), (topics.events, b'{"store_id": "K"}'),
                           (topics.status, b"[]"), (topics.resend, b'{"from_hq_seq": "x"}'),
                           (topics.events, b'{"store_id": "other", "events": []}')):
            client.publish(topic, bad, qos=1).wait_for_publish(timeout=10)
        payload, expected = events_batch("K", 3)
        client.publish(topics.events, payload, qos=1).wait_for_publish(timeout=10)
        wait_until(lambda: hq_events(hq_db, "K") == expected, what="the good batch after five bad messages")
        wait_until(lambda: 3 in acks, what="HQ's ack to the store, after the commit")
        assert hq.log().count("malformed") >= 4
        assert "Traceback" not in hq.log()
    finally:
        tear_down(client, hq, broker)


@pytest.mark.parametrize("value", ["0", "70000"])
def test_a_receive_maximum_out_of_range_is_refused_naming_it(tmp_path, value):
    broker = Broker(tmp_path / "broker")
    hq = hq_process(HQDatabase(tmp_path / "hq"), broker, options=("--receive-maximum", value)).start()
    assert hq.process.wait(timeout=60) != 0
    assert "hq.receive_maximum" in hq.log()
