"""Stored value (储值): top-ups with bonus tiers and a cap, spending as a tender with the member's payment PIN,
refunds in the original proportions, cash top-ups in the shift report, and two lanes spending one balance at once
against the real server.

Every refusal is checked to write nothing (a wrong PIN writes only its count and its audit record).
"""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from peewee import SQL

from edge.config import ConfigError, parse_config
from edge.errors import Conflict, DomainError, Forbidden, TooManyAttempts
from edge.members.service import Consent
from edge.members.stored_value import Balance, split_spend
from edge.members.stored_value_models import MemberPaymentPin, StoredValueEntry
from edge.staff.secrets import pin_matches
from tests.api_helpers import member_body, refusal, table_rows
from tests.conftest import CASHIER_PIN, COLA, MANAGER_PIN, WATER, terminal
from tests.domain2_helpers import (MANAGER_APPROVAL, PIN_FAILURE_TABLES, audit_records, events, open_sale_with,
                                   refused)
from tests.server_helpers import JsonClient, add_terminal, demo_store_with_terminal, query, running_server

TIERS = [{"min_topup": 30_000, "bonus": 5_000}, {"min_topup": 50_000, "bonus": 10_000}]
PIN_LIMIT = 1_000  # stored value above ¥10 per sale needs the member's PIN in these tests
RULES = {"bonus_tiers": TIERS, "pin_required_above": PIN_LIMIT}
MEMBER_PIN = "285913"
_phones = (str(number) for number in itertools.count(13_912_340_000))



@contextmanager
def nothing_written(store, ignore: tuple[str, ...] = ()):
    """Every table but those ignored keeps its rows, unchanged (a balance updated in place would show)."""
    before = table_rows(store)
    yield
    after = table_rows(store)
    changed = sorted(t for t in before.keys() | after.keys() if t not in ignore and before.get(t) != after.get(t))
    assert not changed, f"a refused request wrote to {changed}"


@pytest.fixture
def make_store(store_with):
    """A copied demo store with RULES and any other [members.stored_value] settings."""
    return lambda **stored_value: store_with({"members": {"stored_value": {**RULES, **stored_value}}})


@pytest.fixture
def store(make_store):
    return make_store()


def join(store, caller):
    consent = Consent(notice_version="2026-11", purposes=("membership",))
    return store.members.register(caller, phone=next(_phones), consent=consent, channel="pos")


def funded(store, caller, amount: int = 20_000, pin: str | None = MEMBER_PIN):
    """A new member topped up in cash with ``amount`` (below every bonus tier) and, by default, a payment PIN."""
    member = join(store, caller)
    store.stored_value.top_up(caller, member.id, amount, "cash")
    if pin is not None:
        store.stored_value.set_payment_pin(caller, member.id, pin)
    return member


def ledger(member_id: str) -> list[tuple[str, int, str]]:
    """The member's entries as (account, amount, kind), in the order written."""
    rows = StoredValueEntry.select().where(StoredValueEntry.member_id == member_id).order_by(SQL("rowid"))
    return [(e.account, e.amount, e.kind) for e in rows]


def member_sale(store, caller, member, items=((WATER, 1), (COLA, 1))):
    """An open sale (water and cola: 5.00 by default) naming the member."""
    sale = open_sale_with(store, caller, list(items))
    return store.sales.set_member(sale.id, caller, member)


def pay(store, caller, sale, *payments: dict):
    return store.sales.complete(sale.id, caller, list(payments))


def stored_value(amount: int, **more) -> dict:
    return {"method": "stored_value", "amount": amount, **more}


def stored_value_events() -> list[dict]:
    """The outbox's ledger.entry messages of the stored-value ledger (points have their own)."""
    return [event for event in events("ledger.entry") if event["data"]["ledger"] == "stored_value"]


def assert_cache_matches_ledger(store, member_id: str) -> Balance:
    cached = store.stored_value.balance(member_id)
    assert cached == store.stored_value.balance_from_ledger(member_id)
    return cached


