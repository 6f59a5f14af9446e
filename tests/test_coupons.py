"""Coupons (优惠券): definitions, issuing, redemption once as a tender, scope and thresholds, validity, refunds."""

from __future__ import annotations

import itertools
import json

import pytest
from stdnum import luhn

from edge.errors import Conflict, DomainError
from edge.members.coupons import Coupon, CouponDefinition, looks_like_coupon_code
from edge.members.service import Consent
from edge.outbox.events import OutboxEvent
from tests.api_helpers import client_for, member_body, nothing_written, refusal
from tests.conftest import COLA, MANAGER_PIN, WATER

CRISPS = "6904321000074"  # 乐事薯片, 零食, 7.50
AGREED = Consent(notice_version="2026-11", purposes=("membership",))
WIDE_OPEN = {"valid_from": "2020-01-01", "valid_to": "2099-12-31"}
_phones = (str(number) for number in itertools.count(13_700_000_000))


def join(store, caller):
    return store.members.register(caller, phone=next(_phones), consent=AGREED, channel="pos")


def define(store, manager, **rules):
    return store.coupons.define(manager, **{"name": "券", "kind": "amount", "value": 300, **WIDE_OPEN, **rules})


def open_sale(store, caller, *items, member=None):
    sale = store.sales.open(caller)
    for barcode, qty in items:
        store.sales.add_line(sale.id, caller, barcode=barcode, qty=qty)
    if member is not None:
        store.sales.set_member(sale.id, caller, member)
    return store.sales.get(sale.id)


def pay_with(store, caller, sale, coupon, amount):
    """The coupon for ``amount``, the rest in cash."""
    return store.sales.complete(sale.id, caller, [
        {"method": "coupon", "amount": amount, "reference": coupon.code},
        {"method": "cash", "amount": sale.total - amount},
    ])


def coupon_events(kind: str) -> list[dict]:
    return [json.loads(e.data) for e in OutboxEvent.select().where(OutboxEvent.type == kind).order_by(OutboxEvent.seq)]


@pytest.mark.parametrize("rules, field", [
    ({"kind": "percent", "value": 100}, "value"),
    ({"kind": "threshold", "value": 5000, "threshold": 5000}, "threshold"),
    ({"kind": "gift"}, "kind"),
    ({"valid_from": "2026-13-01"}, "valid_from"),
    ({"valid_from": "2026-12-31", "valid_to": "2026-12-01"}, "valid_to"),
])
def test_a_bad_definition_is_refused_naming_the_field(store, manager, rules, field):
    before = CouponDefinition.select().count()
    with pytest.raises(DomainError) as refused:
        define(store, manager, **rules)
    assert refused.value.field == field
    assert CouponDefinition.select().count() == before


def test_a_members_coupon_is_redeemed_once_as_a_tender(store, cashier, manager):
    member = join(store, cashier)
    [coupon] = store.coupons.issue(manager, define(store, manager).id, member_id=member.id)
    assert looks_like_coupon_code(coupon.code) and luhn.is_valid(coupon.code[1:])
    assert [c["code"] for c in store.coupons.usable(member.id)] == [coupon.code]

    sale = open_sale(store, cashier, (WATER, 2), (COLA, 1), member=member)
    done = pay_with(store, cashier, sale, coupon, 300)

    assert (done.status, done.total, done.paid) == ("completed", 700, 700)
    assert Coupon.get_by_id(coupon.id).status == "redeemed"
    assert coupon_events("coupon.redeemed") == [{"id": coupon.id, "code": coupon.code, "member_id": member.id,
                                                  "definition_id": coupon.definition_id, "sale_id": sale.id,
                                                  "amount": 300, "store_id": "S001"}]
    assert store.coupons.usable(member.id) == []

    again = open_sale(store, cashier, (WATER, 2), member=member)
    with pytest.raises(Conflict) as refused:
        pay_with(store, cashier, again, coupon, 300)
    assert refused.value.code == "coupon_redeemed" and refused.value.field == "payments[0].reference"
    assert store.sales.get(again.id).status == "open"


def test_a_coupon_is_worth_what_its_rules_give_and_no_other_amount(store, cashier, manager):
    [coupon] = store.coupons.issue(manager, define(store, manager, kind="percent", value=15).id, count=1)
    sale = open_sale(store, cashier, (WATER, 1), (CRISPS, 1))  # 9.50: 15 % is 1.425 → 1.43
    with pytest.raises(DomainError) as refused:
        pay_with(store, cashier, sale, coupon, 140)
    assert refused.value.code == "coupon_amount" and refused.value.field == "payments[0].amount"
    assert Coupon.get_by_id(coupon.id).status == "issued"
    assert pay_with(store, cashier, sale, coupon, 143).status == "completed"


def test_threshold_coupons_count_only_their_category(store, cashier, manager):
    snacks = define(store, manager, kind="threshold", value=200, threshold=1000, category="零食")
    [coupon] = store.coupons.issue(manager, snacks.id, count=1)
    drinks_mostly = open_sale(store, cashier, (WATER, 5), (CRISPS, 1))  # 17.50, but only 7.50 of snacks
    with pytest.raises(Conflict) as refused:
        pay_with(store, cashier, drinks_mostly, coupon, 200)
    assert refused.value.code == "coupon_not_applicable" and "10.00 on 零食" in refused.value.message
    store.sales.add_line(drinks_mostly.id, cashier, barcode=CRISPS, qty=1)  # 15.00 of snacks now
    assert pay_with(store, cashier, store.sales.get(drinks_mostly.id), coupon, 200).status == "completed"


