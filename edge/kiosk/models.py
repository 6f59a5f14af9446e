import peewee

from edge.db import BaseModel


class KioskMemberPin(BaseModel):
    member_id = peewee.TextField(primary_key=True)
    pin_hash = peewee.TextField()  # Argon2id, as staff PINs
    set_at = peewee.TextField()


class KioskSession(BaseModel):
    token_hash = peewee.TextField(primary_key=True)  # SHA-256 of the token; the token itself is never stored
    member_id = peewee.TextField()
    device_id = peewee.IntegerField()
    created_at = peewee.TextField()
    expires_at = peewee.TextField()
    ended_at = peewee.TextField(null=True)
