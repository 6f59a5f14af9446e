"""`storeedge devices pair-qr`: the pairing URL as a native ESC/POS QR code on a real TCP receipt printer,
through the print queue and the gateway; https://store-<id>.local when TLS is on, audited."""

from __future__ import annotations

import json

from tests.escpos_decoder import decode
from tests.gateway_helpers import GATEWAY_TOKEN, NetworkPrinter, network_printer
from tests.ops_helpers import running, store_config, tls_config
from tests.server_helpers import query, storeedge


def cut_once(received: bytes) -> bool:
    """The whole page arrived (bytes still arriving may end inside a command)."""
    try:
        return decode(received).cuts == 1
    except ValueError:
        return False


def printed_pairing(tmp_path, config: dict, *options: str) -> tuple:
    """pair-qr, then the gateway working the queue until the printer has the whole page; what it printed."""
    printer = NetworkPrinter()
    try:
        config = {**config, "devices": [network_printer(printer.port)],
                  "gateway": {"token": GATEWAY_TOKEN}}
        data = ["--config", str(store_config(tmp_path, config)), "--data-dir", str(tmp_path / "data")]
        done = storeedge(*data, "devices", "pair-qr", *options)
        with running(*data, "gateway", log=tmp_path / "gateway.log"):
            received = printer.wait_for(cut_once, timeout=30)
        return done, decode(received), tmp_path / "data"
    finally:
        printer.close()


def test_the_qr_code_opens_the_pos_at_the_box_s_https_name(tmp_path):
    done, printed, data = printed_pairing(tmp_path, tls_config(tmp_path))
    [url] = printed.qr
    assert url.startswith("https://store-s042.local:") and url.endswith("/pos?pair=S042")
    assert url in done.stdout and url in printed.text()
    assert printed.events.index("qr") < printed.events.index("cut")  # the code is on the page, not after it
    [(action, audited)] = query(data, "SELECT action, data FROM audit_record WHERE action LIKE 'device.%'")
    assert action == "device.pairing_qr_printed" and json.loads(audited)["url"] == url


def test_without_tls_the_qr_code_has_the_http_url_of_the_chosen_screen(tmp_path):
    done, printed, _ = printed_pairing(tmp_path, {"store": {"id": "S007"}, "web": {"port": 8080}}, "--screen",
                                       "display")
    assert printed.qr == ["http://store-s007.local:8080/display?pair=S007"]
    assert "web listens on 127.0.0.1 only" in done.stderr  # the development default: said, printed all the same


def test_a_store_without_a_printer_is_told_so_and_nothing_is_queued(tmp_path):
    data = ["--config", str(store_config(tmp_path, {"store": {"id": "S007"}})), "--data-dir", str(tmp_path / "data")]
    done = storeedge(*data, "devices", "pair-qr", check=False)
    assert done.returncode == 2 and "no receipt printer is configured" in done.stderr
    assert query(tmp_path / "data", "SELECT COUNT(*) FROM print_job") == [(0,)]