# -- top-ups ----------------------------------------------------------------------------------------------------


def test_a_top_up_writes_principal_and_bonus_entries_their_events_and_an_audit_record(store, cashier):
    member = join(store, cashier)

    topup = store.stored_value.top_up(cashier, member.id, 50_000, "card", "POS-88")

    assert (topup.amount, topup.bonus, topup.method, topup.reference) == (50_000, 10_000, "card", "POS-88")
    assert ledger(member.id) == [("principal", 50_000, "topup"), ("bonus", 10_000, "topup")]
    assert assert_cache_matches_ledger(store, member.id) == Balance(50_000, 10_000)
    assert store.members.as_dict(member)["stored_value"] == {"principal": 50_000, "bonus": 10_000, "total": 60_000}
    entries = [event["data"] for event in stored_value_events()]
    assert [(e["ledger"], e["account"], e["amount"], e["kind"], e["ref"]) for e in entries] == [
        ("stored_value", "principal", 50_000, "topup", topup.id), ("stored_value", "bonus", 10_000, "topup", topup.id)]
    assert all(e["member_id"] == member.id and e["store_id"] == "S001" for e in entries)
    assert entries[-1]["balance"] == {"principal": 50_000, "bonus": 10_000, "total": 60_000}
    [record] = audit_records("stored_value.topup")
    assert record["entity_id"] == member.id
    assert record["data"].items() >= {"method": "card", "amount": 50_000, "bonus": 10_000,
                                      "topup_id": topup.id}.items()


@pytest.mark.parametrize("amount, bonus", [
    (29_999, 0), (30_000, 5_000), (49_999, 5_000), (50_000, 10_000), (200_000, 10_000),
])
def test_the_highest_bonus_tier_reached_applies(store, cashier, amount, bonus):
    member = join(store, cashier)
    assert store.stored_value.top_up(cashier, member.id, amount, "cash").bonus == bonus
    assert store.stored_value.balance(member.id) == Balance(amount, bonus)


@pytest.mark.parametrize("rules, named", [
    ({"bonus_tiers": [{"min_topup": 100, "bonus": 10}, {"min_topup": 100, "bonus": 20}]}, "same min_topup"),
    ({"bonus_tiers": [{"min_topup": 0, "bonus": 10}]}, "bonus_tiers.0.min_topup"),
    ({"spend_order": "newest_first"}, "stored_value.spend_order"),
    ({"balance_cap": 0}, "stored_value.balance_cap"),
])
def test_bad_stored_value_settings_stop_the_start_naming_the_key(rules, named):
    with pytest.raises(ConfigError, match=named):
        parse_config({"members": {"stored_value": rules}})


def test_a_new_member_has_no_stored_value(store, cashier):
    assert store.members.as_dict(join(store, cashier))["stored_value"] == {"principal": 0, "bonus": 0, "total": 0}


def test_the_cap_counts_the_bonus_and_a_top_up_reaching_it_exactly_is_taken(make_store):
    store = make_store(balance_cap=100_000)
    cashier = terminal(store)
    member = join(store, cashier)
    store.stored_value.top_up(cashier, member.id, 40_000, "cash")  # + 5,000 bonus: 45,000
    with nothing_written(store), refused(DomainError, field="amount", code="balance_cap"):
        store.stored_value.top_up(cashier, member.id, 50_000, "cash")  # + 10,000 bonus: 105,000
    store.stored_value.top_up(cashier, member.id, 25_000, "cash")  # below the tiers: 70,000
    with nothing_written(store), refused(DomainError, field="amount", code="balance_cap"):
        store.stored_value.top_up(cashier, member.id, 30_000, "cash")  # + 5,000 bonus: 105,000
    store.stored_value.top_up(cashier, member.id, 25_000, "cash")
    store.stored_value.top_up(cashier, member.id, 5_000, "cash")
    assert store.stored_value.balance(member.id) == Balance(95_000, 5_000)


