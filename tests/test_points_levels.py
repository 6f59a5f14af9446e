"""Points (积分) and member levels: accrual rules, redemption as a tender, refunds, FIFO expiry, upgrades, the API
and the CLI, on a real store. Properties: the balance is the sum of the ledger; redemption never makes it negative."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from edge.app import StoreEdge
from edge.cli import main as cli
from edge.config import ConfigError, StoreSection, parse_config
from edge.errors import Conflict, DomainError
from edge.members.levels import MemberLevelHistory
from edge.members.points import PointsEntry
from edge.members.service import Consent
from edge.outbox.events import OutboxEvent
from tests.api_helpers import client_for, member_body, nothing_written, refusal
from tests.conftest import COLA, MANAGER_PIN, WATER, terminal

CRISPS = "SNK003"  # 德芙巧克力, 零食, 12.50
AGREED = Consent(notice_version="2026-11", purposes=("membership",))
LEVELS = [{"name": "普通", "min_spend": 0, "birthday_multiplier": 200},
          {"name": "银卡", "min_spend": 3000, "points_multiplier": 150}]


@pytest.fixture
def shop(store_with):
    """Opens a copy of the demo store with LEVELS and the given [members] config."""
    return lambda **members: store_with({"members": {"levels": LEVELS, **members}})


@pytest.fixture
def store(shop):
    return shop()


phones = iter(range(13_800_000_000, 13_900_000_000))


def join(store, caller, **personal):
    return store.members.register(caller, phone=str(next(phones)), consent=AGREED, channel="pos", **personal)


def sell(store, caller, member, *items, payments=None):
    """A completed sale of (barcode or sku, qty) items for the member, paid in cash unless told otherwise."""
    sale = store.sales.open(caller)
    for code, qty in items:
        key = {"sku": code} if code.isalpha() or not code.isdigit() else {"barcode": code}
        store.sales.add_line(sale.id, caller, qty=qty, **key)
    if member is not None:
        store.sales.set_member(sale.id, caller, member)
    total = store.sales.get(sale.id).total
    return store.sales.complete(sale.id, caller, payments or [{"method": "cash", "amount": total}])


def events(kind: str) -> list[dict]:
    return [json.loads(e.data) for e in OutboxEvent.select().where(OutboxEvent.type == kind).order_by(OutboxEvent.seq)]


def row_counts(store) -> dict[str, int]:
    db = store.db.peewee
    tables = [t for (t,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def give(store, manager, member, points):
    return store.points.adjust(manager, member.id, points, "开卡礼")


def assert_balance_is_the_ledger(store, member):
    assert store.points.balance(member.id) == store.points.ledger_sum(member.id)


# -- earning ----------------------------------------------------------------

def test_a_member_sale_earns_points_in_its_transaction_with_the_event_and_the_ledger_entry(store, cashier):
    member = join(store, cashier)
    sale = sell(store, cashier, member, (WATER, 5))  # ¥10.00 at 1 point per yuan

    [entry] = store.points.entries(member.id)
    assert (entry.kind, entry.points, entry.ref, entry.store_id) == ("accrual", 10, sale.id, "S001")
    assert entry.expires_on == store.points.expiry_for(store.today())
    [ledger] = events("ledger.entry")
    assert (ledger["id"], ledger["points"], ledger["member_id"], ledger["kind"]) == (entry.id, 10, member.id,
                                                                                      "accrual")
    [completed] = events("sale.completed")
    assert completed["points"] == {"earned": 10, "redeemed": 0, "balance": 10}
    assert store.members.as_dict(member)["points"] == 10
    assert_balance_is_the_ledger(store, member)


def test_a_sale_without_a_member_earns_nothing(store, cashier):
    sell(store, cashier, None, (WATER, 5))
    assert PointsEntry.select().count() == 0 and "points" not in events("sale.completed")[0]


# the store's day (Asia/Shanghai by default), not the machine's: from 16:00 UTC they differ
TODAY = datetime.now(ZoneInfo(StoreSection.model_fields["timezone"].default)).date()


@pytest.mark.parametrize("rules, expected", [
    ({}, 35),
    ({"per_yuan": 2}, 70),
    ({"category_multipliers": {"饮料": 300}}, 55),
    ({"excluded_categories": ["零食"]}, 10),
    ({"double_weekdays": [TODAY.isoweekday()]}, 70),
    ({"double_dates": [TODAY.isoformat()]}, 70),
    ({"double_weekdays": [TODAY.isoweekday() % 7 + 1], "double_multiplier": 300}, 35),
], ids=["per yuan", "two per yuan", "category multiplier", "excluded category", "double weekday", "double date",
        "another weekday"])
def test_accrual_rules(shop, rules, expected):
    """¥10.00 of drinks (饮料) and ¥25.00 of snacks (零食) under each rule."""
    store = shop(points=rules)
    cashier = terminal(store)
    member = join(store, cashier)
    sell(store, cashier, member, (WATER, 5), (CRISPS, 2))
    assert store.points.balance(member.id) == expected


def test_the_birthday_multiplier_of_the_members_level_applies_on_the_birthday(store, cashier):
    born = TODAY.replace(year=2000) if (TODAY.month, TODAY.day) != (2, 29) else date(2000, 2, 29)
    birthday_member, other = join(store, cashier, birthday=born.isoformat()), join(store, cashier)
    sell(store, cashier, birthday_member, (WATER, 5))
    sell(store, cashier, other, (WATER, 5))
    assert (store.points.balance(birthday_member.id), store.points.balance(other.id)) == (20, 10)


def test_the_part_paid_with_points_earns_nothing(store, cashier, manager):
    member = join(store, cashier)
    give(store, manager, member, 400)
    sell(store, cashier, member, (WATER, 5), payments=[{"method": "points", "amount": 400},
                                                      {"method": "cash", "amount": 600}])
    # 400 points pay ¥4.00; the ¥6.00 paid in cash earns 6 points
    assert store.points.balance(member.id) == 6
    assert [(e.kind, e.points) for e in store.points.entries(member.id)] == [
        ("adjust", 400), ("redemption", -400), ("accrual", 6)]


# -- levels -----------------------------------------------------------------

def test_the_sale_crossing_the_threshold_upgrades_the_member_in_its_transaction(store, cashier):
    member = join(store, cashier)
    sell(store, cashier, member, (WATER, 10))  # ¥20: still 普通
    assert store.members.as_dict(member)["level"] == "普通"
    sale = sell(store, cashier, member, (WATER, 5))  # ¥30 in 12 months: 银卡

    assert store.members.as_dict(member)["level"] == "银卡"
    [history] = MemberLevelHistory.select()
    assert (history.from_level, history.to_level, history.spend_12m, history.ref) == ("普通", "银卡", 3000, sale.id)
    completed = events("sale.completed")[-1]
    assert completed["member_level"] == {"level": "银卡", "upgraded": {"from": "普通", "to": "银卡", "spend_12m": 3000}}
    assert events("member.updated")[-1]["level"] == "银卡"
    assert store.levels.progress(member.id)["next_level"] is None
    # the crossing sale earned at the level held when buying; the next one at 150 %
    sell(store, cashier, member, (WATER, 5))
    assert [e.points for e in store.points.entries(member.id)] == [20, 10, 15]


def test_a_refund_lowers_the_spend_but_does_not_downgrade(store, cashier, manager):
    member = join(store, cashier)
    sale = sell(store, cashier, member, (WATER, 15))
    store.refunds.refund(cashier, sale.id, None, "退货", "original", {"pin": MANAGER_PIN})
    assert store.levels.spend_12m(member.id) == 0
    assert store.members.as_dict(member)["level"] == "银卡"


@pytest.mark.parametrize("levels, complaint", [
    ([{"name": "银卡", "min_spend": 100}], "first level must have min_spend = 0"),
    ([{"name": "普通", "min_spend": 0}, {"name": "银卡", "min_spend": 0}], "must rise strictly"),
    ([{"name": "普通", "min_spend": 0}, {"name": "普通", "min_spend": 5}], "names must be unique"),
    ([{"name": "普通", "min_spend": 0, "points_multiplier": -1}], "points_multiplier"),
])
def test_bad_level_config_is_refused_naming_the_key(levels, complaint):
    with pytest.raises(ConfigError, match="members") as refused:
        parse_config({"members": {"levels": levels}})
    assert complaint in str(refused.value)


# -- redemption -------------------------------------------------------------

def test_paying_with_points_spends_them_and_shows_on_the_sale_event(store, cashier, manager):
    member = join(store, cashier)
    give(store, manager, member, 1000)
    sell(store, cashier, member, (COLA, 1), payments=[{"method": "points", "amount": 300}])
    assert store.points.balance(member.id) == 700
    assert events("sale.completed")[-1]["points"] == {"earned": 0, "redeemed": 300, "balance": 700}


@pytest.mark.parametrize("held, payment, field, code", [
    (299, {"method": "points", "amount": 300}, "payments[0].amount", "points_short"),
    (0, {"method": "points", "amount": 300}, "payments[0].amount", "points_short"),
    (None, {"method": "points", "amount": 300}, "payments[0].method", "member_required"),
])
def test_points_the_member_lacks_are_refused_naming_the_payment_and_nothing_is_written(store, cashier, manager, held,
                                                                                          payment, field, code):
    member = join(store, cashier)
    if held:
        give(store, manager, member, held)
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=COLA)
    if held is not None:
        store.sales.set_member(sale.id, cashier, member)
    before = row_counts(store)
    with pytest.raises(Conflict) as refused:
        store.sales.complete(sale.id, cashier, [payment])
    assert (refused.value.field, refused.value.code) == (field, code)
    assert row_counts(store) == before and store.sales.get(sale.id).status == "open"
    assert store.points.balance(member.id) == (held or 0)


def test_an_amount_that_is_not_whole_points_is_refused(shop):
    store = shop(points={"redeem_per_yuan": 50})  # 1 point = 2 fen
    cashier, manager = terminal(store), terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)
    member = join(store, cashier)
    give(store, manager, member, 500)
    with pytest.raises(DomainError, match="not a whole number of points") as refused:
        sell(store, cashier, member, (COLA, 1), payments=[{"method": "cash", "amount": 1},
                                                          {"method": "points", "amount": 299}])
    assert refused.value.field == "payments[1].amount" and store.points.balance(member.id) == 500


# -- refunds ----------------------------------------------------------------

def refund_lines(store, cashier, sale, *line_qtys):
    lines = store.sales.lines(sale)
    return store.refunds.refund(cashier, sale.id, [{"line_id": lines[i].id, "qty": q} for i, q in line_qtys],
                                "退货", "original", {"pin": MANAGER_PIN})


def test_refunds_take_back_the_points_their_lines_earned_in_proportion(store, cashier):
    member = join(store, cashier)
    sale = sell(store, cashier, member, (WATER, 3), (CRISPS, 2))  # 6 + 25 = 31 points
    refund_lines(store, cashier, sale, (0, 1))
    refund_lines(store, cashier, sale, (0, 1), (1, 1))
    assert store.points.balance(member.id) == 31 - 2 - (2 + 12)
    refund_lines(store, cashier, sale, (0, 1), (1, 1))
    assert store.points.balance(member.id) == 0 and store.points.ledger_sum(member.id) == 0
    assert [e["points"]["taken_back"] for e in events("refund.completed")] == [2, 14, 15]


def test_a_refund_of_points_already_spent_goes_below_zero_with_the_reason_recorded(store, cashier):
    member = join(store, cashier)
    sale = sell(store, cashier, member, (CRISPS, 4))  # 50 points
    sell(store, cashier, member, (WATER, 1), payments=[{"method": "points", "amount": 40},
                                                       {"method": "cash", "amount": 160}])
    store.refunds.refund(cashier, sale.id, None, "退货", "original", {"pin": MANAGER_PIN})
    taken = store.points.entries(member.id)[-1]
    # earned 50, paid 40, earned 2 on ¥1.60 at 银卡's 150 %, 50 taken back
    assert store.points.balance(member.id) == 50 - 40 + 2 - 50
    assert taken.kind == "refund" and "already spent" in taken.reason and "below zero" in taken.reason
    assert_balance_is_the_ledger(store, member)


def test_refunding_a_sale_paid_with_points_gives_the_points_back(store, cashier, manager):
    member = join(store, cashier)
    give(store, manager, member, 1000)
    sale = sell(store, cashier, member, (WATER, 2), payments=[{"method": "points", "amount": 400}])
    refund_lines(store, cashier, sale, (0, 1))
    assert store.points.balance(member.id) == 800
    refund_lines(store, cashier, sale, (0, 1))
    assert store.points.balance(member.id) == 1000
    assert [e.kind for e in store.points.entries(member.id)] == ["adjust", "redemption", "refund", "refund"]


# -- the ledger -------------------------------------------------------------

def test_an_entry_applied_twice_changes_nothing(store, cashier):
    member = join(store, cashier)
    for _ in range(2):
        with store.db.transaction():
            store.points.append(member.id, 70, "adjust", entry_id="0b8f6c1e-5f63-4b63-9a4c-1d2b3c4d5e6f",
                                expires_on="2099-12-31", reason="from HQ")
    assert store.points.balance(member.id) == 70 and len(events("ledger.entry")) == 1


@pytest.mark.parametrize("points, reason, field", [(0, "补偿", "points"), (10, "  ", "reason"),
                                                    (-11, "纠错", "points")])
def test_bad_adjustments_are_refused_and_write_nothing(store, cashier, manager, points, reason, field):
    member = join(store, cashier)
    give(store, manager, member, 10)
    before = row_counts(store)
    with pytest.raises(DomainError) as refused:
        store.points.adjust(manager, member.id, points, reason)
    assert refused.value.field == field and row_counts(store) == before


# -- expiry -----------------------------------------------------------------

def test_points_expire_first_in_first_out_at_the_end_of_their_period(store, cashier):
    member = join(store, cashier)
    with store.db.transaction():
        store.points.append(member.id, 100, "accrual", expires_on="2027-01-31")
        store.points.append(member.id, 50, "accrual", expires_on="2027-06-30")
        store.points.append(member.id, -120, "redemption")  # the older lot first: 100 from it, 20 from the next

    assert store.points.expire(today=date(2027, 2, 1)) == []  # the January lot is already spent
    assert store.points.expiring(200, today=date(2027, 2, 1))[0]["points"] == 30
    [expired] = store.points.expire(today=date(2027, 7, 1))
    assert (expired.kind, expired.points, expired.expires_on) == ("expiry", -30, "2027-06-30")
    assert store.points.balance(member.id) == 0
    assert store.points.expire(today=date(2027, 7, 1)) == []  # a second run writes nothing


def test_merging_members_moves_the_duplicates_points_lot_by_lot_keeping_their_expiry(store, cashier, manager):
    keep, duplicate = join(store, cashier), join(store, cashier)
    with store.db.transaction():
        store.points.append(duplicate.id, 100, "accrual", expires_on="2027-01-31")
        store.points.append(duplicate.id, 50, "accrual", expires_on="2027-06-30")
        store.points.append(duplicate.id, -30, "redemption")

    store.members.merge(manager, keep.id, duplicate.id)

    assert (store.points.balance(keep.id), store.points.balance(duplicate.id)) == (120, 0)
    assert [(lot.entry.expires_on, lot.left) for lot in store.points.lots(keep.id)] == [
        ("2027-01-31", 70), ("2027-06-30", 50)]
    assert_balance_is_the_ledger(store, keep)
    assert_balance_is_the_ledger(store, duplicate)
    assert events("member.updated")[-1]["points_moved"] == 120


def test_an_erased_members_points_lapse_with_the_reason_recorded(store, cashier, manager):
    member = join(store, cashier)
    give(store, manager, member, 80)
    store.members.erase(manager, member.id, "the member asked")
    assert store.points.balance(member.id) == 0
    assert_balance_is_the_ledger(store, member)
    assert store.points.entries(member.id)[-1].reason == "member data erased"
    assert events("member.erased")[-1]["points_forfeited"] == 80


def test_the_expiry_date_is_the_end_of_the_configured_month_after_earning(shop):
    assert shop().points.expiry_for(date(2026, 1, 15)) == "2027-01-31"
    assert shop(points={"expiry_months": 1}).points.expiry_for(date(2026, 1, 31)) == "2026-02-28"


def test_members_with_points_expiring_within_n_days(store, cashier):
    soon, later, spent = join(store, cashier), join(store, cashier), join(store, cashier)
    with store.db.transaction():
        store.points.append(soon.id, 80, "accrual", expires_on="2027-01-31")
        store.points.append(later.id, 60, "accrual", expires_on="2027-03-31")
        store.points.append(spent.id, 40, "accrual", expires_on="2027-01-31")
        store.points.append(spent.id, -40, "redemption")
    found = store.points.expiring(30, today=date(2027, 1, 10))
    assert [(row["member_id"], row["points"], row["expires_on"]) for row in found] == [(soon.id, 80, "2027-01-31")]
    assert found[0]["phone_masked"].count("*") == 4
    assert len(store.points.expiring(90, today=date(2027, 1, 10))) == 2


# -- properties -------------------------------------------------------------

operations = st.lists(st.one_of(st.tuples(st.just("give"), st.integers(1, 500)),
                                st.tuples(st.just("pay"), st.integers(1, 200)),
                                st.tuples(st.just("refund"), st.just(0))), min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_the_balance_is_the_sum_of_the_ledger_and_redemption_never_makes_it_negative(store, cashier, manager, steps):
    member = join(store, cashier)
    sales = []
    for action, amount in steps:
        held = store.points.balance(member.id)
        if action == "give":
            give(store, manager, member, amount)
        elif action == "pay":  # one cola, partly paid with points when the member has them
            try:
                sales.append(sell(store, cashier, member, (COLA, 1), payments=[
                    {"method": "points", "amount": amount}, {"method": "cash", "amount": 300}]))
            except Conflict as refused:
                assert refused.code == "points_short" and amount > held
                store.sales.void(store.sales.current(cashier.device_id).id, cashier, "积分不足",
                                 {"pin": MANAGER_PIN})
            else:
                assert amount <= held and store.points.balance(member.id) >= 0
        elif sales:
            store.refunds.refund(cashier, sales.pop().id, None, "退货", "original", {"pin": MANAGER_PIN})
        assert_balance_is_the_ledger(store, member)


# -- the API and the CLI ----------------------------------------------------

@pytest.fixture
def api(store):
    flask_app = store.web()
    cashier = client_for(store, flask_app, lane=1, shift_float=10_000)
    return cashier, client_for(store, flask_app, lane=9, pin=MANAGER_PIN)


def test_the_member_answer_carries_level_and_points(api):
    cashier, manager = api
    member = cashier.post("/members", member_body("13700000001")).json
    assert (member["level"], member["points"]) == ("普通", 0)
    given_points = manager.post(f"/members/{member['id']}/points/adjust", {"points": 500, "reason": "补偿"})
    assert given_points.status_code == 201 and given_points.json["balance"] == 500
    assert cashier.get(f"/members/{member['id']}").json["points"] == 500
    points = cashier.get(f"/members/{member['id']}/points").json
    assert points["balance"] == 500 and points["level"]["next_level"] == "银卡"
    assert [(lot["left"], e["kind"]) for lot, e in zip(points["lots"], points["entries"])] == [(500, "adjust")]


def test_paying_with_more_points_than_held_over_the_api_names_the_payment_and_writes_nothing(store, api):
    cashier, manager = api
    member = cashier.post("/members", member_body("13700000002")).json
    manager.post(f"/members/{member['id']}/points/adjust", {"points": 100, "reason": "补偿"})
    sale_id = cashier.post("/sales").json["id"]
    cashier.post(f"/sales/{sale_id}/lines", {"barcode": COLA})
    cashier.post(f"/sales/{sale_id}/member", {"member_id": member["id"]})
    with nothing_written(store):
        refusal(cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "points", "amount": 300}]}),
                409, field="payments[0].amount", code="points_short")
    paid = cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "points", "amount": 100},
                                                                    {"method": "cash", "amount": 200}]})
    assert paid.status_code == 200 and cashier.get(f"/members/{member['id']}").json["points"] == 2


def test_the_expiring_list_is_for_managers(store, api):
    cashier, manager = api
    member = cashier.post("/members", member_body("13700000003")).json
    with store.db.transaction():
        store.points.append(member["id"], 90, "accrual", expires_on=store.today().isoformat())
    refusal(cashier.get("/members/points-expiring?days=7"), 403)
    answer = manager.get("/members/points-expiring?days=7")
    assert answer.status_code == 200 and [(m["member_id"], m["points"]) for m in answer.json["members"]] == [
        (member["id"], 90)]
    refusal(manager.get("/members/points-expiring?days=-1"), 422, field="days")


def test_the_cli_expires_points(store, cashier):
    member = join(store, cashier)
    with store.db.transaction():
        store.points.append(member.id, 25, "accrual", expires_on="2020-01-31")
    store.db.close()
    result = CliRunner().invoke(cli, ["members", "expire-points", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 0, result.output
    assert "expired 25 points in 1 lots of 1 members" in result.output
    reopened = StoreEdge.open(data_dir=store.data_dir)
    assert reopened.points.balance(member.id) == 0
    reopened.db.close()
