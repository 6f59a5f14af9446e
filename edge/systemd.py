"""Telling systemd how a service is doing: sd_notify over the NOTIFY_SOCKET datagram socket.

The protocol is one datagram of newline-separated KEY=VALUE lines sent to the
AF_UNIX socket named in $NOTIFY_SOCKET (a leading "@" means the abstract
namespace). Outside systemd the variable is unset and every call is a no-op,
so the services run the same by hand, in tests and under the unit.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1") to systemd; False when not run under a notify unit."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.sendall(state.encode())
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None, any_pid: bool = False) -> float | None:
    """Seconds between pings (half systemd's WatchdogSec), or None when no watchdog watches this process.

    systemd names the watched process in WATCHDOG_PID; `any_pid` lets a child
    ping for it (gunicorn's worker, with NotifyAccess=all in the unit).
    """
    environ = os.environ if environ is None else environ
    usec = environ.get("WATCHDOG_USEC")
    pid = environ.get("WATCHDOG_PID")
    if not usec or (not any_pid and pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


class Watchdog:
    """WATCHDOG=1 at most once per interval, from a loop that calls `ping()` each time round.

    Pinging from the service's own loop (not a side thread) is the point: a
    loop that hangs stops the pings, and systemd restarts the service.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic,
                 any_pid: bool = False):
        self.environ = dict(os.environ if environ is None else environ)
        self.interval = watchdog_interval(self.environ, any_pid)
        self.clock = clock
        self._last: float | None = None

    def ping(self) -> bool:
        """Send WATCHDOG=1 if the interval has passed since the last one; True when sent."""
        if self.interval is None:
            return False
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return notify("WATCHDOG=1", self.environ)
