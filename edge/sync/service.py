"""`storeedge sync`: the store's side of the MQTT contract, one loop in one thread.

paho's network thread only puts what arrives on a queue; this loop does all
the database work: publish the outbox in batches (a window of batches in
flight, rewound to the first unacked event after a reconnect or when HQ's
ack is late), mark events acked when HQ says so, apply broadcasts in hq_seq
order (asking HQ to resend after a gap), answer commands, send telemetry.

HQ's acks and broadcasts carry its epoch, the id of its database. Another
epoch than the one this store knows means a new HQ database (hq_seq from 1
again, none of our events): the store forgets its hq_seq and its acks and
sends everything again. Messages from an epoch it has left are stale and
ignored.
"""

from __future__ import annotations

import json
import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge import __version__
from edge.db import utc_now
from edge.hardware.models import DeviceState
from edge.sync import connection
from edge.sync.apply import Applier
from edge.store_meta import Meta
from edge.sync.commands import Commands
from edge.sync.floor import HEARD_AT_KEY
from edge.sync.outbox import Outbox
from edge.sync.topics import StoreTopics, status_payload

log = logging.getLogger("storeedge.sync")

POLL_SECONDS = 0.05
RESEND_PATIENCE_SECONDS = 5.0
EPOCH_KEY = "sync.hq_epoch"
LEFT_EPOCHS_KEY = "sync.hq_epochs_left"
HEARD_WRITE_SECONDS = 5.0  # one resend request at a time, unless this passes with no progress


@dataclass
class InFlight:
    last_seq: int
    sent_at: float


@dataclass
class Window:
    """The batches published and not yet acked by HQ."""

    next_seq: int = 1
    batches: list[InFlight] = field(default_factory=list)

    def rewind(self, acked_upto: int) -> None:
        self.next_seq = acked_upto + 1
        self.batches.clear()

    def acked(self, upto: int) -> None:
        self.batches = [b for b in self.batches if b.last_seq > upto]
        self.next_seq = max(self.next_seq, upto + 1)


