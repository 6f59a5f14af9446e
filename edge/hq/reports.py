"""Chain-wide figures at HQ: sales per store per day, members, stored-value settlement, flags."""

from __future__ import annotations

import json
from collections import defaultdict, deque

import peewee

from edge.hq.models import Flag, LedgerEntry, Member, SalesDay, StoreState


def sales(day_from: str | None = None, day_to: str | None = None) -> list[dict]:
    query = SalesDay.select().order_by(SalesDay.day, SalesDay.store_id)
    if day_from:
        query = query.where(SalesDay.day >= day_from)
    if day_to:
        query = query.where(SalesDay.day <= day_to)
    return [{"store_id": r.store_id, "day": r.day, "sales": r.sales, "sales_total": r.sales_total,
             "refunds": r.refunds, "refunds_total": r.refunds_total, "net": r.sales_total - r.refunds_total}
            for r in query]


def balances(member_id: str) -> dict:
    sums = dict(LedgerEntry.select(LedgerEntry.ledger, peewee.fn.SUM(LedgerEntry.amount))
                .where(LedgerEntry.member_id == member_id).group_by(LedgerEntry.ledger).tuples())
    return {"points": sums.get("points", 0), "stored_value": sums.get("stored_value", 0)}


def members(phone: str | None = None, code: str | None = None) -> dict:
    if phone or code:
        member = Member.get_or_none(Member.phone == phone) if phone else Member.get_or_none(Member.code == code)
        if member is None:
            return {"members": []}
        return {"members": [{"id": member.id, "code": member.code, "status": member.status,
                             "home_store": member.home_store, "level": member.level, **balances(member.id)}]}
    by_store = dict(Member.select(Member.home_store, peewee.fn.COUNT(Member.id)).group_by(Member.home_store)
                    .tuples())
    return {"total": sum(by_store.values()), "by_home_store": by_store}


def settlement() -> dict:
    """Who owes whom for stored value spent at a store other than the one that took the money.

    The principal paid in at a store is held by that store; a spend (or a
    pay-back) elsewhere uses the member's oldest principal first, and the
    holding store owes the spending store that much. A refund into stored
    value is principal held by the refunding store. Bonus is the chain's
    gift and is not settled. Spends beyond what was paid in (an overdraw)
    are counted apart, as unfunded, for the flags.
    """
    lots: dict[str, deque] = defaultdict(deque)
    owed: dict[tuple[str, str], int] = defaultdict(int)
    unfunded: dict[str, int] = defaultdict(int)
    entries = (LedgerEntry.select().where((LedgerEntry.ledger == "stored_value") & (LedgerEntry.account == "principal"))
               .order_by(LedgerEntry.n))
    for entry in entries:
        held = lots[entry.member_id]
        if entry.amount > 0:
            held.append([entry.store_id, entry.amount])
            continue
        need = -entry.amount
        while need and held:
            lot = held[0]
            used = min(need, lot[1])
            if lot[0] != entry.store_id:
                owed[(lot[0], entry.store_id)] += used
            lot[1] -= used
            need -= used
            if not lot[1]:
                held.popleft()
        if need:
            unfunded[entry.store_id] += need
    net = []
    for (debtor, creditor), amount in sorted(owed.items()):
        balance = amount - owed.get((creditor, debtor), 0)
        if balance > 0:
            net.append({"from": debtor, "to": creditor, "amount": balance})
    return {"gross": [{"from": d, "to": c, "amount": a} for (d, c), a in sorted(owed.items())],
            "net": net, "unfunded": dict(unfunded)}


def flags(open_only: bool = True) -> list[dict]:
    query = Flag.select().order_by(Flag.id)
    if open_only:
        query = query.where(Flag.resolved_at.is_null())
    return [{"id": f.id, "kind": f.kind, "member_id": f.member_id, "store_id": f.store_id,
             "detail": json.loads(f.detail), "at": f.at, "resolved_at": f.resolved_at} for f in query]


def stores() -> list[dict]:
    return [{"store_id": s.store_id, "acked_upto": s.acked_upto, "state": s.state, "version": s.version,
             "status_at": s.status_at, "telemetry": json.loads(s.telemetry) if s.telemetry else None}
            for s in StoreState.select().order_by(StoreState.store_id)]
