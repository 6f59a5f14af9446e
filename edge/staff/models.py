import peewee

from edge.db import BaseModel

ROLES = ("cashier", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
DEVICE_KINDS = ("terminal", "kiosk", "display")


class Staff(BaseModel):
    id = peewee.AutoField()
    name = peewee.TextField()
    role = peewee.TextField()
    pin_hash = peewee.TextField()
    pin_lookup = peewee.TextField(unique=True)
    active = peewee.BooleanField(default=True)
    created_at = peewee.TextField()

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "active": self.active}

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class Device(BaseModel):
    id = peewee.AutoField()
    name = peewee.TextField()
    kind = peewee.TextField()
    lane = peewee.IntegerField(null=True)
    token_hash = peewee.TextField(null=True, unique=True)
    active = peewee.BooleanField(default=True)
    paired_at = peewee.TextField()
    paired_by = peewee.IntegerField(null=True)

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "kind": self.kind, "lane": self.lane, "active": self.active}


class PairingRequest(BaseModel):
    id = peewee.TextField(primary_key=True)
    code = peewee.TextField()
    secret_hash = peewee.TextField()
    name = peewee.TextField()
    kind = peewee.TextField()
    state = peewee.TextField()
    lane = peewee.IntegerField(null=True)
    device_id = peewee.IntegerField(null=True)
    created_at = peewee.TextField()
    expires_at = peewee.TextField()
    decided_by = peewee.IntegerField(null=True)

    def public(self) -> dict:
        return {
            "id": self.id, "code": self.code, "name": self.name, "kind": self.kind,
            "state": self.state, "lane": self.lane, "expires_at": self.expires_at,
        }


class StaffSession(BaseModel):
    token_hash = peewee.TextField(primary_key=True)
    staff_id = peewee.IntegerField()
    device_id = peewee.IntegerField()
    created_at = peewee.TextField()
    expires_at = peewee.TextField()
    revoked = peewee.BooleanField(default=False)


class PinThrottle(BaseModel):
    scope = peewee.TextField(primary_key=True)
    failures = peewee.IntegerField()
    locked_until = peewee.TextField(null=True)
