"""Gifts for points (积分兑换): the manager's gift list, redeeming points for a gift with a pickup code,
collecting it once (its product's stock through the inventory ledger), cancelling (points back), on a real
store and over the API. Refusals name the field and write nothing; the points balance never goes negative."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from stdnum import luhn

from edge.errors import Conflict, DomainError, NotFound
from edge.inventory.models import StockMovement
from edge.members.gifts import GiftRedemption
from tests.api_helpers import World, client_for, nothing_written, refusal
from tests.card_helpers import join, shop, store  # noqa: F401 (fixtures)
from tests.conftest import MANAGER_PIN
from tests.domain2_helpers import audit_records, events, refused

SKU = "DRK001"  # 农夫山泉, in stock in the demo store


@pytest.fixture
def mug(store, manager):
    """A gift of 300 points taking the stock of SKU, at most 5 given out."""
    return store.gifts.add(manager, name="马克杯", points=300, sku=SKU, stock_limit=5)


def member_holding(store, cashier, manager, points: int):
    member = join(store, cashier)
    store.points.adjust(manager, member.id, points, "活动")
    return member


# -- the gift list --------------------------------------------------------------


def test_a_manager_adds_a_gift_with_its_audit_record(store, mug):
    shown = store.gifts.gift_dict(mug)
    assert shown == {"id": mug.id, "name": "马克杯", "points": 300, "sku": SKU,
                     "product_id": store.catalog.by_sku(SKU).id, "active": True, "stock_limit": 5, "left": 5}
    [added] = audit_records("gift.added")
    assert added["entity_id"] == mug.id and added["data"]["points"] == 300


@pytest.mark.parametrize("fields, field, error", [
    ({"name": "  "}, "name", DomainError),
    ({"points": 0}, "points", DomainError),
    ({"sku": "NOPE404"}, "sku", NotFound),
    ({"stock_limit": -1}, "stock_limit", DomainError),
])
def test_a_bad_gift_is_refused_naming_the_field_and_writes_nothing(store, manager, fields, field, error):
    with nothing_written(store), refused(error, field=field):
        store.gifts.add(manager, **{"name": "马克杯", "points": 300, **fields})


def test_changing_a_gift_records_what_changed(store, manager, mug):
    store.gifts.change(manager, mug.id, {"points": 500, "sku": None, "stock_limit": None})
    assert store.gifts.gift_dict(store.gifts.get(mug.id)) | {"id": None} == {
        "id": None, "name": "马克杯", "points": 500, "sku": None, "product_id": None, "active": True,
        "stock_limit": None, "left": None}
    [changed] = audit_records("gift.changed")
    assert sorted(changed["data"]) == ["left", "points", "product_id", "sku", "stock_limit"]
    assert (changed["data"]["points"], changed["data"]["sku"]) == ([300, 500], [SKU, None])


def test_the_limit_cannot_go_below_what_was_given_out(store, cashier, manager, mug):
    member = member_holding(store, cashier, manager, 900)
    store.gifts.redeem(cashier, member.id, mug.id, 3)
    with nothing_written(store), refused(Conflict, field="stock_limit", code="stock_limit_below_given"):
        store.gifts.change(manager, mug.id, {"stock_limit": 2})


# -- redeeming --------------------------------------------------------------------


def test_redeeming_debits_the_points_and_gives_a_pickup_code(store, cashier, manager, mug):
    member = member_holding(store, cashier, manager, 1000)
    redemption = store.gifts.redeem(cashier, member.id, mug.id, 2)

    assert redemption.status == "pending" and redemption.points == 600
    assert redemption.code[0] == "G" and luhn.is_valid(redemption.code[1:]) and len(redemption.code) == 9
    assert store.points.balance(member.id) == 400 == store.points.ledger_sum(member.id)
    entry = store.points.entries(member.id)[-1]
    assert (entry.kind, entry.points, entry.ref) == ("redemption", -600, redemption.id)
    [redeemed] = events("gift.redeemed")
    assert redeemed["data"]["code"] == redemption.code and redeemed["data"]["entry_id"] == entry.id
    assert events("ledger.entry")[-1]["data"]["id"] == entry.id
    assert audit_records("gift.redeemed")[0]["entity_id"] == redemption.id
    assert store.gifts.gift_dict(mug)["left"] == 3


def test_all_the_points_held_can_be_spent_and_not_one_more(store, cashier, manager, mug):
    member = member_holding(store, cashier, manager, 599)
    with nothing_written(store), refused(Conflict, field="qty", code="points_short") as caught:
        store.gifts.redeem(cashier, member.id, mug.id, 2)
    assert "599" in caught.value.message
    store.gifts.redeem(cashier, member.id, mug.id, 1)
    assert store.points.balance(member.id) == 299


@pytest.mark.parametrize("set_up, qty, field, code", [
    (lambda s, m, g, member: s.gifts.change(m, g.id, {"active": False}), 1, "gift_id", "gift_inactive"),
    (lambda s, m, g, member: None, 6, "qty", "gift_out_of_stock"),
    (lambda s, m, g, member: s.members.set_active(m, member.id, False), 1, "member_id", "member_inactive"),
    (lambda s, m, g, member: None, 0, "qty", None),
])
def test_a_redemption_refused_names_why_and_writes_nothing(store, cashier, manager, mug, set_up, qty, field, code):
    member = member_holding(store, cashier, manager, 5000)
    set_up(store, manager, mug, member)
    with nothing_written(store), refused(DomainError, field=field, code=code):
        store.gifts.redeem(cashier, member.id, mug.id, qty)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=st.integers(0, 2000), asks=st.lists(st.integers(1, 8), min_size=1, max_size=6))
def test_redemptions_never_take_the_balance_below_zero(store, cashier, manager, held, asks):
    gift = store.gifts.add(manager, name="贴纸", points=100)
    member = join(store, cashier)
    if held:
        store.points.adjust(manager, member.id, held, "活动")
    for qty in asks:
        balance = store.points.balance(member.id)
        try:
            store.gifts.redeem(cashier, member.id, gift.id, qty)
            assert balance >= 100 * qty
        except Conflict:
            assert balance < 100 * qty
        assert 0 <= store.points.balance(member.id) == store.points.ledger_sum(member.id)


@pytest.mark.parametrize("stock_limit, granted, refused_as", [
    (4, 4, "gift_out_of_stock"),  # the limit binds before the points (5 stickers' worth)
    (None, 5, "points_short"),
])
def test_lanes_redeeming_at_once_never_overspend_the_points_or_the_limit(store, cashier, manager, stock_limit,
                                                                         granted, refused_as):
    sticker = store.gifts.add(manager, name="贴纸", points=100, stock_limit=stock_limit)
    member = member_holding(store, cashier, manager, 500)

    def redeem_one(_):
        try:
            return store.gifts.redeem(cashier, member.id, sticker.id, 1).code
        except Conflict as refusal_:
            return refusal_.code

    with ThreadPoolExecutor(max_workers=8) as lanes:
        answers = list(lanes.map(redeem_one, range(8)))
    assert sum(answer.startswith("G") for answer in answers) == granted
    assert [a for a in answers if not a.startswith("G")] == [refused_as] * (8 - granted)
    assert store.points.balance(member.id) == 500 - 100 * granted == store.points.ledger_sum(member.id)


# -- collecting and cancelling ------------------------------------------------------


def test_collecting_takes_the_stock_once(store, cashier, manager, mug):
    member = member_holding(store, cashier, manager, 1000)
    redemption = store.gifts.redeem(cashier, member.id, mug.id, 2)
    product = store.catalog.by_sku(SKU)
    on_hand = store.inventory.on_hand(product.id)

    store.gifts.collect(cashier, redemption.code.lower())

    assert store.inventory.on_hand(product.id) == on_hand - 2
    movement = StockMovement.get(StockMovement.ref == redemption.id)
    assert movement.qty == -2 and movement.product_id == product.id
    [collected] = events("gift.collected")
    assert collected["data"]["movement_id"] == movement.id and collected["data"]["status"] == "collected"
    assert events("stock.movement")[-1]["data"]["id"] == movement.id
    assert audit_records("gift.collected")[0]["entity_id"] == redemption.id
    with nothing_written(store), refused(Conflict, field="code", code="gift_collected"):
        store.gifts.collect(cashier, redemption.code)
    with nothing_written(store), refused(Conflict, field="code", code="gift_collected"):
        store.gifts.cancel(manager, redemption.code, "顾客不要了")


def test_a_gift_without_a_product_takes_no_stock(store, cashier, manager):
    sticker = store.gifts.add(manager, name="贴纸", points=100)
    member = member_holding(store, cashier, manager, 100)
    movements = StockMovement.select().count()
    store.gifts.collect(cashier, store.gifts.redeem(cashier, member.id, sticker.id, 1).code)
    assert StockMovement.select().count() == movements
    assert events("gift.collected")[0]["data"]["movement_id"] is None


def test_cancelling_gives_the_points_back_and_frees_the_gift(store, cashier, manager, mug):
    member = member_holding(store, cashier, manager, 1500)
    redemption = store.gifts.redeem(cashier, member.id, mug.id, 5)
    assert store.gifts.gift_dict(mug)["left"] == 0

    store.gifts.cancel(manager, redemption.code, "顾客不要了")

    assert store.points.balance(member.id) == 1500 == store.points.ledger_sum(member.id)
    back = store.points.entries(member.id)[-1]
    assert (back.kind, back.points, back.ref) == ("refund", 1500, redemption.id)
    assert GiftRedemption.get_by_id(redemption.id).status == "cancelled"
    assert store.gifts.gift_dict(mug)["left"] == 5
    assert events("gift.cancelled")[0]["data"]["cancel_reason"] == "顾客不要了"
    assert audit_records("gift.cancelled")[0]["entity_id"] == redemption.id
    for again in (lambda: store.gifts.cancel(manager, redemption.code, "再次"),
                  lambda: store.gifts.collect(cashier, redemption.code)):
        with nothing_written(store), refused(Conflict, field="code", code="gift_cancelled"):
            again()


@pytest.mark.parametrize("code, error, error_code", [
    ("G12345678", DomainError, "invalid_pickup_code"),  # a wrong check digit
    ("C000000000000", DomainError, "invalid_pickup_code"),
    ("G" + "1234567" + luhn.calc_check_digit("1234567"), NotFound, "not_found"),
])
def test_a_bad_pickup_code_is_refused(store, cashier, code, error, error_code):
    with nothing_written(store), refused(error, field="code", code=error_code):
        store.gifts.collect(cashier, code)


# -- over the API -------------------------------------------------------------------


@pytest.fixture
def world(store):
    flask_app = store.web()
    return World.around(store, flask_app, client_for(store, flask_app, lane=1, shift_float=10_000))


def test_a_member_takes_a_gift_and_the_cashier_hands_it_over(world):
    gift_id = world.manager.post("/gifts", {"name": "保温杯", "points": 250, "sku": SKU}).json["id"]
    member_id = world.member()["id"]
    world.manager.post(f"/members/{member_id}/points/adjust", {"points": 600, "reason": "活动"})
    assert [g["name"] for g in world.cashier.get("/gifts?active_only=true").json["gifts"]] == ["保温杯"]

    redeemed = world.cashier.post(f"/members/{member_id}/gift-redemptions", {"gift_id": gift_id, "qty": 2})
    assert redeemed.status_code == 201, redeemed.json
    assert redeemed.json["balance"] == 100 and redeemed.json["status"] == "pending"
    code = redeemed.json["code"]
    assert world.cashier.get(f"/gift-redemptions/{code}").json["points"] == 500
    collected = world.cashier.post(f"/gift-redemptions/{code}/collect")
    assert collected.status_code == 200 and collected.json["status"] == "collected"
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/gift-redemptions/{code}/collect"), 409, field="code", code="gift_collected")
    assert [r["code"] for r in world.cashier.get(f"/members/{member_id}/gift-redemptions").json["redemptions"]] == [
        code]


def test_redeeming_more_points_than_held_over_the_api_writes_nothing(world):
    gift_id = world.manager.post("/gifts", {"name": "保温杯", "points": 250}).json["id"]
    member_id = world.member()["id"]
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/members/{member_id}/gift-redemptions", {"gift_id": gift_id}), 409,
                field="qty", code="points_short")


def test_the_gift_list_and_cancelling_are_for_managers(world):
    with nothing_written(world.store):
        refusal(world.cashier.post("/gifts", {"name": "保温杯", "points": 250}), 403)
    gift_id = world.manager.post("/gifts", {"name": "保温杯", "points": 250}).json["id"]
    member_id = world.member()["id"]
    world.manager.post(f"/members/{member_id}/points/adjust", {"points": 250, "reason": "活动"})
    code = world.cashier.post(f"/members/{member_id}/gift-redemptions", {"gift_id": gift_id}).json["code"]
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/gift-redemptions/{code}/cancel", {"reason": "不要了"}), 403)
    manager = client_for(world.store, world.flask_app, lane=3, pin=MANAGER_PIN)
    cancelled = manager.post(f"/gift-redemptions/{code}/cancel", {"reason": "不要了"})
    assert cancelled.status_code == 200 and cancelled.json["balance"] == 250
