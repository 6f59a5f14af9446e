"""Points (积分): an append-only ledger, a cached balance, accrual, redemption as a tender, refunds and expiry.

- Every change is a ledger entry with a uuid id (applying one twice changes
  nothing), its store and, for points coming in, the day its lot expires.
  The balance is the sum of the ledger, cached in points_balance in the same
  transaction.
- Lots are spent first-in first-out: the points going out (redemption,
  expiry, refunds taking points back) are matched against the lots in order of
  expiry, so what is left of each lot is derived, never stored.
- A completed sale with a member earns points per yuan paid other than with
  points, times the member's level multiplier, the category multiplier, the
  double-points day multiplier and the level's birthday multiplier; excluded
  categories earn nothing. The per-line split is kept on the accrual entry so
  a refund takes back each line's points in proportion to the quantity returned.
- A refund may take back points the member has already spent: the balance
  then goes below zero, and the entry says so in its reason.
"""

from __future__ import annotations

import calendar
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import peewee
from peewee import EXCLUDED

from edge import audit
from edge.db import BaseModel, Prepared, RowInsert, utc_now
from edge.errors import Conflict, DomainError
from edge.members.identity import mask_phone
from edge.members.models import Member
from edge.money import allocate
from edge.outbox.events import emit
from edge.sales.models import Payment, Refund, RefundPayment
from edge.sales.tenders import Tender

KINDS = ("accrual", "redemption", "expiry", "refund", "adjust")
TENDER = "points"
PERCENT = 100
MAX_ADJUST = 10_000_000


class PointsEntry(BaseModel):
    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    points = peewee.IntegerField()  # signed
    kind = peewee.TextField()
    ref = peewee.TextField(null=True)  # the sale, refund or expired lot it comes from
    reason = peewee.TextField(null=True)
    store_id = peewee.TextField()
    expires_on = peewee.TextField(null=True)  # points coming in: the last day the lot may be spent
    detail = peewee.TextField(null=True)  # JSON
    at = peewee.TextField()


class PointsBalance(BaseModel):
    member_id = peewee.TextField(primary_key=True)
    balance = peewee.IntegerField()
    updated_at = peewee.TextField()


_BALANCE_OF_MEMBER = Prepared(PointsBalance.select().where(PointsBalance.member_id == Prepared.arg(0)))
_INSERT_ENTRY = RowInsert(PointsEntry, or_ignore=True)
_ADD_TO_BALANCE = Prepared(
    PointsBalance.insert(member_id=Prepared.arg(0), balance=Prepared.arg(1), updated_at=Prepared.arg(2))
    .on_conflict(conflict_target=[PointsBalance.member_id],
                 update={PointsBalance.balance: PointsBalance.balance + EXCLUDED.balance,
                         PointsBalance.updated_at: EXCLUDED.updated_at})
    .returning(PointsBalance.balance))


@dataclass(frozen=True)
class Lot:
    entry: PointsEntry
    left: int


