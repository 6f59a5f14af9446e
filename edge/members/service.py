"""Member rules: joining with consent, lookup, edits, merging duplicates, export and erasure.

Personal information law (PIPL) shapes what is here: the customer is told
the purpose before joining and agrees to it on the record; only a mobile
number is required (name, birthday and gender are the member's choice);
a child under the configured age joins only with a guardian's consent and
is marked as sensitive; the member's data can be exported, and erased.
Answers show personal data masked; only the export gives it in full.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

from edge import audit
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.members.identity import (check_member_code, looks_like_member_code, mainland_mobile, mask_name,
                                   mask_phone, new_member_code)
from edge.members.models import GENDERS, Member, MemberConsent
from edge.outbox.events import emit
from edge.sales.models import Sale
from edge.staff.service import Caller

PERSONAL_FIELDS = ("phone", "name", "birthday", "gender")
# the lookups at the till, written once (see Prepared)
_MEMBER_BY_ID = Prepared(Member.select().where(Member.id == Prepared.arg(0)))
_MEMBER_BY_PHONE = Prepared(Member.select().where(Member.phone == Prepared.arg(0)))
_MEMBER_BY_CODE = Prepared(Member.select().where(Member.code == Prepared.arg(0)))


@dataclass(frozen=True)
class Consent:
    notice_version: str
    purposes: tuple[str, ...]
    guardian_name: str | None = None


class MembersService:
    def __init__(self, app):
        self.app = app
        self.rules = app.config.members
        # Other member features (stored value, points) move what the duplicate holds inside the merge's
        # transaction: (keep, duplicate, caller) -> dict added to the member.updated event and audit, or None.
        self.merge_listeners: list = []
        # ... and settle what an erased member holds, or refuse: (member, caller) -> dict or None.
        self.erase_listeners: list = []
        # ... and act on a new member inside the registration's transaction (marketing's welcome flows):
        # (member, caller) -> None.
        self.registration_listeners: list = []

    # -- what the customer is told --------------------------------------------

    def privacy_notice(self) -> dict:
        return {"version": self.rules.privacy_notice_version, "text": self.rules.privacy_notice,
                "purposes": dict(self.rules.purposes), "required_purposes": ["membership"],
                "minor_age": self.rules.minor_age}

    # -- reading --------------------------------------------------------------

    def get(self, member_id: str, field: str = "member_id") -> Member:
        member = _MEMBER_BY_ID.first(member_id)
        if member is None:
            raise NotFound(f"no member {member_id}", field=field)
        return member

    def current(self, member: Member) -> Member:
        """A merged member answers as the one it was merged into."""
        seen = {member.id}
        while member.status == "merged":
            member = self.get(member.merged_into)
            if member.id in seen:  # a cycle would be a bug in merge(); refuse rather than loop
                raise Conflict("member merge chain loops", field="member_id")
            seen.add(member.id)
        return member

    def find(self, *, phone: str | None = None, code: str | None = None, member_id: str | None = None) -> Member:
        """One member by phone, member code or id; merged records lead to the surviving one."""
        if sum(v is not None for v in (phone, code, member_id)) != 1:
            raise DomainError("give exactly one of phone, code or member_id", field="phone")
        if member_id is not None:
            member = self.get(member_id)
        elif phone is not None:
            member = _MEMBER_BY_PHONE.first(mainland_mobile(phone))
            if member is None:
                raise NotFound("no member with this phone number", field="phone")
        else:
            member = _MEMBER_BY_CODE.first(check_member_code(code))
            if member is None:
                raise NotFound("no member with this code", field="code")
        member = self.current(member)
        if member.status == "erased":
            raise NotFound("this member's data was erased at their request", field="member_id")
        return member

    @staticmethod
    def is_member_code(code: str) -> bool:
        return looks_like_member_code(code)

    def as_dict(self, member: Member) -> dict:
        """The member as the till shows it: personal data masked (the export gives it in full)."""
        answer = {
            "id": member.id, "code": member.code, "status": member.status,
            "phone_masked": mask_phone(member.phone), "name_masked": mask_name(member.name),
            "gender": member.gender, "minor": member.minor, "home_store": member.home_store,
            "registered_at": member.registered_at, "birthday_month_day": member.birthday[5:] if member.birthday
            else None,
        }
        if member.status == "merged":
            answer["merged_into"] = member.merged_into
        answer["stored_value"] = self.app.stored_value.balance(member.id).as_dict()
        answer["level"] = self.app.levels.level_of(member.id).name
        answer["points"] = self.app.points.balance(member.id)
        return answer

    # -- joining --------------------------------------------------------------

    def register(self, caller: Caller, *, phone: str, consent: Consent, channel: str, name: str | None = None,
                 birthday: str | None = None, gender: str | None = None) -> Member:
        national = mainland_mobile(phone)
        personal = self._check_personal(name=name, birthday=birthday, gender=gender)
        minor = self._is_minor(personal["birthday"])
        self._check_consent(consent, minor)
        with self.app.db.transaction():
            if Member.select().where(Member.phone == national).exists():
                raise Conflict("a member with this phone number already exists", field="phone",
                               code="duplicate_phone")
            now = utc_now()
            member = Member(id=str(uuid.uuid4()), code=self._unused_code(), phone=national, minor=minor,
                            status="active", home_store=self.app.config.store.id, registered_at=now,
                            updated_at=now, **personal)
            member.save(force_insert=True)
            MemberConsent.create(
                id=str(uuid.uuid4()), member_id=member.id, notice_version=consent.notice_version,
                purposes=json.dumps(sorted(consent.purposes)), guardian_name=consent.guardian_name,
                channel=channel, store_id=self.app.config.store.id, device_id=caller.device_id,
                staff_id=caller.staff_id, agreed_at=now,
            )
            # HQ keeps the chain's member register, so the event carries the full record over TLS.
            emit("member.registered", {**self._record(member), "consent": {
                "notice_version": consent.notice_version, "purposes": sorted(consent.purposes),
                "guardian": consent.guardian_name is not None, "channel": channel, "agreed_at": now}})
            audit.record("member.registered", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="member", entity_id=member.id,
                         data={"code": member.code, "phone": mask_phone(national), "minor": minor,
                               "channel": channel})
            for listener in self.registration_listeners:
                listener(member, caller)
        return member

    def _unused_code(self) -> str:
        while True:  # 10^11 codes: a repeat is rare, and the unique index is the last word
            code = new_member_code()
            if not Member.select().where(Member.code == code).exists():
                return code

    def _check_personal(self, *, name, birthday, gender) -> dict:
        checked = {}
        if name is not None:
            name = name.strip()
            if not name:
                raise DomainError("name must not be blank (leave it out instead)", field="name")
            checked["name"] = name
        if gender is not None and gender not in GENDERS:
            raise DomainError(f"gender must be one of {', '.join(GENDERS)}", field="gender")
        checked["gender"] = gender
        if birthday is not None:
            try:
                day = date.fromisoformat(birthday)
            except ValueError:
                raise DomainError("birthday must be a date, YYYY-MM-DD", field="birthday") from None
            if not date(1900, 1, 1) <= day <= self.app.today():
                raise DomainError("birthday must be between 1900-01-01 and today", field="birthday")
            checked["birthday"] = day.isoformat()
        else:
            checked["birthday"] = None
        checked.setdefault("name", None)
        return checked

    def _is_minor(self, birthday: str | None) -> bool:
        if birthday is None:
            return False
        born, today = date.fromisoformat(birthday), self.app.today()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return age < self.rules.minor_age

    def _check_consent(self, consent: Consent, minor: bool) -> None:
        if consent.notice_version != self.rules.privacy_notice_version:
            raise DomainError(f"consent was given to notice {consent.notice_version!r}; the current notice is "
                              f"{self.rules.privacy_notice_version!r}: show it again", field="consent.notice_version",
                              code="stale_notice")
        unknown = sorted(set(consent.purposes) - set(self.rules.purposes))
        if unknown:
            raise DomainError(f"unknown purpose(s): {', '.join(unknown)}", field="consent.purposes")
        if "membership" not in consent.purposes:
            raise DomainError("joining needs consent to the 'membership' purpose", field="consent.purposes")
        if minor and not (consent.guardian_name and consent.guardian_name.strip()):
            raise DomainError(f"a member under {self.rules.minor_age} joins only with a guardian's consent: "
                              "give guardian_name", field="consent.guardian_name", code="guardian_required")

    @staticmethod
    def _record(member: Member) -> dict:
        return {"id": member.id, "code": member.code, "phone": member.phone, "name": member.name,
                "birthday": member.birthday, "gender": member.gender, "minor": member.minor,
                "status": member.status, "merged_into": member.merged_into, "home_store": member.home_store,
                "registered_at": member.registered_at}

    # -- the manager's changes ------------------------------------------------

    def update(self, caller: Caller, member_id: str, changes: dict) -> Member:
        """Edit personal fields; only the names of changed fields go to the audit journal."""
        unknown = sorted(set(changes) - set(PERSONAL_FIELDS))
        if unknown:
            raise DomainError(f"cannot change {', '.join(unknown)}", field=unknown[0])
        with self.app.db.transaction():
            member = self._changeable(member_id)
            before = {key: getattr(member, key) for key in (*PERSONAL_FIELDS, "minor")}
            if "phone" in changes:
                national = mainland_mobile(changes["phone"])
                if Member.select().where((Member.phone == national) & (Member.id != member.id)).exists():
                    raise Conflict("another member has this phone number", field="phone", code="duplicate_phone")
                member.phone = national
            rest = {k: changes.get(k, getattr(member, k)) for k in ("name", "birthday", "gender")}
            personal = self._check_personal(**rest)
            for key, value in personal.items():
                setattr(member, key, value)
            member.minor = self._is_minor(member.birthday)
            changed = sorted(key for key, value in before.items() if getattr(member, key) != value)
            if not changed:
                return member
            member.updated_at = utc_now()
            member.save()
            self._updated(caller, member, "member.updated", {"fields": changed})
        return member

    def set_active(self, caller: Caller, member_id: str, active: bool) -> Member:
        with self.app.db.transaction():
            member = self.get(member_id)
            wanted = "active" if active else "inactive"
            if member.status not in ("active", "inactive"):
                raise Conflict(f"member is {member.status}", field="member_id", code=f"member_{member.status}")
            if member.status != wanted:
                member.status = wanted
                member.updated_at = utc_now()
                member.save()
                self._updated(caller, member, "member.activated" if active else "member.deactivated", {})
        return member

    def merge(self, caller: Caller, keep_id: str, duplicate_id: str) -> Member:
        """Fold a duplicate into the member kept: its sales follow, its lookups lead to the kept one."""
        if keep_id == duplicate_id:
            raise DomainError("a member cannot be merged into itself", field="duplicate_id")
        with self.app.db.transaction():
            keep = self._changeable(keep_id)
            duplicate = self._changeable(duplicate_id, field="duplicate_id")
            moved = Sale.update(member_id=keep.id).where(Sale.member_id == duplicate.id).execute()
            MemberConsent.update(member_id=keep.id).where(MemberConsent.member_id == duplicate.id).execute()
            duplicate.status, duplicate.merged_into, duplicate.updated_at = "merged", keep.id, utc_now()
            duplicate.save()
            detail = {"into": keep.id, "sales_moved": moved}
            for listener in self.merge_listeners:
                detail.update(listener(keep, duplicate, caller) or {})
            self._updated(caller, duplicate, "member.merged", detail)
        return keep

    def _changeable(self, member_id: str, field: str = "member_id") -> Member:
        member = self.get(member_id, field=field)
        if member.status in ("merged", "erased"):
            raise Conflict(f"member {member_id} is {member.status}", field=field, code=f"member_{member.status}")
        return member

    def _updated(self, caller: Caller, member: Member, action: str, detail: dict) -> None:
        emit("member.updated", {**self._record(member), "change": action.split(".", 1)[1], **detail})
        audit.record(action, staff_id=caller.staff_id, device_id=caller.device_id, entity="member",
                     entity_id=member.id, data={"code": member.code, **detail})

    # -- the member's rights --------------------------------------------------

    def export(self, caller: Caller, member_id: str) -> dict:
        """Everything held about a member, for the member (PIPL right of access and portability)."""
        with self.app.db.transaction():
            member = self.find(member_id=member_id)
            consents = MemberConsent.select().where(MemberConsent.member_id == member.id).order_by(
                MemberConsent.agreed_at)
            sales = Sale.select().where((Sale.member_id == member.id) & (Sale.status == "completed")).order_by(
                Sale.completed_at)
            audit.record("member.exported", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="member", entity_id=member.id, data={"code": member.code})
            return {
                "member": self._record(member),
                "consents": [{"notice_version": c.notice_version, "purposes": json.loads(c.purposes),
                              "guardian_name": c.guardian_name, "channel": c.channel, "store_id": c.store_id,
                              "agreed_at": c.agreed_at, "withdrawn_at": c.withdrawn_at} for c in consents],
                "purchases": [{"receipt_no": s.receipt_no, "completed_at": s.completed_at, "total": s.total}
                              for s in sales],
                "exported_at": utc_now(),
            }

    @staticmethod
    def current_consent(member_id: str) -> MemberConsent | None:
        """The consent on record now (the latest not withdrawn), or None."""
        return MemberConsent.select().where(
            (MemberConsent.member_id == member_id) & MemberConsent.withdrawn_at.is_null()).order_by(
            MemberConsent.agreed_at.desc()).first()

    def withdraw_purposes(self, caller: Caller, member_id: str, purposes: list[str]) -> list[str]:
        """Withdraw consent to optional purposes (marketing): the consent on record ends and a new one without
        them is recorded; returns the purposes still agreed to. Withdrawing 'membership' is erase()."""
        if "membership" in purposes:
            raise DomainError("withdrawing consent to membership erases the member: use erase", field="purposes")
        with self.app.db.transaction():
            member = self._changeable(member_id)
            current = self.current_consent(member.id)
            held = set(json.loads(current.purposes)) if current else set()
            if not held & set(purposes):
                raise Conflict("consent to these purposes was not given", field="purposes", code="not_consented")
            now, remaining = utc_now(), sorted(held - set(purposes))
            MemberConsent.update(withdrawn_at=now).where(
                (MemberConsent.member_id == member.id) & MemberConsent.withdrawn_at.is_null()).execute()
            MemberConsent.create(id=str(uuid.uuid4()), member_id=member.id, notice_version=current.notice_version,
                                 purposes=json.dumps(remaining), guardian_name=current.guardian_name,
                                 channel="kiosk" if caller.device and caller.device.kind == "kiosk" else "pos",
                                 store_id=self.app.config.store.id, device_id=caller.device_id,
                                 staff_id=caller.staff_id, agreed_at=now)
            self._updated(caller, member, "member.consent_withdrawn",
                          {"withdrawn": sorted(purposes), "purposes": remaining})
        return remaining

    def erase(self, caller: Caller, member_id: str, reason: str) -> Member:
        """Delete the member's personal information; the code and history stay, anonymous."""
        if not reason.strip():
            raise DomainError("say why the data is erased (for example: the member asked)", field="reason")
        with self.app.db.transaction():
            member = self._changeable(member_id)
            detail = {}
            for listener in self.erase_listeners:
                detail.update(listener(member, caller) or {})
            for key in PERSONAL_FIELDS:
                setattr(member, key, None)
            member.status, member.updated_at = "erased", utc_now()
            member.save()
            MemberConsent.update(withdrawn_at=member.updated_at, guardian_name=None).where(
                (MemberConsent.member_id == member.id) & MemberConsent.withdrawn_at.is_null()).execute()
            emit("member.erased", {"id": member.id, "code": member.code, "reason": reason, **detail})
            audit.record("member.erased", staff_id=caller.staff_id, device_id=caller.device_id, entity="member",
                         entity_id=member.id, data={"code": member.code, "reason": reason, **detail})
        return member
