"""The member card at the checkout: level and progress, balances, points expiring soon, usable coupons, the
birthday this week (29 February included) and the level's benefits, from the domain and over the API, masked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from edge.errors import NotFound
from edge.members.card import EXPIRING_DAYS, birthday_this_week, member_card
from tests.api_helpers import World, client_for, refusal
from tests.card_helpers import join, member_sale, shop, store  # noqa: F401 (fixtures)
from tests.conftest import COLA, WATER, ApiClient


@pytest.mark.parametrize("birthday, today, this_week, kept_on", [
    ("1990-11-29", date(2026, 11, 23), True, date(2026, 11, 29)),  # Monday, birthday on Sunday
    ("1990-11-23", date(2026, 11, 23), True, date(2026, 11, 23)),  # today
    ("1990-11-22", date(2026, 11, 23), False, date(2027, 11, 22)),  # last Sunday: the next one is a year off
    ("1990-12-01", date(2026, 11, 23), False, date(2026, 12, 1)),
    ("2000-02-29", date(2027, 2, 25), True, date(2027, 2, 28)),  # no 29 February in 2027: kept on the 28th
    ("2000-02-29", date(2028, 2, 28), True, date(2028, 2, 29)),
    ("2000-02-29", date(2027, 3, 1), False, date(2028, 2, 29)),
    ("1985-01-02", date(2026, 12, 30), True, date(2027, 1, 2)),  # a week across New Year
    ("1985-12-28", date(2027, 1, 1), True, date(2026, 12, 28)),
    (None, date(2026, 11, 23), False, None),
])
def test_the_birthday_this_week_is_judged_monday_to_sunday(birthday, today, this_week, kept_on):
    assert birthday_this_week(birthday, today) == (this_week, kept_on)


def test_the_card_shows_what_the_cashier_needs(store, cashier, manager):
    today = store.today()
    member = join(store, cashier, name="王小明", birthday=today.replace(year=1992).isoformat())
    member_sale(store, cashier, member, COLA, 10)  # ¥30.00 reaches 银卡 (3000 fen)
    store.stored_value.top_up(cashier, member.id, 10_000, "cash")
    store.points.adjust(manager, member.id, 200, "开卡礼")
    with store.db.transaction():  # a lot ending soon, one well after the 30 days, and one that never ends
        for points, days in ((70, 10), (5, 40)):
            store.points.append(member.id, points, "adjust", expires_on=(today + timedelta(days=days)).isoformat())
        store.points.append(member.id, 1, "adjust")
    definition = store.coupons.define(manager, name="立减5元", kind="amount", value=500,
                                      valid_from=today.isoformat(), valid_to=today.isoformat())
    store.coupons.issue(manager, definition.id, member_id=member.id)
    expired = store.coupons.define(manager, name="过期券", kind="amount", value=500, valid_from="2020-01-01",
                                   valid_to=(today - timedelta(days=1)).isoformat())
    store.coupons.issue(manager, expired.id, member_id=member.id)

    card = member_card(store, member.id)

    assert card["member"] == {"id": member.id, "code": member.code, "status": "active",
                              "phone_masked": member.phone[:3] + "****" + member.phone[-4:], "name_masked": "王**"}
    assert card["level"] == {"name": "银卡", "spend_12m": 3000, "next_level": "金卡", "to_next_level": 6000}
    assert card["benefits"] == {"discount_percent": 2, "points_multiplier": 100 + 50, "birthday_multiplier": 200}
    assert card["stored_value"] == {"principal": 10_000, "bonus": 0, "total": 10_000}
    # the sale earned 30 points at the level held when buying (普通), the rest was given
    assert card["points"] == {"balance": 30 + 200 + 70 + 5 + 1, "worth": 306, "expiring_days": EXPIRING_DAYS,
                              "expiring": 70,
                              "first_expiring_on": (today + timedelta(days=10)).isoformat()}
    assert [c["name"] for c in card["coupons"]] == ["立减5元"]
    assert card["birthday"] == {"this_week": True, "on": today.isoformat()}
    assert card["as_of"] == today.isoformat()


def test_a_new_member_holds_the_lowest_level_and_nothing_else(store, cashier):
    member = join(store, cashier)
    card = member_card(store, member.id)
    assert card["level"] == {"name": "普通", "spend_12m": 0, "next_level": "银卡", "to_next_level": 3000}
    assert card["points"]["balance"] == card["points"]["expiring"] == 0
    assert card["coupons"] == [] and card["birthday"] == {"this_week": False, "on": None}
    assert card["member"]["name_masked"] is None


def test_the_top_level_has_no_next_one(store, cashier):
    member = join(store, cashier)
    member_sale(store, cashier, member, COLA, 30)  # ¥90.00: 金卡
    assert member_card(store, member.id)["level"] == {"name": "金卡", "spend_12m": 9000, "next_level": None,
                                                      "to_next_level": None}


def test_a_merged_member_shows_the_card_of_the_member_kept(store, cashier, manager):
    keep, duplicate = join(store, cashier), join(store, cashier)
    store.members.merge(manager, keep.id, duplicate.id)
    assert member_card(store, duplicate.id)["member"]["id"] == keep.id


def test_an_unknown_member_has_no_card(store):
    with pytest.raises(NotFound) as refused:
        member_card(store, "no-such-member")
    assert refused.value.field == "member_id"


# -- over the API ---------------------------------------------------------------


@pytest.fixture
def world(store):
    flask_app = store.web()
    return World.around(store, flask_app, client_for(store, flask_app, lane=1, shift_float=10_000))


def test_the_card_over_the_api_is_masked(world):
    member = world.member()
    sale_id, _ = world.sale(WATER)
    assert world.cashier.post(f"/sales/{sale_id}/member", {"member_id": member["id"]}).status_code == 200
    answer = world.cashier.get(f"/members/{member['id']}/card")
    assert answer.status_code == 200, answer.json
    card = answer.json
    assert card["member"]["phone_masked"] == member["phone_masked"]
    full_phone = world.store.members.get(member["id"]).phone
    assert full_phone not in answer.get_data(as_text=True)
    assert card["level"]["name"] == "普通" and card["stored_value"]["total"] == 0


def test_the_card_of_an_unknown_member_is_a_404(world):
    refusal(world.cashier.get("/members/nope/card"), 404, field="member_id", code="not_found")


def test_the_card_needs_a_logged_in_cashier(world):
    member = world.member()
    _, token = world.store.staff.add_device("lane7", "terminal", 7)
    refusal(ApiClient(world.flask_app, token).get(f"/members/{member['id']}/card"), 401)
