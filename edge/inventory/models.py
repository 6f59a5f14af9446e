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


class Stocktake(BaseModel):
    """A count (盘点): lines are counted while it is 'counting', then posted at once as stocktake movements."""

    id = peewee.TextField(primary_key=True)
    status = peewee.TextField()  # counting | posted | cancelled
    note = peewee.TextField(null=True)
    started_by = peewee.IntegerField()
    started_at = peewee.TextField()
    finished_by = peewee.IntegerField(null=True)
    finished_at = peewee.TextField(null=True)


class StocktakeLine(BaseModel):
    stocktake_id = peewee.TextField()
    product_id = peewee.IntegerField()
    counted = peewee.IntegerField()
    expected = peewee.IntegerField(null=True)  # the on-hand figure when posted
    movement_id = peewee.TextField(null=True)
    counted_at = peewee.TextField()

    class Meta:
        primary_key = peewee.CompositeKey("stocktake_id", "product_id")


class ReorderPoint(BaseModel):
    """At or below this on-hand figure a product is on the low-stock list."""

    product_id = peewee.IntegerField(primary_key=True)
    reorder_point = peewee.IntegerField()
    updated_at = peewee.TextField()
