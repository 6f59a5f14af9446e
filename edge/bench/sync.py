"""`storeedge bench sync`: outbox → HQ with acks, against raw paho QoS 1 publishing the same bytes.

A throw-away Mosquitto (a child process on 127.0.0.1) and the reference HQ
(`storeedge hq run`, its own process) are started; the store's sync service
runs in this process. The events are copies of a real demo sale.completed
(new ids), so the bytes are what a shop sends. Measured, in one run:

1. the raw floor: one paho client publishing the very payloads the sync
   service sends (same batch size) at QoS 1 to a topic HQ does not read,
   until every PUBACK is in;
2. the sync service draining the same number of events to HQ, until HQ's
   acks cover them all (HQ has stored them durably in SQLite);
3. the drain of a large backlog (default 100k events) built while offline.

Wall-clock rates depend on whatever else the machine runs, so the CPU time
each side spent per 1,000 events is reported too: the store's (this
process: the sync loop and paho's thread) and HQ's (its process, from
/proc). That says where the time goes, and compares runs on a busy machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.app import StoreEdge
from edge.bench.broker import Broker, wait_until
from edge.config import parse_config
from edge.demo.seed import seed
from edge.hq.cli import READY
from edge.outbox.events import OutboxEvent
from edge.sync.outbox import Outbox
from edge.sync.service import SyncService

CHAIN = "bench"
BUDGET_EVENTS_PER_SECOND = 2000
BUDGET_RATIO = 0.5
BUDGET_DRAIN_SECONDS = 60


def _sale_event_data(folder: Path) -> dict:
    """The data of one real sale.completed from a demo store."""
    from edge.staff.service import Caller
    from edge.staff.models import Staff

    store = StoreEdge(parse_config({}), folder)
    store.db.migrate()
    seed(store)
    device, _ = store.staff.add_device("bench", "terminal", 1)
    caller = Caller(device=device, staff=Staff.get(Staff.role == "cashier"))
    store.shifts.open(caller, 10_000)
    sale = store.sales.open(caller)
    for barcode in ("6904321000012", "6904321000029"):
        store.sales.add_line(sale.id, caller, barcode=barcode, qty=2)
    total = store.sales.get(sale.id).total
    store.sales.complete(sale.id, caller, [{"method": "cash", "amount": total}])
    data = json.loads(OutboxEvent.select().where(OutboxEvent.type == "sale.completed").get().data)
    store.db.close()
    return data


def _fill(store, data: dict, count: int) -> None:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    db = store.db.peewee
    with store.db.transaction():
        first = db.execute_sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox_event").fetchone()[0]
        db.cursor().executemany(
            "INSERT INTO outbox_event (seq, id, type, at, data) VALUES (?, ?, 'sale.completed', ?, ?)",
            [(first + n, str(uuid.uuid4()), "2026-11-23T00:00:00.000+00:00", text) for n in range(count)])


def _raw_publish(broker: Broker, payloads: list[bytes]) -> float:
    """Seconds for one paho client to publish the payloads at QoS 1 and have every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(20)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        start = time.perf_counter()
        infos = [client.publish(f"storeedge/{CHAIN}/bench/raw", payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(timeout=60)
        return time.perf_counter() - start
    finally:
        client.disconnect()
        client.loop_stop()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CPU:
    """CPU seconds spent by this process and by HQ's between start() and stop()."""

    def __init__(self, hq_pid: int):
        self.hq_pid = hq_pid

    def start(self) -> "CPU":
        self.store0, self.hq0 = time.process_time(), _cpu_seconds(self.hq_pid)
        return self

    def stop(self) -> tuple[float, float]:
        return time.process_time() - self.store0, _cpu_seconds(self.hq_pid) - self.hq0


def _drain(store, until_seq: int, timeout: float) -> float:
    """Run the sync service until HQ has acked ``until_seq``; returns the seconds it took."""
    stop = threading.Event()
    service = SyncService(store)
    thread = threading.Thread(target=service.run, args=(stop,), name="sync")
    outbox = Outbox(store, store.config.store.id)
    start = time.perf_counter()
    thread.start()
    try:
        # the database is read only once nothing is in flight: read 100 times a second (140 µs each) it cost
        # this process, whose CPU is reported as the store's, about a tenth of what the sync service spent
        wait_until(lambda: not service.window.batches and outbox.acked_upto() >= until_seq, timeout=timeout,
                   interval=0.01, what=f"HQ to ack seq {until_seq}")
        return time.perf_counter() - start
    finally:
        stop.set()
        thread.join(timeout=30)


def run(events: int, backlog: int, echo=print) -> None:
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-sync-") as tmp:
        tmp = Path(tmp)
        data = _sale_event_data(tmp / "demo")
        broker = Broker(tmp / "broker").start()
        hq = subprocess.Popen([sys.executable, "-m", "edge.cli", "hq", "run", "--hq-data", str(tmp / "hq"),
                               "--broker", broker.url, "--chain", CHAIN, "--instance", "bench"],
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "hq.log", "wb"))
        try:
            wait_until(lambda: READY in (tmp / "hq.log").read_text(), timeout=30, what="HQ to subscribe")
            config = parse_config({"store": {"id": "S001", "chain_id": CHAIN}, "hq": {"broker": broker.url}})
            store = StoreEdge(config, tmp / "store")
            store.db.migrate()
            store.record_config_change()
            _fill(store, data, events)
            outbox = Outbox(store, "S001")
            batch_size = config.sync.batch_size
            payloads = [outbox.batch(seq, batch_size)[1] for seq in range(1, events + 1, batch_size)]
            size = sum(len(p) for p in payloads) / events
            raw = _raw_publish(broker, payloads)
            cpu = CPU(hq.pid).start()
            ours = _drain(store, outbox.last_seq(), timeout=300)
            ours_cpu = cpu.stop()
            _fill(store, data, backlog)
            cpu.start()
            drained = _drain(store, outbox.last_seq(), timeout=600)
            drained_cpu = cpu.stop()
            store.db.close()
        finally:
            hq.terminate()
            hq.wait(timeout=30)
            broker.stop()
        raw_rate, our_rate = events / raw, events / ours
        echo(f"sync benchmark: {events} sale.completed events ({size:.0f} bytes each in batches of {batch_size}), "
             "Mosquitto and HQ (SQLite) on 127.0.0.1")
        echo(f"raw paho, QoS 1, same payloads      : {raw_rate:10.0f} events/s ({raw:.2f} s)")
        echo(f"outbox → HQ, until acked by HQ      : {our_rate:10.0f} events/s ({ours:.2f} s) "
             f"= {our_rate / raw_rate:.2f} of raw")
        echo(f"backlog of {backlog} drained          : {drained:.1f} s ({backlog / drained:.0f} events/s)")
        for name, count, (store_cpu, hq_cpu) in (("rate run", events, ours_cpu), ("backlog", backlog, drained_cpu)):
            echo(f"CPU per 1000 events, {name:8}     : store {store_cpu / count * 1000:.3f} s, "
                 f"HQ {hq_cpu / count * 1000:.3f} s")
        verdicts = [
            (our_rate >= BUDGET_EVENTS_PER_SECOND, f"{our_rate:.0f} events/s against {BUDGET_EVENTS_PER_SECOND}"),
            (our_rate / raw_rate >= BUDGET_RATIO, f"{our_rate / raw_rate:.2f} of raw against {BUDGET_RATIO}"),
            (drained < BUDGET_DRAIN_SECONDS, f"backlog drained in {drained:.1f} s against {BUDGET_DRAIN_SECONDS} s"),
        ]
        for within, text in verdicts:
            echo(f"{text}: {'within budget' if within else 'OVER budget'}")