BAD_TOP_UPS = {
    "zero": ({"amount": 0}, "amount", "invalid"),
    "negative": ({"amount": -5_000}, "amount", "invalid"),
    "absurd": ({"amount": 10**12}, "amount", "balance_cap"),
    "over the cap": ({"amount": 490_000}, "amount", "balance_cap"),  # the member holds 20,000 already
    "unknown method": ({"method": "cheque"}, "method", "invalid"),
    "card without its reference": ({"method": "card", "reference": " "}, "reference", "invalid"),
}


@pytest.mark.parametrize("change", BAD_TOP_UPS.values(), ids=BAD_TOP_UPS.keys())
def test_a_bad_top_up_is_refused_naming_its_field_and_writes_nothing(store, cashier, change):
    member = funded(store, cashier, pin=None)
    asked = {"amount": 10_000, "method": "cash", "reference": None, **change[0]}
    with nothing_written(store), refused(DomainError, field=change[1], code=change[2]):
        store.stored_value.top_up(cashier, member.id, **asked)


def test_a_top_up_needs_an_open_shift_and_an_active_member(store, cashier, manager):
    member = join(store, cashier)
    with nothing_written(store), refused(Conflict, code="no_open_shift"):
        store.stored_value.top_up(manager, member.id, 10_000, "cash")
    store.members.set_active(manager, member.id, False)
    with nothing_written(store), refused(Conflict, field="member_id", code="member_inactive"):
        store.stored_value.top_up(cashier, member.id, 10_000, "cash")


def test_cash_top_ups_count_in_the_drawer_and_card_ones_do_not(store, cashier):
    member = join(store, cashier)
    store.stored_value.top_up(cashier, member.id, 30_000, "cash")
    store.stored_value.top_up(cashier, member.id, 10_000, "external", "WX-1")
    shift = store.shifts.current(cashier.device_id)

    report = store.shifts.report(shift)

    assert report["stored_value_topups"] == {"count": 2, "total": 40_000, "bonus": 5_000,
                                             "tenders": {"cash": 30_000, "external": 10_000}, "cash": 30_000}
    assert report["cash"]["stored_value_topups"] == 30_000
    assert report["cash"]["expected"] == 10_000 + 30_000  # the float and the cash top-up
    closed = store.shifts.close(shift.id, cashier, counted_cash=40_000)
    assert (closed["kind"], closed["cash"]["variance"]) == ("Z", 0)


def test_paying_back_returns_the_principal_from_the_drawer_and_forfeits_the_bonus(store, cashier, manager):
    member = join(store, cashier)
    store.stored_value.top_up(cashier, member.id, 30_000, "cash")  # + 5,000 bonus
    with nothing_written(store, ignore=PIN_FAILURE_TABLES):
        with pytest.raises(Forbidden):
            store.stored_value.pay_out(cashier, member.id, "member leaves", {"pin": CASHIER_PIN})

    payout = store.stored_value.pay_out(cashier, member.id, "member leaves", {"pin": MANAGER_PIN})

    assert (payout.principal, payout.bonus_forfeited) == (30_000, 5_000)
    assert assert_cache_matches_ledger(store, member.id) == Balance()
    assert ledger(member.id)[-2:] == [("principal", -30_000, "payout"), ("bonus", -5_000, "payout")]
    report = store.shifts.report(store.shifts.current(cashier.device_id))
    assert report["stored_value_payouts"] == {"count": 1, "total": 30_000, "cash": -30_000}
    assert report["cash"]["expected"] == 10_000  # the float: the top-up came in and went out again
    with pytest.raises(Conflict) as refused:
        store.stored_value.pay_out(cashier, member.id, "again", {"pin": MANAGER_PIN})
    assert refused.value.code == "no_stored_value"
    store.members.erase(manager, member.id, "the member asked")  # nothing held any more


