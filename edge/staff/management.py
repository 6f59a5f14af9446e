"""Back-office staff management: change a role, deactivate, reset a PIN. A PIN is never shown or logged.

A manager manages cashiers and managers; only an admin touches an admin or makes someone one. Nobody changes
their own role or deactivates themselves, so a shop cannot lock out its last manager by a slip of the finger.
"""

from __future__ import annotations

from edge import audit
from edge.errors import Conflict, DomainError, Forbidden, NotFound
from edge.staff import secrets
from edge.staff.models import ROLES, Staff, StaffSession
from edge.staff.service import PIN_PATTERN, Caller


class StaffManagement:
    def __init__(self, app):
        self.app = app

    def _target(self, staff_id: int, caller: Caller, doing: str) -> Staff:
        caller.require("manager", doing)
        staff = Staff.get_or_none(Staff.id == staff_id)
        if staff is None:
            raise NotFound(f"no staff member {staff_id}", field="staff_id")
        if staff.role == "admin" and not caller.staff.has_role("admin"):
            raise Forbidden(f"{doing} for an admin needs the admin role", field="staff_id", code="role_required")
        return staff

    def change(self, staff_id: int, caller: Caller, *, role: str | None = None, active: bool | None = None) -> Staff:
        """A new role and/or active flag; deactivating ends the member's sessions at once."""
        if role is None and active is None:
            raise DomainError("give role or active", field="role")
        if role is not None and role not in ROLES:
            raise DomainError(f"role must be one of {', '.join(ROLES)}", field="role")
        with self.app.db.transaction():
            staff = self._target(staff_id, caller, "changing a staff member")
            if role == "admin" and not caller.staff.has_role("admin"):
                raise Forbidden("making someone an admin needs the admin role", field="role", code="role_required")
            if staff.id == caller.staff_id:
                raise Conflict("you cannot change your own role or deactivate yourself; ask another manager",
                               field="staff_id", code="own_account")
            before = {"role": staff.role, "active": staff.active}
            if role is not None:
                staff.role = role
            if active is not None:
                staff.active = active
            staff.save()
            if active is False:
                StaffSession.update(revoked=True).where(StaffSession.staff_id == staff.id).execute()
            audit.record("staff.changed", staff_id=caller.staff_id, device_id=caller.device_id, entity="staff",
                         entity_id=staff.id, data={"before": before, "role": staff.role, "active": staff.active})
        return staff

    def reset_pin(self, staff_id: int, pin: str, approval: dict | None, caller: Caller) -> Staff:
        """A new PIN for a staff member who forgot theirs, approved by a manager's PIN; their sessions end."""
        if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
            raise DomainError("PIN must be 4 to 8 digits", field="pin")
        lookup = secrets.pin_lookup(self.app.secret, pin)
        with self.app.db.transaction():
            staff = self._target(staff_id, caller, "resetting a PIN")
            approver = self.app.staff.approve(approval, "resetting a PIN", caller)
            if Staff.select().where((Staff.pin_lookup == lookup) & (Staff.id != staff.id)).exists():
                raise Conflict("this PIN is already used by another staff member; choose another", field="pin")
            staff.pin_hash = secrets.hash_pin(pin)
            staff.pin_lookup = lookup
            staff.save()
            StaffSession.update(revoked=True).where(StaffSession.staff_id == staff.id).execute()
            audit.record("staff.pin_reset", staff_id=caller.staff_id, device_id=caller.device_id, entity="staff",
                         entity_id=staff.id, data={"approved_by": approver.id})
        return staff
