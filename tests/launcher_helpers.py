"""Two machines on a cable, inside network namespaces the test creates (`unshare -n`), never on a real interface.

`kiosk` runs in the test's namespace: it starts `box` in a namespace of its
own, links the two with a veth pair (kiosk 10.9.0.100, box 10.9.0.1), runs
the kiosk launcher or a browse, moves the box to 10.9.0.2, and prints what
it saw as JSON. The box advertises with the real Advertiser on its veth end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

KIOSK_ADDRESS, BOX_ADDRESS, MOVED_ADDRESS = "10.9.0.100", "10.9.0.1", "10.9.0.2"
PATIENCE = 30.0  # seconds for an announcement to arrive; the helper fails rather than hangs


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def link_up(device: str, address: str) -> None:
    """The device up with its address, multicast on, the mDNS group routed to it."""
    ip("link", "set", "lo", "up")
    ip("addr", "add", f"{address}/24", "dev", device)
    ip("link", "set", device, "multicast", "on", "up")
    ip("route", "add", "224.0.0.0/4", "dev", device)


def eventually(check, what: str):
    deadline = time.monotonic() + PATIENCE
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {PATIENCE} s")
        time.sleep(0.1)
    return found


# -- the box -----------------------------------------------------------------------------------------------


def box(store_id: str, port: str) -> None:
    """Waits for its veth end, advertises on it; 'move' on stdin moves it to MOVED_ADDRESS; 'stop' ends it."""
    from edge.discovery import Advertiser

    eventually(lambda: subprocess.run(["ip", "link", "show", "vb"], capture_output=True).returncode == 0, "veth")
    link_up("vb", BOX_ADDRESS)
    with Advertiser(store_id, f"店 {store_id}", int(port), ["vb"], poll_seconds=0.2) as advertiser:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() == "move":
                # a new DHCP lease: the old address goes (taking the route with it), the new one comes
                ip("addr", "del", f"{BOX_ADDRESS}/24", "dev", "vb")
                ip("addr", "add", f"{MOVED_ADDRESS}/24", "dev", "vb")
                ip("route", "replace", "224.0.0.0/4", "dev", "vb")
                eventually(lambda: advertiser.addresses == [MOVED_ADDRESS], "re-announced")
                print("moved", flush=True)
            elif line.strip() == "stop":
                break


class Box:
    """The box process, seen from the kiosk's namespace."""

    def __init__(self, store_id: str, port: int):
        self.process = subprocess.Popen(["unshare", "-n", sys.executable, "-m", "tests.launcher_helpers", "box",
                                         store_id, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        # the peer goes into the box's namespace: wait until `unshare` has made it (else it would land in ours)
        eventually(lambda: os.readlink(f"/proc/{self.process.pid}/ns/net") != os.readlink("/proc/self/ns/net"),
                   "the box's namespace")
        ip("link", "add", "vk", "type", "veth", "peer", "name", "vb", "netns", str(self.process.pid))
        link_up("vk", KIOSK_ADDRESS)
        self.expect("ready")

    def expect(self, word: str) -> None:
        line = self.process.stdout.readline().strip()
        if line != word:
            raise SystemExit(f"box said {line!r}, not {word!r}")

    def tell(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def move(self) -> None:
        self.tell("move")
        self.expect("moved")

    def stop(self) -> None:
        self.tell("stop")
        self.process.wait(timeout=30)


# -- the kiosk ---------------------------------------------------------------------------------------------


def browse_while_moving(store_id: str) -> dict:
    """The box found at its address, then at its new one after it moved (the re-announcement)."""
    from edge.discovery import browse

    box = Box(store_id, 8080)
    try:
        before = browse(5.0, [KIOSK_ADDRESS])
        box.move()
        after = eventually(lambda: [b for b in browse(2.0, [KIOSK_ADDRESS]) if MOVED_ADDRESS in b.url], "moved")
    finally:
        box.stop()
    return {"before": [asdict(b) for b in before], "after": [asdict(b) for b in after]}


def launcher_following_the_box(store_id: str, screen: str, fake_browser: str, profile: str) -> dict:
    """The kiosk launcher finds the box, opens the browser, and opens it again at the box's new address."""
    from edge.field.launcher import KioskLauncher

    box = Box(store_id, 8080)
    launcher = KioskLauncher(screen, Path(profile), store_id=store_id, browser=fake_browser,
                             interfaces=[KIOSK_ADDRESS])
    stop = threading.Event()
    thread = threading.Thread(target=launcher.run, args=(stop, 0.1))
    thread.start()
    try:
        eventually(lambda: len(launcher.launches) == 1, "first launch")
        box.move()
        eventually(lambda: len(launcher.launches) == 2, "launch at the new address")
        running = launcher.process.poll() is None
    finally:
        stop.set()
        thread.join(timeout=30)
        box.stop()
    return {"launches": launcher.launches, "running_after_move": running,
            "closed_at_stop": launcher.process.poll() is not None}


def main() -> None:
    if sys.argv[1] == "box":
        box(*sys.argv[2:])
        return
    ip("link", "set", "lo", "up")
    run = {"browse": browse_while_moving, "launcher": launcher_following_the_box}[sys.argv[1]]
    print(json.dumps(run(*sys.argv[2:]), ensure_ascii=False))


if __name__ == "__main__":
    main()