def test_an_entry_applied_twice_changes_nothing(store, cashier):
    """Entries carry uuids, so one that arrives again (a retried sync) is not counted twice."""
    member = funded(store, cashier, pin=None)
    [entry] = [e["data"] for e in stored_value_events()]
    entry = {key: entry[key] for key in ("id", "member_id", "account", "amount", "kind", "ref", "store_id", "at")}
    with nothing_written(store), store.db.transaction():
        assert store.stored_value.apply(entry) is None
    assert assert_cache_matches_ledger(store, member.id) == Balance(20_000, 0)


# -- spending at the checkout -------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(principal=st.integers(0, 10**7), bonus=st.integers(0, 10**7), data=st.data(),
       order=st.sampled_from(["proportional", "principal_first", "bonus_first"]))
def test_a_spend_is_split_exactly_and_never_takes_more_than_an_account_holds(principal, bonus, data, order):
    amount = data.draw(st.integers(0, principal + bonus))
    taken = split_spend(amount, Balance(principal, bonus), order)
    assert taken["principal"] + taken["bonus"] == amount
    assert 0 <= taken["principal"] <= principal and 0 <= taken["bonus"] <= bonus
    if order == "proportional" and principal + bonus:
        # within one fen of the exact share
        assert abs(taken["principal"] * (principal + bonus) - amount * principal) < principal + bonus


@pytest.mark.parametrize("order, taken", [
    ("proportional", {"principal": -444, "bonus": -56}),
    ("principal_first", {"principal": -500}),
    ("bonus_first", {"bonus": -500}),
])
def test_paying_with_stored_value_debits_the_member_in_the_configured_order(make_store, order, taken):
    store = make_store(spend_order=order)
    cashier = terminal(store)
    member = join(store, cashier)
    store.stored_value.top_up(cashier, member.id, 40_000, "cash")  # + 5,000 bonus

    sale = pay(store, cashier, member_sale(store, cashier, member), stored_value(500))

    assert (sale.status, sale.paid, sale.change) == ("completed", 500, 0)
    spent = StoredValueEntry.select().where((StoredValueEntry.ref == sale.id) & (StoredValueEntry.kind == "spend"))
    assert {e.account: e.amount for e in spent} == taken
    assert all(e.store_id == "S001" for e in spent)
    assert assert_cache_matches_ledger(store, member.id).total == 45_000 - 500
    assert [e["data"]["kind"] for e in stored_value_events()][-len(taken):] == ["spend"] * len(taken)
    assert store.sales.as_dict(sale)["payments"][0]["method"] == "stored_value"


def test_stored_value_and_cash_pay_one_sale_together(store, cashier):
    member = funded(store, cashier, amount=300, pin=None)
    sale = pay(store, cashier, member_sale(store, cashier, member), stored_value(300), {"method": "cash",
                                                                                         "amount": 1_000})
    assert (sale.paid, sale.change) == (500, 800)
    assert store.stored_value.balance(member.id) == Balance(0, 0)


def test_stored_value_short_of_the_amount_is_refused_naming_the_payment_and_writes_nothing(store, cashier):
    member = funded(store, cashier, amount=400, pin=None)
    sale = member_sale(store, cashier, member)
    with nothing_written(store), refused(DomainError, field="payments[1].amount", code="stored_value_short") as caught:
        pay(store, cashier, sale, {"method": "cash", "amount": 100}, stored_value(401))
    assert "4.00" in caught.value.message
    assert store.sales.get(sale.id).status == "open"


def test_stored_value_needs_a_member_on_the_sale(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 1)])
    with nothing_written(store), refused(Conflict, field="payments[0].method", code="member_required"):
        pay(store, cashier, sale, stored_value(200))


# -- the member's payment PIN -----------------------------------------------------------------------------------


def test_the_payment_pin_is_stored_hashed_and_its_setting_audited(store, cashier):
    member = funded(store, cashier)
    stored = MemberPaymentPin.get(MemberPaymentPin.member_id == member.id)
    assert MEMBER_PIN not in stored.pin_hash and pin_matches(stored.pin_hash, MEMBER_PIN)
    [record] = audit_records("member.payment_pin_set")
    assert record["data"] == {"code": member.code, "change": "set", "approved_by": None}
    assert MEMBER_PIN not in str(audit_records())