class PointsService:
    def __init__(self, app):
        self.app = app
        self.rules = app.config.members.points
        # paying with points: the sale's member spends points worth the amount (e.g. 100 points = ¥1)
        app.sales.tenders.register(Tender(TENDER, "积分 points", needs_member=True, ledger=self))
        # Before the levels' listener: a sale earns at the level the member held when buying.
        app.sales.completion_listeners.append(self._on_sale_completed)
        app.refunds.refund_listeners.append(self._on_refund)
        app.members.merge_listeners.append(self.merge_points)
        app.members.erase_listeners.append(self.forfeit_on_erasure)

    # -- reading --------------------------------------------------------------

    def balance(self, member_id: str) -> int:
        cached = _BALANCE_OF_MEMBER.first(member_id)
        return cached.balance if cached else 0

    def ledger_sum(self, member_id: str) -> int:
        return PointsEntry.select(peewee.fn.SUM(PointsEntry.points)).where(
            PointsEntry.member_id == member_id).scalar() or 0

    def entries(self, member_id: str) -> list[PointsEntry]:
        return list(PointsEntry.select().where(PointsEntry.member_id == member_id).order_by(peewee.SQL("rowid")))

    def lots(self, member_id: str) -> list[Lot]:
        """The lots with points left, oldest expiry first: points going out used them up in that order."""
        entries = self.entries(member_id)
        spent = -sum(e.points for e in entries if e.points < 0)
        lots = []
        for entry in sorted((e for e in entries if e.points > 0), key=lambda e: e.expires_on or ""):
            used = min(spent, entry.points)
            spent -= used
            if entry.points > used:
                lots.append(Lot(entry, entry.points - used))
        return lots

    @staticmethod
    def as_dict(entry: PointsEntry) -> dict:
        return {"ledger": "points", "id": entry.id, "member_id": entry.member_id, "points": entry.points,
                "kind": entry.kind, "ref": entry.ref, "reason": entry.reason, "store_id": entry.store_id,
                "expires_on": entry.expires_on, "detail": json.loads(entry.detail) if entry.detail else None,
                "at": entry.at}

    def expiry_for(self, earned_on: date) -> str:
        """The last day of the configured month after the one the points were earned in."""
        months = earned_on.year * 12 + earned_on.month - 1 + self.rules.expiry_months
        year, month = divmod(months, 12)
        return date(year, month + 1, calendar.monthrange(year, month + 1)[1]).isoformat()

    # -- the ledger -----------------------------------------------------------

    def append(self, member_id: str, points: int, kind: str, *, ref: str | None = None, reason: str | None = None,
               expires_on: str | None = None, detail: dict | None = None, entry_id: str | None = None,
               store_id: str | None = None, at: str | None = None) -> PointsEntry | None:
        """Write one entry and its balance; an entry id already in the ledger changes nothing (returns None).
        Call inside the fact's transaction."""
        if kind not in KINDS or points == 0:
            raise ValueError(f"bad ledger entry: {kind} {points}")
        entry = PointsEntry(id=entry_id or str(uuid.uuid4()), member_id=member_id, points=points, kind=kind, ref=ref,
                            reason=reason, store_id=store_id or self.app.config.store.id, expires_on=expires_on,
                            detail=json.dumps(detail, ensure_ascii=False) if detail else None, at=at or utc_now())
        if not _INSERT_ENTRY.rows([entry]):
            return None
        [entry.balance_after] = _ADD_TO_BALANCE.execute(member_id, points, entry.at).fetchone()
        emit("ledger.entry", self.as_dict(entry))
        return entry

    def merge_points(self, keep: Member, duplicate: Member, caller) -> dict | None:
        """Move a duplicate's points to the member kept, lot by lot, each keeping its expiry date."""
        lots = self.lots(duplicate.id)
        if not lots:
            return None
        ref = f"merge:{duplicate.id}"
        for lot in lots:
            reason = f"merged into member {keep.code}"
            self.append(duplicate.id, -lot.left, "adjust", ref=ref, reason=reason)
            self.append(keep.id, lot.left, "adjust", ref=ref, reason=f"merged from member {duplicate.code}",
                        expires_on=lot.entry.expires_on)
        return {"points_moved": sum(lot.left for lot in lots)}

    def forfeit_on_erasure(self, member: Member, caller) -> dict | None:
        """Points are a benefit of membership, not money: an erased member's points lapse."""
        left = self.balance(member.id)
        if left <= 0:
            return None
        self.append(member.id, -left, "adjust", ref=f"erase:{member.id}", reason="member data erased")
        return {"points_forfeited": left}

    # -- earning --------------------------------------------------------------

    def earn(self, sale, lines, member: Member, on: date) -> tuple[int, dict[str, int]]:
        """Points a sale earns, and their split over its lines."""
        level = self.app.levels.level_of(member.id)
        day = self.rules.double_multiplier if (on.isoweekday() in self.rules.double_weekdays
                                               or on.isoformat() in self.rules.double_dates) else PERCENT
        birthday = level.birthday_multiplier if member.birthday and member.birthday[5:] == on.isoformat()[5:] \
            else PERCENT
        points_share = allocate(sale.paid_with(TENDER), [line.total for line in lines])
        categories = self.app.catalog.category_names({line.product_id for line in lines})
        weights = []
        for line, share in zip(lines, points_share):
            category = categories.get(line.product_id)
            if category in self.rules.excluded_categories:
                weights.append(0)
                continue
            by_category = self.rules.category_multipliers.get(category, PERCENT)
            weights.append((line.total - share) * self.rules.per_yuan * level.points_multiplier * by_category
                           * day * birthday)
        total = sum(weights) // (100 * PERCENT ** 4)  # fen to yuan, and four percents
        return total, {line.id: part for line, part in zip(lines, allocate(total, weights)) if part}

    def _on_sale_completed(self, sale, lines, caller) -> dict | None:
        if sale.member_id is None:
            return None
        member = sale.member  # read once by the completing sale
        earned, per_line = self.earn(sale, lines, member, self.app.today())
        accrual = self.append(member.id, earned, "accrual", ref=sale.id, expires_on=self.expiry_for(self.app.today()),
                              detail={"receipt_no": sale.receipt_no, "lines": per_line}) if earned else None
        redeemed = sale.paid_with(TENDER) * self.rules.redeem_per_yuan // 100  # whole points: take() checked
        # the accrual's upsert returned the balance it left (the sale's last points movement)
        balance = accrual.balance_after if accrual else self.balance(member.id)
        return {"points": {"earned": earned, "redeemed": redeemed, "balance": balance}}

    # -- spending -------------------------------------------------------------

    def points_for(self, amount: int, index: int) -> int:
        points, rest = divmod(amount * self.rules.redeem_per_yuan, 100)
        if rest:
            raise DomainError(f"{amount} fen is not a whole number of points at {self.rules.redeem_per_yuan} "
                              "points per yuan", field=f"payments[{index}].amount")
        return points

    def take(self, sale, payment: dict, asked: dict, caller) -> PointsEntry:
        """The points tender of a sale: spend the member's points worth the amount."""
        amount, index = payment["amount"], payment["asked"]
        points = self.points_for(amount, index)
        held = self.balance(sale.member_id)
        if points > held:
            raise Conflict(f"payment {index + 1} needs {points} points but the member holds {held}",
                           field=f"payments[{index}].amount", code="points_short")
        return self.append(sale.member_id, -points, "redemption", ref=sale.id,
                           detail={"receipt_no": sale.receipt_no, "amount": amount})

    def give_back(self, refund, payment: dict, sale, caller) -> None:
        """Points paid on the sale come back in proportion to the points tender refunded so far."""
        refund_ids = Refund.select(Refund.id).where(Refund.sale_id == sale.id)
        paid = Payment.select(peewee.fn.SUM(Payment.amount)).where(
            (Payment.sale_id == sale.id) & (Payment.method == TENDER)).scalar() or 0
        refunded = RefundPayment.select(peewee.fn.SUM(RefundPayment.amount)).where(
            RefundPayment.refund_id.in_(refund_ids) & (RefundPayment.method == TENDER)).scalar() or 0
        spent = PointsEntry.select().where((PointsEntry.ref == sale.id) & (PointsEntry.kind == "redemption")).get()
        returned = PointsEntry.select(peewee.fn.SUM(PointsEntry.points)).where(
            PointsEntry.ref.in_(refund_ids) & (PointsEntry.kind == "refund") & (PointsEntry.points > 0)).scalar() or 0
        back = -spent.points * refunded // paid - returned
        if back:
            self.append(spent.member_id, back, "refund", ref=refund.id,
                        expires_on=self.expiry_for(self.app.today()),
                        reason=f"points paid on sale {sale.receipt_no} returned by refund {refund.refund_no}")

    def _on_refund(self, refund, sale, refund_lines, caller) -> dict | None:
        accrual = PointsEntry.get_or_none((PointsEntry.ref == sale.id) & (PointsEntry.kind == "accrual"))
        if accrual is None:
            return None
        per_line = json.loads(accrual.detail)["lines"]
        done = self.app.refunds.refunded(sale)  # includes this refund's lines
        back = 0
        for line, qty, _amount in refund_lines:
            earned = per_line.get(line.id, 0)
            now_qty = done[line.id][0]
            back += earned * now_qty // line.qty - earned * (now_qty - qty) // line.qty
        member_id = self.app.members.current(self.app.members.get(accrual.member_id)).id
        if back:
            held = self.balance(member_id)
            reason = f"refund {refund.refund_no} of sale {sale.receipt_no} takes back the points it earned"
            if back > held:
                reason += f"; {back - held} of them were already spent, so the balance goes below zero"
            self.append(member_id, -back, "refund", ref=refund.id, reason=reason)
        return {"points": {"taken_back": back, "balance": self.balance(member_id)}}

    # -- the manager's adjustments ---------------------------------------------

    def adjust(self, caller, member_id: str, points: int, reason: str) -> PointsEntry:
        if not reason.strip():
            raise DomainError("say why the points are adjusted", field="reason")
        if points == 0 or abs(points) > MAX_ADJUST:
            raise DomainError(f"points must be non-zero and at most {MAX_ADJUST} either way", field="points")
        with self.app.db.transaction():
            member = self.app.members.find(member_id=member_id)
            held = self.balance(member.id)
            if held + points < 0:
                raise Conflict(f"the member holds {held} points; taking {-points} would go below zero",
                               field="points", code="points_short")
            entry = self.append(member.id, points, "adjust", reason=reason,
                                expires_on=self.expiry_for(self.app.today()) if points > 0 else None)
            audit.record("points.adjusted", staff_id=caller.staff_id, device_id=caller.device_id, entity="member",
                         entity_id=member.id, data={"points": points, "reason": reason, "entry_id": entry.id})
        return entry

    # -- expiry ---------------------------------------------------------------

    def expire(self, caller=None, today: date | None = None) -> list[PointsEntry]:
        """Write an expiry entry for what is left of every lot whose last day is before today."""
        today = today or self.app.today()
        written = []
        with self.app.db.transaction():
            members = (PointsEntry.select(PointsEntry.member_id).distinct()
                       .where((PointsEntry.points > 0) & (PointsEntry.expires_on < today.isoformat())).tuples())
            for (member_id,) in list(members):
                for lot in self.lots(member_id):
                    if lot.entry.expires_on >= today.isoformat():
                        break  # lots come in expiry order
                    written.append(self.append(member_id, -lot.left, "expiry", ref=lot.entry.id,
                                               expires_on=lot.entry.expires_on,
                                               reason=f"lot of {lot.entry.expires_on} expired"))
            if written:
                audit.record("points.expired", staff_id=getattr(caller, "staff_id", None),
                             device_id=getattr(caller, "device_id", None), entity="points",
                             data={"entries": len(written), "points": -sum(e.points for e in written),
                                   "members": len({e.member_id for e in written}), "as_of": today.isoformat()})
        return written

    def expiring(self, days: int, today: date | None = None) -> list[dict]:
        """Members with points whose lots end within ``days`` days, soonest first."""
        today = today or self.app.today()
        until = (today + timedelta(days=days)).isoformat()
        members = (PointsEntry.select(PointsEntry.member_id).distinct()
                   .where((PointsEntry.points > 0) & (PointsEntry.expires_on >= today.isoformat())
                          & (PointsEntry.expires_on <= until)).tuples())
        found = []
        for (member_id,) in members:
            ending = [lot for lot in self.lots(member_id) if today.isoformat() <= lot.entry.expires_on <= until]
            member = Member.get_by_id(member_id)
            if ending and member.status in ("active", "inactive"):
                found.append({"member_id": member.id, "code": member.code, "phone_masked": mask_phone(member.phone),
                              "points": sum(lot.left for lot in ending), "expires_on": ending[0].entry.expires_on,
                              "balance": self.balance(member.id)})
        return sorted(found, key=lambda row: (row["expires_on"], row["code"]))
