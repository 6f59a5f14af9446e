"""Staff and devices: who may act, on which paired device, with which approval."""

from __future__ import annotations

import re
import secrets as pysecrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from edge import audit
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, Forbidden, NotFound, TooManyAttempts, Unauthorized
from edge.staff import secrets
from edge.staff.models import DEVICE_KINDS, ROLES, Device, PairingRequest, PinThrottle, Staff, StaffSession

PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")  # \d would also take ١٢٣٤, which no keypad types

# Every API call authenticates: these two reads are prepared once.
_DEVICE_BY_TOKEN = Prepared(Device.select().where(Device.token_hash == Prepared.arg(0)))
_STAFF_BY_SESSION = Prepared(
    Staff.select(Staff, StaffSession.device_id, StaffSession.expires_at, StaffSession.revoked)
    .join(StaffSession, on=(StaffSession.staff_id == Staff.id))
    .where(StaffSession.token_hash == Prepared.arg(0))
)


@dataclass
class Caller:
    """Who is calling: a paired device, and the staff member logged in on it (if any)."""

    device: Device | None = None
    staff: Staff | None = None

    @property
    def device_id(self) -> int | None:
        return self.device.id if self.device else None

    @property
    def staff_id(self) -> int | None:
        return self.staff.id if self.staff else None

    def require(self, role: str, doing: str) -> None:
        """The rule itself, not only the HTTP layer, keeps what a role may do."""
        if self.staff is None or not self.staff.has_role(role):
            who = f"{self.staff.name} is {self.staff.role}" if self.staff else "nobody is logged in"
            raise Forbidden(f"{doing} needs the {role} role; {who}", code="role_required")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class StaffService:
    def __init__(self, app):
        self.app = app
        self.security = app.config.security

    # -- staff ----------------------------------------------------------------

    def add_staff(self, name: str, role: str, pin: str, *, by: Caller | None = None) -> Staff:
        name = name.strip()
        if not name:
            raise DomainError("name must not be empty", field="name")
        if role not in ROLES:
            raise DomainError(f"role must be one of {', '.join(ROLES)}", field="role")
        self._check_pin_format(pin)
        lookup = secrets.pin_lookup(self.app.secret, pin)
        with self.app.db.transaction():
            if Staff.select().where(Staff.pin_lookup == lookup).exists():
                raise Conflict("this PIN is already used by another staff member; choose another", field="pin")
            staff = Staff.create(
                name=name, role=role, pin_hash=secrets.hash_pin(pin), pin_lookup=lookup, created_at=utc_now()
            )
            audit.record(
                "staff.added", staff_id=by.staff_id if by else None, device_id=by.device_id if by else None,
                entity="staff", entity_id=staff.id, data={"name": name, "role": role},
            )
        return staff

    @staticmethod
    def _check_pin_format(pin: str, field: str = "pin") -> None:
        if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
            raise DomainError("PIN must be 4 to 8 digits", field=field)

    def _staff_for_pin(self, pin: str) -> Staff | None:
        if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
            return None
        staff = Staff.get_or_none(Staff.pin_lookup == secrets.pin_lookup(self.app.secret, pin))
        if staff is None or not staff.active or not secrets.pin_matches(staff.pin_hash, pin):
            return None
        return staff

    # -- PIN throttling (also used for members' payment PINs) ------------------

    def check_not_locked(self, scope: str, field: str = "pin", subject: str = "on this device") -> None:
        row = PinThrottle.get_or_none(PinThrottle.scope == scope)
        if row is None or row.locked_until is None:
            return
        remaining = (_parse(row.locked_until) - _now()).total_seconds()
        # A lock further away than the lockout itself means the clock went back: ignore it.
        if 0 < remaining <= self.security.lockout_seconds:
            raise TooManyAttempts(
                f"too many wrong PINs {subject}; try again in {int(remaining) + 1} s", field=field
            )

    def count_failure(self, scope: str, device_id: int | None, action: str = "staff.pin_failed") -> None:
        """Count a wrong PIN against ``scope``, committed even though the request carrying it is refused."""
        def write():
            audit.record(action, device_id=device_id, data={"scope": scope})
            row = PinThrottle.get_or_none(PinThrottle.scope == scope)
            failures = (row.failures if row else 0) + 1
            locked_until = None
            if failures >= self.security.pin_max_attempts:
                locked_until = (_now() + timedelta(seconds=self.security.lockout_seconds)).isoformat()
                failures = 0
            PinThrottle.insert(scope=scope, failures=failures, locked_until=locked_until).on_conflict_replace().execute()

        self.app.db.write_regardless(write)

    @staticmethod
    def clear_failures(scope: str) -> None:
        PinThrottle.delete().where(PinThrottle.scope == scope).execute()

    # -- login and sessions ---------------------------------------------------

    def login(self, device: Device, pin: str) -> tuple[str, Staff, str]:
        """PIN login on a paired device; returns (session token, staff, expiry)."""
        scope = f"login:device:{device.id}"
        self.check_not_locked(scope)
        staff = self._staff_for_pin(pin)
        with self.app.db.transaction():
            if staff is None:
                self.count_failure(scope, device.id)
                raise Unauthorized("wrong PIN", field="pin")
            self.clear_failures(scope)
            token = secrets.new_token()
            expires = (_now() + timedelta(hours=self.security.session_hours)).isoformat()
            StaffSession.create(
                token_hash=secrets.token_digest(token), staff_id=staff.id, device_id=device.id,
                created_at=utc_now(), expires_at=expires,
            )
            audit.record("staff.login", staff_id=staff.id, device_id=device.id, entity="staff", entity_id=staff.id)
        return token, staff, expires

    def logout(self, token: str, caller: Caller) -> None:
        with self.app.db.transaction():
            StaffSession.update(revoked=True).where(StaffSession.token_hash == secrets.token_digest(token)).execute()
            audit.record("staff.logout", staff_id=caller.staff_id, device_id=caller.device_id)

    def staff_for_session(self, token: str, device: Device) -> Staff:
        staff = _STAFF_BY_SESSION.first(secrets.token_digest(token))
        if staff is None or staff.revoked or staff.device_id != device.id:
            raise Unauthorized("session token is not valid on this device; log in again")
        if _parse(staff.expires_at) < _now():
            raise Unauthorized("session expired; log in again")
        if not staff.active:
            raise Unauthorized("staff member is no longer active")
        return staff

    # -- manager approval ---------------------------------------------------

    def approve(self, approval: dict | None, action: str, caller: Caller, field: str = "approval") -> Staff:
        """Check a manager's PIN given for one action; returns the approving manager."""
        if not approval or "pin" not in approval:
            raise Forbidden(f"{action} needs a manager's approval: send approval.pin", field=f"{field}.pin",
                            code="approval_required")
        scope = f"approval:device:{caller.device_id}"
        self.check_not_locked(scope)
        approver = self._staff_for_pin(approval["pin"])
        if approver is None or not approver.has_role("manager"):
            self.count_failure(scope, caller.device_id)
            raise Forbidden(f"approval PIN for {action} is not a manager's PIN", field=f"{field}.pin",
                            code="approval_refused")
        self.app.db.write_regardless(lambda: self.clear_failures(scope))
        return approver

    # -- devices --------------------------------------------------------------

    def add_device(self, name: str, kind: str, lane: int | None = None, *, by: Caller | None = None) -> tuple[Device, str]:
        """Technician's shortcut: register a device and return its token at once."""
        self._check_device(name, kind, lane)
        token = secrets.new_token()
        with self.app.db.transaction():
            device = Device.create(
                name=name.strip(), kind=kind, lane=lane, token_hash=secrets.token_digest(token),
                paired_at=utc_now(), paired_by=by.staff_id if by else None,
            )
            audit.record("device.added", staff_id=by.staff_id if by else None, entity="device",
                         entity_id=device.id, data=device.public())
        return device, token

    @staticmethod
    def _check_device(name: str, kind: str, lane: int | None) -> None:
        if not name or not name.strip():
            raise DomainError("name must not be empty", field="name")
        if kind not in DEVICE_KINDS:
            raise DomainError(f"kind must be one of {', '.join(DEVICE_KINDS)}", field="kind")
        if lane is not None and not 1 <= lane <= 99:
            raise DomainError("lane must be from 1 to 99", field="lane")

    def device_for_token(self, token: str) -> Device:
        device = _DEVICE_BY_TOKEN.first(secrets.token_digest(token))
        if device is None or not device.active:
            raise Unauthorized("device token is not valid; pair this device again")
        return device

    def revoke_device(self, device_id: int, caller: Caller) -> Device:
        caller.require("manager", "revoking a device")
        with self.app.db.transaction():
            device = Device.get_or_none(Device.id == device_id)
            if device is None:
                raise NotFound(f"no device {device_id}", field="device_id")
            device.active = False
            device.token_hash = None
            device.save()
            StaffSession.update(revoked=True).where(StaffSession.device_id == device.id).execute()
            audit.record("device.revoked", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="device", entity_id=device.id)
        return device

    # -- pairing --------------------------------------------------------------

    def request_pairing(self, name: str, kind: str) -> tuple[PairingRequest, str]:
        """A new device asks to pair: it shows the code, keeps the secret, and polls."""
        self._check_device(name, kind, None)
        secret = secrets.new_token()
        with self.app.db.transaction():
            live_codes = {
                r.code for r in PairingRequest.select(PairingRequest.code).where(PairingRequest.state == "pending")
            }
            code = f"{pysecrets.randbelow(1_000_000):06d}"
            while code in live_codes:
                code = f"{pysecrets.randbelow(1_000_000):06d}"
            minutes = self.security.pairing_code_minutes
            request = PairingRequest.create(
                id=str(uuid.uuid4()), code=code, secret_hash=secrets.token_digest(secret), name=name.strip(),
                kind=kind, state="pending", created_at=utc_now(),
                expires_at=(_now() + timedelta(minutes=minutes)).isoformat(),
            )
        return request, secret

    def pending_pairings(self) -> list[PairingRequest]:
        now = _now()
        return [
            r for r in PairingRequest.select().where(PairingRequest.state == "pending").order_by(PairingRequest.created_at)
            if _parse(r.expires_at) > now
        ]

    def decide_pairing(self, code: str, approve: bool, lane: int | None, caller: Caller) -> PairingRequest:
        caller.require("manager", "deciding a pairing request")
        with self.app.db.transaction():
            request = next((r for r in self.pending_pairings() if r.code == code), None)
            if request is None:
                raise NotFound("no pending pairing request with this code (expired or already decided)", field="code")
            if lane is not None and not 1 <= lane <= 99:
                raise DomainError("lane must be from 1 to 99", field="lane")
            request.decided_by = caller.staff_id
            request.lane = lane
            if approve:
                device = Device.create(name=request.name, kind=request.kind, lane=lane,
                                       paired_at=utc_now(), paired_by=caller.staff_id)
                request.device_id = device.id
                request.state = "approved"
            else:
                request.state = "rejected"
            request.save()
            audit.record(f"device.pairing_{request.state}", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="pairing", entity_id=request.id, data=request.public())
        return request

    def claim_pairing(self, request_id: str, secret: str) -> tuple[PairingRequest, Device | None, str | None]:
        """The device polls; once approved it receives its token, exactly once."""
        with self.app.db.transaction():
            request = PairingRequest.get_or_none(PairingRequest.id == request_id)
            if request is None or request.secret_hash != secrets.token_digest(secret or ""):
                raise NotFound("no pairing request with this id and secret", field="secret")
            if request.state == "pending" and _parse(request.expires_at) <= _now():
                raise Conflict("pairing code expired; ask for a new one", code="expired")
            if request.state != "approved":
                return request, None, None
            device = Device.get_by_id(request.device_id)
            token = secrets.new_token()
            device.token_hash = secrets.token_digest(token)
            device.save()
            request.state = "claimed"
            request.save()
            audit.record("device.paired", device_id=device.id, entity="device", entity_id=device.id,
                         data=device.public())
        return request, device, token
