"""One paho-mqtt 2.x client as both sides use it: MQTT v5, TLS, credentials, a persistent session."""

from __future__ import annotations

import logging
import queue

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import HQSection, SyncSection

log = logging.getLogger("storeedge.sync")

KEEPALIVE_SECONDS = 30


def make_client(hq: HQSection, pace: SyncSection, client_id: str,
                will: tuple[str, bytes] | None = None, manual_ack: bool = False) -> mqtt.Client:
    """``manual_ack``: the QoS 1 messages received are acknowledged by ``client.ack(mid, qos)``, not by paho once
    on_message returns."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         manual_ack=manual_ack)
    if hq.username is not None:
        client.username_pw_set(hq.username, hq.password)
    if hq.tls:
        client.tls_set(ca_certs=hq.ca_file, certfile=hq.cert_file, keyfile=hq.key_file)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(1, pace.reconnect_max_seconds)  # paho doubles the wait up to this: backing off
    client.max_inflight_messages_set(pace.max_batches_in_flight)
    client.max_queued_messages_set(0)  # we publish only while connected; the outbox is the real queue
    return client


def start(client: mqtt.Client, hq: HQSection, pace: SyncSection) -> None:
    """Connect in the background (retrying until the broker answers) with a session the broker keeps, and at
    most ``hq.receive_maximum`` QoS 1 messages sent to us unacked (Mosquitto 2 takes a v5 client's value over
    its own max_inflight_messages, which applies only to clients that send none)."""
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = pace.session_expiry_seconds
    properties.ReceiveMaximum = hq.receive_maximum
    client.connect_async(hq.host, hq.port, keepalive=KEEPALIVE_SECONDS, clean_start=False, properties=properties)
    client.loop_start()


def drain(inbox: queue.Queue, handle, wait_seconds: float) -> None:
    """Handle what paho's callbacks queued (they run on paho's thread, the work on ours): wait up to
    wait_seconds for the first item, then take every one already there."""
    try:
        item = inbox.get(timeout=wait_seconds)
    except queue.Empty:
        return
    while True:
        handle(item)
        try:
            item = inbox.get_nowait()
        except queue.Empty:
            return


def accepted(reason) -> bool:
    """Whether a CONNACK let us in; a refusal is logged (paho keeps retrying with back-off)."""
    if reason.is_failure:
        log.warning("broker refused the connection: %s", reason)
        return False
    return True
