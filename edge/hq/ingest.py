"""A store's batch of events stored at HQ in one transaction: once each, with what follows from them.

An event HQ holds already (its store's seq, with the same id) changes
nothing (a resend, a duplicated delivery); another id at a seq HQ holds is
refused (IntegrityError: the store reused a seq, restored from a backup).
New events update HQ's member register, ledgers and daily sales; the member
events among them go into one broadcast (the next hq_seq) for the other
stores. A stored-value spend that takes a member below zero (spends at two
stores while they were apart) is kept, relayed, and flagged for a manager.
"""

from __future__ import annotations

import json
from collections import defaultdict

import peewee

from edge.db import utc_now
from edge.hq.models import (Coupon, Flag, InvoiceRequest, LedgerEntry, Member, SalesDay, StoreEvent, StoreState,
                            add_broadcast, hq_database, transaction)

RELAYED = ("member.registered", "member.updated", "member.erased", "ledger.entry", "coupon.issued",
           "coupon.redeemed", "coupon.returned")
MEMBER_FIELDS = ("code", "phone", "name", "status", "home_store", "registered_at")


def ingest(store_id: str, message: dict, data_texts: list[str] | None = None) -> int:
    """Store a batch from ``store_id``; returns the seq up to which HQ holds every event of that store.

    ``data_texts``: each event's data as the JSON text it came in (edge/hq/batch.py), stored as it is.
    """
    events = message["events"]
    if data_texts is None:
        data_texts = [json.dumps(event["data"], ensure_ascii=False) for event in events]
    if message.get("store_id") != store_id:
        raise ValueError(f"store_id {message.get('store_id')!r} in a batch on store {store_id}'s topic")
    with transaction():
        db = hq_database.obj
        seqs = [event["seq"] for event in events]
        if not all(type(seq) is int for seq in seqs):
            raise ValueError(f"an event's seq is a whole number, not {next(s for s in seqs if type(s) is not int)!r}")
        # an event is its store's seq: the store gives each event its id and seq together, once, so a seq HQ
        # holds is that event delivered again, unless HQ has another id there (the store reused the seq).
        # Looked up by seq (the primary key, in order) rather than by id (random uuids all over an index).
        held = dict(db.execute_sql(_held_sql(db.param, len(seqs)), (store_id, *seqs))) if seqs else {}
        fresh, rows = [], []
        now = utc_now()
        for event, data_text in zip(events, data_texts):
            seq = event["seq"]
            if seq in held:
                if held[seq] != event["id"]:
                    raise peewee.IntegrityError(f"store {store_id}'s seq {seq} is event {held[seq]} at HQ, "
                                                f"{event['id']} in the batch")
                continue
            held[seq] = event["id"]
            fresh.append(event)
            rows.append((store_id, seq, event["id"], event["type"], event["at"], data_text, now))
        if rows:
            # one prepared statement over the batch: peewee's insert_many writes SQL per row, 5× the time
            with peewee.__exception_wrapper__:  # the driver's errors as peewee's, on SQLite and PostgreSQL alike
                db.cursor().executemany(_insert_events_sql(db.param), rows)
        relay, days = [], defaultdict(lambda: [0, 0, 0, 0])
        for event in fresh:
            follow(store_id, event, days)
            if event["type"] in RELAYED:
                relay.append({**event, "store_id": store_id})
        for day, counts in days.items():  # one write per day of the batch, not one per sale
            _count_sales(store_id, day, *counts)
        if relay:
            add_broadcast(relay, now)
        return _advance(store_id)


def _held_sql(mark: str, count: int) -> str:
    # written out, not through peewee's IN (…): its query builder took 40 % of HQ's time for 500 values
    return f"SELECT seq, id FROM store_event WHERE store_id = {mark} AND seq IN ({', '.join([mark] * count)})"


def _insert_events_sql(mark: str) -> str:
    return (f"INSERT INTO store_event (store_id, seq, id, type, at, data, received_at) "
            f"VALUES ({', '.join([mark] * 7)})")


def _advance(store_id: str) -> int:
    state, _ = StoreState.get_or_create(store_id=store_id)
    upto = state.acked_upto
    db = hq_database.obj
    # a plain cursor: peewee's row wrapper cost more than the query for a batch's seqs
    for (seq,) in db.execute_sql(f"SELECT seq FROM store_event WHERE store_id = {db.param} AND seq > {db.param} "
                                 "ORDER BY seq", (store_id, upto)):
        if seq != upto + 1:
            break
        upto = seq
    if upto != state.acked_upto:
        StoreState.update(acked_upto=upto).where(StoreState.store_id == store_id).execute()
    return upto


