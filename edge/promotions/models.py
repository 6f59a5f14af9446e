"""The promotion table (manager-maintained; HQ will push rows by their stable string id) and a sale's applied ones."""

import peewee

from edge.db import BaseModel


class Promotion(BaseModel):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()
    kind = peewee.TextField()  # category_percent, threshold, buy_x_get_y
    percent = peewee.IntegerField(default=0)
    threshold = peewee.IntegerField(default=0)
    amount = peewee.IntegerField(default=0)
    repeat = peewee.BooleanField(default=False)
    buy_qty = peewee.IntegerField(default=0)
    get_qty = peewee.IntegerField(default=0)
    categories = peewee.TextField(default="[]")  # JSON lists
    skus = peewee.TextField(default="[]")
    starts_at = peewee.TextField()  # store-local "YYYY-MM-DDTHH:MM"
    ends_at = peewee.TextField()
    weekdays = peewee.TextField(default="[]")
    hours_from = peewee.TextField(null=True)
    hours_to = peewee.TextField(null=True)
    member_only = peewee.BooleanField(default=False)
    levels = peewee.TextField(default="[]")
    priority = peewee.IntegerField(default=0)
    exclusive = peewee.BooleanField(default=False)
    active = peewee.BooleanField(default=True)
    source = peewee.TextField(default="store")  # store, hq
    created_by = peewee.IntegerField(null=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()


class SalePromotion(BaseModel):
    sale_id = peewee.TextField()
    seq = peewee.IntegerField()
    promotion_id = peewee.TextField()
    kind = peewee.TextField()
    label = peewee.TextField()
    amount = peewee.IntegerField()
    allocation = peewee.TextField()  # JSON {line_id: fen}

    class Meta:
        primary_key = peewee.CompositeKey("sale_id", "seq")
