"""`storeedge hq run`: the reference HQ's loop, one thread doing the database work.

It consumes the stores' events through an MQTT v5 shared subscription (so
several HQ instances share the load), stores the batches that arrived
together in one transaction (each in a savepoint), acks per store after the
commit, and publishes its own outbox: the broadcasts (numbered by hq_seq,
marked published once the broker has them) and the commands to single
stores. A command stays unanswered until the store's reply arrives, and is
published again every ``command_resend_seconds`` until then (a broker that
lost it, a store that was never connected): stores answer a repeated
command id with the reply they stored, so a resend never runs it twice. A store's resend request gets the broadcasts again, on that
store's own topic, and HQ's ack for it. Acks and broadcasts carry HQ's epoch
(its database's id), so a store notices a new HQ database and sends again.

A message is acknowledged to the broker (PUBACK, paho's manual acks) only
once HQ is done with it: a batch once the transaction storing it has
committed, any other message once handled, a malformed one once logged.
HQ asks the broker for at most ``receive_maximum`` unacked messages (MQTT v5
Receive Maximum) and takes no more in (paho's thread waits for room should a
broker send more), so that is all it ever holds: while its database is away
the broker keeps the rest. A message's id means something only on the
connection it came on: when that connection ends, the messages HQ holds
from it are let go unacked, and the broker sends them again on the next one
(persistent session, DUP set); storing a batch twice changes nothing.

A lost database connection (PostgreSQL restarted, the network to it gone)
does not end the process: the unit of work that failed is rolled back, the
connection is opened again with back-off, and the work is done again.
Nothing is lost (the batches stay waiting and unacked until their commit;
a message whose write failed is handled again) and nothing is applied twice
(storing a batch skips the event ids HQ holds, whatever the fate of the
commit that failed). QoS 0 messages (telemetry) arriving meanwhile are
dropped: the broker does not limit them, and the next one says the same.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import peewee

from edge.config import HQSection, SyncSection
from edge.db import utc_now
from edge.hq.batch import parse_batch
from edge.hq.ingest import flag, ingest
from edge.hq.models import Broadcast, Command, StoreState, epoch, hq_database, transaction
from edge.sync import connection
from edge.sync.topics import StoreTopics, broadcast, root, store_of

log = logging.getLogger("storeedge.hq")

POLL_SECONDS = 0.05
GROUP_COMMIT_BATCHES = 50  # batches stored in one transaction at most (each up to sync.batch_size events)
PUBLISH_CHUNK = 200  # broadcasts or commands published per turn of the loop, so acks are not held up
GROUP = "hq"
# peewee's wrappers of the driver's errors when the connection breaks (psycopg2's OperationalError on a server
# shutdown, InterfaceError on a connection already closed); told from other errors by the connection's state
DATABASE_ERRORS = (peewee.OperationalError, peewee.InterfaceError)
# what a message's content can make the database refuse (a NUL in a text on PostgreSQL, …): the message is
# refused, never retried (it would come back after each restart and stop HQ again)
REFUSED = (KeyError, TypeError, ValueError, OverflowError, peewee.IntegrityError, peewee.DataError)
# the same for a batch in its savepoint (an IntegrityError there is a seq clash, told apart): a seq beyond what
# the database holds is an OverflowError from SQLite's driver, a DataError from PostgreSQL
BATCH_REFUSED = (KeyError, TypeError, ValueError, OverflowError, peewee.DataError)
RECONNECT_FIRST_SECONDS, RECONNECT_MAX_SECONDS = 0.5, 10.0
ROOM_CHECK_SECONDS = 0.5  # paho's thread waiting for room looks this often whether HQ is stopping
COMMAND_RESEND_SECONDS = 60.0
COMMAND_RESEND_DAYS = 7  # an unanswered command older than this is given up (its row stays, reply empty)


@dataclass(slots=True, eq=False)
class Received:
    """A message from the broker, acknowledged to it once HQ is done with it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    link: int  # the connection it came on: its mid names it only there
    done: bool = False


