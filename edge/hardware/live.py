"""The live hub: gateways and lane screens connected over WebSockets, and what is sent to each.

In-process, as DESIGN.md allows for a single web worker: a restarted
worker loses only the connections, and both the gateway and the screens
reconnect by themselves (carts and print jobs live in SQLite).
"""

from __future__ import annotations

import json
import logging
import threading

log = logging.getLogger("storeedge.live")


class Peer:
    """One socket; sends are serialised because the socket is shared between threads."""

    def __init__(self, ws, lane: int | None = None, kind: str | None = None, device_id: int | None = None):
        self.ws = ws
        self.lane = lane
        self.kind = kind  # the paired device's kind (terminal, display); None for a gateway
        self.device_id = device_id
        # a terminal on its tender step: {sale_id, total, amount}, what the lane's next scanned payment code pays
        self.tender: dict | None = None
        self.offers: list[dict] | None = None  # a display: the promotions it was last sent, to show when idle
        self._lock = threading.Lock()

    def send(self, message: dict) -> bool:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        try:
            with self._lock:
                self.ws.send(text)
            return True
        except Exception:  # a closed socket: its own handler is leaving and drops it
            return False


class LiveHub:
    def __init__(self):
        self._lock = threading.Lock()
        self.gateways: list[Peer] = []
        self.screens: list[Peer] = []
        self.device_states: dict[str, dict] = {}

    def join(self, peer: Peer, gateway: bool) -> None:
        with self._lock:
            (self.gateways if gateway else self.screens).append(peer)

    def leave(self, peer: Peer) -> None:
        with self._lock:
            for group in (self.gateways, self.screens):
                if peer in group:
                    group.remove(peer)

    def to_gateways(self, message: dict) -> int:
        """How many gateways were told (0: none connected; queued jobs wait for one)."""
        with self._lock:
            peers = list(self.gateways)
        return sum(peer.send(message) for peer in peers)

    def to_lane(self, lane: int | None, message: dict, kind: str | None = None) -> int:
        """Screens of that lane (only those of a device kind, when given), and screens watching every lane."""
        return sum(peer.send(message) for peer in self.on_lane(lane, kind))

    def watching(self, lane: int | None, kind: str) -> bool:
        """Whether a screen of that kind follows the lane: what it would be sent need not be built otherwise."""
        return bool(self.on_lane(lane, kind))

    def displays(self) -> list[Peer]:
        """Every customer display, whatever its lane: the promotions in effect are the store's."""
        with self._lock:
            return [peer for peer in self.screens if peer.kind == "display"]

    def on_lane(self, lane: int | None, kind: str | None) -> list[Peer]:
        with self._lock:
            return [peer for peer in self.screens
                    if (peer.lane is None or peer.lane == lane) and (kind is None or peer.kind == kind)]

    def device_state(self, state: dict) -> None:
        self.device_states[state["name"]] = state
        self.to_lane(state.get("lane"), {"type": "device.state", **state})
