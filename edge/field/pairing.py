"""The pairing QR code: a receipt a technician prints so a tablet opens the box's screen by scanning it."""

from __future__ import annotations

from drivers.printer.document import TextPage
from edge import audit
from edge.discovery import host_name

SCREENS = ("pos", "display", "kiosk")
FINGERPRINT_CHUNK = 48  # characters of the fingerprint per printed line (16 of its 32 bytes)


def pairing_url(config, screen: str = "pos") -> str:
    """https://store-<id>.local:<port>/<screen>?pair=<store id> (http:// when [web] tls is off).

    `pair` names the store the tablet is meant for, so a page reached at the
    wrong box can tell; the screen opens at its pairing step when unpaired.
    """
    if screen not in SCREENS:
        raise ValueError(f"screen: one of {', '.join(SCREENS)}")
    web = config.web
    scheme = "https" if web.tls else "http"
    return f"{scheme}://{host_name(config.store.id).rstrip('.')}:{web.port}/{screen}?pair={config.store.id}"


def pairing_page(config, url: str, fingerprint: str | None) -> TextPage:
    """What the receipt shows: the store, the QR code, the URL, and the certificate to expect when TLS is on."""
    body = [config.store.name, "用平板扫描二维码打开配对页", "Scan with the tablet to pair", url]
    if fingerprint:
        body += ["证书 SHA-256 / certificate:"]
        body += [fingerprint[i:i + FINGERPRINT_CHUNK] for i in range(0, len(fingerprint), FINGERPRINT_CHUNK)]
    return TextPage(title="平板配对 Pairing", body=body, qr=url)


def print_pairing_qr(store, screen: str, lane: int | None):
    """Queue the pairing receipt on the lane's printer, or the first printer (the gateway prints it); audited.

    None when no printer serves that lane (or none is configured)."""
    config = store.config
    fingerprint = None
    if config.web.tls:
        from edge.field.tls import fingerprint as of_certificate

        fingerprint = of_certificate(config.web.cert_file)
    url = pairing_url(config, screen)
    if lane is None:  # no lane asked for: the first receipt printer, whichever lane it serves
        lane = next((device.lane for device in config.devices if device.kind == "printer"), None)
    with store.db.transaction():
        job = store.hardware.print_page(pairing_page(config, url, fingerprint), lane, "pairing")
        if job is None:
            return None
        audit.record("device.pairing_qr_printed", entity="print_job", entity_id=job.id,
                     data={"url": url, "printer": job.printer, "lane": lane})
    return job, url
