"""Coupons (优惠券): definitions, issuing to a member, a segment or on paper, and redemption as a tender.

A coupon is redeemed once, as the tender `coupon` of the sale's completion,
with its code as the payment's reference and its worth for this sale as the
amount: an amount off, a percent off, or 满X减Y (spend X, get Y off), each
on the whole sale or on one category's lines, within its validity window
(business dates, inclusive). A coupon issued to a member is for the member
named on the sale. A refund of the whole sale gives the coupon back, still
within its window; a partial refund does not (its share is not money).
Codes are "C" and 12 digits ending in a Luhn check digit, printable as a
barcode on a paper coupon.
"""

from __future__ import annotations

import secrets as pysecrets
import uuid
from datetime import date

import peewee
from stdnum import luhn

from edge import audit
from edge.db import BaseModel, Prepared, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.members.models import Member
from edge.money import round_half_up, yuan
from edge.outbox.events import emit
from edge.sales.tenders import Tender

TENDER = "coupon"
KINDS = ("amount", "percent", "threshold")
CODE_DIGITS = 12
MAX_ISSUE = 10_000  # coupons one call may issue


class CouponDefinition(BaseModel):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()
    kind = peewee.TextField()  # amount (fen off), percent (off), threshold (满 threshold 减 value)
    value = peewee.IntegerField()
    threshold = peewee.IntegerField(default=0)  # fen to spend in scope before the coupon applies
    category = peewee.TextField(null=True)  # scope: one category's lines, or the whole sale
    valid_from = peewee.TextField()
    valid_to = peewee.TextField()
    created_by = peewee.IntegerField(null=True)
    created_at = peewee.TextField()


class Coupon(BaseModel):
    id = peewee.TextField(primary_key=True)
    code = peewee.TextField(unique=True)
    definition_id = peewee.TextField()
    member_id = peewee.TextField(null=True)  # None: a paper coupon, for anyone
    status = peewee.TextField()  # issued, redeemed
    store_id = peewee.TextField()
    issued_at = peewee.TextField()
    sale_id = peewee.TextField(null=True)
    redeemed_at = peewee.TextField(null=True)


# read and written by every sale a coupon pays towards: written once (see Prepared)
_COUPON_BY_CODE = Prepared(Coupon.select().where(Coupon.code == Prepared.arg(0)))
_DEFINITION_BY_ID = Prepared(CouponDefinition.select().where(CouponDefinition.id == Prepared.arg(0)))
_REDEEM = Prepared(Coupon.update(status="redeemed", sale_id=Prepared.arg(0), redeemed_at=Prepared.arg(1))
                   .where(Coupon.id == Prepared.arg(2)))


def new_coupon_code() -> str:
    body = "".join(pysecrets.choice("0123456789") for _ in range(CODE_DIGITS - 1))
    return "C" + body + luhn.calc_check_digit(body)


def looks_like_coupon_code(code: str) -> bool:
    return len(code) == CODE_DIGITS + 1 and code[0] in "Cc" and code[1:].isdigit()


