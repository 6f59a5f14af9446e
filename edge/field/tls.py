"""HTTPS for the shop's LAN: a self-signed certificate for store-<id>.local, and the box's own services trusting it.

Tablets reach the box by its .local name; a public CA cannot issue for
.local, so the box makes its own certificate (`storeedge tls`, or
`storeedge provision`). Tablets pin it by its SHA-256 fingerprint, which
discovery announces in the TXT records and the pairing QR code carries in
its URL. The gateway and the watchdog on the box reach web over loopback
and trust exactly the configured certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.discovery import host_name
from edge.field.backup import write_private

CERT_NAME, KEY_NAME = "web.crt", "web.key"
VALID_DAYS = 3650  # a box lives for years; renewing means re-pairing every tablet


@dataclass
class Made:
    cert_file: Path
    key_file: Path
    fingerprint: str
    created: bool  # False: the existing pair was kept


def fingerprint(cert_file: str | Path) -> str:
    """SHA-256 of the certificate (DER), as colon-separated upper-case hex, as browsers show it."""
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def make_certificate(store_id: str, folder: Path, renew: bool = False) -> Made:
    """A key (0600) and a self-signed certificate for store-<id>.local, localhost and 127.0.0.1; kept if present."""
    cert_file, key_file = folder / CERT_NAME, folder / KEY_NAME
    if cert_file.exists() and key_file.exists() and not renew:
        return Made(cert_file, key_file, fingerprint(cert_file), created=False)
    name = host_name(store_id).rstrip(".")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"StoreEdge {store_id}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))  # a tablet whose clock lags still accepts it
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    write_private(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    cert_file.chmod(0o644)
    return Made(cert_file, key_file, fingerprint(cert_file), created=True)


def loopback_context(cert_file: str | Path) -> ssl.SSLContext:
    """A client context trusting exactly the box's own certificate, for its services talking over 127.0.0.1.

    Partial-chain lets a leaf be its own trust anchor, so this works for a
    certificate a chain's CA issued as well as for our self-signed one.
    """
    context = ssl.create_default_context(cafile=str(cert_file))
    context.check_hostname = False  # the pinned certificate is the check; its names need not include 127.0.0.1
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def loopback_url(web, path: str, websocket: bool = False) -> str:
    """web's URL on this machine: http(s):// or ws(s)://127.0.0.1:{web.port}{path}."""
    scheme = ("wss" if websocket else "https") if web.tls else ("ws" if websocket else "http")
    return f"{scheme}://127.0.0.1:{web.port}{path}"
