"""Gifts for points (积分兑换): the gift list, redeeming points for a gift, collecting it, cancelling.

A manager keeps the list: each gift costs a number of points, may be linked
to a product whose stock is taken when the gift is collected, may be limited
to a number given out, and can be switched off. Redeeming debits the points
(a `redemption` entry in the points ledger, never below zero) and gives a
short pickup code; the cashier hands the gift over against the code once,
taking its stock through the inventory ledger. A manager can cancel a
redemption not yet collected, which gives the points back (a `refund`
entry, a new lot). Each of these is one transaction with its events and
audit record. Pickup codes are "G" and 8 digits ending in a Luhn check
digit, so a mistyped code is caught before any lookup.
"""

from __future__ import annotations

import secrets
import uuid

import peewee
from stdnum import luhn

from edge import audit
from edge.db import BaseModel, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.outbox.events import emit

CODE_DIGITS = 8
MAX_QTY = 99
MAX_POINTS = 10_000_000  # a gift's cost, as a manager's adjustment is bounded
EDITABLE = ("name", "points", "sku", "active", "stock_limit")


class Gift(BaseModel):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()
    points = peewee.IntegerField()
    product_id = peewee.IntegerField(null=True)  # its stock is taken when the gift is collected
    active = peewee.BooleanField(default=True)
    stock_limit = peewee.IntegerField(null=True)  # most that may be given out (redeemed and not cancelled)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()


class GiftRedemption(BaseModel):
    id = peewee.TextField(primary_key=True)
    code = peewee.TextField(unique=True)
    gift_id = peewee.TextField()
    member_id = peewee.TextField()
    qty = peewee.IntegerField()
    points = peewee.IntegerField()  # what was debited
    status = peewee.TextField()  # pending, collected, cancelled
    store_id = peewee.TextField()
    created_at = peewee.TextField()
    created_by = peewee.IntegerField(null=True)
    closed_at = peewee.TextField(null=True)  # collected or cancelled
    closed_by = peewee.IntegerField(null=True)
    cancel_reason = peewee.TextField(null=True)


def new_pickup_code() -> str:
    body = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS - 1))
    return "G" + body + luhn.calc_check_digit(body)