@pytest.mark.parametrize("pin, code", [("12345", "invalid_pin"), ("12345a", "invalid_pin"), ("１２３４５６", "invalid_pin"),
                                       ("000000", "weak_pin"), ("123456", "weak_pin"), ("987654", "weak_pin")])
def test_a_malformed_or_guessable_payment_pin_is_refused(store, cashier, pin, code):
    member = join(store, cashier)
    with nothing_written(store), refused(DomainError, field="pin", code=code):
        store.stored_value.set_payment_pin(cashier, member.id, pin)


def test_changing_the_pin_needs_the_current_one_or_a_managers_approval(store, cashier):
    member = funded(store, cashier)
    with nothing_written(store), refused(Forbidden, field="current_pin", code="current_pin_required"):
        store.stored_value.set_payment_pin(cashier, member.id, "394821")
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), \
            refused(Forbidden, field="current_pin", code="payment_pin_wrong"):
        store.stored_value.set_payment_pin(cashier, member.id, "394821", current_pin="111112")

    store.stored_value.set_payment_pin(cashier, member.id, "394821", current_pin=MEMBER_PIN)
    store.stored_value.set_payment_pin(cashier, member.id, "503928", approval=MANAGER_APPROVAL)

    changes = [(r["data"]["change"], r["data"]["approved_by"] is not None)
               for r in audit_records("member.payment_pin_set")]
    assert changes == [("set", False), ("changed", False), ("reset", True)]
    assert pin_matches(MemberPaymentPin.get(MemberPaymentPin.member_id == member.id).pin_hash, "503928")


def test_stored_value_above_the_limit_needs_the_members_pin(store, cashier):
    member = funded(store, cashier)
    sale = member_sale(store, cashier, member, [(WATER, 6)])  # 12.00, above the 10.00 limit
    with nothing_written(store), refused(Forbidden, field="payments[0].pin", code="payment_pin_required"):
        pay(store, cashier, sale, stored_value(1_200))
    # split over two stored-value payments, the sale's stored value is still above the limit
    with nothing_written(store), refused(Forbidden, field="payments[0].pin", code="payment_pin_required"):
        pay(store, cashier, sale, stored_value(600), stored_value(600))

    assert pay(store, cashier, sale, stored_value(1_200, pin=MEMBER_PIN)).status == "completed"
    assert store.stored_value.balance(member.id).total == 20_000 - 1_200


def test_stored_value_up_to_the_limit_needs_no_pin(store, cashier):
    member = funded(store, cashier, pin=None)
    sale = member_sale(store, cashier, member, [(WATER, 5)])  # exactly 10.00
    assert pay(store, cashier, sale, stored_value(PIN_LIMIT)).status == "completed"


def test_a_member_without_a_pin_cannot_spend_above_the_limit(store, cashier):
    member = funded(store, cashier, pin=None)
    sale = member_sale(store, cashier, member, [(WATER, 6)])
    with nothing_written(store), refused(Forbidden, field="payments[0].pin", code="payment_pin_not_set"):
        pay(store, cashier, sale, stored_value(1_200, pin=MEMBER_PIN))


def test_wrong_payment_pins_are_counted_per_member_and_lock_it_out_on_every_lane(store, cashier):
    member = funded(store, cashier)
    sale = member_sale(store, cashier, member, [(WATER, 6)])
    attempts = store.config.security.pin_max_attempts
    for _ in range(attempts):
        with nothing_written(store, ignore=PIN_FAILURE_TABLES), \
                refused(Forbidden, field="payments[0].pin", code="payment_pin_wrong"):
            pay(store, cashier, sale, stored_value(1_200, pin="111112"))
    assert len(audit_records("member.payment_pin_failed")) == attempts

    other_lane = terminal(store, lane=3)
    other_sale = member_sale(store, other_lane, member, [(WATER, 6)])
    with nothing_written(store), refused(TooManyAttempts, field="payments[0].pin"):
        pay(store, other_lane, other_sale, stored_value(1_200, pin=MEMBER_PIN))
    assert store.stored_value.balance(member.id).total == 20_000


