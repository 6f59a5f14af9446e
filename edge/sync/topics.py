"""The topics of the MQTT contract (v1), in one place for the store and for HQ."""

from __future__ import annotations

import json
from dataclasses import dataclass

from edge.db import utc_now

ROOT = "storeedge"


def root(chain_id: str) -> str:
    return f"{ROOT}/{chain_id}"


@dataclass(frozen=True)
class StoreTopics:
    chain_id: str
    store_id: str

    @property
    def _store(self) -> str:
        return f"{root(self.chain_id)}/stores/{self.store_id}"

    @property
    def status(self) -> str:
        return f"{self._store}/status"

    @property
    def events(self) -> str:
        return f"{self._store}/events"

    @property
    def telemetry(self) -> str:
        return f"{self._store}/telemetry"

    @property
    def replies(self) -> str:
        return f"{self._store}/replies"

    @property
    def resend(self) -> str:
        """Our addition to v1: a store asks HQ to send the broadcasts again from an hq_seq."""
        return f"{self._store}/resend"

    @property
    def ack(self) -> str:
        return f"{root(self.chain_id)}/hq/stores/{self.store_id}/ack"

    @property
    def commands(self) -> str:
        return f"{root(self.chain_id)}/hq/stores/{self.store_id}/commands"

    @property
    def resent(self) -> str:
        """Our addition to v1: the broadcasts this store asked HQ to send again, on its own topic."""
        return f"{root(self.chain_id)}/hq/stores/{self.store_id}/broadcast"

    @property
    def broadcast(self) -> str:
        return broadcast(self.chain_id)


def broadcast(chain_id: str) -> str:
    return f"{root(chain_id)}/hq/broadcast"


def store_of(topic: str) -> str:
    """The store id in storeedge/{chain}/stores/{store_id}/…"""
    parts = topic.split("/")
    return parts[3]


def status_payload(state: str, version: str) -> bytes:
    return json.dumps({"state": state, "version": version, "at": utc_now()}).encode()
