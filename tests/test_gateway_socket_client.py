"""The link's WebSocket client reads the frames that come in the same packet as the handshake's answer.

A real TCP server on 127.0.0.1 answers the handshake and, in the same send, a close frame (as web does for a
wrong gateway token) or a first message (web's hello): the client must see the close's code and reason, or
the message, at once and every time, not only when the bytes happen to come in two reads.
"""

from __future__ import annotations

import socket
import threading

import pytest
import simple_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from drivers.gateway.socket_client import SocketClient

REASON = "gateway token missing or wrong"


class OneShotServer:
    """Accepts one connection, answers its handshake and ``then`` in a single send, then closes or waits."""

    def __init__(self, then, close_after: bool):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}/ws/gateway"
        self.then, self.close_after = then, close_after
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        connection, _ = self.listener.accept()
        with connection:
            ws = WSConnection(ConnectionType.SERVER)
            while True:
                ws.receive_data(connection.recv(4096))
                if any(isinstance(event, Request) for event in ws.events()):
                    break
            connection.sendall(ws.send(AcceptConnection()) + ws.send(self.then))
            if not self.close_after:
                connection.settimeout(10)
                try:
                    while connection.recv(4096):  # until the client goes
                        pass
                except OSError:
                    pass

    def close(self):
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def serve():
    servers = []

    def start(then, close_after: bool) -> OneShotServer:
        servers.append(OneShotServer(then, close_after))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("attempt", range(5))
def test_a_close_sent_with_the_handshake_answer_keeps_its_code_and_reason(serve, attempt):
    server = serve(CloseConnection(code=1008, reason=REASON), close_after=True)
    ws = SocketClient.connect(server.url)
    with pytest.raises(simple_websocket.ConnectionClosed) as closed:
        for _ in range(50):
            ws.receive(timeout=0.1)
    assert (closed.value.reason, closed.value.message) == (1008, REASON)


def test_a_message_sent_with_the_handshake_answer_is_received_at_once(serve):
    server = serve(TextMessage(data='{"type": "hello"}'), close_after=False)
    ws = SocketClient.connect(server.url)
    try:
        # nothing else arrives after it: without reading the buffered frame, this would wait in vain
        assert ws.receive(timeout=5) == '{"type": "hello"}'
    finally:
        ws.close()
