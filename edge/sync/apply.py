"""What HQ sends, applied at the store: each broadcast in one transaction, each event once by its id.

Handlers call the owning domain's rules where those exist (the catalog's
upsert, stored value's ``apply``); entries made at other stores are written
without a new outbox event, since HQ has them already. Events that this
store wrote itself come back in the broadcast too and are skipped: the
store's own state is newer than any echo of it.
"""

from __future__ import annotations

import json
import logging

from peewee import EXCLUDED
from pydantic import ValidationError

from edge.catalog.models import Product
from edge.catalog.schemas import ProductIn
from edge.db import Prepared, RowInsert, utc_now
from edge.errors import DomainError
from edge.members.coupons import Coupon, CouponDefinition
from edge.members.levels import MemberLevel
from edge.members.models import Member
from edge.members.points import PointsBalance, PointsEntry
from edge.store_meta import Meta
from edge.sync.models import SyncApplied

log = logging.getLogger("storeedge.sync")

HQ_SEQ_KEY = "sync.hq_seq"
MEMBER_FIELDS = ("code", "phone", "name", "birthday", "gender", "minor", "status", "merged_into", "home_store",
                 "registered_at")

_INSERT_POINTS = RowInsert(PointsEntry, or_ignore=True)
_ADD_POINTS = Prepared(
    PointsBalance.insert(member_id=Prepared.arg(0), balance=Prepared.arg(1), updated_at=Prepared.arg(2))
    .on_conflict(conflict_target=[PointsBalance.member_id],
                 update={PointsBalance.balance: PointsBalance.balance + EXCLUDED.balance,
                         PointsBalance.updated_at: EXCLUDED.updated_at}))
_MARK_APPLIED = RowInsert(SyncApplied, or_ignore=True)
_INSERT_DEFINITION = RowInsert(CouponDefinition, or_ignore=True)
_INSERT_COUPON = RowInsert(Coupon, or_ignore=True)
_DEFINITION_FIELDS = ("id", "name", "kind", "value", "threshold", "category", "valid_from", "valid_to")


class UnknownEvent(Exception):
    pass


