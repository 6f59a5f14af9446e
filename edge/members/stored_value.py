"""Stored value (储值): top-ups with bonus tiers, spending as a tender, refunds back in proportion.

Each member has two accounts: principal (money the member paid in) and
bonus (given by the shop's tiers, 充300送50). They are kept apart because
refunds and settlement between stores depend on the difference. Balances
are the sums of an append-only ledger; ``stored_value_balance`` caches them
and is updated in the same transaction as each entry. Every entry carries a
uuid (applying it twice changes nothing) and the store that wrote it.

A spend runs inside the sale's BEGIN IMMEDIATE transaction, which holds the
store's write lock: the balance it checks cannot change before it commits,
so two lanes spending one member's balance at once never take it negative.

Entries made at other stores arrive from HQ through ``apply``. While HQ is
silent, value paid in elsewhere may be spent only up to the floor limit:
edge.sync.floor wraps this tender's ledger when the store has an [hq].
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import peewee

from edge import audit
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, Forbidden
from edge.members.models import Member
from edge.members.stored_value_models import (ACCOUNTS, TOPUP_METHODS, MemberPaymentPin, StoredValueBalance,
                                              StoredValueEntry, StoredValuePayout, StoredValueTopup)
from edge.money import allocate, yuan
from edge.outbox.events import emit
from edge.sales.models import Refund
from edge.sales.tenders import Tender
from edge.staff import secrets
from edge.staff.service import Caller

TENDER_NAME = "stored_value"
PAYMENT_PIN_DIGITS = 6

_INSERT_ENTRY = (
    "INSERT INTO stored_value_entry (id, member_id, account, amount, kind, ref, store_id, device_id, staff_id, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_ADD_TO_BALANCE = (
    "INSERT INTO stored_value_balance (member_id, principal, bonus, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (member_id) DO UPDATE SET principal = principal + excluded.principal, "
    "bonus = bonus + excluded.bonus, updated_at = excluded.updated_at RETURNING principal, bonus"
)
_BALANCE_OF_MEMBER = Prepared(StoredValueBalance.select().where(StoredValueBalance.member_id == Prepared.arg(0)))
_ENTRY_FIELDS = ("id", "member_id", "account", "amount", "kind", "ref", "store_id", "device_id", "staff_id", "at")


@dataclass(frozen=True)
class Balance:
    principal: int = 0
    bonus: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.bonus

    def as_dict(self) -> dict:
        return {"principal": self.principal, "bonus": self.bonus, "total": self.total}


def split_spend(amount: int, balance: Balance, order: str) -> dict[str, int]:
    """How much of ``amount`` comes from each account; the caller has checked the balance covers it."""
    if order == "proportional":
        principal, bonus = allocate(amount, [balance.principal, balance.bonus])
        return {"principal": principal, "bonus": bonus}
    first, second = ("principal", "bonus") if order == "principal_first" else ("bonus", "principal")
    from_first = min(amount, getattr(balance, first))
    return {first: from_first, second: amount - from_first}


def check_payment_pin_format(pin: str, field: str = "pin", name: str = "payment PIN") -> None:
    """Six digits, not the first guesses anyone tries; also the kiosk's member PIN (``name`` says which)."""
    if not (isinstance(pin, str) and len(pin) == PAYMENT_PIN_DIGITS and pin.isascii() and pin.isdigit()):
        raise DomainError(f"a {name} is {PAYMENT_PIN_DIGITS} digits", field=field, code="invalid_pin")
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    if len(steps) == 1 and steps <= {-1, 0, 1}:  # 000000, 123456, 654321: the first guesses anyone tries
        raise DomainError(f"this {name} is too easy to guess; choose another", field=field, code="weak_pin")


