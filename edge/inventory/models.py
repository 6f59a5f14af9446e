import peewee

from edge.db import BaseModel

REASONS = ("sale", "refund", "receipt", "adjustment", "stocktake")


class StockLevel(BaseModel):
    product_id = peewee.IntegerField(primary_key=True)
    on_hand = peewee.IntegerField()  # count, or grams for goods sold by weight
    updated_at = peewee.TextField()


class StockMovement(BaseModel):
    id = peewee.TextField(primary_key=True)
    product_id = peewee.IntegerField()
    qty = peewee.IntegerField()
    reason = peewee.TextField()
    ref = peewee.TextField(null=True)
    note = peewee.TextField(null=True)
    staff_id = peewee.IntegerField(null=True)
    at = peewee.TextField()
