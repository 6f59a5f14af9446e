import peewee

from edge.db import BaseModel


class Sale(BaseModel):
    id = peewee.TextField(primary_key=True)
    device_id = peewee.IntegerField()
    lane = peewee.IntegerField(null=True)
    shift_id = peewee.TextField(null=True)
    cashier_id = peewee.IntegerField()
    salesperson_id = peewee.IntegerField(null=True)
    member_id = peewee.TextField(null=True)
    status = peewee.TextField()  # open, suspended, completed, voided
    opened_at = peewee.TextField()
    completed_at = peewee.TextField(null=True)
    business_date = peewee.TextField(null=True)
    receipt_no = peewee.TextField(null=True, unique=True)
    discount_kind = peewee.TextField(null=True)
    discount_value = peewee.IntegerField(null=True)
    discount_approved_by = peewee.IntegerField(null=True)
    subtotal = peewee.IntegerField(default=0)
    discount_total = peewee.IntegerField(default=0)
    total = peewee.IntegerField(default=0)
    rounding = peewee.IntegerField(default=0)
    paid = peewee.IntegerField(default=0)
    change = peewee.IntegerField(default=0)
    voided_by = peewee.IntegerField(null=True)
    void_reason = peewee.TextField(null=True)

    def paid_with(self, method: str) -> int:
        """While completing: what this sale's payments put on one tender (they are written already)."""
        return sum(row["amount"] for row in self.payments_taken if row["method"] == method)


class SaleLine(BaseModel):
    id = peewee.TextField(primary_key=True)
    sale_id = peewee.TextField()
    line_no = peewee.IntegerField()
    product_id = peewee.IntegerField()
    sku = peewee.TextField()
    name = peewee.TextField()
    barcode = peewee.TextField(null=True)
    sold_by = peewee.TextField()
    qty = peewee.IntegerField()  # count, or grams when sold by weight
    label_price = peewee.IntegerField(null=True)  # a scale label's printed price: the line's gross
    list_price = peewee.IntegerField()
    unit_price = peewee.IntegerField()
    price_override_by = peewee.IntegerField(null=True)
    tax_rate = peewee.IntegerField()
    discount_kind = peewee.TextField(null=True)
    discount_value = peewee.IntegerField(null=True)
    discount_approved_by = peewee.IntegerField(null=True)
    gross = peewee.IntegerField()
    promo_discount = peewee.IntegerField(default=0)  # automatic promotions (edge.promotions), part of the total
    line_discount = peewee.IntegerField(default=0)
    sale_discount = peewee.IntegerField(default=0)
    total = peewee.IntegerField()
    salesperson_id = peewee.IntegerField(null=True)  # this line's 导购 when not the sale's


class Payment(BaseModel):
    id = peewee.TextField(primary_key=True)
    sale_id = peewee.TextField()
    method = peewee.TextField()
    amount = peewee.IntegerField()  # what this tender paid towards the sale
    tendered = peewee.IntegerField()  # what the customer handed over (cash: amount + change)
    change = peewee.IntegerField()
    reference = peewee.TextField(null=True)
    at = peewee.TextField()


class ReceiptCounter(BaseModel):
    business_date = peewee.TextField(primary_key=True)
    last_no = peewee.IntegerField()


class Refund(BaseModel):
    id = peewee.TextField(primary_key=True)
    refund_no = peewee.TextField(unique=True)
    sale_id = peewee.TextField()
    device_id = peewee.IntegerField()
    shift_id = peewee.TextField(null=True)
    staff_id = peewee.IntegerField()
    approved_by = peewee.IntegerField()
    reason = peewee.TextField()
    total = peewee.IntegerField()
    at = peewee.TextField()


class RefundLine(BaseModel):
    id = peewee.TextField(primary_key=True)
    refund_id = peewee.TextField()
    sale_line_id = peewee.TextField()
    qty = peewee.IntegerField()
    amount = peewee.IntegerField()


class RefundPayment(BaseModel):
    id = peewee.TextField(primary_key=True)
    refund_id = peewee.TextField()
    method = peewee.TextField()
    amount = peewee.IntegerField()
    reference = peewee.TextField(null=True)
