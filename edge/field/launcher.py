"""The kiosk launcher: find the box on the LAN (mDNS) and keep a full-screen Chromium on its screen.

Chromium opens https://store-<id>.local:<port>/<screen> with a host-resolver
rule mapping that name to the address discovery found. The page's origin
is the .local name, not the address, so the pairing a screen keeps in
localStorage survives the box moving to another address; and the kiosk
needs no mDNS resolver of its own (nss-mdns). With TLS on, the launcher
fetches the box's certificate, checks it against the fingerprint the box
announced, and pins its public key in Chromium
(--ignore-certificate-errors-spki-list), so the self-signed certificate
is accepted for this box and no other.

When the box's address or port changes, or it disappears and comes back
elsewhere, Chromium is started again at the new address. A Chromium that
exits (a crash, a technician's Alt-F4) is started again too.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import queue
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

from edge.discovery import STOREEDGE_TYPE, host_name

log = logging.getLogger("storeedge.launcher")

SCREENS = ("pos", "display", "kiosk")
BROWSER = "/usr/bin/chromium"
RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class Box:
    """A StoreEdge box as discovery announced it."""

    store_id: str
    address: str
    port: int
    cert_sha256: str = ""  # set when it serves HTTPS

    @property
    def origin(self) -> str:
        scheme = "https" if self.cert_sha256 else "http"
        return f"{scheme}://{host_name(self.store_id).rstrip('.')}:{self.port}"


class CertificateMismatch(Exception):
    """The box served a certificate other than the one it announced: not trusted, not opened."""


def spki_pin(cert_pem: str) -> str:
    """base64 SHA-256 of the certificate's public key, the form Chromium's SPKI list takes."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def pinned_key(box: Box) -> str:
    """The box's certificate, fetched and checked against its announced fingerprint; its SPKI pin."""
    pem = ssl.get_server_certificate((box.address, box.port), timeout=10)
    served = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest().hex(":").upper()
    if served != box.cert_sha256.upper():
        raise CertificateMismatch(f"{box.address}:{box.port} serves certificate {served}, "
                                  f"but store {box.store_id} announced {box.cert_sha256}")
    return spki_pin(pem)


def chromium_command(box: Box, screen: str, profile: Path, browser: str = BROWSER, pin: str | None = None,
                     extra: tuple[str, ...] = ()) -> list[str]:
    """Chromium full screen on the box's screen, the .local name resolved to the found address."""
    if screen not in SCREENS:
        raise ValueError(f"screen: one of {', '.join(SCREENS)}")
    name = host_name(box.store_id).rstrip(".")
    command = [browser, "--kiosk", f"--app={box.origin}/{screen}", f"--user-data-dir={profile}",
               f"--host-resolver-rules=MAP {name} {box.address}",
               "--no-first-run", "--noerrdialogs", "--disable-session-crashed-bubble", "--disable-infobars",
               "--check-for-update-interval=31536000"]
    if pin:
        command.append(f"--ignore-certificate-errors-spki-list={pin}")
    return command + list(extra)


def box_from(info) -> Box | None:
    """The Box a resolved ServiceInfo describes (IPv4), or None when it has no address yet."""
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses:
        return None
    txt = {key.decode(): (value or b"").decode() for key, value in info.properties.items()}
    return Box(txt.get("store_id", ""), addresses[0], info.port, txt.get("cert_sha256", ""))


class KioskLauncher:
    """Browses for the box (one store id, or the first found) and keeps Chromium pointed at it."""

    def __init__(self, screen: str, profile: Path, store_id: str | None = None, browser: str = BROWSER,
                 interfaces: list[str] | str = "all", extra: tuple[str, ...] = ()):
        if screen not in SCREENS:
            raise ValueError(f"screen: one of {', '.join(SCREENS)}")
        self.screen, self.profile, self.store_id = screen, profile, store_id
        self.browser, self.interfaces, self.extra = browser, interfaces, extra
        self.box: Box | None = None  # where Chromium points now
        self.process: subprocess.Popen | None = None
        self.launches: list[list[str]] = []  # every command line started, for the log and the tests
        self._seen: queue.Queue = queue.Queue()

    def run(self, stop: threading.Event, poll_seconds: float = 0.5, alive=lambda: None) -> None:
        """Until `stop`; `alive()` each time round the loop (systemd's watchdog)."""
        zeroconf = Zeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        browser = ServiceBrowser(zeroconf, STOREEDGE_TYPE, handlers=[self._on_change])
        try:
            while not stop.is_set():
                alive()
                try:
                    box = self._seen.get(timeout=poll_seconds)
                except queue.Empty:
                    box = None
                if box is not None and box != self.box:
                    self._launch(box)
                elif self.process is not None and self.process.poll() is not None:
                    log.warning("chromium exited with %s; starting it again", self.process.returncode)
                    self._launch(self.box)
        finally:
            browser.cancel()
            zeroconf.close()
            self._close_browser()

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str,
                   state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            log.info("%s withdrawn; chromium stays until it is found again", name)
            return
        info = zeroconf.get_service_info(service_type, name, timeout=RESOLVE_TIMEOUT_MS)
        box = box_from(info) if info is not None else None
        if box is not None and (self.store_id is None or box.store_id == self.store_id):
            self._seen.put(box)

    def _launch(self, box: Box) -> None:
        try:
            pin = pinned_key(box) if box.cert_sha256 else None
        except (OSError, CertificateMismatch) as error:
            log.error("store %s at %s not opened: %s", box.store_id, box.address, error)
            return
        self._close_browser()
        command = chromium_command(box, self.screen, self.profile, self.browser, pin, self.extra)
        log.info("opening %s/%s at %s", box.origin, self.screen, box.address)
        self.launches.append(command)
        self.box = box
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _close_browser(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
