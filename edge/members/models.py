import peewee

from edge.db import BaseModel

GENDERS = ("female", "male", "other")


class Member(BaseModel):
    id = peewee.TextField(primary_key=True)  # uuid: unique across the chain's stores
    code = peewee.TextField(unique=True)  # on the member's card or phone screen
    phone = peewee.TextField(null=True, unique=True)  # 11-digit mainland mobile; None once erased
    name = peewee.TextField(null=True)
    birthday = peewee.TextField(null=True)  # YYYY-MM-DD
    gender = peewee.TextField(null=True)
    minor = peewee.BooleanField(default=False)  # under 14 at registration: sensitive personal information
    status = peewee.TextField()  # active, inactive, merged, erased
    merged_into = peewee.TextField(null=True)
    home_store = peewee.TextField()
    registered_at = peewee.TextField()
    updated_at = peewee.TextField()


class MemberConsent(BaseModel):
    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    notice_version = peewee.TextField()
    purposes = peewee.TextField()  # JSON list of the purposes agreed to
    guardian_name = peewee.TextField(null=True)
    channel = peewee.TextField()  # pos, kiosk
    store_id = peewee.TextField()
    device_id = peewee.IntegerField(null=True)
    staff_id = peewee.IntegerField(null=True)
    agreed_at = peewee.TextField()
    withdrawn_at = peewee.TextField(null=True)
