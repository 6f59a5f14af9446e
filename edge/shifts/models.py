import peewee

from edge.db import BaseModel


class Shift(BaseModel):
    id = peewee.TextField(primary_key=True)
    device_id = peewee.IntegerField()
    lane = peewee.IntegerField(null=True)
    opened_by = peewee.IntegerField()
    opened_at = peewee.TextField()
    opening_float = peewee.IntegerField()
    status = peewee.TextField()
    closed_by = peewee.IntegerField(null=True)
    closed_at = peewee.TextField(null=True)
    counted_cash = peewee.IntegerField(null=True)
    expected_cash = peewee.IntegerField(null=True)
    variance = peewee.IntegerField(null=True)
    report = peewee.TextField(null=True)


class CashMovement(BaseModel):
    id = peewee.TextField(primary_key=True)
    shift_id = peewee.TextField()
    kind = peewee.TextField()  # 'in', 'out' or 'no_sale' (drawer opened, no money)
    amount = peewee.IntegerField()
    reason = peewee.TextField()
    staff_id = peewee.IntegerField()
    approved_by = peewee.IntegerField(null=True)
    at = peewee.TextField()