class GiftsService:
    def __init__(self, app):
        self.app = app

    # -- the gift list (manager) --------------------------------------------------

    def add(self, caller, *, name: str, points: int, sku: str | None = None, active: bool = True,
            stock_limit: int | None = None) -> Gift:
        checked = self._check({"name": name, "points": points, "sku": sku, "active": active,
                               "stock_limit": stock_limit})
        with self.app.db.transaction():
            now = utc_now()
            gift = Gift(id=str(uuid.uuid4()), created_at=now, updated_at=now, **checked)
            gift.save(force_insert=True)
            audit.record("gift.added", staff_id=caller.staff_id, device_id=caller.device_id, entity="gift",
                         entity_id=gift.id, data=self.gift_dict(gift))
        return gift

    def change(self, caller, gift_id: str, changes: dict) -> Gift:
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise DomainError(f"cannot change {', '.join(unknown)}", field=unknown[0])
        with self.app.db.transaction():
            gift = self.get(gift_id)
            before = self.gift_dict(gift)
            for key, value in self._check(changes).items():
                setattr(gift, key, value)
            given = self.given_out(gift.id)
            if gift.stock_limit is not None and gift.stock_limit < given:
                raise Conflict(f"{given} of this gift are already given out; the limit cannot go below that",
                               field="stock_limit", code="stock_limit_below_given")
            after = self.gift_dict(gift)
            changed = sorted(key for key in after if after[key] != before[key])
            if changed:
                gift.updated_at = utc_now()
                gift.save()
                audit.record("gift.changed", staff_id=caller.staff_id, device_id=caller.device_id, entity="gift",
                             entity_id=gift.id, data={key: [before[key], after[key]] for key in changed})
        return gift

    def _check(self, fields: dict) -> dict:
        """Validated column values for the given fields (sku becomes product_id)."""
        checked = {}
        if "name" in fields:
            name = (fields["name"] or "").strip()
            if not name:
                raise DomainError("name must not be blank", field="name")
            checked["name"] = name
        if "points" in fields and not 1 <= (fields["points"] or 0) <= MAX_POINTS:
            raise DomainError(f"points must be from 1 to {MAX_POINTS}", field="points")
        if "stock_limit" in fields and fields["stock_limit"] is not None and fields["stock_limit"] < 0:
            raise DomainError("stock_limit must not be negative (leave it out for no limit)", field="stock_limit")
        if "active" in fields and fields["active"] is None:
            raise DomainError("active is true or false", field="active")
        checked.update({key: fields[key] for key in ("points", "stock_limit", "active") if key in fields})
        if "sku" in fields:
            checked["product_id"] = None if fields["sku"] is None else self.app.catalog.by_sku(fields["sku"]).id
        return checked

    def get(self, gift_id: str, field: str = "gift_id") -> Gift:
        gift = Gift.get_or_none(Gift.id == gift_id)
        if gift is None:
            raise NotFound(f"no gift {gift_id}", field=field)
        return gift

    def given_out(self, gift_id: str) -> int:
        return GiftRedemption.select(peewee.fn.SUM(GiftRedemption.qty)).where(
            (GiftRedemption.gift_id == gift_id) & (GiftRedemption.status != "cancelled")).scalar() or 0

    def gift_dict(self, gift: Gift) -> dict:
        sku = self.app.catalog.get(gift.product_id).sku if gift.product_id is not None else None
        left = None if gift.stock_limit is None else gift.stock_limit - self.given_out(gift.id)
        return {"id": gift.id, "name": gift.name, "points": gift.points, "sku": sku, "product_id": gift.product_id,
                "active": gift.active, "stock_limit": gift.stock_limit, "left": left}

    def gifts(self, active_only: bool = False) -> list[dict]:
        query = Gift.select().order_by(Gift.points, Gift.name)
        if active_only:
            query = query.where(Gift.active == True)  # noqa: E712 (peewee builds SQL from ==)
        return [self.gift_dict(gift) for gift in query]

    # -- redeeming, collecting, cancelling ----------------------------------------

    def redeem(self, caller, member_id: str, gift_id: str, qty: int) -> GiftRedemption:
        """Debit the member's points for qty of the gift and give a pickup code."""
        if not 1 <= qty <= MAX_QTY:
            raise DomainError(f"qty must be from 1 to {MAX_QTY}", field="qty")
        with self.app.db.transaction():
            member = self.app.members.find(member_id=member_id)
            if member.status != "active":
                raise Conflict(f"member {member.code} is {member.status}", field="member_id",
                               code=f"member_{member.status}")
            gift = self.get(gift_id)
            if not gift.active:
                raise Conflict(f"{gift.name} is no longer offered", field="gift_id", code="gift_inactive")
            if gift.stock_limit is not None and self.given_out(gift.id) + qty > gift.stock_limit:
                left = gift.stock_limit - self.given_out(gift.id)
                raise Conflict(f"only {left} of {gift.name} left", field="qty", code="gift_out_of_stock")
            cost, held = gift.points * qty, self.app.points.balance(member.id)
            if cost > held:
                raise Conflict(f"{qty} × {gift.name} costs {cost} points but the member holds {held}",
                               field="qty", code="points_short")
            redemption = GiftRedemption(
                id=str(uuid.uuid4()), code=self._unused_code(), gift_id=gift.id, member_id=member.id, qty=qty,
                points=cost, status="pending", store_id=self.app.config.store.id, created_at=utc_now(),
                created_by=caller.staff_id)
            redemption.save(force_insert=True)
            entry = self.app.points.append(member.id, -cost, "redemption", ref=redemption.id,
                                           reason=f"gift {gift.name} × {qty}",
                                           detail={"gift_id": gift.id, "code": redemption.code, "qty": qty})
            event = {**self.redemption_dict(redemption, gift), "entry_id": entry.id}
            emit("gift.redeemed", event)
            audit.record("gift.redeemed", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="gift_redemption", entity_id=redemption.id, data=event)
        return redemption

    @staticmethod
    def _unused_code() -> str:
        while True:  # 10^7 codes: a repeat is rare, and the unique index is the last word
            code = new_pickup_code()
            if not GiftRedemption.select().where(GiftRedemption.code == code).exists():
                return code

    def by_code(self, code: str) -> GiftRedemption:
        if not (len(code) == CODE_DIGITS + 1 and code[0] in "Gg" and code[1:].isdigit() and luhn.is_valid(code[1:])):
            raise DomainError(f"{code!r} is not a pickup code (G and {CODE_DIGITS} digits with a valid check digit)",
                              field="code", code="invalid_pickup_code")
        redemption = GiftRedemption.get_or_none(GiftRedemption.code == "G" + code[1:])
        if redemption is None:
            raise NotFound(f"no gift redemption {code}", field="code")
        return redemption

    def _pending(self, code: str) -> GiftRedemption:
        redemption = self.by_code(code)
        if redemption.status != "pending":
            raise Conflict(f"gift redemption {redemption.code} was already {redemption.status} "
                           f"at {redemption.closed_at}", field="code", code=f"gift_{redemption.status}")
        return redemption

    def collect(self, caller, code: str) -> GiftRedemption:
        """Hand the gift over, once: its product's stock goes down through the inventory ledger."""
        with self.app.db.transaction():
            redemption = self._pending(code)
            gift = self.get(redemption.gift_id)
            movement_id = None
            if gift.product_id is not None:
                movement_id = self.app.inventory.move(
                    self.app.catalog.get(gift.product_id), -redemption.qty, "adjustment", ref=redemption.id,
                    note=f"gift {redemption.code} collected", staff_id=caller.staff_id)
            self._close(redemption, "collected", caller)
            event = {**self.redemption_dict(redemption, gift), "movement_id": movement_id}
            emit("gift.collected", event)
            audit.record("gift.collected", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="gift_redemption", entity_id=redemption.id, data=event)
        return redemption

    def cancel(self, caller, code: str, reason: str) -> GiftRedemption:
        """Cancel a redemption not yet collected; the points come back as a new lot."""
        if not reason.strip():
            raise DomainError("say why the redemption is cancelled", field="reason")
        with self.app.db.transaction():
            redemption = self._pending(code)
            gift = self.get(redemption.gift_id)
            member = self.app.members.current(self.app.members.get(redemption.member_id))
            entry = self.app.points.append(
                member.id, redemption.points, "refund", ref=redemption.id,
                expires_on=self.app.points.expiry_for(self.app.today()),
                reason=f"gift redemption {redemption.code} cancelled: {reason}")
            redemption.cancel_reason = reason
            self._close(redemption, "cancelled", caller)
            event = {**self.redemption_dict(redemption, gift), "entry_id": entry.id}
            emit("gift.cancelled", event)
            audit.record("gift.cancelled", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="gift_redemption", entity_id=redemption.id, data=event)
        return redemption

    @staticmethod
    def _close(redemption: GiftRedemption, status: str, caller) -> None:
        redemption.status, redemption.closed_at, redemption.closed_by = status, utc_now(), caller.staff_id
        redemption.save()

    def redemption_dict(self, redemption: GiftRedemption, gift: Gift | None = None) -> dict:
        gift = gift or self.get(redemption.gift_id)
        return {"id": redemption.id, "code": redemption.code, "gift_id": gift.id, "gift": gift.name,
                "member_id": redemption.member_id, "qty": redemption.qty, "points": redemption.points,
                "status": redemption.status, "store_id": redemption.store_id, "created_at": redemption.created_at,
                "closed_at": redemption.closed_at, "cancel_reason": redemption.cancel_reason}

    def of_member(self, member_id: str) -> list[dict]:
        member = self.app.members.find(member_id=member_id)
        return [self.redemption_dict(r) for r in GiftRedemption.select().where(
            GiftRedemption.member_id == member.id).order_by(GiftRedemption.created_at.desc())]
