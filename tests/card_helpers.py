"""Helpers for the member card, level review and gift tests: a configured store, members, and member sales."""

from __future__ import annotations

import itertools

import pytest

from edge.members.service import Consent

AGREED = Consent(notice_version="2026-11", purposes=("membership",))
# Two cheap levels, so one small sale crosses the threshold.
LEVELS = [{"name": "普通", "min_spend": 0},
          {"name": "银卡", "min_spend": 3000, "discount_percent": 2, "points_multiplier": 150,
           "birthday_multiplier": 200},
          {"name": "金卡", "min_spend": 9000, "discount_percent": 5, "points_multiplier": 200}]
_phones = (str(number) for number in itertools.count(13_700_000_000))


@pytest.fixture
def shop(store_with):
    """Opens a copy of the demo store with LEVELS and the given [members] settings."""
    return lambda **members: store_with({"members": {"levels": LEVELS, **members}})


@pytest.fixture
def store(shop):
    return shop()


def join(store, caller, **personal):
    """A newly registered member with a phone number no other test member has."""
    return store.members.register(caller, phone=next(_phones), consent=AGREED, channel="pos", **personal)


def member_sale(store, caller, member, barcode: str, qty: int):
    """A completed cash sale of qty of one item to the member."""
    sale = store.sales.open(caller)
    store.sales.add_line(sale.id, caller, barcode=barcode, qty=qty)
    store.sales.set_member(sale.id, caller, member)
    return store.sales.complete(sale.id, caller, [{"method": "cash", "amount": store.sales.get(sale.id).total}])
