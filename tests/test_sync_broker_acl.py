"""The provisioning example's ACL on a real Mosquitto: a store writes only its own topics and reads only its own
acks, commands and resent broadcasts and the chain's broadcast; HQ reads every store and writes HQ's topics.
"""

from __future__ import annotations

import queue
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.mqtt_helpers import Broker, wait_until

ACL = Path(__file__).parent.parent / "provisioning" / "broker" / "storeedge.acl"
ROOT = "storeedge/acme"
PASSWORDS = {"S001": "pw-one", "S002": "pw-two", "hq": "pw-hq"}


@pytest.fixture
def broker(tmp_path):
    password_file = tmp_path / "passwd"
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", *([] if password_file.exists() else ["-c"]), str(password_file),
                        user, password], check=True, capture_output=True)
    broker = Broker(tmp_path / "broker", access=["allow_anonymous false", f"password_file {password_file}",
                                                  f"acl_file {ACL}"]).start()
    yield broker
    broker.stop()


class Client:
    def __init__(self, broker: Broker, user: str, subscribe: str | None = None):
        self.received: queue.Queue = queue.Queue()
        self.subscribed = queue.Queue()
        connected = queue.Queue()
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user}", protocol=mqtt.MQTTv5)
        self.paho.username_pw_set(user, PASSWORDS[user])
        self.paho.on_message = lambda c, u, message: self.received.put(message.topic)
        self.paho.on_subscribe = lambda c, u, mid, reasons, props: self.subscribed.put(reasons)
        self.paho.on_connect = lambda c, u, flags, reason, props: connected.put(reason)
        self.paho.connect("127.0.0.1", broker.port)
        self.paho.loop_start()
        # paho drops a SUBSCRIBE made before the CONNACK (not connected yet): on a busy machine that is a race
        assert not connected.get(timeout=30).is_failure
        if subscribe:
            self.paho.subscribe(subscribe, qos=1)
            self.subscribed.get(timeout=30)

    def publish(self, topic: str) -> None:
        self.paho.publish(topic, b"{}", qos=1).wait_for_publish(timeout=10)

    def topics(self) -> set[str]:
        found = set()
        while not self.received.empty():
            found.add(self.received.get())
        return found

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


def test_a_store_writes_only_its_own_topics_and_hq_reads_them(broker):
    hq = Client(broker, "hq", subscribe=f"{ROOT}/stores/#")
    store_one, store_two = Client(broker, "S001", subscribe=f"{ROOT}/hq/#"), Client(broker, "S002")
    try:
        for leaf in ("events", "status", "telemetry", "replies", "resend"):
            store_one.publish(f"{ROOT}/stores/S001/{leaf}")
        store_one.publish(f"{ROOT}/stores/S002/events")  # another store's topic: refused
        store_one.publish(f"{ROOT}/hq/broadcast")  # HQ's topic: refused
        for leaf in ("stores/S001/ack", "stores/S002/ack", "broadcast", "stores/S001/broadcast",
                     "stores/S002/broadcast"):
            hq.publish(f"{ROOT}/hq/{leaf}")
        wait_until(lambda: len(hq.received.queue) >= 5, what="HQ to receive the store's messages")
        assert hq.topics() == {f"{ROOT}/stores/S001/{leaf}"
                               for leaf in ("events", "status", "telemetry", "replies", "resend")}
        wait_until(lambda: len(store_one.received.queue) >= 3, what="the store's ack and the broadcasts")
        assert store_one.topics() == {f"{ROOT}/hq/stores/S001/ack", f"{ROOT}/hq/broadcast",
                                      f"{ROOT}/hq/stores/S001/broadcast"}  # not S002's ack or resent broadcasts
    finally:
        for client in (hq, store_one, store_two):
            client.close()