# -- refunds ----------------------------------------------------------------------------------------------------


def spent_on(store, cashier, topup: int, items, payments) -> tuple:
    """A member topped up in cash with ``topup`` (and its tier's bonus), and a completed sale of theirs."""
    member = join(store, cashier)
    store.stored_value.top_up(cashier, member.id, topup, "cash")
    sale = pay(store, cashier, member_sale(store, cashier, member, items), *payments)
    return member, sale


def refund(store, caller, sale, lines=None, to="original"):
    return store.refunds.refund(caller, sale.id, lines, "顾客退货", to, MANAGER_APPROVAL)


def test_a_full_refund_returns_principal_and_bonus_exactly_as_they_were_spent(store, cashier):
    member, sale = spent_on(store, cashier, 50_000, [(WATER, 3), (COLA, 1)], [stored_value(900)])
    assert store.stored_value.balance(member.id) == Balance(50_000 - 750, 10_000 - 150)

    done = refund(store, cashier, sale)

    returned = StoredValueEntry.select().where((StoredValueEntry.ref == done.id) & (StoredValueEntry.kind == "refund"))
    assert {e.account: e.amount for e in returned} == {"principal": 750, "bonus": 150}
    assert assert_cache_matches_ledger(store, member.id) == Balance(50_000, 10_000)


def test_partial_refunds_keep_the_proportions_and_the_last_returns_the_rest(store, cashier):
    # 30,000 + 5,000 bonus: 600 spent is 514 principal and 86 bonus, which no refund of 200 divides evenly
    member, sale = spent_on(store, cashier, 30_000, [(WATER, 3)], [stored_value(600)])
    [line] = store.sales.lines(sale)

    given_back = []
    for _ in range(3):
        done = refund(store, cashier, sale, [{"line_id": line.id, "qty": 1}])
        entries = StoredValueEntry.select().where(StoredValueEntry.ref == done.id)
        given_back.append({e.account: e.amount for e in entries})

    assert given_back[0] == {"principal": 171, "bonus": 29}  # 200 × 514/600 = 171.3
    assert sum(part["principal"] for part in given_back) == 514
    assert sum(part["bonus"] for part in given_back) == 86
    assert assert_cache_matches_ledger(store, member.id) == Balance(30_000, 5_000)


def test_a_mixed_sale_refunds_its_stored_value_part_to_stored_value_and_cash_to_cash(store, cashier):
    member, sale = spent_on(store, cashier, 300, [(WATER, 1), (COLA, 1)],
                            [stored_value(300), {"method": "cash", "amount": 200}])
    done = refund(store, cashier, sale)
    assert {p["method"]: p["amount"] for p in store.refunds.as_dict(done)["payments"]} == {"stored_value": 300,
                                                                                           "cash": 200}
    assert store.stored_value.balance(member.id) == Balance(300, 0)


def test_a_refund_in_cash_leaves_the_stored_value_alone(store, cashier):
    member, sale = spent_on(store, cashier, 1_000, [(WATER, 1)], [stored_value(200)])
    refund(store, cashier, sale, to="cash")
    assert store.stored_value.balance(member.id) == Balance(800, 0)


def test_merging_a_duplicate_moves_its_principal_and_bonus_to_the_member_kept(store, cashier, manager):
    keep, duplicate = join(store, cashier), join(store, cashier)
    store.stored_value.top_up(cashier, keep.id, 10_000, "cash")
    store.stored_value.top_up(cashier, duplicate.id, 30_000, "cash")  # + 5,000 bonus

    store.members.merge(manager, keep.id, duplicate.id)

    assert assert_cache_matches_ledger(store, duplicate.id) == Balance(0, 0)
    assert assert_cache_matches_ledger(store, keep.id) == Balance(40_000, 5_000)
    [merged] = [e["data"] for e in events("member.updated") if e["data"]["change"] == "merged"]
    assert merged["stored_value_moved"] == {"principal": 30_000, "bonus": 5_000, "total": 35_000}


