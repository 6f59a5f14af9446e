"""What a member does at the self-service kiosk, and the short-lived session that lets them.

A kiosk is a paired device of kind "kiosk"; its token reaches only the
self-service endpoints. A member signs in there with the phone number plus
either their kiosk PIN or their own member code (scanned from the card), and
gets a session bound to that one member and that one kiosk, ending after
``[kiosk] member_session_minutes`` or when the screen resets. Every answer
under a session is about its member only: no member id is ever taken from
the request.

Wrong PINs count per member (any kiosk) and per kiosk (any phone number),
as staff PINs do, and lock out for ``[security] lockout_seconds``. A phone
number that is not a member's gets the same answer as a wrong PIN, so the
kiosk does not tell who is a member.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from edge import audit
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from edge.kiosk.models import KioskMemberPin, KioskSession
from edge.kiosk.slips import pickup_slip
from edge.members.card import member_card
from edge.members.identity import mainland_mobile, mask_phone
from edge.members.models import Member
from edge.members.service import Consent
from edge.members.stored_value import check_payment_pin_format
from edge.staff import secrets
from edge.staff.models import Device
from edge.staff.service import Caller

SELF_EDITABLE = ("name", "birthday", "gender")  # the phone number is how a member signs in: changed at the till
_SESSION = Prepared(KioskSession.select().where(KioskSession.token_hash == Prepared.arg(0)))


def _now() -> datetime:
    return datetime.now(timezone.utc)


@functools.cache
def _decoy_hash() -> str:
    """A hash to check a PIN against when there is none to check, so every refusal costs the same time."""
    return secrets.hash_pin(secrets.new_token())


def check_pin_format(pin: str, field: str = "pin") -> None:
    """Six digits, and not one a passer-by guesses first (111111, 123456, 654321), as a payment PIN."""
    check_payment_pin_format(pin, field, name="member PIN")


@dataclass(frozen=True)
class MemberSession:
    """A signed-in member at one kiosk: the caller of every self-service call."""

    member: Member
    device: Device
    token_hash: str
    expires_at: str

    @property
    def caller(self) -> Caller:
        return Caller(device=self.device)


class KioskService:
    def __init__(self, app):
        self.app = app
        self.rules = app.config.kiosk
        # Told of every price check made by a signed-in member: (member_id, product_id) -> None.
        self.price_check_listeners: list = []
        app.members.erase_listeners.append(self._forget_erased)
        app.members.merge_listeners.append(self._merge)

    # -- joining and signing in ---------------------------------------------------

    def register(self, device: Device, *, phone: str, pin: str, consent: Consent, name: str | None = None,
                 birthday: str | None = None, gender: str | None = None) -> tuple[str, MemberSession]:
        """A customer joins at the kiosk with the notice's consent and a PIN, and is signed in."""
        check_pin_format(pin)
        kiosk_scope = self._kiosk_scope(device)
        self.app.staff.check_not_locked(kiosk_scope, field="phone", subject="at this kiosk")
        pin_hash = secrets.hash_pin(pin)  # before the transaction: a slow hash does not hold the write lock
        caller = Caller(device=device)
        try:
            with self.app.db.transaction():
                member = self.app.members.register(caller, phone=phone, consent=consent, channel="kiosk", name=name,
                                                   birthday=birthday, gender=gender)
                KioskMemberPin.create(member_id=member.id, pin_hash=pin_hash, set_at=utc_now())
                return self._open_session(member, device, "kiosk.registered")
        except Conflict as error:
            # "already a member" tells whose number it is: it counts towards the kiosk's lockout like a wrong PIN
            if error.code == "duplicate_phone":
                self.app.staff.count_failure(kiosk_scope, device.id, action="kiosk.sign_in_failed")
            raise

    @staticmethod
    def _kiosk_scope(device: Device) -> str:
        return f"kiosk_signin:device:{device.id}"

    def sign_in(self, device: Device, *, phone: str, pin: str | None = None,
                code: str | None = None) -> tuple[str, MemberSession]:
        """Phone number plus the member's PIN or own member code; returns (token, session)."""
        if (pin is None) == (code is None):
            raise DomainError("give the phone number with either pin or code", field="pin")
        national = mainland_mobile(phone)
        if pin is not None:
            check_pin_format(pin)
        staff = self.app.staff
        kiosk_scope = self._kiosk_scope(device)
        staff.check_not_locked(kiosk_scope, field="phone", subject="at this kiosk")
        member = self._member_by_phone(national)
        member_scope = f"kiosk_pin:member:{member.id}" if member else None
        if member_scope:
            staff.check_not_locked(member_scope, field="pin", subject="for this member")
        if member is None and pin is not None:
            secrets.pin_matches(_decoy_hash(), pin)  # as long as a wrong PIN takes: the timing tells nobody's number
        if member is None or not self._credential_matches(member, pin, code):
            with self.app.db.transaction():
                staff.count_failure(kiosk_scope, device.id, action="kiosk.sign_in_failed")
                if member_scope:
                    staff.count_failure(member_scope, device.id, action="kiosk.sign_in_failed")
            raise Unauthorized("the phone number and PIN (or member code) do not match a member",
                               field="pin" if pin is not None else "code", code="sign_in_failed")
        if member.status != "active":
            raise Forbidden(f"this membership is {member.status}; please ask at the till", field="phone",
                            code=f"member_{member.status}")
        with self.app.db.transaction():
            staff.clear_failures(kiosk_scope)
            staff.clear_failures(member_scope)
            return self._open_session(member, device, "kiosk.signed_in",
                                      {"with": "pin" if pin is not None else "code"})

    def _member_by_phone(self, phone: str) -> Member | None:
        """The member holding this number (a merged record leads to the one kept); None for nobody's."""
        try:
            return self.app.members.find(phone=phone)
        except NotFound:
            return None

    @staticmethod
    def _credential_matches(member: Member, pin: str | None, code: str | None) -> bool:
        if code is not None:
            return code.strip().upper() == member.code
        stored = KioskMemberPin.get_or_none(KioskMemberPin.member_id == member.id)
        return secrets.pin_matches(stored.pin_hash if stored else _decoy_hash(), pin) and stored is not None

    def _open_session(self, member: Member, device: Device, action: str,
                      detail: dict | None = None) -> tuple[str, MemberSession]:
        token = secrets.new_token()
        digest = secrets.token_digest(token)
        expires = (_now() + timedelta(minutes=self.rules.member_session_minutes)).isoformat()
        KioskSession.create(token_hash=digest, member_id=member.id, device_id=device.id, created_at=utc_now(),
                            expires_at=expires)
        audit.record(action, device_id=device.id, entity="member", entity_id=member.id,
                     data={"code": member.code, **(detail or {})})
        return token, MemberSession(member=member, device=device, token_hash=digest, expires_at=expires)

    def session(self, device: Device, token: str | None) -> MemberSession:
        """The member signed in with this token at this kiosk, or Unauthorized."""
        if not token:
            raise Unauthorized("sign in first: phone number and PIN or member code", code="member_session_required")
        row = _SESSION.first(secrets.token_digest(token))
        if row is None or row.device_id != device.id or row.ended_at is not None:
            raise Unauthorized("this member session is not valid at this kiosk; sign in again",
                               code="member_session_invalid")
        if datetime.fromisoformat(row.expires_at) <= _now():
            raise Unauthorized("the member session has ended; sign in again", code="member_session_expired")
        member = self.app.members.get(row.member_id)
        if member.status != "active":
            raise Unauthorized("this membership is no longer active", code="member_session_invalid")
        return MemberSession(member=member, device=device, token_hash=row.token_hash, expires_at=row.expires_at)

    def sign_out(self, device: Device, token: str | None) -> bool:
        """End the session (the screen's idle reset); True when one was open."""
        if not token:
            return False
        with self.app.db.transaction():
            ended = KioskSession.update(ended_at=utc_now()).where(
                (KioskSession.token_hash == secrets.token_digest(token)) & (KioskSession.device_id == device.id)
                & KioskSession.ended_at.is_null()).execute()
            if ended:
                audit.record("kiosk.signed_out", device_id=device.id)
        return bool(ended)

    # -- the member's own data ------------------------------------------------------

    def overview(self, session: MemberSession) -> dict:
        """Balance, points, coupons and pending gifts of the signed-in member, masked where a name shows."""
        member = session.member
        card = member_card(self.app, member.id)
        pending = [r for r in self.app.gifts.of_member(member.id) if r["status"] == "pending"]
        return {**card, "pin_set": KioskMemberPin.get_or_none(KioskMemberPin.member_id == member.id) is not None,
                "details": {"name": member.name, "birthday": member.birthday, "gender": member.gender,
                            "phone_masked": mask_phone(member.phone)},
                "consent": self._consent(member.id), "gift_redemptions": pending}

    def _consent(self, member_id: str) -> dict | None:
        current = self.app.members.current_consent(member_id)
        return None if current is None else {"notice_version": current.notice_version,
                                             "purposes": json.loads(current.purposes), "agreed_at": current.agreed_at}


    def update_details(self, session: MemberSession, changes: dict) -> Member:
        """The member's own name, birthday and gender (the phone number is changed at the till)."""
        refused = sorted(set(changes) - set(SELF_EDITABLE))
        if refused:
            raise DomainError(f"{refused[0]} cannot be changed at the kiosk; please ask at the till",
                              field=refused[0])
        return self.app.members.update(session.caller, session.member.id, changes)

    def change_pin(self, session: MemberSession, pin: str, current_pin: str | None) -> None:
        """Set the kiosk PIN; a member who has one gives it (signed in with the card, one may set the first)."""
        check_pin_format(pin)
        member = session.member
        stored = KioskMemberPin.get_or_none(KioskMemberPin.member_id == member.id)
        if stored is not None:
            scope = f"kiosk_pin:member:{member.id}"
            self.app.staff.check_not_locked(scope, field="current_pin", subject="for this member")
            if current_pin is None or not secrets.pin_matches(stored.pin_hash, current_pin):
                with self.app.db.transaction():
                    self.app.staff.count_failure(scope, session.device.id, action="kiosk.sign_in_failed")
                raise Forbidden("the current PIN is wrong", field="current_pin", code="current_pin_wrong")
        pin_hash = secrets.hash_pin(pin)
        with self.app.db.transaction():
            KioskMemberPin.insert(member_id=member.id, pin_hash=pin_hash, set_at=utc_now()).on_conflict_replace() \
                .execute()
            audit.record("kiosk.pin_set", device_id=session.device.id, entity="member", entity_id=member.id,
                         data={"code": member.code, "first": stored is None})

    def withdraw_consent(self, session: MemberSession, purposes: list[str]) -> dict:
        """Withdraw consent to purposes. Withdrawing 'membership' ends the membership: the member's personal
        data is erased (the erase listeners settle or refuse: stored value left is paid out at the till first)
        and the session ends; an optional purpose ('marketing') is recorded as a new consent without it."""
        known = self.app.config.members.purposes
        unknown = sorted(set(purposes) - set(known))
        if unknown or not purposes:
            raise DomainError(f"unknown purpose(s): {', '.join(unknown)}" if unknown else "name a purpose",
                              field="purposes")
        member = session.member
        if "membership" in purposes:
            with self.app.db.transaction():
                erased = self.app.members.erase(session.caller, member.id, "the member withdrew consent at the kiosk")
            return {"withdrawn": sorted(purposes), "member_status": erased.status, "signed_out": True}
        remaining = self.app.members.withdraw_purposes(session.caller, member.id, purposes)
        return {"withdrawn": sorted(purposes), "member_status": member.status, "purposes": remaining,
                "signed_out": False}

    # -- price checks and gifts ---------------------------------------------------------

    def price_check(self, barcode: str, session: MemberSession | None) -> dict:
        """The product under the scanner, as the shelf should show it; a signed-in member's check is told to
        the listeners (interest without purchase)."""
        scan = self.app.catalog.scan(barcode)
        product = self.app.catalog.as_dict(scan.product)
        if session is not None:
            for listener in self.price_check_listeners:
                listener(session.member.id, scan.product.id)
        return {"product": {key: product.get(key) for key in ("id", "sku", "name", "price", "member_price",
                                                              "unit", "sold_by", "category")},
                "scanned": barcode}

    def redeem_gift(self, session: MemberSession, gift_id: str, qty: int) -> dict:
        """Points for a gift, its pickup code, and a pickup slip on the kiosk's printer when it has one."""
        gifts = self.app.gifts
        with self.app.db.transaction():
            redemption = gifts.redeem(session.caller, session.member.id, gift_id, qty)
            shown = gifts.redemption_dict(redemption)
            job = self.app.hardware.print_page(pickup_slip(self.app, shown), session.device.lane, "gift_slip",
                                               ref=redemption.id)
        return {**shown, "balance": self.app.points.balance(session.member.id),
                "slip": {"job_id": job.id, "printer": job.printer} if job else None}

    def own_redemption(self, session: MemberSession, code: str):
        """A pickup code of the signed-in member's; another member's code is as unknown as a made-up one."""
        redemption = self.app.gifts.by_code(code)
        if redemption.member_id != session.member.id:
            raise NotFound(f"no gift redemption {code}", field="code")
        return redemption

    # -- what members' rules tell the kiosk -------------------------------------------------

    @staticmethod
    def _forget_erased(member: Member, caller) -> dict:
        """An erased member's kiosk PIN goes and every open session of theirs ends."""
        KioskMemberPin.delete().where(KioskMemberPin.member_id == member.id).execute()
        ended = KioskSession.update(ended_at=utc_now()).where(
            (KioskSession.member_id == member.id) & KioskSession.ended_at.is_null()).execute()
        return {"kiosk_sessions_ended": ended} if ended else {}

    @staticmethod
    def _merge(keep: Member, duplicate: Member, caller) -> dict:
        """The duplicate's sessions end; its PIN moves to the member kept unless that one has its own."""
        KioskSession.update(ended_at=utc_now()).where(
            (KioskSession.member_id == duplicate.id) & KioskSession.ended_at.is_null()).execute()
        if KioskMemberPin.get_or_none(KioskMemberPin.member_id == keep.id) is None:
            KioskMemberPin.update(member_id=keep.id).where(KioskMemberPin.member_id == duplicate.id).execute()
        else:
            KioskMemberPin.delete().where(KioskMemberPin.member_id == duplicate.id).execute()
        return {}