class StoredValueService:
    def __init__(self, app):
        self.app = app
        self.rules = app.config.members.stored_value
        app.sales.tenders.register(Tender(TENDER_NAME, "储值 stored value", needs_member=True, ledger=self))
        app.shifts.report_sections.append(self.shift_section)
        app.shifts.report_sections.append(self.payout_section)
        app.members.merge_listeners.append(self.merge_balance)
        app.members.erase_listeners.append(self.refuse_erasure_with_balance)

    # -- reading --------------------------------------------------------------

    @staticmethod
    def balance(member_id: str) -> Balance:
        row = _BALANCE_OF_MEMBER.first(member_id)
        return Balance(row.principal, row.bonus) if row else Balance()

    @staticmethod
    def balance_from_ledger(member_id: str) -> Balance:
        """The balance summed from the ledger itself (the cache must always agree)."""
        sums = dict(StoredValueEntry.select(StoredValueEntry.account, peewee.fn.SUM(StoredValueEntry.amount))
                    .where(StoredValueEntry.member_id == member_id).group_by(StoredValueEntry.account).tuples())
        return Balance(sums.get("principal", 0), sums.get("bonus", 0))

    def statement(self, member_id: str, limit: int = 50) -> dict:
        member = self.app.members.find(member_id=member_id)
        entries = (StoredValueEntry.select().where(StoredValueEntry.member_id == member.id)
                   .order_by(peewee.SQL("rowid").desc()).limit(limit))
        return {"member_id": member.id, "stored_value": self.balance(member.id).as_dict(),
                "payment_pin_set": MemberPaymentPin.get_or_none(MemberPaymentPin.member_id == member.id) is not None,
                "entries": [{name: getattr(e, name) for name in _ENTRY_FIELDS} for e in entries]}

    def bonus_for(self, amount: int) -> int:
        """The bonus of the highest tier the top-up reaches (0 below every tier)."""
        reached = [tier for tier in self.rules.bonus_tiers if amount >= tier.min_topup]
        return max(reached, key=lambda tier: tier.min_topup).bonus if reached else 0

    # -- the ledger -----------------------------------------------------------

    def apply(self, entry: dict) -> Balance | None:
        """Post one entry and update the cached balance; None when this entry id was applied before.

        Call inside a transaction. Entries made at other stores will come in through here (sync issue).
        """
        values = [entry.get(name) for name in _ENTRY_FIELDS]
        db = self.app.db.peewee
        if db.execute_sql(_INSERT_ENTRY, values).rowcount == 0:
            return None
        credit = {account: entry["amount"] if entry["account"] == account else 0 for account in ACCOUNTS}
        principal, bonus = db.execute_sql(
            _ADD_TO_BALANCE, (entry["member_id"], credit["principal"], credit["bonus"], entry["at"])).fetchone()
        return Balance(principal, bonus)

    def _post(self, member_id: str, kind: str, amounts: dict[str, int], ref: str, caller: Caller) -> list[dict]:
        """This store's entries for one movement (one per account that moves), each with its event."""
        posted = []
        for account in ACCOUNTS:
            if not amounts.get(account):
                continue
            entry = {"id": str(uuid.uuid4()), "member_id": member_id, "account": account,
                     "amount": amounts[account], "kind": kind, "ref": ref, "store_id": self.app.config.store.id,
                     "device_id": caller.device_id, "staff_id": caller.staff_id, "at": utc_now()}
            after = self.apply(entry)
            emit("ledger.entry", {"ledger": "stored_value", **entry, "balance": after.as_dict()})
            posted.append(entry)
        return posted

    # -- top-ups --------------------------------------------------------------

    def top_up(self, caller: Caller, member_id: str, amount: int, method: str,
               reference: str | None = None) -> StoredValueTopup:
        """Money paid in: principal and the tier's bonus as separate entries, within the balance cap."""
        if method not in TOPUP_METHODS:
            raise DomainError(f"method must be one of {', '.join(TOPUP_METHODS)}", field="method")
        if not isinstance(amount, int) or amount <= 0:
            raise DomainError("a top-up amount must be a positive number of fen", field="amount")
        if method != "cash" and not (reference and reference.strip()):
            raise DomainError(f"a {method} top-up needs the terminal's reference", field="reference")
        with self.app.db.transaction():
            shift = self.app.shifts.require_current(caller.device_id)
            member = self._active_member(member_id, "member_id")
            bonus = self.bonus_for(amount)
            before = self.balance(member.id)
            cap = self.rules.balance_cap
            if before.total + amount + bonus > cap:
                raise DomainError(
                    f"this top-up ({yuan(amount)} + bonus {yuan(bonus)}) would bring the balance from "
                    f"{yuan(before.total)} to {yuan(before.total + amount + bonus)}, above the cap of "
                    f"{yuan(cap)}", field="amount", code="balance_cap")
            topup = StoredValueTopup.create(
                id=str(uuid.uuid4()), member_id=member.id, shift_id=shift.id, device_id=caller.device_id,
                staff_id=caller.staff_id, method=method, amount=amount, bonus=bonus, reference=reference,
                at=utc_now())
            self._post(member.id, "topup", {"principal": amount, "bonus": bonus}, topup.id, caller)
            audit.record("stored_value.topup", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="member", entity_id=member.id,
                         data={"code": member.code, "topup_id": topup.id, "method": method, "amount": amount,
                               "bonus": bonus, "shift_id": shift.id})
        return topup

    def topup_dict(self, topup: StoredValueTopup) -> dict:
        return {"id": topup.id, "member_id": topup.member_id, "shift_id": topup.shift_id, "method": topup.method,
                "amount": topup.amount, "bonus": topup.bonus, "reference": topup.reference, "at": topup.at,
                "stored_value": self.balance(topup.member_id).as_dict()}

    def shift_section(self, shift) -> tuple[str, dict]:
        """The shift report's top-ups; cash top-ups are money in the drawer."""
        by_method = dict(StoredValueTopup.select(StoredValueTopup.method, peewee.fn.SUM(StoredValueTopup.amount))
                         .where(StoredValueTopup.shift_id == shift.id).group_by(StoredValueTopup.method).tuples())
        bonus = (StoredValueTopup.select(peewee.fn.COALESCE(peewee.fn.SUM(StoredValueTopup.bonus), 0))
                 .where(StoredValueTopup.shift_id == shift.id).scalar())
        count = StoredValueTopup.select().where(StoredValueTopup.shift_id == shift.id).count()
        return "stored_value_topups", {"count": count, "total": sum(by_method.values()), "bonus": bonus,
                                       "tenders": by_method, "cash": by_method.get("cash", 0)}

    # -- paying back -----------------------------------------------------------

    def pay_out(self, caller: Caller, member_id: str, reason: str, approval: dict | None) -> StoredValuePayout:
        """Close a member's stored value: the principal back in cash from the drawer, the bonus forfeited.

        With a manager's PIN; this is how a member who leaves (or asks to be erased) gets their money.
        """
        if not reason.strip():
            raise DomainError("say why the stored value is paid back", field="reason")
        with self.app.db.transaction():
            shift = self.app.shifts.require_current(caller.device_id)
            member = self.app.members.find(member_id=member_id)
            held = self.balance(member.id)
            if not held.total:
                raise Conflict(f"member {member.code} holds no stored value", field="member_id",
                               code="no_stored_value")
            approver = self.app.staff.approve(approval, "paying back stored value", caller)
            payout = StoredValuePayout.create(
                id=str(uuid.uuid4()), member_id=member.id, shift_id=shift.id, device_id=caller.device_id,
                staff_id=caller.staff_id, approved_by=approver.id, principal=held.principal,
                bonus_forfeited=held.bonus, reason=reason, at=utc_now())
            self._post(member.id, "payout", {"principal": -held.principal, "bonus": -held.bonus}, payout.id, caller)
            audit.record("stored_value.payout", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="member", entity_id=member.id,
                         data={"code": member.code, "payout_id": payout.id, "principal": held.principal,
                               "bonus_forfeited": held.bonus, "approved_by": approver.id, "reason": reason})
        return payout

    def payout_section(self, shift) -> tuple[str, dict]:
        """The shift report's pay-backs: cash that left the drawer."""
        paid = (StoredValuePayout.select(peewee.fn.COUNT(StoredValuePayout.id),
                                         peewee.fn.COALESCE(peewee.fn.SUM(StoredValuePayout.principal), 0))
                .where(StoredValuePayout.shift_id == shift.id).tuples().first())
        return "stored_value_payouts", {"count": paid[0], "total": paid[1], "cash": -paid[1]}

    # -- the payment PIN ------------------------------------------------------

    def set_payment_pin(self, caller: Caller, member_id: str, pin: str, current_pin: str | None = None,
                        approval: dict | None = None) -> Member:
        """Set the member's 6-digit payment PIN; changing one needs the current PIN or a manager's approval."""
        check_payment_pin_format(pin)
        pin_hash = secrets.hash_pin(pin)
        with self.app.db.transaction():
            member = self._active_member(member_id, "member_id")
            existing = MemberPaymentPin.get_or_none(MemberPaymentPin.member_id == member.id)
            change, approver = "set", None
            if existing is not None and approval is not None:
                approver = self.app.staff.approve(approval, "resetting a member's payment PIN", caller)
                change = "reset"
            elif existing is not None:
                if current_pin is None:
                    raise Forbidden("this member already has a payment PIN: give current_pin, or a manager's "
                                    "approval to reset it", field="current_pin", code="current_pin_required")
                self.verify_pin(member, current_pin, caller, field="current_pin")
                change = "changed"
            MemberPaymentPin.insert(member_id=member.id, pin_hash=pin_hash, set_at=utc_now()).on_conflict_replace() \
                .execute()
            audit.record("member.payment_pin_set", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="member", entity_id=member.id,
                         data={"code": member.code, "change": change,
                               "approved_by": approver.id if approver else None})
        return member

    def verify_pin(self, member: Member, pin: str | None, caller: Caller, field: str) -> None:
        """Check the member's payment PIN; wrong ones count towards a lockout per member, on any lane."""
        scope = f"payment_pin:member:{member.id}"
        staff = self.app.staff
        staff.check_not_locked(scope, field=field, subject="for this member's payment PIN")
        stored = MemberPaymentPin.get_or_none(MemberPaymentPin.member_id == member.id)
        if stored is None:
            raise Forbidden("this member has no payment PIN yet: set one first (POST /members/{id}/payment-pin)",
                            field=field, code="payment_pin_not_set")
        if pin is None:
            raise Forbidden(f"stored value above {yuan(self.rules.pin_required_above)} per sale needs the "
                            "member's payment PIN", field=field, code="payment_pin_required")
        if not secrets.pin_matches(stored.pin_hash, pin):
            staff.count_failure(scope, caller.device_id, action="member.payment_pin_failed")
            raise Forbidden("wrong payment PIN", field=field, code="payment_pin_wrong")
        self.app.db.write_regardless(lambda: staff.clear_failures(scope))

    # -- spending and refunds (the tender) --------------------------------------

    def take(self, sale, payment: dict, asked: dict, caller: Caller) -> None:
        """Debit the sale's member for one stored-value payment, inside the sale's transaction."""
        where = f"payments[{payment['asked']}]"
        member = self._active_member(sale.member_id, f"{where}.method", sale.member)
        amount = payment["amount"]
        # every stored-value payment of this sale counts towards the PIN limit (its rows are written already)
        if sale.paid_with(TENDER_NAME) > self.rules.pin_required_above:
            self.verify_pin(member, asked.get("pin"), caller, field=f"{where}.pin")
        balance = self.balance(member.id)
        if balance.total < amount:
            raise DomainError(f"stored value is short: the member has {yuan(balance.total)}, the payment asks "
                              f"{yuan(amount)}", field=f"{where}.amount", code="stored_value_short")
        taken = split_spend(amount, balance, self.rules.spend_order)
        self._post(member.id, "spend", {account: -value for account, value in taken.items()}, sale.id, caller)

    def give_back(self, refund, payment: dict, sale, caller: Caller) -> None:
        """Credit a stored-value refund in the proportions the sale took from principal and bonus."""
        spent = list(StoredValueEntry.select().where((StoredValueEntry.ref == sale.id)
                                                     & (StoredValueEntry.kind == "spend")))
        refund_ids = [r.id for r in Refund.select(Refund.id).where(Refund.sale_id == sale.id)]
        returned = (StoredValueEntry.select(StoredValueEntry.account, peewee.fn.SUM(StoredValueEntry.amount))
                    .where(StoredValueEntry.ref.in_(refund_ids) & (StoredValueEntry.kind == "refund"))
                    .group_by(StoredValueEntry.account).tuples())
        left = {account: -sum(e.amount for e in spent if e.account == account) for account in ACCOUNTS}
        for account, amount in returned:
            left[account] -= amount
        shares = allocate(payment["amount"], [left[account] for account in ACCOUNTS])
        # a merged member's value follows it to the member it was merged into
        member = self.app.members.current(self.app.members.get(spent[0].member_id))
        self._post(member.id, "refund", dict(zip(ACCOUNTS, shares)), refund.id, caller)

    # -- merging duplicates -----------------------------------------------------

    def merge_balance(self, keep: Member, duplicate: Member, caller: Caller) -> dict | None:
        """Move a duplicate's stored value to the member kept, account by account, within the cap."""
        moving = self.balance(duplicate.id)
        if not moving.total:
            return None
        kept = self.balance(keep.id)
        if kept.total + moving.total > self.rules.balance_cap:
            raise Conflict(f"together the two members hold {yuan(kept.total + moving.total)}, above the stored-value "
                           f"cap of {yuan(self.rules.balance_cap)}: spend or refund some first",
                           field="duplicate_id", code="balance_cap")
        ref = f"merge:{duplicate.id}"
        self._post(duplicate.id, "adjust", {"principal": -moving.principal, "bonus": -moving.bonus}, ref, caller)
        self._post(keep.id, "adjust", {"principal": moving.principal, "bonus": moving.bonus}, ref, caller)
        return {"stored_value_moved": moving.as_dict()}

    def refuse_erasure_with_balance(self, member: Member, caller: Caller) -> None:
        """Stored value is the member's money: it is paid back before the data that finds it is erased."""
        held = self.balance(member.id)
        if held.total:
            raise Conflict(f"the member still holds {yuan(held.total)} of stored value: pay it back before "
                           "erasing their data", field="member_id", code="stored_value_held")

    def _active_member(self, member_id: str, field: str, known: Member | None = None) -> Member:
        """``known``: the member row already read (a completing sale's), else it is read here."""
        member = self.app.members.current(known or self.app.members.get(member_id, field=field))
        if member.status != "active":
            raise Conflict(f"member {member.code} is {member.status}", field=field, code=f"member_{member.status}")
        return member
