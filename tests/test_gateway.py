"""The gateway against the real web app over a loopback WebSocket: scans from a pty scanner fill the lane's cart,
a completed sale prints, opens the drawer and shows the change; devices unplugged and replugged."""

from __future__ import annotations

import json

import pytest
import simple_websocket

from edge.errors import Conflict

from drivers.gateway.service import Gateway
from drivers.gateway.socket_client import SocketClient
from edge.hardware.models import DeviceState
from edge.sales.models import Sale
from edge.staff.service import Caller
from tests.conftest import CASHIER_PIN, MANAGER_PIN, WATER, staff_by_pin, terminal
from tests.domain2_helpers import audit_records, nothing_written, refused
from tests.escpos_decoder import decode
from tests.payments_helpers import payment_code
from tests.gateway_helpers import (
    GATEWAY_TOKEN, NetworkPrinter, Pty, WebServer, eventually, gateway_config, network_printer, sell,
)


class LaneScreen:
    """A lane's screen on /ws/lane/N: collects what web sends it."""

    def __init__(self, url: str):
        self.ws = SocketClient.connect(url)
        self.seen: list[dict] = []

    def wait_for(self, kind: str, timeout: float = 15.0, **fields) -> dict:
        """The first message of this type (and with these field values) that arrived or arrives."""
        def arrived():
            text = self.ws.receive(timeout=0.05)
            if text is not None:
                self.seen.append(json.loads(text))
            return next((m for m in self.seen if m["type"] == kind
                         and all(m.get(k) == v for k, v in fields.items())), None)

        found = eventually(arrived, timeout)
        self.seen.remove(found)
        return found

    def close(self):
        self.ws.close()


@pytest.fixture
def lane(store_with, tmp_path):
    """Lane 1: a serial scanner and an LED price display on ptys, a TCP printer with the drawer on it;
    the web app serving on loopback and the gateway linked to it."""
    scanner, display, printer = Pty(tmp_path / "scanner"), Pty(tmp_path / "display"), NetworkPrinter()
    store = store_with(gateway_config(
        {"name": "scanner", "kind": "scanner", "backend": "serial", "path": scanner.path, "lane": 1},
        network_printer(printer.port),
        {"name": "drawer", "kind": "drawer", "backend": "network", "host": "127.0.0.1", "printer": "printer",
         "pin": 2, "pulse_ms": 120, "lane": 1},
        {"name": "display", "kind": "display", "backend": "serial", "path": display.path, "protocol": "led8",
         "baudrate": 2400, "lane": 1}))
    # the lane's terminal, its token kept: the tablet's own socket tells its tender step
    device, till_token = store.staff.add_device("lane1", "terminal", 1)
    caller = Caller(device=device, staff=staff_by_pin(store, CASHIER_PIN))
    store.shifts.open(caller, 10_000)
    server = WebServer(store)
    gateway = Gateway(store, url=server.gateway_url)
    gateway.start()
    assert gateway.link.connected.wait(5)
    _, screen_token = store.staff.add_device("lane1-display", "display", 1)
    screen = LaneScreen(server.lane_url(1, screen_token))
    screen.wait_for("lane.state")  # sent once web has the screen among the lane's peers: nothing said later is missed
    yield type("Lane", (), dict(store=store, caller=caller, scanner=scanner, display=display, printer=printer,
                                gateway=gateway, screen=screen, server=server, till_token=till_token))
    screen.close()
    gateway.stop()
    server.close()
    for part in (scanner, display, printer):
        part.close()


def open_sale(store, caller) -> Sale:
    return store.sales.current(caller.device_id)


def test_a_scan_at_the_scanner_lands_in_the_lanes_cart_and_on_its_screen(lane):
    lane.scanner.send(WATER.encode() + b"\r")
    event = lane.screen.wait_for("cart.line")
    assert (event["lane"], event["code"], event["line"]["name"]) == (1, WATER, "农夫山泉 550ml")
    sale = open_sale(lane.store, lane.caller)
    assert [line.barcode for line in lane.store.sales.lines(sale)] == [WATER]
    assert eventually(lambda: b"\x1bQA2.00\r\x1bs1" in lane.display.received(0.02) or None)  # price lamp