def test_a_merge_that_would_pass_the_cap_is_refused_and_writes_nothing(make_store):
    store = make_store(balance_cap=60_000)
    cashier, manager = terminal(store), terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)
    keep, duplicate = join(store, cashier), join(store, cashier)
    store.stored_value.top_up(cashier, keep.id, 29_000, "cash")
    store.stored_value.top_up(cashier, duplicate.id, 29_000, "cash")
    store.stored_value.top_up(cashier, duplicate.id, 2_001, "cash")
    with nothing_written(store), refused(Conflict, field="duplicate_id", code="balance_cap"):
        store.members.merge(manager, keep.id, duplicate.id)


# -- the API ----------------------------------------------------------------------------------------------------


@pytest.fixture
def api_member(api) -> dict:
    registered = api.post("/members", member_body(next(_phones)))
    assert registered.status_code == 201, registered.json
    return registered.json


def test_top_up_over_the_api_and_see_the_balance_on_the_member(api, api_member):
    answer = api.post(f"/members/{api_member['id']}/topups", {"amount": 30_000, "method": "cash"})

    assert answer.status_code == 201, answer.json
    assert answer.json.items() >= {"amount": 30_000, "bonus": 5_000, "method": "cash", "stored_value": {
        "principal": 30_000, "bonus": 5_000, "total": 35_000}}.items()
    assert api.get(f"/members/{api_member['id']}").json["stored_value"]["total"] == 35_000
    statement = api.get(f"/members/{api_member['id']}/stored-value").json
    assert [(e["account"], e["amount"]) for e in statement["entries"]] == [("bonus", 5_000), ("principal", 30_000)]
    assert statement["payment_pin_set"] is False


@pytest.mark.parametrize("body, field, code", [
    ({"amount": 0, "method": "cash"}, "amount", "invalid"),
    ({"amount": -100, "method": "cash"}, "amount", "invalid"),
    ({"amount": 10**11, "method": "cash"}, "amount", "invalid"),
    ({"amount": "100", "method": "cash"}, "amount", "invalid"),
    ({"amount": 500_001, "method": "cash"}, "amount", "balance_cap"),
    ({"amount": 100, "method": "alipay"}, "method", "invalid"),
    ({"amount": 100, "method": "card"}, "reference", "invalid"),
])
def test_bad_top_ups_over_the_api_are_4xx_naming_the_field_and_write_nothing(store, api, api_member, body, field,
                                                                               code):
    with nothing_written(store):
        refusal(api.post(f"/members/{api_member['id']}/topups", body), 422, field=field, code=code)


def test_paying_with_stored_value_and_pin_over_the_api(store, api, api_member):
    member_id = api_member["id"]
    assert api.post(f"/members/{member_id}/topups", {"amount": 5_000, "method": "cash"}).status_code == 201
    pin_set = api.post(f"/members/{member_id}/payment-pin", {"pin": MEMBER_PIN})
    assert pin_set.json == {"member_id": member_id, "payment_pin_set": True}
    sale_id = api.post("/sales").json["id"]
    api.post(f"/sales/{sale_id}/lines", {"barcode": WATER, "qty": 6})
    api.post(f"/sales/{sale_id}/member", {"member_id": member_id})

    with nothing_written(store, ignore=PIN_FAILURE_TABLES):
        refusal(api.post(f"/sales/{sale_id}/complete", {"payments": [stored_value(1_200, pin="111112")]}), 403,
                field="payments[0].pin", code="payment_pin_wrong")
    done = api.post(f"/sales/{sale_id}/complete", {"payments": [stored_value(1_200, pin=MEMBER_PIN)]})

    assert done.status_code == 200, done.json
    assert done.json["payments"][0].items() >= {"method": "stored_value", "amount": 1_200}.items()
    assert api.get(f"/members/{member_id}").json["stored_value"]["total"] == 5_000 - 1_200
    assert MEMBER_PIN not in str(events())  # the PIN travels in the request only