def follow(store_id: str, event: dict, days: dict[str, list[int]]) -> None:
    """What one new event changes in HQ's register and ledgers; sales and refunds are added up in ``days``
    ([sales, sales_total, refunds, refunds_total] per business day)."""
    kind, data = event["type"], event["data"]
    if kind == "member.registered":
        _member_registered(store_id, data)
    elif kind == "member.updated":
        if data.get("change") == "level":
            Member.update(level=data["level"], updated_at=event["at"]).where(Member.id == data["id"]).execute()
        else:
            fields = {name: data[name] for name in MEMBER_FIELDS if name in data}
            Member.update(updated_at=event["at"], **fields).where(Member.id == data["id"]).execute()
    elif kind == "member.erased":
        Member.update(phone=None, name=None, status="erased").where(Member.id == data["id"]).execute()
    elif kind == "ledger.entry":
        _ledger_entry(data)
    elif kind.startswith("coupon."):
        _coupon(store_id, kind, data, event["at"])
    elif kind == "invoice.requested":
        _invoice_requested(store_id, data)
    elif kind == "sale.completed":
        counts = days[data["business_date"]]
        counts[0] += 1
        counts[1] += data["total"]
    elif kind == "refund.completed":
        counts = days[data["at"][:10]]
        counts[2] += 1
        counts[3] += data["total"]


def _member_registered(store_id: str, data: dict) -> None:
    other = Member.get_or_none((Member.phone == data["phone"]) & (Member.id != data["id"])) if data.get("phone") \
        else None
    if other is not None:
        flag("duplicate_phone", data["id"], store_id, {"member": data["code"], "other": other.code,
                                                         "stores": [other.home_store, data["home_store"]]})
    Member.insert(id=data["id"], updated_at=data["registered_at"], **{n: data.get(n) for n in MEMBER_FIELDS}) \
        .on_conflict_ignore().execute()


def _ledger_entry(data: dict) -> None:
    stored_value = data["ledger"] == "stored_value"
    # only new events get here, and an entry travels in one event: no duplicate to ignore
    LedgerEntry.insert(
        id=data["id"], ledger=data["ledger"], member_id=data["member_id"], store_id=data["store_id"],
        account=data.get("account"), amount=data["amount"] if stored_value else data["points"], kind=data["kind"],
        ref=data.get("ref"), at=data["at"]).execute()
    if not (stored_value and data["amount"] < 0):
        return
    balance = (LedgerEntry.select(peewee.fn.COALESCE(peewee.fn.SUM(LedgerEntry.amount), 0))
               .where((LedgerEntry.member_id == data["member_id"]) & (LedgerEntry.ledger == "stored_value"))
               .scalar())
    if balance < 0:
        # spent at two stores while they could not see each other: kept and relayed, a manager decides
        flag("overdraw", data["member_id"], data["store_id"],
              {"entry_id": data["id"], "amount": data["amount"], "balance": balance, "ref": data.get("ref")})


def _coupon(store_id: str, kind: str, data: dict, at: str) -> None:
    """HQ's coupon register; a coupon redeemed for a second sale (two stores while apart) is flagged, and the
    sale stands: the customer has left with the goods."""
    if kind == "coupon.issued":
        Coupon.insert(id=data["id"], code=data["code"], member_id=data.get("member_id"), store_id=store_id,
                      status="issued").on_conflict_ignore().execute()
        return
    coupon = Coupon.get_or_none(Coupon.id == data["id"])
    if coupon is None:  # issued before HQ kept a register
        coupon = Coupon.create(id=data["id"], code=data["code"], member_id=data.get("member_id"),
                               store_id=store_id, status="issued")
    if kind == "coupon.returned":
        Coupon.update(status="issued", sale_id=None, redeemed_store_id=None, redeemed_at=None).where(
            (Coupon.id == coupon.id) & (Coupon.sale_id == data["sale_id"])).execute()
    elif coupon.status == "redeemed" and coupon.sale_id != data["sale_id"]:
        flag("coupon_twice", coupon.member_id, store_id, {
            "code": coupon.code, "sales": [coupon.sale_id, data["sale_id"]],
            "stores": [coupon.redeemed_store_id, store_id], "amount": data.get("amount")})
    else:
        Coupon.update(status="redeemed", sale_id=data["sale_id"], redeemed_store_id=store_id, redeemed_at=at).where(
            Coupon.id == coupon.id).execute()


INVOICE_FIELDS = ("sale_id", "receipt_no", "amount", "buyer", "title", "taxpayer_id", "email", "channel",
                  "requested_at")


def _invoice_requested(store_id: str, data: dict) -> None:
    """A request for HQ to issue (storeedge hq invoice-status answers it); the full document stays in the event."""
    InvoiceRequest.insert(id=data["id"], store_id=store_id, status="requested", updated_at=data["requested_at"],
                          **{name: data.get(name) for name in INVOICE_FIELDS}).on_conflict_ignore().execute()


def _count_sales(store_id: str, day: str, sales: int, sales_total: int, refunds: int, refunds_total: int) -> None:
    SalesDay.insert(store_id=store_id, day=day, sales=sales, sales_total=sales_total, refunds=refunds,
                    refunds_total=refunds_total).on_conflict(
        conflict_target=[SalesDay.store_id, SalesDay.day],
        update={SalesDay.sales: SalesDay.sales + sales, SalesDay.sales_total: SalesDay.sales_total + sales_total,
                SalesDay.refunds: SalesDay.refunds + refunds,
                SalesDay.refunds_total: SalesDay.refunds_total + refunds_total}).execute()


def flag(kind: str, member_id: str | None, store_id: str | None, detail: dict) -> None:
    """Something for a manager at HQ to look at."""
    Flag.create(kind=kind, member_id=member_id, store_id=store_id, detail=json.dumps(detail, ensure_ascii=False),
                at=utc_now())
