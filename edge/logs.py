"""Service logs: to journald with structured fields (STORE_ID, SALE_ID, DEVICE, …), else to stderr.

journald's native protocol is spoken by hand, not through python-systemd:
that binding is a C extension built against libsystemd, which the venv
under /opt/storeedge would have to compile, and the protocol is small.
Each record is one datagram to /run/systemd/journal/socket, one field per
line: ``KEY=value\\n``, or for a value holding a newline ``KEY\\n`` + its
length as 64-bit little-endian + the value + ``\\n``. A record too large for
a datagram goes as a sealed memfd passed with SCM_RIGHTS, as libsystemd does.

The journal is used when systemd connected our stderr to it ($JOURNAL_STREAM)
and its socket is there; otherwise (by hand, in tests, in a container) the
lines go to stderr with the fields appended, so nothing is lost.

Fields for one record: ``log.warning("…", extra=fields(sale_id=sale.id))``;
STORE_ID and the service's SYSLOG_IDENTIFIER come with every record.
"""

from __future__ import annotations

import array
import errno
import fcntl
import logging
import os
import socket
import struct
import sys
from collections.abc import Mapping

JOURNAL_SOCKET = "/run/systemd/journal/socket"
EXTRA_KEY = "journal_fields"
# syslog priorities by logging level (journalctl -p)
PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def fields(**values) -> dict:
    """`extra=` for a log call: sale_id=… becomes the journal field SALE_ID=…; None values are left out."""
    return {EXTRA_KEY: {key.upper(): str(value) for key, value in values.items() if value is not None}}


def encode(entry: Mapping[str, str]) -> bytes:
    """One journal entry in the native protocol."""
    out = bytearray()
    for key, value in entry.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


class JournalHandler(logging.Handler):
    """Sends each record to journald's socket with its fields."""

    def __init__(self, identifier: str, constant: Mapping[str, str], path: str = JOURNAL_SOCKET):
        super().__init__()
        self.identifier, self.constant, self.path = identifier, dict(constant), path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def entry(self, record: logging.LogRecord) -> dict[str, str]:
        entry = {"MESSAGE": self.format(record), "PRIORITY": str(PRIORITIES.get(record.levelno, 6)),
                 "SYSLOG_IDENTIFIER": self.identifier, "LOGGER": record.name, "CODE_FILE": record.pathname,
                 "CODE_LINE": str(record.lineno), "CODE_FUNC": record.funcName, **self.constant}
        entry.update(getattr(record, EXTRA_KEY, {}))
        return {key: value for key, value in entry.items() if value is not None}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = encode(self.entry(record))
            try:
                self._socket.sendto(data, self.path)
            except OSError as error:
                if error.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                    raise
                self._send_as_memfd(data)
        except Exception:
            self.handleError(record)

    def _send_as_memfd(self, data: bytes) -> None:
        """A record larger than a datagram: journald reads it from a sealed memfd we pass it."""
        fd = os.memfd_create("journal-entry", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.write(fd, data)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
                        | fcntl.F_SEAL_SEAL)
            self._socket.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))], 0, self.path)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._socket.close()
        super().close()


class FieldsFormatter(logging.Formatter):
    """stderr without the journal: the message, then the record's fields as KEY=value."""

    def __init__(self, constant: Mapping[str, str]):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.constant = dict(constant)

    def format(self, record: logging.LogRecord) -> str:
        extra = {**self.constant, **getattr(record, EXTRA_KEY, {})}
        return super().format(record) + "".join(f" {key}={value}" for key, value in extra.items())


def setup(service: str, store_id: str | None, environ: Mapping[str, str] | None = None,
          level: int = logging.INFO) -> logging.Handler:
    """The root logger of a service process: journald when systemd runs it, else stderr. Returns the handler."""
    environ = os.environ if environ is None else environ
    constant = {"STORE_ID": store_id} if store_id else {}
    path = environ.get("STOREEDGE_JOURNAL_SOCKET", JOURNAL_SOCKET)  # another journal (a container's): its socket
    if environ.get("JOURNAL_STREAM") and os.path.exists(path):
        handler: logging.Handler = JournalHandler(f"storeedge-{service}", constant, path)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(FieldsFormatter(constant))
    # A service's root logger is ours alone: python-escpos calls logging.basicConfig() when imported, which
    # would print every line a second time; a handler of ours already there (a second setup) goes too.
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