class HQService:
    def __init__(self, hq: HQSection, chain_id: str, instance: str | None = None, pace: SyncSection | None = None,
                 on_ready=None, command_resend_seconds: float = COMMAND_RESEND_SECONDS):
        self.on_ready = on_ready  # called once subscribed: events published before that reach no HQ
        self.command_resend_seconds = command_resend_seconds
        self.commands_sent: dict[str, float] = {}  # command id -> when this instance last published it
        self.commands_checked_at = float("-inf")
        self.hq = hq
        self.pace = pace or SyncSection(reconnect_max_seconds=10)
        self.chain_id = chain_id
        self.inbox: queue.Queue = queue.Queue()
        self.connected = False
        self.pending: dict[int, tuple[str, object]] = {}  # paho mid -> (kind, key) until the broker has it
        self.confirmed: list[int] = []  # mids of our publishes the broker confirmed, to mark in the database
        # the broker's connections counted on paho's thread, where messages are stamped with it; the lock keeps
        # an ack from going out on a connection newer than its message's
        self.link, self.link_lock = 0, threading.Lock()
        self.in_hand: deque[Received] = deque()  # QoS 1 messages not acked yet, in the order they came
        # one permit per QoS 1 message HQ may hold; paho's thread waits for one before taking a message in, so
        # HQ holds no more than it asked for even from a broker that sends more (Mosquitto 2.0.11 does once
        # acks flow): that socket is left unread meanwhile, and TCP holds the broker back
        self.room = threading.BoundedSemaphore(hq.receive_maximum)
        self.received: deque[Received] = deque()  # messages taken in, to handle (in order)
        self.waiting: list[tuple[Received, str, dict, list[str]]] = []  # batches parsed, to store together
        self.resends: list[list] = []  # [store_id, next hq_seq, last hq_seq] still to send again
        self._epoch: str | None = None
        self.reconnect_at: float | None = None  # while the database is away: when to try it again
        self.reconnect_wait = RECONNECT_FIRST_SECONDS
        self.closing = False
        client_id = f"storeedge-hq-{chain_id}-{instance or uuid.uuid4().hex[:8]}"
        self.client = connection.make_client(hq, self.pace, client_id, manual_ack=True)
        self.client.on_connect = lambda c, u, flags, reason, props: self._new_link("connected", reason)
        self.client.on_disconnect = lambda c, u, flags, reason, props: self._new_link("disconnected", reason)
        self.client.on_message = lambda c, u, message: self._on_paho_message(message)
        self.client.on_publish = lambda c, u, mid, reason, props: self.inbox.put(("published", mid, self.link))
        self.client.on_subscribe = lambda c, u, mid, reasons, props: self.inbox.put(("subscribed", reasons))

    def _new_link(self, event: str, reason) -> None:
        """On paho's thread: a connection ended or began (both counted, whatever paho calls in between)."""
        with self.link_lock:
            self.link += 1
        self.inbox.put((event, reason))

    def _on_paho_message(self, message: mqtt.MQTTMessage) -> None:
        """On paho's thread: a message taken in, once HQ has room for it."""
        if message.qos > 0:
            while not self.room.acquire(timeout=ROOM_CHECK_SECONDS):
                if self.closing:
                    return  # unacked: the broker sends it again on the next connection
        self.inbox.put(("message", Received(message.topic, message.payload, message.mid, message.qos, self.link)))

    @property
    def epoch(self) -> str:
        if self._epoch is None:  # read once, after the database is open
            self._epoch = epoch()
        return self._epoch

    def _ack(self, store_id: str, upto: int) -> None:
        self.client.publish(StoreTopics(self.chain_id, store_id).ack,
                            json.dumps({"upto_seq": upto, "epoch": self.epoch}), qos=1)

    def _shared(self, leaf: str) -> str:
        return f"$share/{GROUP}/{root(self.chain_id)}/stores/+/{leaf}"

    def run(self, stop: threading.Event) -> None:
        connection.start(self.client, self.hq, self.pace)
        try:
            while not stop.is_set():
                self.step()
        finally:
            self.closing = True  # paho's thread may be waiting for room that will not come
            self.client.disconnect()
            self.client.loop_stop()

    def step(self) -> None:
        connection.drain(self.inbox, self._take, POLL_SECONDS)  # no database work: done while it is away too
        if self.reconnect_at is not None and not self._reconnect():
            return
        try:
            self._mark_published()
            self._handle_received()
            self._ingest_waiting()
            if self.connected:
                self._publish_broadcasts()
                self._publish_resends()
                self._publish_commands()
        except DATABASE_ERRORS as error:
            if hq_database.obj.is_connection_usable():
                raise  # not a lost connection: a fault of ours, for systemd's restart and the log
            log.error("HQ's database connection is lost (%s); opening it again, the work waits", error)
            self.reconnect_at = time.monotonic()

    def unacked(self) -> int:
        """The QoS 1 messages HQ holds from the broker and has not acked: at most hq.receive_maximum."""
        return len(self.in_hand)

    def _reconnect(self) -> bool:
        """One attempt at the database, when it is due; back-off doubling up to RECONNECT_MAX_SECONDS."""
        if time.monotonic() < self.reconnect_at:
            return False
        db = hq_database.obj
        try:
            db.close()  # the broken connection: its transaction was rolled back (or died with it)
        except DATABASE_ERRORS:
            pass  # closing a connection the server has dropped may fail; peewee forgets it either way
        try:
            db.connect()
        except DATABASE_ERRORS as error:
            self.reconnect_at = time.monotonic() + self.reconnect_wait
            log.warning("HQ's database is still away (%s); trying again in %.1f s (messages held unacked: %d, "
                        "receive maximum %d)", error, self.reconnect_wait, self.unacked(), self.hq.receive_maximum)
            self.reconnect_wait = min(self.reconnect_wait * 2, RECONNECT_MAX_SECONDS)
            return False
        log.info("HQ's database is back: carrying on (%d batches waiting, messages held unacked: %d)",
                 len(self.waiting), self.unacked())
        self.reconnect_at, self.reconnect_wait = None, RECONNECT_FIRST_SECONDS
        return True

    # -- taking messages in, acking them once done ---------------------------------------

    def _take(self, item: tuple) -> None:
        kind = item[0]
        if kind == "connected":
            self._let_go_of_old_links()
            if not connection.accepted(item[1]):
                return
            self.connected = True
            self.pending.clear()  # not confirmed: published again
            self.client.subscribe([(self._shared(leaf), 1) for leaf in
                                   ("events", "resend", "replies", "status", "telemetry")])
        elif kind == "disconnected":
            self.connected = False
            self._let_go_of_old_links()
        elif kind == "subscribed":
            if self.on_ready is not None:
                self.on_ready()
        elif kind == "published":
            if item[2] == self.link:  # a mid of an older connection may be one of this one's now
                self.confirmed.append(item[1])
        else:
            received = item[1]
            if received.qos == 0:
                if self.reconnect_at is None:  # while the database is away, not held: nothing bounds them
                    self.received.append(received)
                return
            self.in_hand.append(received)
            self.received.append(received)

    def _let_go_of_old_links(self) -> None:
        """The messages of a connection that has ended can no longer be acked: the broker sends them again."""
        old = sum(1 for received in self.in_hand if received.link != self.link)
        if old:
            log.info("broker connection changed: %d messages not done are left to the broker to send again", old)
        for _ in range(old):
            self.room.release()
        self.in_hand = deque(r for r in self.in_hand if r.link == self.link)
        self.received = deque(r for r in self.received if r.link == self.link)
        self.waiting = [batch for batch in self.waiting if batch[0].link == self.link]

    def _done(self, received: Received) -> None:
        """Acks, in the order they came (as MQTT asks), the messages done up to the first one not done yet."""
        received.done = True
        while self.in_hand and self.in_hand[0].done:
            done = self.in_hand.popleft()
            with self.link_lock:
                if done.link == self.link:
                    self.client.ack(done.mid, done.qos)
            self.room.release()  # after the ack: the broker's next message finds room waiting for it

    def _mark_published(self) -> None:
        while self.confirmed:
            self._confirmed(self.confirmed[0])  # stays first if the database fails
            self.confirmed.pop(0)

    def _handle_received(self) -> None:
        while self.received:
            self._handle(self.received[0])  # stays first if the database fails: handled again
            self.received.popleft()
            if len(self.waiting) >= GROUP_COMMIT_BATCHES:
                self._ingest_waiting()

    def _handle(self, received: Received) -> None:
        try:
            store_id, leaf = store_of(received.topic), received.topic.rsplit("/", 1)[1]
            if leaf == "events":
                self.waiting.append((received, store_id, *parse_batch(received.payload)))
                return  # done once committed
            self._on_message(store_id, leaf, json.loads(received.payload))
        except REFUSED as error:
            log.error("malformed message on %s (%s): %r", received.topic, error, received.payload[:200])
        self._done(received)

    def _on_message(self, store_id: str, leaf: str, message) -> None:
        if leaf == "resend":
            last = Broadcast.select(peewee.fn.MAX(Broadcast.hq_seq)).scalar() or 0
            start = int(message["from_hq_seq"])
            if start <= last:
                self.resends.append([store_id, start, last])
            # where HQ stands for this store, with the epoch: a store that knew another HQ database learns
            # here, even with nothing to resend and nothing of its own unacked, that it must send again
            state = StoreState.get_or_none(StoreState.store_id == store_id)
            self._ack(store_id, state.acked_upto if state else 0)
        elif leaf == "replies":
            command_id = message["id"]
            if not isinstance(command_id, str):
                raise ValueError("a reply's id is a command id (text)")
            Command.update(reply=json.dumps(message, ensure_ascii=False), replied_at=utc_now()).where(
                Command.id == command_id).execute()
            self.commands_sent.pop(command_id, None)
        elif leaf == "status":
            values = {"state": message["state"], "version": message.get("version"), "status_at": message.get("at")}
            if not all(value is None or isinstance(value, str) for value in values.values()):
                raise ValueError("a status's state, version and at are texts")
            self._store_row(store_id, **values)
        elif leaf == "telemetry":
            self._store_row(store_id, telemetry=json.dumps(message), telemetry_at=utc_now())

    def _ingest_waiting(self) -> None:
        """The batches that arrived together, stored in one transaction (one fsync for all of them: a store
        keeps several batches in flight), each in a savepoint of its own; acked to the broker and to each store
        once committed."""
        if not self.waiting:
            return
        acks: dict[str, int] = {}
        with transaction():
            for _, store_id, message, data_texts in self.waiting:
                upto = self._ingest_one(store_id, message, data_texts)
                if upto is not None:
                    acks[store_id] = max(upto, acks.get(store_id, 0))
        for received, *_ in self.waiting:
            self._done(received)
        self.waiting.clear()
        for store_id, upto in acks.items():
            self._ack(store_id, upto)

    @staticmethod
    def _ingest_one(store_id: str, message: dict, data_texts: list[str]) -> int | None:
        for attempt in (1, 2):
            try:
                return ingest(store_id, message, data_texts)  # a savepoint: a refused batch takes nothing with it
            except peewee.IntegrityError as error:  # another HQ instance stored the same events first …
                if attempt == 2:  # … or the store reuses a seq for another event (restored from a backup)
                    log.error("store %s: batch refused, its seqs clash with stored events: %s", store_id, error)
                    flag("seq_clash", None, store_id, {"seqs": [e["seq"] for e in message["events"]][:10],
                                                      "error": str(error)})
            except BATCH_REFUSED as error:  # refused alone, as any malformed message
                log.error("malformed batch from store %s (%s)", store_id, error)
                return None
        return None

    @staticmethod
    def _store_row(store_id: str, **values) -> None:
        with transaction():
            StoreState.insert(store_id=store_id, **values).on_conflict(
                conflict_target=[StoreState.store_id], update=values).execute()

    # -- HQ's outbox ------------------------------------------------------------------

    def _send_broadcast(self, row: Broadcast, topic: str) -> int:
        payload = f'{{"hq_seq":{row.hq_seq},"epoch":{json.dumps(self.epoch)},"events":{row.events}}}'
        return self.client.publish(topic, payload.encode(), qos=1).mid

    def _publish_broadcasts(self) -> None:
        waiting = {key for kind, key in self.pending.values() if kind == "broadcast"}
        rows = (Broadcast.select().where(Broadcast.published == False).order_by(Broadcast.hq_seq)  # noqa: E712
                .limit(PUBLISH_CHUNK + len(waiting)))
        for row in rows:
            if row.hq_seq not in waiting:
                self.pending[self._send_broadcast(row, broadcast(self.chain_id))] = ("broadcast", row.hq_seq)

    def _publish_resends(self) -> None:
        if not self.resends:
            return
        cursor = self.resends[0]  # [store_id, next, last]
        rows = list(Broadcast.select().where((Broadcast.hq_seq >= cursor[1]) & (Broadcast.hq_seq <= cursor[2]))
                    .order_by(Broadcast.hq_seq).limit(PUBLISH_CHUNK))
        topic = StoreTopics(self.chain_id, cursor[0]).resent  # only the store that asked gets them
        for row in rows:
            self._send_broadcast(row, topic)
        cursor[1] = rows[-1].hq_seq + 1 if rows else cursor[2] + 1
        if cursor[1] > cursor[2]:
            self.resends.pop(0)

    def _publish_commands(self) -> None:
        waiting = {key for kind, key in self.pending.values() if kind == "command"}
        for command in Command.select().where(Command.published == False).limit(PUBLISH_CHUNK):  # noqa: E712
            if command.id not in waiting:
                self._send_command(command)
        now = time.monotonic()
        if now - self.commands_checked_at < self.command_resend_seconds:
            return
        self.commands_checked_at = now
        given_up = (datetime.now(timezone.utc) - timedelta(days=COMMAND_RESEND_DAYS)).isoformat(timespec="milliseconds")
        unanswered = (Command.select().where((Command.published == True) & Command.replied_at.is_null()  # noqa: E712
                                             & (Command.created_at >= given_up))
                      .order_by(Command.created_at).limit(PUBLISH_CHUNK))
        unanswered = list(unanswered)
        # forget commands answered through another HQ instance (or given up), so the map does not grow
        still_open = {command.id for command in unanswered}
        self.commands_sent = {key: at for key, at in self.commands_sent.items()
                              if key in still_open or now - at < self.command_resend_seconds}
        for command in unanswered:
            if command.id not in waiting and now - self.commands_sent.get(command.id, float("-inf")) \
                    >= self.command_resend_seconds:
                log.info("command %s to store %s is unanswered: publishing it again", command.id, command.store_id)
                self._send_command(command)

    def _send_command(self, command: Command) -> None:
        payload = {"id": command.id, "command": command.command, "args": json.loads(command.args)}
        topic = StoreTopics(self.chain_id, command.store_id).commands
        self.pending[self.client.publish(topic, json.dumps(payload), qos=1).mid] = ("command", command.id)
        self.commands_sent[command.id] = time.monotonic()

    def _confirmed(self, mid: int) -> None:
        kind, key = self.pending.pop(mid, (None, None))
        if kind == "broadcast":
            Broadcast.update(published=True).where(Broadcast.hq_seq == key).execute()
        elif kind == "command":
            Command.update(published=True).where(Command.id == key).execute()
