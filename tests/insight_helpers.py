"""Helpers for the insight tests: members with a purchase history on chosen days, profiles as rows."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from edge.members.service import Consent
from tests.conftest import WATER

DIAPERS = "6904321000173"  # 帮宝适纸尿裤, category 母婴, 89.90
TODAY = date(2026, 11, 23)
_PHONES = (str(n) for n in itertools.count(13_700_000_000))


def join(store, caller, joined: date | None = None) -> str:
    """A new member (joined on ``joined``, by default long ago); returns the id."""
    member = store.members.register(caller, phone=next(_PHONES), consent=Consent("2026-11", ("membership",)),
                                    channel="pos")
    stamp = (joined or date(2024, 1, 1)).isoformat() + "T02:00:00.000+00:00"
    store.db.peewee.execute_sql("UPDATE member SET registered_at = ? WHERE id = ?", (stamp, member.id))
    return member.id


def buy(store, caller, member_id: str, on: date, items=((WATER, 1),), method: str = "cash", hour_utc: int = 2):
    """A real completed sale for the member, then dated to ``on`` (the till sells today only)."""
    sale = store.sales.open(caller)
    for barcode, qty in items:
        store.sales.add_line(sale.id, caller, barcode=barcode, qty=qty)
    store.sales.set_member(sale.id, caller, store.members.find(member_id=member_id))
    total = store.sales.get(sale.id).total
    sale = store.sales.complete(sale.id, caller, [{"method": method, "amount": total, "reference": "T-1"}])
    store.db.peewee.execute_sql("UPDATE sale SET business_date = ?, completed_at = ? WHERE id = ?",
                                (on.strftime("%Y%m%d"), f"{on.isoformat()}T{hour_utc:02d}:15:00.000+00:00", sale.id))
    return sale


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def profiles(store) -> dict[str, tuple]:
    """Every profile row but its refresh time, by member."""
    rows = store.db.peewee.execute_sql("SELECT * FROM insight_profile ORDER BY member_id").fetchall()
    return {row[0]: row[:-1] for row in rows}


def member_tags(store) -> set[tuple]:
    return set(store.db.peewee.execute_sql("SELECT member_id, tag_id, source FROM insight_member_tag").fetchall())