def test_an_unknown_code_is_rejected_on_the_lanes_screen(lane):
    lane.scanner.send(b"0000000000000\r")
    rejected = lane.screen.wait_for("scan.rejected")
    assert rejected["code"] == "0000000000000" and "0000000000000" in rejected["message"]
    assert open_sale(lane.store, lane.caller) is None or not lane.store.sales.lines(open_sale(lane.store, lane.caller))


def test_a_completed_cash_sale_prints_opens_the_drawer_and_shows_the_change(lane):
    sale = sell(lane.store, lane.caller, [WATER], cash=1000)
    data = lane.printer.wait_for(lambda data: sale.receipt_no.encode() in data and b"\x1bp" in data)
    printed = decode(data)
    assert printed.pulses == [(2, 120, 120)] and printed.barcodes == [sale.receipt_no]
    assert any(line.startswith("找零") and line.endswith("￥8.00") for line in printed.lines)
    assert eventually(lambda: b"\x1bQA8.00\r\x1bs4" in lane.display.received(0.02) or None)  # change lamp


def test_a_scanner_unplugged_goes_offline_and_scans_again_when_replugged(lane):
    lane.scanner.unplug()
    lane.screen.wait_for("device.state", name="scanner", state="offline")
    assert DeviceState.get_by_id("scanner").state == "offline"
    lane.scanner.plug()
    lane.screen.wait_for("device.state", name="scanner", state="connected")
    lane.scanner.send(WATER.encode() + b"\r")
    assert lane.screen.wait_for("cart.line")["code"] == WATER


def test_a_display_unplugged_is_reported_and_used_again_when_back(lane):
    lane.display.unplug()
    sell(lane.store, lane.caller, [WATER], cash=1000)
    eventually(lambda: DeviceState.get_or_none(DeviceState.name == "display") is not None
               and DeviceState.get_by_id("display").state == "offline")
    lane.display.plug()
    lane.scanner.send(WATER.encode() + b"\r")
    assert eventually(lambda: b"\x1bQA2.00\r" in lane.display.received(0.02) or None)
    assert DeviceState.get_by_id("display").state == "connected"


def test_a_gateway_with_the_wrong_token_is_turned_away(lane):
    ws = SocketClient.connect(lane.server.gateway_url,
                                         headers={"Authorization": "Bearer wrong-token-123456"})
    with pytest.raises(simple_websocket.ConnectionClosed) as closed:
        for _ in range(50):
            ws.receive(timeout=0.1)
    assert closed.value.reason == 1008
    assert GATEWAY_TOKEN not in (closed.value.message or "")


def test_a_lane_screen_without_a_paired_token_is_turned_away(lane):
    ws = SocketClient.connect(lane.server.lane_url(1, "not-a-token"))
    with pytest.raises(simple_websocket.ConnectionClosed) as closed:
        for _ in range(50):
            ws.receive(timeout=0.1)
    assert closed.value.reason == 1008


def test_a_member_code_scanned_names_the_member_on_the_sale(lane):
    from edge.members.service import Consent

    consent = Consent(notice_version="2026-11", purposes=("membership",))
    member = lane.store.members.register(lane.caller, phone="13800138000", consent=consent, channel="pos")
    lane.scanner.send(WATER.encode() + b"\r" + member.code.encode() + b"\r")
    named = lane.screen.wait_for("cart.member")
    assert named["sale"]["member"]["code"] == member.code
    assert open_sale(lane.store, lane.caller).member_id == member.id



def test_a_payment_code_scanned_at_the_lane_starts_that_payment_and_the_sale_completes(lane):
    code = payment_code("wechat")
    lane.scanner.send(WATER.encode() + b"\r")
    lane.screen.wait_for("cart.line")
    lane.scanner.send(code.encode() + b"\r")
    started = lane.screen.wait_for("cart.payment")
    assert (started["payment"]["provider"], started["payment"]["amount"]) == ("wechat", 200)
    assert code not in json.dumps(started)  # a payment code is a bearer token: the screen sees it masked
    sale = Sale.get_by_id(started["sale"]["id"])
    eventually(lambda: Sale.get_by_id(sale.id).status == "completed" or None)
    assert [(p["method"], p["amount"]) for p in lane.store.sales.as_dict(Sale.get_by_id(sale.id))["payments"]] == [
        ("wechat", 200)]