class CouponsService:
    def __init__(self, app):
        self.app = app
        # paying part of a sale with a coupon: the reference is its code, the amount its worth here
        app.sales.tenders.register(Tender(TENDER, "优惠券 coupon", needs_reference=True, ledger=self))

    # -- definitions ------------------------------------------------------------

    def define(self, caller, *, name: str, kind: str, value: int, threshold: int = 0, category: str | None = None,
               valid_from: str, valid_to: str) -> CouponDefinition:
        if kind not in KINDS:
            raise DomainError(f"kind must be one of {', '.join(KINDS)}", field="kind")
        if kind == "percent" and not 1 <= value <= 99:
            raise DomainError("a percent coupon takes 1 to 99 percent off", field="value")
        if kind == "threshold" and threshold <= value:
            raise DomainError("满X减Y: the threshold must be more than the amount off", field="threshold")
        first, last = self._date(valid_from, "valid_from"), self._date(valid_to, "valid_to")
        if last < first:
            raise DomainError("valid_to is before valid_from", field="valid_to")
        with self.app.db.transaction():
            definition = CouponDefinition.create(
                id=str(uuid.uuid4()), name=name, kind=kind, value=value, threshold=threshold, category=category,
                valid_from=first.isoformat(), valid_to=last.isoformat(), created_by=caller.staff_id,
                created_at=utc_now())
            audit.record("coupon.defined", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="coupon_definition", entity_id=definition.id, data=self.definition_dict(definition))
        return definition

    @staticmethod
    def _date(text: str, field: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise DomainError(f"{field} must be a date, YYYY-MM-DD", field=field) from None

    def definition(self, definition_id: str) -> CouponDefinition:
        found = _DEFINITION_BY_ID.first(definition_id)
        if found is None:
            raise NotFound(f"no coupon definition {definition_id}", field="definition_id")
        return found

    @staticmethod
    def definition_dict(d: CouponDefinition) -> dict:
        return {"id": d.id, "name": d.name, "kind": d.kind, "value": d.value, "threshold": d.threshold,
                "category": d.category, "valid_from": d.valid_from, "valid_to": d.valid_to}

    # -- issuing ----------------------------------------------------------------

    def issue(self, caller, definition_id: str, *, member_id: str | None = None, level: str | None = None,
              count: int | None = None) -> list[Coupon]:
        """To one member, to every active member of a level (a segment), or `count` paper coupons for anyone."""
        if sum(x is not None for x in (member_id, level, count)) != 1:
            raise DomainError("give exactly one of member_id, level or count", field="member_id")
        if count is not None and not 1 <= count <= MAX_ISSUE:
            raise DomainError(f"count must be from 1 to {MAX_ISSUE}", field="count")
        with self.app.db.transaction():
            definition = self.definition(definition_id)
            if member_id is not None:
                holders = [self.app.members.find(member_id=member_id).id]
            elif level is not None:
                holders = self._segment(level)
            else:
                holders = [None] * count
            if len(holders) > MAX_ISSUE:
                raise DomainError(f"the segment has {len(holders)} members; issue at most {MAX_ISSUE} at once",
                                  field="level")
            now, store_id = utc_now(), self.app.config.store.id
            coupons = [Coupon(id=str(uuid.uuid4()), code=self._unused_code(), definition_id=definition.id,
                              member_id=holder, status="issued", store_id=store_id, issued_at=now)
                       for holder in holders]
            for coupon in coupons:
                coupon.save(force_insert=True)
                emit("coupon.issued", {**self.coupon_dict(coupon, definition), "definition": self.definition_dict(
                    definition)})
            audit.record("coupon.issued", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="coupon_definition", entity_id=definition.id,
                         data={"count": len(coupons), "member_id": member_id, "level": level})
        return coupons

    def _segment(self, level: str) -> list[str]:
        if level not in {rule.name for rule in self.app.levels.levels}:
            raise DomainError(f"no member level {level!r}", field="level")
        return [member.id for member in Member.select(Member.id).where(Member.status == "active")
                if self.app.levels.level_of(member.id).name == level]

    @staticmethod
    def _unused_code() -> str:
        while True:
            code = new_coupon_code()
            if not Coupon.select().where(Coupon.code == code).exists():
                return code

    # -- reading ----------------------------------------------------------------

    def by_code(self, code: str, field: str = "code") -> Coupon:
        if not looks_like_coupon_code(code) or not luhn.is_valid(code[1:]):
            raise DomainError(f"{code!r} is not a coupon code (C and 12 digits with a valid check digit)",
                              field=field, code="invalid_coupon_code")
        coupon = _COUPON_BY_CODE.first("C" + code[1:])
        if coupon is None:
            raise NotFound(f"no coupon {code}", field=field)
        return coupon

    def status(self, coupon: Coupon, definition: CouponDefinition, today: date) -> str:
        """issued, redeemed, expired (past its window) or not_yet_valid."""
        if coupon.status == "redeemed":
            return "redeemed"
        if today.isoformat() > definition.valid_to:
            return "expired"
        if today.isoformat() < definition.valid_from:
            return "not_yet_valid"
        return "issued"

    def coupon_dict(self, coupon: Coupon, definition: CouponDefinition | None = None) -> dict:
        definition = definition or self.definition(coupon.definition_id)
        return {"id": coupon.id, "code": coupon.code, "definition_id": definition.id, "name": definition.name,
                "member_id": coupon.member_id, "status": self.status(coupon, definition, self.app.today()),
                "valid_from": definition.valid_from, "valid_to": definition.valid_to, "sale_id": coupon.sale_id,
                "redeemed_at": coupon.redeemed_at}

    def usable(self, member_id: str) -> list[dict]:
        """The member's coupons that can be used today."""
        member = self.app.members.find(member_id=member_id)
        shown = [self.coupon_dict(c) for c in Coupon.select().where(
            (Coupon.member_id == member.id) & (Coupon.status == "issued")).order_by(Coupon.issued_at)]
        return [c for c in shown if c["status"] == "issued"]

    # -- at the checkout ----------------------------------------------------------

    def worth(self, definition: CouponDefinition, lines) -> int:
        """What the coupon takes off these lines; a DomainError when the sale does not qualify."""
        if definition.category is None:
            in_scope = sum(line.total for line in lines)
        else:
            names = self.app.catalog.category_names({line.product_id for line in lines})
            in_scope = sum(line.total for line in lines if names.get(line.product_id) == definition.category)
        where = f" on {definition.category}" if definition.category else ""
        if in_scope <= 0 or in_scope < definition.threshold:
            raise Conflict(f"{definition.name}: spend {yuan(max(definition.threshold, 1))}{where} to use it "
                           f"(this sale: {yuan(in_scope)})", field="payments", code="coupon_not_applicable")
        if definition.kind == "percent":
            return round_half_up(in_scope * definition.value, 100)
        return min(definition.value, in_scope)

    def worth_on(self, sale_id: str, code: str) -> dict:
        """What a coupon would take off an open sale now: the amount its tender must carry (checks as take does)."""
        sale = self.app.sales.get(sale_id)
        coupon = self.by_code(code)
        definition = self.definition(coupon.definition_id)
        self._usable_on(coupon, definition, sale, field="code")
        return {"code": coupon.code, "name": definition.name, "sale_id": sale.id,
                "worth": self.worth(definition, self.app.sales.lines(sale))}

    def _usable_on(self, coupon: Coupon, definition: CouponDefinition, sale, field: str) -> None:
        status = self.status(coupon, definition, self.app.today())
        if status != "issued":
            raise Conflict(f"coupon {coupon.code} is {status.replace('_', ' ')}", field=field,
                           code=f"coupon_{status}")
        if coupon.member_id is not None and coupon.member_id != sale.member_id:
            raise Conflict(f"coupon {coupon.code} belongs to another member: name its member on the sale",
                           field=field, code="coupon_other_member")

    def take(self, sale, payment: dict, asked: dict, caller) -> None:
        """Inside the sale's transaction: check the coupon against this sale, and use it up."""
        index = payment["asked"]
        field = f"payments[{index}].reference"
        coupon = self.by_code(payment["reference"], field=field)
        definition = self.definition(coupon.definition_id)
        self._usable_on(coupon, definition, sale, field)
        worth = self.worth(definition, sale.priced_lines)
        if payment["amount"] != worth:
            raise DomainError(f"coupon {coupon.code} is worth {yuan(worth)} on this sale, not "
                              f"{yuan(payment['amount'])}", field=f"payments[{index}].amount",
                              code="coupon_amount")
        coupon.status, coupon.sale_id, coupon.redeemed_at = "redeemed", sale.id, utc_now()
        _REDEEM.execute(coupon.sale_id, coupon.redeemed_at, coupon.id)
        emit("coupon.redeemed", {"id": coupon.id, "code": coupon.code, "definition_id": definition.id,
                                 "member_id": coupon.member_id, "sale_id": sale.id, "amount": worth,
                                 "store_id": self.app.config.store.id})
        audit.record("coupon.redeemed", staff_id=caller.staff_id, device_id=caller.device_id, entity="coupon",
                     entity_id=coupon.id, data={"code": coupon.code, "sale_id": sale.id, "amount": worth})

    def give_back(self, refund, payment: dict, sale, caller) -> None:
        """A refund of the whole sale returns its coupons to their holders (used again within their window)."""
        refunded = self.app.refunds.refunded(sale)
        if any(refunded.get(line.id, (0, 0))[0] < line.qty for line in self.app.sales.lines(sale)):
            return
        for coupon in Coupon.select().where((Coupon.sale_id == sale.id) & (Coupon.status == "redeemed")):
            coupon.status, coupon.sale_id, coupon.redeemed_at = "issued", None, None
            coupon.save()
            emit("coupon.returned", {"id": coupon.id, "code": coupon.code, "sale_id": sale.id,
                                     "refund_id": refund.id})
            audit.record("coupon.returned", staff_id=caller.staff_id, device_id=caller.device_id, entity="coupon",
                         entity_id=coupon.id, data={"code": coupon.code, "refund_id": refund.id})
