"""Run inside a network namespace of the test's own (`unshare -n`): loopback up with multicast, then advertise
and browse, printing what was found as JSON. Never multicasts on a real interface."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict


def loopback_with_multicast() -> None:
    """The new namespace's only interface: up, multicast on, the mDNS group routed to it."""
    for command in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "lo", "multicast", "on"],
                    ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]):
        subprocess.run(command, check=True)


def advertised(store_id: str, name: str, port: str) -> None:
    """The advertiser on its own, then stopped."""
    from edge.discovery import Advertiser

    with Advertiser(store_id, name, int(port), ["127.0.0.1"]):
        found = boxes(5.0)
    report(found, boxes(1.0))


def web(data_dir: str, config: str, port: str) -> None:
    """`storeedge web` with [discovery] on, as its unit runs it; then SIGTERM, as systemd stops it."""
    server = subprocess.Popen([sys.executable, "-m", "edge.cli", "--data-dir", data_dir, "--config", config, "web",
                               "--host", "127.0.0.1", "--port", port], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not answers(int(port)):
            time.sleep(0.1)
        found = boxes(5.0)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(found, boxes(1.0))


def answers(port: int) -> bool:
    """web is up, over plain HTTP or TLS (only readiness here: the TLS tests check the certificate)."""
    unchecked = ssl._create_unverified_context()
    for scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/api/v1/health", timeout=1,
                                        context=unchecked if scheme == "https" else None) as answer:
                return answer.status == 200
        except OSError:
            continue
    return False


def boxes(seconds: float) -> list[dict]:
    from edge.discovery import browse

    return [asdict(box) for box in browse(seconds, ["127.0.0.1"])]


def report(found: list[dict], after_stop: list[dict]) -> None:
    print(json.dumps({"found": found, "after_stop": after_stop}, ensure_ascii=False))


def main() -> None:
    loopback_with_multicast()
    {"advertised": advertised, "web": web}[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
