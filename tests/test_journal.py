"""Service logs to journald with structured fields, over a real unix datagram socket standing in for journald's
(/run/systemd/journal/socket); stderr with the same fields when there is no journal."""

from __future__ import annotations

import array
import os
import socket
import struct
import subprocess

import pytest

from edge.logs import JournalHandler, encode, fields
from tests.gateway_helpers import GATEWAY_TOKEN, network_printer
from tests.ops_helpers import store_config
from tests.server_helpers import CLEAN_ENV, REPO_ROOT, STOREEDGE, free_port

WAIT_SECONDS = 30


def parse(data: bytes) -> dict[str, str]:
    """journald's reading of one native-protocol entry."""
    entry, at = {}, 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            at = end + 1
        else:  # KEY\n, 64-bit little-endian length, the value, \n
            key, (size,) = line, struct.unpack("<Q", data[end + 1:end + 9])
            value = data[end + 9:end + 9 + size]
            assert data[end + 9 + size:end + 10 + size] == b"\n"
            at = end + 10 + size
        entry[key.decode()] = value.decode()
    return entry


@pytest.fixture
def journal(tmp_path):
    """A datagram socket where journald's would be; yields it with its path."""
    path = str(tmp_path / "journal.socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(WAIT_SECONDS)
        yield sock, path


def test_the_gateway_logs_a_device_state_with_its_store_device_and_lane(journal, tmp_path):
    sock, path = journal
    gone = free_port()  # nothing listens: the printer is unplugged
    config = store_config(tmp_path, {"store": {"id": "S042"}, "devices": [network_printer(gone, lane=2)],
                                     "gateway": {"token": GATEWAY_TOKEN, "url": "ws://127.0.0.1:9/ws/gateway"}})
    env = {**CLEAN_ENV, "JOURNAL_STREAM": "8:1234", "STOREEDGE_JOURNAL_SOCKET": path}
    gateway = subprocess.Popen([str(STOREEDGE), "--config", str(config), "--data-dir", str(tmp_path / "data"),
                                "gateway"], env=env, cwd=REPO_ROOT, stderr=subprocess.DEVNULL)
    try:
        while (entry := parse(sock.recv(65536))).get("DEVICE") != "printer":
            pass
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
    assert entry["MESSAGE"].startswith("printer: offline")
    assert (entry["STORE_ID"], entry["DEVICE_STATE"], entry["LANE"]) == ("S042", "offline", "2")
    assert (entry["SYSLOG_IDENTIFIER"], entry["PRIORITY"], entry["LOGGER"]) == (
        "storeedge-gateway", "6", "storeedge.gateway")


def test_a_multi_line_message_uses_the_length_form():
    entry = {"MESSAGE": "第一行\nsecond line", "SALE_ID": "s-1"}
    data = encode(entry)
    assert data.startswith(b"MESSAGE\n" + struct.pack("<Q", len("第一行\nsecond line".encode())))
    assert parse(data) == entry


def test_a_record_too_big_for_a_datagram_goes_as_a_sealed_memfd(journal):
    import logging

    sock, path = journal
    handler = JournalHandler("storeedge-test", {"STORE_ID": "S042"}, path)
    record = logging.LogRecord("storeedge.test", logging.ERROR, __file__, 1, "x" * 400_000, None, None)
    record.__dict__.update(fields(sale_id="s-1"))
    try:
        handler.emit(record)
        _, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(4))
    finally:
        handler.close()
    [(level, kind, fd_bytes)] = ancillary
    assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
    fd = array.array("i", fd_bytes)[0]
    with os.fdopen(fd, "rb") as passed:
        passed.seek(0)  # the sender's writes moved the shared offset; journald maps the file from its start
        entry = parse(passed.read())
    assert (len(entry["MESSAGE"]), entry["SALE_ID"], entry["PRIORITY"]) == (400_000, "s-1", "3")


def test_without_a_journal_the_fields_follow_the_line_on_stderr(tmp_path):
    gone = free_port()
    config = store_config(tmp_path, {"store": {"id": "S042"}, "devices": [network_printer(gone)],
                                     "gateway": {"token": GATEWAY_TOKEN, "url": "ws://127.0.0.1:9/ws/gateway"}})
    gateway = subprocess.Popen([str(STOREEDGE), "--config", str(config), "--data-dir", str(tmp_path / "data"),
                                "gateway"], env=CLEAN_ENV, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        lines = iter(gateway.stderr)
        record = next(line for line in lines if "printer: offline" in line)
        while "STORE_ID=" not in record:  # the device's error may span lines; the fields end the record
            record += next(lines)
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
    assert record.startswith("INFO storeedge.gateway: printer: offline")
    assert record.rstrip().endswith("STORE_ID=S042 DEVICE=printer DEVICE_STATE=offline LANE=1")
