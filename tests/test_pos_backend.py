"""What the screens need from the server beyond the checkout: a coupon's worth on a sale (the amount of its tender),
the points' worth on the member card, cash movements with their reasons in the shift report, and a lane's sale told
live to its customer displays. Through the Flask client, or the services, on a real demo store."""

from __future__ import annotations

import json

import pytest

from edge.errors import DomainError
from edge.hardware.live import Peer
from edge.hardware.reports import shift_report_page

from tests.api_helpers import PROMOTION_BODY, World, nothing_written, refusal
from tests.conftest import COLA, WATER


@pytest.fixture
def world(store, flask_app, api) -> World:
    return World.around(store, flask_app, api)


def issued_coupon(world: World, member_id: str | None) -> str:
    target = {"member_id": member_id} if member_id else {"count": 1}
    issued = world.manager.post(f"/coupons/definitions/{world.coupon_definition()}/issue", target)
    assert issued.status_code == 201, issued.json
    return issued.json["coupons"][0]["code"]


def test_a_coupon_says_what_it_takes_off_the_sale_and_that_amount_pays(world):
    member = world.member()
    code = issued_coupon(world, member["id"])
    sale_id, _ = world.sale(WATER, COLA)
    world.cashier.post(f"/sales/{sale_id}/member", {"member_id": member["id"]})
    worth = world.cashier.get(f"/sales/{sale_id}/coupons/{code}")
    assert worth.status_code == 200 and worth.json == {"code": code, "name": "立减3元", "sale_id": sale_id,
                                                       "worth": 300}
    total = world.cashier.get(f"/sales/{sale_id}").json["total"]
    done = world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [
        {"method": "coupon", "amount": 300, "reference": code}, {"method": "cash", "amount": total - 300}]})
    assert done.status_code == 200, done.json
    refusal(world.cashier.get(f"/sales/{sale_id}/coupons/{code}"), 409, field="code", code="coupon_redeemed")


def test_a_members_coupon_is_refused_on_a_sale_without_that_member_and_a_bad_code_is_named(world, store):
    code = issued_coupon(world, world.member()["id"])
    sale_id, _ = world.sale(WATER)
    with nothing_written(store):
        refusal(world.cashier.get(f"/sales/{sale_id}/coupons/{code}"), 409, field="code",
                code="coupon_other_member")
        refusal(world.cashier.get(f"/sales/{sale_id}/coupons/C123"), 422, field="code", code="invalid_coupon_code")
        refusal(world.cashier.get(f"/sales/{sale_id}/coupons/C000000000000"), 404, field="code")  # valid, unknown
        refusal(world.cashier.get(f"/sales/no-such-sale/coupons/{code}"), 404, field="sale_id")


def test_the_member_card_says_what_the_points_can_pay(world, store):
    member = world.member()
    adjusted = world.manager.post(f"/members/{member['id']}/points/adjust", {"points": 250, "reason": "欢迎积分"})
    assert adjusted.status_code == 201, adjusted.json
    points = world.cashier.get(f"/members/{member['id']}/card").json["points"]
    per_yuan = store.config.members.points.redeem_per_yuan
    assert (points["balance"], points["worth"]) == (250, 250 * 100 // per_yuan)


def test_the_shift_report_lists_each_paid_in_and_paid_out_with_its_reason(world):
    shift_id = world.shift_id()
    for kind, amount, reason in (("in", 5000, "补零钱 change float"), ("out", 1200, "买胶带 tape")):
        moved = world.cashier.post(f"/shifts/{shift_id}/cash", {"kind": kind, "amount": amount, "reason": reason})
        assert moved.status_code == 201, moved.json
    report = world.cashier.get(f"/shifts/{shift_id}/report").json
    assert [(m["kind"], m["amount"], m["reason"]) for m in report["cash_movements"]] == [
        ("in", 5000, "补零钱 change float"), ("out", 1200, "买胶带 tape")]
    assert (report["cash"]["cash_in"], report["cash"]["cash_out"]) == (5000, 1200)
    printed = shift_report_page(world.store, report, columns=32).body
    assert [line for line in printed if line.startswith(("存入", "取出"))] == [
        "存入 补零钱 change float   50.00", "取出 买胶带 tape" + " " * 10 + "-12.00"]  # 32 columns, 汉字 two each


class RecordingSocket:
    """The socket end of a lane screen: what the hub sends it, decoded (the transport is flask-sock's)."""

    def __init__(self):
        self.received: list[dict] = []

    def send(self, text: str) -> None:
        self.received.append(json.loads(text))


def screen_on(store, lane: int, kind: str) -> RecordingSocket:
    socket = RecordingSocket()
    store.hardware.hub.join(Peer(socket, lane=lane, kind=kind), gateway=False)
    return socket


def test_every_change_of_a_lanes_sale_reaches_its_displays_only_once_committed(store, cashier):
    display, tablet, elsewhere = (screen_on(store, 1, "display"), screen_on(store, 1, "terminal"),
                                  screen_on(store, 2, "display"))
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=COLA)
    store.sales.add_line(sale.id, cashier, barcode=COLA)
    with pytest.raises(DomainError):
        store.sales.add_line(sale.id, cashier, barcode=COLA, qty=10**9)  # refused: nothing is announced
    store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 1000}])
    shown = [(m["type"], m["sale"]["status"], sum(line["qty"] for line in m["sale"]["lines"]))
             for m in display.received]
    assert shown == [("sale.changed", "open", 1), ("sale.changed", "open", 2), ("sale.changed", "completed", 2)]
    assert display.received[-1]["sale"]["change"] == 1000 - display.received[-1]["sale"]["total"]
    assert tablet.received == [] and elsewhere.received == []


def test_a_lane_screen_starts_from_the_open_sale_and_the_promotions_in_effect(store, cashier, manager):
    running = store.promotions.create(manager, {**PROMOTION_BODY, "id": "SPEND-100"})
    store.promotions.create(manager, {**PROMOTION_BODY, "id": "MEMBERS", "member_only": True})
    store.promotions.create(manager, {**PROMOTION_BODY, "id": "OVER", "ends_at": "2021-01-01T00:00"})
    assert store.hardware.lane_snapshot(1)["sale"] is None
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER)
    snapshot = store.hardware.lane_snapshot(1)
    assert (snapshot["type"], snapshot["lane"], snapshot["sale"]["id"]) == ("lane.state", 1, sale.id)
    # for any customer, now: not the members' one, not the one that ended
    assert snapshot["promotions"] == [{"id": running.id, "name": "满100减10", "label": "满100减10 spend ¥100 save ¥10"}]
    assert store.hardware.lane_snapshot(2)["sale"] is None