class SyncService:
    def __init__(self, app, clock=time.monotonic):
        if app.config.hq is None:
            raise ValueError("no [hq] section in the config: this store works alone")
        self.app = app
        self.hq = app.config.hq
        self.pace = app.config.sync
        self.clock = clock
        self.topics = StoreTopics(app.config.store.chain_id, app.config.store.id)
        self.outbox = Outbox(app, app.config.store.id)
        self.applier = Applier(app)
        self.commands = Commands(app, self.outbox)
        self.inbox: queue.Queue = queue.Queue()
        self.window = Window()
        self.connected = False
        self.started = clock()
        self.next_telemetry = 0.0
        self.resend_asked: tuple[int, float] | None = None
        self.heard_written = -HEARD_WRITE_SECONDS
        client_id = f"storeedge-{app.config.store.chain_id}-{app.config.store.id}"
        self.client = connection.make_client(self.hq, self.pace, client_id,
                                             will=(self.topics.status, status_payload("offline", __version__)))
        self.client.on_connect = lambda c, u, flags, reason, props: self.inbox.put(("connected", reason))
        self.client.on_disconnect = lambda c, u, flags, reason, props: self.inbox.put(("disconnected", reason))
        self.client.on_message = lambda c, u, message: self.inbox.put(("message", message.topic, message.payload))

    # -- running ---------------------------------------------------------------

    def run(self, stop: threading.Event, alive: Callable[[], object] = lambda: None) -> None:
        """Until `stop`; `alive` is called each time round (the systemd watchdog's ping)."""
        connection.start(self.client, self.hq, self.pace)
        try:
            while not stop.is_set():
                self.step()
                alive()
        finally:
            self.close()

    def close(self) -> None:
        if self.connected:
            self.client.publish(self.topics.status, status_payload("offline", __version__), qos=1,
                                retain=True).wait_for_publish(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()

    def step(self) -> None:
        connection.drain(self.inbox, self._handle, POLL_SECONDS)
        if self.connected:
            self._late_acks()
            self._publish_more()
            self._telemetry()

    def _handle(self, item: tuple) -> None:
        kind = item[0]
        if kind == "connected":
            if not connection.accepted(item[1]):
                return
            self._on_connected()
        elif kind == "disconnected":
            self.connected = False
            log.info("broker connection lost (%s); paho reconnects with back-off", item[1])
        else:
            self._on_message(item[1], item[2])

    def _on_connected(self) -> None:
        self.connected = True
        self.client.subscribe([(self.topics.ack, 1), (self.topics.commands, 1), (self.topics.broadcast, 1),
                               (self.topics.resent, 1)])
        self.client.publish(self.topics.status, status_payload("online", __version__), qos=1, retain=True)
        self.window.rewind(self.outbox.acked_upto())  # whatever was in flight may be lost: send it again
        self.next_telemetry = 0.0
        self._ask_resend(self.applier.hq_seq() + 1, force=True)  # broadcasts missed while away

    # -- the outbox up -----------------------------------------------------------

    def _publish_more(self) -> None:
        batches = []
        next_seq = self.window.next_seq
        while len(self.window.batches) + len(batches) < self.pace.max_batches_in_flight:
            batch = self.outbox.batch(next_seq, self.pace.batch_size)
            if batch is None:
                break
            batches.append(batch)
            next_seq = batch[0] + 1
        if not batches:
            return
        # a sale is readable once committed, and on disk once its group commit's fsync is done: it leaves the
        # box only after, so HQ never holds an event a power cut took from the store
        self.app.db.flush()
        for last_seq, payload in batches:
            self.client.publish(self.topics.events, payload, qos=1)
            self.window.batches.append(InFlight(last_seq, self.clock()))
            self.window.next_seq = last_seq + 1

    def _late_acks(self) -> None:
        if self.window.batches and self.clock() - self.window.batches[0].sent_at > self.pace.ack_timeout_seconds:
            log.warning("HQ has not acked seq %d in %d s: sending from the first unacked event again",
                        self.window.batches[0].last_seq, self.pace.ack_timeout_seconds)
            self.window.rewind(self.outbox.acked_upto())

    def _telemetry(self) -> None:
        now = self.clock()
        if now < self.next_telemetry:
            return
        self.next_telemetry = now + self.pace.telemetry_seconds
        self.client.publish(self.topics.telemetry, json.dumps(self.figures()).encode(), qos=0)

    def figures(self) -> dict:
        disk = shutil.disk_usage(self.app.data_dir)
        return {"store_id": self.app.config.store.id, "version": __version__, "at": utc_now(),
                **self.outbox.figures(), "hq_seq": self.applier.hq_seq(), "hq_epoch": Meta.get_value(EPOCH_KEY),
                "disk": {"total_bytes": disk.total, "free_bytes": disk.free},
                "uptime_seconds": round(self.clock() - self.started, 1),
                "devices": self.device_states()}

    def device_states(self) -> list[dict]:
        """Each configured device with the last state the gateway reported (unknown before its first report)."""
        reported = {row.name: row for row in DeviceState.select()}
        return [{"name": d.name, "kind": d.kind, "lane": d.lane,
                 "state": reported[d.name].state if d.name in reported else "unknown",
                 "detail": reported[d.name].detail if d.name in reported else None,
                 "since": reported[d.name].updated_at if d.name in reported else None}
                for d in self.app.config.devices]

    # -- HQ down -------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.error("not JSON on %s: %r", topic, payload[:200])
            return
        try:
            self._dispatch(topic, message)
        except (KeyError, TypeError, ValueError) as error:  # a malformed message must not stop the store's sync
            log.error("malformed message on %s (%s): %r", topic, error, payload[:200])
        except Exception:  # noqa: BLE001 — nor one this store cannot apply: the outbox keeps going up, and
            # hq_seq stays put (telemetry shows it), so the broadcast is tried again after the next gap
            log.exception("could not apply a message on %s", topic)

    def _dispatch(self, topic: str, message: dict) -> None:
        from_hq = (self.topics.ack, self.topics.broadcast, self.topics.resent)
        if topic in from_hq and not self._same_epoch(message.get("epoch")):
            return
        if topic in from_hq:
            self._heard_from_hq()
        if topic == self.topics.ack:
            upto = self.outbox.ack(int(message["upto_seq"]))
            self.window.acked(upto)
        elif topic in (self.topics.broadcast, self.topics.resent):
            self._on_broadcast(message)
        elif topic == self.topics.commands:
            reply = self.commands.run(message)
            self.client.publish(self.topics.replies, json.dumps(reply, ensure_ascii=False).encode(), qos=1)
            if message.get("command") == "resend_events":
                self.window.rewind(self.outbox.acked_upto())

    def _same_epoch(self, epoch: str | None) -> bool:
        """Whether a message from HQ is to be handled; on a new epoch, start again with that HQ database."""
        known = Meta.get_value(EPOCH_KEY)
        if epoch is None or epoch == known:  # None: an HQ from before epochs
            return True
        left = json.loads(Meta.get_value(LEFT_EPOCHS_KEY) or "[]")
        if epoch in left:
            return False  # queued for us before HQ's database was replaced
        if known is None:  # the first word from HQ (or from an HQ upgraded to epochs): its database is ours
            with self.app.db.transaction():
                Meta.put(EPOCH_KEY, epoch)
            return True
        log.warning("HQ has a new database (epoch %s, was %s): sending every event again, broadcasts from 1",
                    epoch, known)
        self.outbox.resend_from(1)
        with self.app.db.transaction():
            Meta.put(LEFT_EPOCHS_KEY, json.dumps([*left, known]))
            Meta.put(EPOCH_KEY, epoch)
            self.applier.restart_hq_seq()
        self.window.rewind(0)
        self._ask_resend(1, force=True)
        return True

    def _heard_from_hq(self) -> None:
        """Remember HQ answered (the offline floor limit reads it), at most every few seconds."""
        now = self.clock()
        if now - self.heard_written < HEARD_WRITE_SECONDS:
            return
        self.heard_written = now
        with self.app.db.transaction(durable=False):
            Meta.put(HEARD_AT_KEY, utc_now())

    def _on_broadcast(self, message: dict) -> None:
        expected = self.applier.hq_seq() + 1
        hq_seq = message["hq_seq"]
        if hq_seq < expected:
            return  # applied already
        if hq_seq > expected:
            self._ask_resend(expected)
            return
        self.applier.apply_broadcast(message)
        self.resend_asked = None

    def _ask_resend(self, from_hq_seq: int, force: bool = False) -> None:
        now = self.clock()
        if not force and self.resend_asked and self.resend_asked[0] == from_hq_seq \
                and now - self.resend_asked[1] < RESEND_PATIENCE_SECONDS:
            return
        self.resend_asked = (from_hq_seq, now)
        self.client.publish(self.topics.resend, json.dumps({"from_hq_seq": from_hq_seq}).encode(), qos=1)