def test_short_stored_value_over_the_api_is_a_4xx_naming_the_payment(store, api, api_member):
    sale_id = api.post("/sales").json["id"]
    api.post(f"/sales/{sale_id}/lines", {"barcode": WATER})
    api.post(f"/sales/{sale_id}/member", {"member_id": api_member["id"]})
    with nothing_written(store):
        error = refusal(api.post(f"/sales/{sale_id}/complete", {"payments": [stored_value(200)]}), 422,
                        field="payments[0].amount", code="stored_value_short")
    assert "stored value is short" in error["message"]


# -- two lanes, one balance, the real server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`storeedge web` on a demo store; lane 1 registers and funds members, lanes 2 and 3 sell."""
    data_dir = tmp_path_factory.mktemp("wallet-server") / "data"
    tokens = [demo_store_with_terminal(data_dir), add_terminal(data_dir, 2), add_terminal(data_dir, 3)]
    with running_server(data_dir) as running:
        lanes = [JsonClient(running.port, token) for token in tokens]
        for lane in lanes:
            lane.login(CASHIER_PIN)
            lane.must("POST", "/shifts", {"opening_float": 0}, status=201)
        yield data_dir, lanes
        for lane in lanes:
            lane.close()


def spend_from_two_lanes(lanes: list[JsonClient], member_id: str, amount: int) -> list[tuple[int, dict]]:
    """Each lane opens a sale for the member; both pay with stored value at the same moment."""
    sales = []
    for lane in lanes:
        sale = lane.must("POST", "/sales", {}, status=201)
        lane.must("POST", f"/sales/{sale['id']}/lines", {"barcode": WATER, "qty": amount // 200}, status=201)
        lane.must("POST", f"/sales/{sale['id']}/member", {"member_id": member_id})
        sales.append(sale["id"])
    barrier = threading.Barrier(len(lanes))
    outcomes: list[tuple[int, dict]] = []

    def complete(lane: JsonClient, sale_id: str) -> None:
        barrier.wait()
        outcomes.append(lane.call("POST", f"/sales/{sale_id}/complete", {"payments": [stored_value(amount)]}))

    threads = [threading.Thread(target=complete, args=pair) for pair in zip(lanes, sales)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for lane, sale_id in zip(lanes, sales):  # leave each lane without an open sale for the next round
        if lane.must("GET", f"/sales/{sale_id}")["status"] == "open":
            lane.must("POST", f"/sales/{sale_id}/void", {"reason": "余额不足", "approval": {"pin": MANAGER_PIN}})
    return sorted(outcomes, key=lambda outcome: outcome[0])


@pytest.mark.parametrize("attempt", range(3))
def test_two_lanes_spending_one_balance_at_once_never_take_it_negative(server, attempt):
    data_dir, (desk, *tills) = server
    member = desk.must("POST", "/members", member_body(next(_phones)), status=201)
    desk.must("POST", f"/members/{member['id']}/topups", {"amount": 800, "method": "cash"}, status=201)

    outcomes = spend_from_two_lanes(tills, member["id"], 600)

    assert [status for status, _ in outcomes] == [200, 422], outcomes
    assert outcomes[1][1]["error"].items() >= {"code": "stored_value_short", "field": "payments[0].amount"}.items()
    [(principal, bonus)] = query(data_dir, "SELECT principal, bonus FROM stored_value_balance WHERE member_id = ?",
                                 member["id"])
    assert (principal, bonus) == (200, 0)
    assert query(data_dir, "SELECT SUM(amount) FROM stored_value_entry WHERE member_id = ?", member["id"]) == [(200,)]


def test_a_member_holding_stored_value_is_not_erased_until_it_is_paid_back(store, cashier, manager):
    member = funded(store, cashier)
    with nothing_written(store):
        with pytest.raises(Conflict) as refused:
            store.members.erase(manager, member.id, "the member asked")
    assert refused.value.code == "stored_value_held" and "200.00" in refused.value.message
