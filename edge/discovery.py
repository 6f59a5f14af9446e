"""Zero-config discovery on the shop's LAN: the box advertises itself over mDNS/DNS-SD; tablets and kiosks find it.

The box is `_storeedge._tcp.local.` and `_http._tcp.local.`, host name
`store-<id>.local.`, with TXT records for its store id, name, version and API
path; with TLS on, also `https_port` and `cert_sha256` (the certificate's
fingerprint, for a tablet to pin). The advertiser runs once per box (in web's main process, not in each
worker), announces again when the box's addresses change, and unregisters on
stop. Interfaces come from [discovery]: the default is loopback only, so a
development machine never multicasts on the office network.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass

import ifaddr
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from edge import __version__

log = logging.getLogger("storeedge.discovery")

STOREEDGE_TYPE = "_storeedge._tcp.local."
HTTP_TYPE = "_http._tcp.local."
API_PATH = "/api/v1"
ADDRESS_POLL_SECONDS = 10.0


def host_name(store_id: str) -> str:
    return f"store-{store_id.lower()}.local."


def local_addresses(interfaces: list[str]) -> list[str]:
    """The IPv4 addresses to announce: those of the configured interfaces ("all": every non-loopback one)."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue  # IPv6 (a tuple): the shop's tablets find the box over IPv4
            if "all" in interfaces and not ipaddress.ip_address(ip.ip).is_loopback:
                found.append(ip.ip)
            elif ip.ip in interfaces or adapter.nice_name in interfaces:
                found.append(ip.ip)
    return sorted(set(found))


def service_infos(store_id: str, store_name: str, port: int, addresses: list[str],
                  fingerprint: str | None = None) -> list[ServiceInfo]:
    """The two records the box answers with, one per service type; `fingerprint` when web serves HTTPS."""
    properties = {"store_id": store_id, "name": store_name, "version": __version__, "api": API_PATH}
    if fingerprint:
        properties |= {"https_port": str(port), "cert_sha256": fingerprint}
    packed = [socket.inet_aton(address) for address in addresses]
    return [ServiceInfo(kind, f"StoreEdge {store_id}.{kind}", port=port, properties=properties,
                        server=host_name(store_id), addresses=packed) for kind in (STOREEDGE_TYPE, HTTP_TYPE)]


class Advertiser:
    """Registers the box's services; re-registers when its addresses change; unregisters on stop."""

    def __init__(self, store_id: str, store_name: str, port: int, interfaces: list[str],
                 fingerprint: str | None = None, poll_seconds: float = ADDRESS_POLL_SECONDS):
        self.store_id, self.store_name, self.port = store_id, store_name, port
        self.fingerprint = fingerprint
        self.interfaces = interfaces
        self.poll_seconds = poll_seconds
        self.addresses: list[str] = []
        self._zeroconf: Zeroconf | None = None
        self._infos: list[ServiceInfo] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="discovery", daemon=True)

    def start(self) -> None:
        self.addresses = local_addresses(self.interfaces)
        self._open()
        self._register()
        self._thread.start()

    def _open(self) -> None:
        """zeroconf's sockets, bound to the addresses the box has now (a socket on a vanished one cannot send)."""
        bind = "all" if "all" in self.interfaces else self.addresses or ["127.0.0.1"]
        self._zeroconf = Zeroconf(interfaces=bind, ip_version=IPVersion.V4Only)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.poll_seconds + 5)
        if self._zeroconf is not None:
            self._zeroconf.unregister_all_services()
            self._zeroconf.close()
            self._zeroconf = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _register(self) -> None:
        self._infos = service_infos(self.store_id, self.store_name, self.port, self.addresses, self.fingerprint)
        for info in self._infos:
            self._zeroconf.register_service(info, allow_name_change=True)
        log.info("advertised store-%s.local at %s port %d", self.store_id.lower(), self.addresses, self.port)

    def _watch(self) -> None:
        """A DHCP lease renewed with a new address: announce the new one (and withdraw the old)."""
        while not self._stop.wait(self.poll_seconds):
            current = local_addresses(self.interfaces)
            if current != self.addresses:
                log.info("addresses changed from %s to %s: announcing again", self.addresses, current)
                self._zeroconf.unregister_all_services()  # goodbye for the old address: browsers drop it
                self._zeroconf.close()
                self.addresses = current
                self._open()
                self._register()


@dataclass
class Found:
    store_id: str
    name: str
    version: str
    url: str
    cert_sha256: str = ""  # set when the box serves HTTPS: the certificate to expect


def browse(seconds: float, interfaces: list[str] | str = "all") -> list[Found]:
    """The StoreEdge boxes that answer within `seconds`, with the URL of each one's API."""
    found: dict[str, Found] = {}
    resolved = threading.Event()
    zeroconf = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            found.pop(name, None)
            return
        info = zeroconf.get_service_info(service_type, name, timeout=int(seconds * 1000))
        if info is None or not info.parsed_addresses():
            return
        txt = {key.decode(): (value or b"").decode() for key, value in info.properties.items()}
        scheme = "https" if txt.get("https_port") else "http"
        found[name] = Found(txt.get("store_id", ""), txt.get("name", ""), txt.get("version", ""),
                            f"{scheme}://{info.parsed_addresses()[0]}:{info.port}{txt.get('api', API_PATH)}",
                            txt.get("cert_sha256", ""))
        resolved.set()

    browser = ServiceBrowser(zeroconf, STOREEDGE_TYPE, handlers=[on_change])
    try:
        resolved.wait(seconds)
        time.sleep(min(seconds, 0.5))  # others answering a moment later are listed too
    finally:
        browser.cancel()
        zeroconf.close()
    return sorted(found.values(), key=lambda box: box.store_id)
