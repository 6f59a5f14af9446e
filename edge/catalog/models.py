import peewee

from edge.db import BaseModel


class Category(BaseModel):
    id = peewee.AutoField()
    code = peewee.TextField(unique=True)
    name = peewee.TextField()
    parent_id = peewee.IntegerField(null=True)


class Product(BaseModel):
    id = peewee.AutoField()
    sku = peewee.TextField(unique=True)
    name = peewee.TextField()
    category_id = peewee.IntegerField(null=True)
    unit = peewee.TextField()
    sold_by = peewee.TextField()  # 'each' (qty is a count) or 'weight' (qty in grams, price per kg)
    price = peewee.IntegerField()  # fen
    tax_rate = peewee.IntegerField()  # basis points: 1300 = 13 %
    plu = peewee.TextField(null=True, unique=True)
    active = peewee.BooleanField(default=True)
    updated_at = peewee.TextField()
    initials = peewee.TextField(default="")  # pinyin initials of the name, lower case (edge.catalog.initials)


class Barcode(BaseModel):
    code = peewee.TextField(primary_key=True)
    product_id = peewee.IntegerField()


class ProductMemberPrice(BaseModel):
    """A product's member price (会员价, fen), for a sale with a member (edge.promotions)."""

    product_id = peewee.IntegerField(primary_key=True)
    member_price = peewee.IntegerField()
