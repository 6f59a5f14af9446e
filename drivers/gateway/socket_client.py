"""The WebSocket client of the gateway's link, `storeedge scan` and the benches: simple_websocket's Client,
with the frames that arrive together with the handshake's answer handled at once.

simple_websocket reads the server's 101 answer and takes only that event; any frame that came in the same read
stays in wsproto's buffer until more bytes arrive. A server that answers and closes at once (a wrong gateway
token: 1008 with its reason) sends no more bytes, so the close frame was never read and the close came out as
1005 without a reason, depending on how the bytes happened to be split. A first message (web's hello) waited
for the next packet the same way.
"""

from __future__ import annotations

import simple_websocket


class SocketClient(simple_websocket.Client):
    def handshake(self):
        super().handshake()
        if not self._handle_events():
            # closed with the answer: the reason is recorded; stay "connected" so the reader thread starts, finds
            # the socket closed, and receive() raises ConnectionClosed with that reason, as with any later close
            self.connected = True
