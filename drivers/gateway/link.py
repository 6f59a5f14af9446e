"""The gateway's WebSocket to web on loopback, kept open: reconnects by itself, never blocks a device thread.

simple-websocket's client is used because flask-sock already brings it in
(no new dependency) and it is thread-based like the rest of the gateway:
each device has a thread, and a blocking ``receive`` in one more thread
needs no event loop, unlike the asyncio-only ``websockets``.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time

import simple_websocket

from drivers.gateway.socket_client import SocketClient

log = logging.getLogger("storeedge.gateway.link")


SCAN_SHELF_LIFE = 10.0  # seconds: an older scan is not put into a cart when web comes back


class WebLink:
    def __init__(self, url: str, token: str, on_message, reconnect_seconds: float = 1.0, backlog: int = 100,
                 ssl_context=None):
        self.url = url
        self.ssl_context = ssl_context  # wss:// to web with [web] tls on: trusts the box's own certificate
        self.token = token
        self.on_message = on_message
        self.reconnect_seconds = reconnect_seconds
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._ws = None
        self._send_lock = threading.Lock()
        # what could not go up while web was away (scans, device states), sent on reconnect
        self._backlog: collections.deque = collections.deque(maxlen=backlog)
        self._thread = threading.Thread(target=self._run, name="gateway-link", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None:
            try:
                ws.close()
            except Exception:
                pass
        self._thread.join(timeout=5)

    def send(self, message: dict) -> bool:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        with self._send_lock:
            ws = self._ws
            if ws is not None:
                try:
                    ws.send(text)
                    return True
                except Exception:
                    pass
            self._backlog.append((time.monotonic(), message.get("type"), text))
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ws = SocketClient.connect(self.url, headers={"Authorization": f"Bearer {self.token}"},
                                                     ssl_context=self.ssl_context)
            except Exception as error:
                log.info("web not reachable at %s (%s); retrying", self.url, error)
                self._stop.wait(self.reconnect_seconds)
                continue
            with self._send_lock:
                self._ws = ws
                while self._backlog:
                    at, kind, text = self._backlog.popleft()
                    # the customer has moved on from a scan web never got; a device state is still news
                    if kind != "scan" or time.monotonic() - at < SCAN_SHELF_LIFE:
                        ws.send(text)
            self.connected.set()
            try:
                while not self._stop.is_set():
                    text = ws.receive(timeout=1)
                    if text is not None:
                        self._dispatch(text)
            except simple_websocket.ConnectionClosed as closed:
                log.info("web closed the link (%s %s)", closed.reason, closed.message)
            finally:
                self.connected.clear()
                with self._send_lock:
                    self._ws = None
            self._stop.wait(self.reconnect_seconds)

    def _dispatch(self, text: str) -> None:
        try:
            self.on_message(json.loads(text))
        except Exception:
            log.exception("a message from web could not be handled: %s", text[:200])