class Applier:
    def __init__(self, app):
        self.app = app
        self.store_id = app.config.store.id
        self.handlers = {
            "product.upserted": self._product,
            "price.changed": self._price,
            "promotion.changed": self._promotion,
            "member.registered": self._member_registered,
            "member.updated": self._member_updated,
            "member.erased": self._member_erased,
            "ledger.entry": self._ledger_entry,
            "invoice.status": self._invoice_status,
            "coupon.issued": self._coupon_issued,
            "coupon.redeemed": self._coupon_redeemed,
            "coupon.returned": self._coupon_returned,
        }
        self.origin: str | None = None  # the store the event being applied came from

    def hq_seq(self) -> int:
        return int(Meta.get_value(HQ_SEQ_KEY) or 0)

    def restart_hq_seq(self) -> None:
        """A new HQ database numbers its broadcasts from 1 again (inside the caller's transaction); what was
        applied stays recorded by event id, so a relay of it changes nothing."""
        Meta.put(HQ_SEQ_KEY, "0")

    def apply_broadcast(self, message: dict) -> int:
        """Apply one broadcast (the caller has checked it is the next hq_seq); returns events applied."""
        applied = 0
        with self.app.db.transaction():
            hq_seq = message["hq_seq"]
            for event in message["events"]:
                if event.get("store_id") == self.store_id:
                    continue
                if not _MARK_APPLIED.rows([{"id": event["id"], "hq_seq": hq_seq, "type": event["type"],
                                            "applied_at": utc_now()}]):
                    continue  # applied before (a resend, or a relay of a relay)
                handler = self.handlers.get(event["type"])
                if handler is None:  # a newer HQ: recorded as seen, skipped, said in the log
                    log.warning("HQ sent an event type this store does not know: %s", event["type"])
                    continue
                self.origin = event.get("store_id")
                handler(event["data"])
                applied += 1
            Meta.put(HQ_SEQ_KEY, str(hq_seq))
        return applied

    # -- catalog ----------------------------------------------------------------

    def _product(self, data: dict) -> None:
        product = {k: v for k, v in data["product"].items() if k in ProductIn.model_fields}
        try:
            self.app.catalog.upsert(ProductIn.model_validate(product), source="hq")
        except (ValidationError, DomainError) as error:  # the rest of the broadcast still applies
            log.error("HQ sent a product this store refuses (%s): %s", product.get("sku"), error)

    def _price(self, data: dict) -> None:
        """A new price for a product this store sells; the rest of the product as it is here."""
        product = Product.get_or_none(Product.sku == data["sku"])
        if product is None:
            log.warning("HQ changed the price of %s, not in this store's catalog", data["sku"])
            return
        current = {k: v for k, v in self.app.catalog.as_dict(product).items() if k in ProductIn.model_fields}
        self._product({"product": {**current, "price": data["price"]}})

    def _promotion(self, data: dict) -> None:
        try:
            self.app.promotions.apply_from_hq(data["promotion"])
        except DomainError as error:  # checked before anything is written; the rest of the broadcast applies
            log.error("HQ sent a promotion this store refuses (%s): %s", data["promotion"].get("id"), error)

    # -- members ------------------------------------------------------------------

    def _member_registered(self, data: dict) -> None:
        if Member.get_or_none(Member.id == data["id"]) is not None:
            return
        record = {name: data.get(name) for name in MEMBER_FIELDS}
        if Member.select().where(Member.code == record["code"]).exists():
            # two stores drew the same card code: refusing this event alone keeps every later broadcast flowing
            log.error("member %s from %s has the card code of a local member; not applied", data["id"],
                      record["home_store"])
            return
        holder = record["phone"] and Member.get_or_none(Member.phone == record["phone"])
        if holder:
            # the same phone joined at two stores while apart: both kept, HQ flags the pair for a manager
            log.warning("member %s from %s has the phone of local member %s; kept without the phone",
                        record["code"], record["home_store"], holder.code)
            record["phone"] = None
        Member.insert(id=data["id"], updated_at=utc_now(), **record).execute()

    def _member_updated(self, data: dict) -> None:
        if data.get("change") == "level":
            self._level(data)
            return
        record = {name: data[name] for name in MEMBER_FIELDS if name in data and name != "phone"}
        if "phone" in data and not Member.select().where(
                (Member.phone == data["phone"]) & (Member.id != data["id"])).exists():
            record["phone"] = data["phone"]
        if Member.update(updated_at=utc_now(), **record).where(Member.id == data["id"]).execute() == 0:
            self._member_registered(data)

    def _member_erased(self, data: dict) -> None:
        Member.update(phone=None, name=None, birthday=None, gender=None, status="erased",
                      updated_at=utc_now()).where(Member.id == data["id"]).execute()

    def _level(self, data: dict) -> None:
        """A level earned at another store holds here too; levels only rise between reviews."""
        rank = {rule.name: rule.min_spend for rule in self.app.config.members.levels}
        if data["level"] not in rank:
            log.warning("HQ sent level %r, not in this store's config", data["level"])
            return
        held = self.app.levels.level_of(data["id"])
        if rank[data["level"]] > held.min_spend:
            MemberLevel.insert(member_id=data["id"], level=data["level"], since=utc_now()).on_conflict(
                conflict_target=[MemberLevel.member_id],
                update={MemberLevel.level: data["level"], MemberLevel.since: utc_now()}).execute()

    # -- member ledgers -------------------------------------------------------------

    def _ledger_entry(self, data: dict) -> None:
        if data["ledger"] == "stored_value":
            self.app.stored_value.apply(data)
        elif data["ledger"] == "points":
            detail = data.get("detail")
            entry = {"id": data["id"], "member_id": data["member_id"], "points": data["points"],
                     "kind": data["kind"], "ref": data.get("ref"), "reason": data.get("reason"),
                     "store_id": data["store_id"], "expires_on": data.get("expires_on"),
                     "detail": json.dumps(detail, ensure_ascii=False) if detail else None, "at": data["at"]}
            if _INSERT_POINTS.rows([entry]):
                _ADD_POINTS.execute(data["member_id"], data["points"], data["at"])
        else:
            log.warning("HQ sent an entry of ledger %r, not known here", data["ledger"])

    # -- e-invoices -------------------------------------------------------------------

    def _invoice_status(self, data: dict) -> None:
        """HQ's word on an invoice request of this store: processing, issued or rejected."""
        self.app.invoices.apply_status(data)

    # -- coupons --------------------------------------------------------------------

    def _coupon_issued(self, data: dict) -> None:
        """A coupon issued at another store, usable here too (its definition comes with it)."""
        definition = data["definition"]
        if data.get("member_id") and Member.get_or_none(Member.id == data["member_id"]) is None:
            log.warning("coupon %s from %s is for member %s, unknown here; not applied", data["code"], self.origin,
                        data["member_id"])
            return
        _INSERT_DEFINITION.rows([{**{name: definition.get(name) for name in _DEFINITION_FIELDS},
                                  "created_at": utc_now()}])
        if not _INSERT_COUPON.rows([{"id": data["id"], "code": data["code"], "definition_id": definition["id"],
                                     "member_id": data.get("member_id"), "status": "issued",
                                     "store_id": self.origin or "hq", "issued_at": utc_now()}]):
            log.warning("coupon %s from %s: its id or code is taken here; not applied", data["code"], self.origin)

    def _coupon_redeemed(self, data: dict) -> None:
        """Used at another store: no longer usable here (sale_id stays empty: that sale is not in this store's
        books). One used here meanwhile stays so; HQ flags the pair."""
        if not Coupon.update(status="redeemed", redeemed_at=utc_now()).where(
                (Coupon.id == data["id"]) & (Coupon.status == "issued")).execute():
            log.warning("coupon %s redeemed at %s: not here, or redeemed here already", data["code"], self.origin)

    def _coupon_returned(self, data: dict) -> None:
        """A whole refund at the store that took it gave it back (not one redeemed here)."""
        Coupon.update(status="issued", redeemed_at=None).where(
            (Coupon.id == data["id"]) & (Coupon.status == "redeemed") & Coupon.sale_id.is_null()).execute()
