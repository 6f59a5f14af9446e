"""The promotions engine on its own: each kind, the time windows, the stacking rules, and properties of any cart."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.promotions.engine import (LEVEL_DISCOUNT_ID, MEMBER_PRICE_ID, CartLine, MemberContext, Promotion, per_line,
                                    price_promotions)

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0)
ALWAYS = {"starts_at": datetime(2020, 1, 1), "ends_at": datetime(2099, 1, 1)}
GOLD = MemberContext("金卡", 5)


def line(line_id: str, sku: str = "COLA", category: str | None = "饮料", qty: int = 1, unit_price: int = 300,
         **more) -> CartLine:
    return CartLine(line_id=line_id, sku=sku, category=category, qty=qty, unit_price=unit_price,
                    gross=more.pop("gross", unit_price * qty), **more)


def promo(pid: str, kind: str, **rules) -> Promotion:
    return Promotion(id=pid, name=rules.pop("name", pid), kind=kind, **{**ALWAYS, **rules})


def drinks_off(pid: str = "drinks", percent: int = 10, **rules) -> Promotion:
    return promo(pid, "category_percent", **{"percent": percent, "categories": ("饮料",), **rules})


def spend_off(pid: str = "spend", threshold: int = 10_000, amount: int = 1000, **rules) -> Promotion:
    return promo(pid, "threshold", threshold=threshold, amount=amount, **rules)


def three_for_two(pid: str = "b2g1", **rules) -> Promotion:
    return promo(pid, "buy_x_get_y", **{"buy_qty": 2, "get_qty": 1, "percent": 100, "skus": ("COLA",), **rules})


def explained(applied) -> list[tuple]:
    return [(a.promotion_id, a.kind, a.label, a.amount, a.allocation) for a in applied]


def test_a_member_price_applies_only_when_the_sale_has_a_member():
    cart = [line("a", qty=2, member_price=250)]
    assert price_promotions(cart, None, [], SATURDAY_NOON) == []
    [entry] = price_promotions(cart, MemberContext("普通", 0), [], SATURDAY_NOON)
    assert explained([entry]) == [(MEMBER_PRICE_ID, "member_price", "会员价 member price", 100, {"a": 100})]


def test_the_level_discount_comes_from_the_members_level_and_prints_as_zhe():
    [entry] = price_promotions([line("a", unit_price=1990)], GOLD, [], SATURDAY_NOON)
    assert explained([entry]) == [(LEVEL_DISCOUNT_ID, "level_discount", "金卡 95折 member 5% off", 100, {"a": 100})]


def test_a_category_percent_reduces_only_its_category_and_skus_half_up():
    cart = [line("a", unit_price=305), line("b", sku="CHIPS", category="零食", unit_price=750),
            line("c", sku="GUM", category="零食", unit_price=200)]
    [entry] = price_promotions(cart, None, [drinks_off(skus=("GUM",))], SATURDAY_NOON)
    assert (entry.label, entry.allocation) == ("drinks 9折 10% off", {"a": 31, "c": 20})  # 30.5 rounds half-up


@pytest.mark.parametrize("subtotal, repeat, off", [(9_999, False, 0), (10_000, False, 1000), (35_000, False, 1000),
                                                   (35_000, True, 3000)])
def test_a_threshold_takes_its_amount_once_or_for_every_full_step(subtotal, repeat, off):
    applied = price_promotions([line("a", unit_price=subtotal)], None, [spend_off(repeat=repeat)], SATURDAY_NOON)
    assert sum(a.amount for a in applied) == off


def test_a_threshold_is_spread_over_its_lines_by_largest_remainder():
    cart = [line("a", unit_price=5_000), line("b", unit_price=3_333), line("c", unit_price=1_667)]
    [entry] = price_promotions(cart, None, [spend_off(name="满100减10")], SATURDAY_NOON)
    assert entry.label == "满100减10 spend ¥100 save ¥10"  # the name says the terms: they are not repeated
    assert entry.allocation == {"a": 500, "b": 333, "c": 167} and sum(entry.allocation.values()) == 1000


def test_buy_two_get_one_makes_the_cheapest_units_free():
    cart = [line("a", qty=2, unit_price=300), line("b", sku="COLA-ZERO", qty=1, unit_price=250)]
    deal = three_for_two(skus=("COLA", "COLA-ZERO"), name="可乐买二送一")
    [entry] = price_promotions(cart, None, [deal], SATURDAY_NOON)
    assert (entry.label, entry.allocation) == ("可乐买二送一 buy 2 get 1 free", {"b": 250})


def test_buy_x_get_y_at_a_percent_off_and_only_for_full_sets():
    half = three_for_two(pid="half", percent=50, buy_qty=1, name="可乐第二件半价")
    [entry] = price_promotions([line("a", qty=5)], None, [half], SATURDAY_NOON)
    assert entry.label == "可乐第二件半价 买一第二件5折 buy 1 get 1 50% off"
    assert entry.amount == 2 * 150  # five units: two full pairs, the fifth pays full price


def test_equal_unit_prices_pick_the_free_units_by_sku_then_line_id():
    cart = [line("z", sku="B"), line("y", sku="A"), line("x", sku="A")]
    [entry] = price_promotions(cart, None, [three_for_two(skus=("A", "B"))], SATURDAY_NOON)
    assert entry.allocation == {"x": 300}


@pytest.mark.parametrize("moment, applies", [
    (datetime(2026, 11, 21, 20, 0), True),    # Saturday, inside 20:00–22:00
    (datetime(2026, 11, 21, 22, 0), False),   # the window's end is not in it
    (datetime(2026, 11, 20, 21, 0), False),   # a Friday
    (datetime(2026, 11, 22, 23, 0), False),   # Sunday, after hours
    (datetime(2027, 1, 2, 21, 0), False),     # a Saturday after the promotion ended
])
def test_time_windows_dates_weekdays_and_daily_hours(moment, applies):
    evening = drinks_off(weekdays=(6, 7), hours_from="20:00", hours_to="22:00", ends_at=datetime(2027, 1, 1))
    assert bool(price_promotions([line("a")], None, [evening], moment)) is applies


def test_a_window_past_midnight_wraps():
    late = drinks_off(hours_from="22:00", hours_to="02:00")
    assert price_promotions([line("a")], None, [late], datetime(2026, 11, 21, 1, 0))
    assert not price_promotions([line("a")], None, [late], datetime(2026, 11, 21, 12, 0))


@pytest.mark.parametrize("member, applies", [(None, False), (MemberContext("普通", 0), False), (GOLD, True)])
def test_member_only_and_level_promotions(member, applies):
    gold_only = drinks_off(member_only=True, levels=("金卡", "钻石"))
    applied = price_promotions([line("a")], member, [gold_only], SATURDAY_NOON)
    assert ("drinks" in [a.promotion_id for a in applied]) is applies


def test_an_inactive_promotion_does_nothing():
    assert price_promotions([line("a")], None, [drinks_off(active=False)], SATURDAY_NOON) == []


def test_one_line_level_price_per_line_the_best_for_the_customer():
    cart = [line("a", unit_price=1000, member_price=960), line("b", unit_price=1000, member_price=900)]
    applied = price_promotions(cart, GOLD, [drinks_off(percent=6)], SATURDAY_NOON)
    # a: member price 40, gold 50, drinks 60 → drinks; b: member price 100 wins
    assert {a.promotion_id: a.allocation for a in applied} == {"drinks": {"a": 60}, MEMBER_PRICE_ID: {"b": 100}}


def test_ties_go_to_the_higher_priority_then_the_smaller_id():
    cart = [line("a", unit_price=1000)]
    tied = [drinks_off("m", percent=5), drinks_off("k", percent=5), drinks_off("z", percent=5, priority=1)]
    assert [a.promotion_id for a in price_promotions(cart, GOLD, tied, SATURDAY_NOON)] == ["z"]
    assert [a.promotion_id for a in price_promotions(cart, None, tied[:2], SATURDAY_NOON)] == ["k"]


def test_buy_x_get_y_takes_its_lines_only_when_it_beats_their_single_line_prices():
    cart = [line("a", qty=3, unit_price=300)]
    assert [a.promotion_id for a in price_promotions(cart, None, [three_for_two(), drinks_off()], SATURDAY_NOON)] \
        == ["b2g1"]  # 300 free beats 90 off
    assert [a.promotion_id for a in price_promotions(cart, None, [three_for_two(), drinks_off(percent=50)],
                                                     SATURDAY_NOON)] == ["drinks"]  # 450 off beats 300


def test_a_threshold_applies_on_what_remains_after_line_level_prices():
    cart = [line("a", unit_price=10_000), line("b", sku="X", category="零食", unit_price=500)]
    applied = price_promotions(cart, None, [drinks_off(), spend_off()], SATURDAY_NOON)
    # 9,000 + 500 left: short of 10,000, so no 满减
    assert [a.promotion_id for a in applied] == ["drinks"]
    applied = price_promotions(cart, None, [drinks_off(percent=1), spend_off()], SATURDAY_NOON)
    assert [a.promotion_id for a in applied] == ["drinks", "spend"]


def test_an_exclusive_promotion_keeps_its_lines_out_of_thresholds():
    cart = [line("a", unit_price=10_000), line("b", sku="X", category="零食", unit_price=10_000)]
    applied = price_promotions(cart, None, [drinks_off(percent=1, exclusive=True), spend_off()], SATURDAY_NOON)
    assert {a.promotion_id: a.allocation for a in applied} == {"drinks": {"a": 100}, "spend": {"b": 1000}}


def test_an_exclusive_threshold_does_not_combine_with_another_threshold():
    cart = [line("a", unit_price=20_000)]
    both = [spend_off("first", priority=2), spend_off("second", amount=500, exclusive=True)]
    assert [a.promotion_id for a in price_promotions(cart, None, both, SATURDAY_NOON)] == ["first"]
    both[1] = replace(both[1], exclusive=False)
    assert [a.promotion_id for a in price_promotions(cart, None, both, SATURDAY_NOON)] == ["first", "second"]


def test_a_line_the_cashier_priced_by_hand_takes_no_promotion():
    cart = [line("a", unit_price=10_000, manual=True), line("b", unit_price=10_000)]
    applied = price_promotions(cart, GOLD, [drinks_off(), spend_off()], SATURDAY_NOON)
    assert all(set(a.allocation) == {"b"} for a in applied)


def test_weighed_goods_take_a_member_price_in_proportion_but_no_buy_x_get_y():
    apples = line("a", sku="APPLE", category="水果", qty=1500, unit_price=1280, gross=1920, sold_by="weight",
                  member_price=1000)
    [entry] = price_promotions([apples], MemberContext("普通", 0), [three_for_two(skus=("APPLE",))], SATURDAY_NOON)
    assert (entry.kind, entry.amount) == ("member_price", 1920 - 1500)


# -- properties over any cart ---------------------------------------------------------------------

SKUS = ("COLA", "WATER", "CHIPS", "GUM")
CATEGORY = {"COLA": "饮料", "WATER": "饮料", "CHIPS": "零食", "GUM": None}


@st.composite
def carts(draw):
    count = draw(st.integers(1, 6))
    lines = []
    for index in range(count):
        sku = draw(st.sampled_from(SKUS))
        qty, price = draw(st.integers(1, 7)), draw(st.integers(0, 5_000))
        member_price = draw(st.none() | st.integers(0, 6_000))
        lines.append(CartLine(line_id=f"L{index}", sku=sku, category=CATEGORY[sku], qty=qty, unit_price=price,
                              gross=price * qty, member_price=member_price, manual=draw(st.booleans())))
    return lines


@st.composite
def promotion_sets(draw):
    made = []
    for index in range(draw(st.integers(0, 5))):
        pid, scope = f"P{index}", draw(st.sampled_from([("饮料",), ("零食",), ()]))
        rules = {"priority": draw(st.integers(-2, 2)), "exclusive": draw(st.booleans()), "categories": scope}
        kind = draw(st.sampled_from(["category_percent", "threshold", "buy_x_get_y"]))
        if kind == "category_percent":
            made.append(promo(pid, kind, percent=draw(st.integers(1, 99)), **rules))
        elif kind == "threshold":
            threshold = draw(st.integers(1, 20_000))
            made.append(promo(pid, kind, threshold=threshold, amount=draw(st.integers(1, threshold)),
                              repeat=draw(st.booleans()), **rules))
        else:
            made.append(promo(pid, kind, buy_qty=draw(st.integers(1, 3)), get_qty=draw(st.integers(1, 2)),
                              percent=draw(st.integers(1, 100)), **rules))
    return made


members = st.none() | st.builds(MemberContext, st.sampled_from(["普通", "金卡"]), st.integers(0, 100))


@settings(max_examples=50, deadline=None)
@given(carts(), members, promotion_sets())
def test_discounts_never_exceed_the_subtotal_nor_any_line(cart, member, promotions):
    applied = price_promotions(cart, member, promotions, SATURDAY_NOON)
    shares = per_line(applied)
    assert sum(a.amount for a in applied) <= sum(l.gross for l in cart)
    for entry in applied:
        assert entry.amount > 0 and sum(entry.allocation.values()) == entry.amount
    for cart_line in cart:
        assert 0 <= shares.get(cart_line.line_id, 0) <= cart_line.gross  # no line total is negative
        if cart_line.manual:
            assert cart_line.line_id not in shares


@settings(max_examples=40, deadline=None)
@given(carts(), members, promotion_sets(), st.randoms(use_true_random=False))
def test_the_same_cart_in_any_order_prices_the_same(cart, member, promotions, rng: random.Random):
    first = explained(price_promotions(cart, member, promotions, SATURDAY_NOON))
    assert explained(price_promotions(cart, member, promotions, SATURDAY_NOON)) == first
    shuffled_cart, shuffled_promotions = cart[:], promotions[:]
    rng.shuffle(shuffled_cart)
    rng.shuffle(shuffled_promotions)
    assert explained(price_promotions(shuffled_cart, member, shuffled_promotions, SATURDAY_NOON)) == first