def test_the_gateway_is_answered_a_payment_codes_scan_with_the_payment_started_and_the_code_masked(lane):
    sale = lane.store.sales.open(lane.caller)
    lane.store.sales.add_line(sale.id, lane.caller, barcode=WATER)
    code = payment_code("wechat")
    ws = SocketClient.connect(lane.server.gateway_url, headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"})
    try:
        assert json.loads(ws.receive(timeout=15))["type"] == "hello"
        ws.send(json.dumps({"type": "scan", "lane": 1, "code": code}))
        answer = ws.receive(timeout=15)
    finally:
        ws.close()
    result = json.loads(answer)
    assert result["ok"] and (result["payment"]["provider"], result["payment"]["amount"]) == ("wechat", 200)
    assert result["sale_id"] == sale.id and code not in answer


def paid_scans(store, sale_id: str) -> list[tuple[str, int]]:
    return [(a.provider, a.amount) for a in store.payments.of_sale(sale_id) if a.state == "paid"]


def test_a_payment_code_at_the_lane_pays_the_part_held_on_the_tablets_tender_step_then_a_second_one_the_rest(lane):
    lane.scanner.send(WATER.encode() + b"\r" + WATER.encode() + b"\r")
    lane.screen.wait_for("cart.line")
    sale = lane.screen.wait_for("cart.line")["sale"]
    assert sale["total"] == 400
    tablet = LaneScreen(lane.server.lane_url(1, lane.till_token))
    try:
        tablet.ws.send(json.dumps({"type": "tender", "sale_id": sale["id"], "total": 400, "amount": -150}))
        refused = tablet.wait_for("screen.refused")
        assert refused["field"] == "amount" and "positive" in refused["message"]
        tablet.ws.send(json.dumps({"type": "tender", "sale_id": sale["id"], "total": 400, "amount": 150}))
        assert tablet.wait_for("tender.held")["amount"] == 150

        lane.scanner.send(payment_code("wechat").encode() + b"\r")
        assert tablet.wait_for("cart.payment")["payment"]["amount"] == 150
        eventually(lambda: paid_scans(lane.store, sale["id"]) == [("wechat", 150)] or None)
        assert Sale.get_by_id(sale["id"]).status == "open"  # ¥2.50 is left to pay

        lane.scanner.send(payment_code("wechat").encode() + b"\r")  # the held amount was used: this pays the rest
        assert tablet.wait_for("cart.payment")["payment"]["amount"] == 250
        eventually(lambda: Sale.get_by_id(sale["id"]).status == "completed" or None)
        assert [(p["method"], p["amount"]) for p in lane.store.sales.as_dict(Sale.get_by_id(sale["id"]))["payments"]] \
            == [("wechat", 150), ("wechat", 250)]
    finally:
        tablet.close()


def test_an_amount_held_for_the_sale_as_it_was_before_another_scan_pays_nothing_less_than_what_is_left(lane):
    lane.scanner.send(WATER.encode() + b"\r")
    sale = lane.screen.wait_for("cart.line")["sale"]
    tablet = LaneScreen(lane.server.lane_url(1, lane.till_token))
    try:
        tablet.ws.send(json.dumps({"type": "tender", "sale_id": sale["id"], "total": sale["total"], "amount": 100}))
        tablet.wait_for("tender.held")
        lane.scanner.send(WATER.encode() + b"\r")
        assert lane.screen.wait_for("cart.line")["sale"]["total"] == 400
        lane.scanner.send(payment_code("wechat").encode() + b"\r")
        assert tablet.wait_for("cart.payment")["payment"]["amount"] == 400
    finally:
        tablet.close()


def test_the_lanes_display_is_told_the_promotions_in_effect_when_one_comes_from_hq_and_only_when_they_change(lane):
    window = {"starts_at": "2020-01-01T00:00", "ends_at": "2099-12-31T00:00"}
    with lane.store.db.transaction():  # as a broadcast from HQ is applied
        lane.store.promotions.apply_from_hq({"id": "HQ-TEA", "name": "冰红茶尝鲜", "kind": "category_percent",
                                             "percent": 20, "skus": ["DRK003"], **window})
    told = lane.screen.wait_for("promotions.changed")
    assert [(p["id"], p["label"]) for p in told["promotions"]] == [("HQ-TEA", "冰红茶尝鲜 8折 20% off")]
    assert lane.store.hardware.refresh_offers() == 0  # nothing changed since: no display is told again


def test_a_paper_coupon_prints_with_its_code_as_a_barcode_once_issued(lane):
    manager = terminal(lane.store, lane=2, pin=MANAGER_PIN, shift_float=None)
    definition = lane.store.coupons.define(manager, name="满20减3", kind="threshold", value=300, threshold=2000,
                                           valid_from="2020-01-01", valid_to="2099-12-31")
    [coupon] = lane.store.coupons.issue(manager, definition.id, count=1)
    lane.store.hardware.print_coupon(coupon.code, lane.caller)
    printed = decode(lane.printer.wait_for(lambda data: coupon.code.encode() in data and b"\x1dV" in data))
    assert printed.barcodes == [coupon.code]
    assert "满 ￥20.00 立减 ￥3.00" in printed.lines and "有效期 2020-01-01 至 2099-12-31" in printed.lines
    assert [r["data"]["code"] for r in audit_records("coupon.printed")] == [coupon.code]
    sale = lane.store.sales.open(lane.caller)
    for _ in range(10):
        lane.store.sales.add_line(sale.id, lane.caller, barcode=WATER)
    lane.store.sales.complete(sale.id, lane.caller, [{"method": "coupon", "amount": 300, "reference": coupon.code},
                                                     {"method": "cash", "amount": 1700}])
    # used up: no second paper copy
    with nothing_written(lane.store), refused(Conflict, code="coupon_redeemed"):
        lane.store.hardware.print_coupon(coupon.code, lane.caller)

@pytest.mark.parametrize("shelf_life, reaches_the_cart", [(10.0, True), (0.0, False)])
def test_a_scan_made_while_web_was_away_goes_up_when_it_returns_unless_stale(lane, monkeypatch, shelf_life,
                                                                            reaches_the_cart):
    from drivers.gateway import link as link_module

    monkeypatch.setattr(link_module, "SCAN_SHELF_LIFE", shelf_life)
    link = link_module.WebLink(lane.server.gateway_url, GATEWAY_TOKEN, lambda message: None, 0.05)
    assert not link.send({"type": "scan", "lane": 1, "code": WATER, "device": "scanner"})  # not connected yet
    link.start()
    try:
        assert link.connected.wait(5)
        if reaches_the_cart:
            assert lane.screen.wait_for("cart.line")["code"] == WATER
        else:
            lane.scanner.send(b"6904321000029\r")  # a later scan arrives; the stale one never did
            assert lane.screen.wait_for("cart.line")["code"] == "6904321000029"
            sale = open_sale(lane.store, lane.caller)
            assert [line.barcode for line in lane.store.sales.lines(sale)] == ["6904321000029"]
    finally:
        link.stop()


def test_a_no_sale_approved_by_the_manager_opens_the_lanes_drawer(lane):
    from tests.conftest import MANAGER_PIN

    shift = lane.store.shifts.current(lane.caller.device_id)
    lane.store.shifts.cash_movement(shift.id, lane.caller, "no_sale", 0, "换零钱", approval={"pin": MANAGER_PIN})
    printed = decode(lane.printer.wait_for(lambda data: b"\x1bp" in data))
    assert printed.pulses == [(2, 120, 120)] and printed.barcodes == []


def test_a_refused_no_sale_opens_nothing(lane):
    shift = lane.store.shifts.current(lane.caller.device_id)
    with pytest.raises(Exception, match="PIN"):
        lane.store.shifts.cash_movement(shift.id, lane.caller, "no_sale", 0, "换零钱", approval={"pin": "0000"})
    # web → gateway is one ordered socket: once the scan's price is on the display, an earlier drawer
    # command would have been carried out too
    lane.scanner.send(WATER.encode() + b"\r")
    assert eventually(lambda: b"\x1bQA2.00\r" in lane.display.received(0.02) or None)
    assert b"\x1bp" not in bytes(lane.printer.received)