def test_a_members_coupon_needs_its_member_on_the_sale(store, cashier, manager):
    owner, other = join(store, cashier), join(store, cashier)
    [coupon] = store.coupons.issue(manager, define(store, manager).id, member_id=owner.id)
    sale = open_sale(store, cashier, (COLA, 2), member=other)
    with pytest.raises(Conflict) as refused:
        pay_with(store, cashier, sale, coupon, 300)
    assert refused.value.code == "coupon_other_member"


@pytest.mark.parametrize("window, status", [
    ({"valid_from": "2020-01-01", "valid_to": "2020-12-31"}, "expired"),
    ({"valid_from": "2099-01-01", "valid_to": "2099-12-31"}, "not_yet_valid"),
])
def test_a_coupon_outside_its_window_is_refused(store, cashier, manager, window, status):
    [coupon] = store.coupons.issue(manager, define(store, manager, **window).id, count=1)
    assert store.coupons.coupon_dict(coupon)["status"] == status
    sale = open_sale(store, cashier, (COLA, 2))
    with pytest.raises(Conflict) as refused:
        pay_with(store, cashier, sale, coupon, 300)
    assert refused.value.code == f"coupon_{status}"


def test_a_whole_refund_gives_the_coupon_back_and_a_partial_one_does_not(store, cashier, manager):
    member = join(store, cashier)
    definition = define(store, manager)
    first, second = store.coupons.issue(manager, definition.id, member_id=member.id) + store.coupons.issue(
        manager, definition.id, member_id=member.id)
    approval = {"pin": MANAGER_PIN}

    whole = pay_with(store, cashier, open_sale(store, cashier, (WATER, 3), member=member), first, 300)
    store.refunds.refund(cashier, whole.id, None, "退货", "original", approval)
    assert Coupon.get_by_id(first.id).status == "issued"
    assert [e["code"] for e in coupon_events("coupon.returned")] == [first.code]

    partial = pay_with(store, cashier, open_sale(store, cashier, (WATER, 3), member=member), second, 300)
    line = store.sales.lines(partial)[0]
    store.refunds.refund(cashier, partial.id, [{"line_id": line.id, "qty": 1}], "退一瓶", "original", approval)
    assert Coupon.get_by_id(second.id).status == "redeemed"


def test_issuing_to_a_level_reaches_its_active_members_and_paper_coupons_are_for_anyone(store, cashier, manager):
    members = [join(store, cashier) for _ in range(3)]
    store.members.set_active(manager, members[2].id, False)
    definition = define(store, manager)

    to_level = store.coupons.issue(manager, definition.id, level="普通")
    paper = store.coupons.issue(manager, definition.id, count=5)

    assert sorted(c.member_id for c in to_level) == sorted(m.id for m in members[:2])
    assert [c.member_id for c in paper] == [None] * 5
    assert len({c.code for c in to_level + paper}) == 7
    assert len(coupon_events("coupon.issued")) == 7
    with pytest.raises(DomainError) as refused:
        store.coupons.issue(manager, definition.id, level="黑卡")
    assert refused.value.field == "level"


# -- over HTTP --------------------------------------------------------------


def test_http_define_issue_look_up_and_redeem(store, flask_app, api):
    boss = client_for(store, flask_app, lane=9, pin=MANAGER_PIN)
    body = {"name": "满10减2", "kind": "threshold", "value": 200, "threshold": 1000, **WIDE_OPEN}
    refusal(api.post("/coupons/definitions", body), 403)
    definition = boss.post("/coupons/definitions", body)
    assert definition.status_code == 201
    member = api.post("/members", member_body("13712345678")).json
    issued = boss.post(f"/coupons/definitions/{definition.json['id']}/issue", {"member_id": member["id"]})
    assert issued.status_code == 201 and issued.json["issued"] == 1
    code = issued.json["coupons"][0]["code"]
    assert api.get(f"/coupons/{code}").json["status"] == "issued"
    assert [c["code"] for c in api.get(f"/members/{member['id']}/coupons").json["coupons"]] == [code]
    refusal(api.get(f"/coupons/{code[:-1]}{(int(code[-1]) + 1) % 10}"), 422, field="code")

    sale = api.post("/sales").json
    api.post(f"/sales/{sale['id']}/lines", {"barcode": CRISPS, "qty": 2})
    api.post(f"/sales/{sale['id']}/member", {"member_id": member["id"]})
    with nothing_written(store):
        refusal(api.post(f"/sales/{sale['id']}/complete", {"payments": [
            {"method": "coupon", "amount": 200}, {"method": "cash", "amount": 1300}]}), 422,
            field="payments[0].reference")
    done = api.post(f"/sales/{sale['id']}/complete", {"payments": [
        {"method": "coupon", "amount": 200, "reference": code}, {"method": "cash", "amount": 1300}]})
    assert done.status_code == 200
    assert [(p["method"], p["amount"]) for p in done.json["payments"]] == [("coupon", 200), ("cash", 1300)]
    assert api.get(f"/coupons/{code}").json["status"] == "redeemed"
