"""Sales targets, and the summary tables (derived: `storeedge reports rebuild` recomputes them).

The summaries are written by edge.reports.summaries in plain SQL upserts; these models name their
columns for the schema check and for anyone reading them from Python.
"""

import peewee

from edge.db import BaseModel

Sum = peewee.IntegerField  # every summary column is a sum, 0 when nothing counted


class SalesTarget(BaseModel):
    """A manager's sales target for one person in one role over a period (whole local days)."""

    id = peewee.TextField(primary_key=True)
    staff_id = peewee.IntegerField()
    role = peewee.TextField()  # salesperson, cashier
    period_from = peewee.TextField()
    period_to = peewee.TextField()
    amount = peewee.IntegerField()  # fen of net sales
    set_by = peewee.IntegerField()
    set_at = peewee.TextField()


class ReportCategoryDay(BaseModel):
    day = peewee.TextField()
    category_id = peewee.IntegerField()  # 0: no category
    sold_qty, sold_amount, lines, refund_qty, refund_amount = Sum(), Sum(), Sum(), Sum(), Sum()

    class Meta:
        primary_key = peewee.CompositeKey("day", "category_id")


class ReportTicketHour(BaseModel):
    day = peewee.TextField()
    hour = peewee.IntegerField()
    tickets, amount, items, member_tickets, refunds, refund_amount = Sum(), Sum(), Sum(), Sum(), Sum(), Sum()

    class Meta:
        primary_key = peewee.CompositeKey("day", "hour")


class ReportProductDay(BaseModel):
    day = peewee.TextField()
    product_id = peewee.IntegerField()
    sold_qty, sold_amount, tickets, refund_qty, refund_amount = Sum(), Sum(), Sum(), Sum(), Sum()

    class Meta:
        primary_key = peewee.CompositeKey("day", "product_id")


class ReportProductMonth(BaseModel):
    month = peewee.TextField()
    product_id = peewee.IntegerField()
    sold_qty, sold_amount, tickets, refund_qty, refund_amount = Sum(), Sum(), Sum(), Sum(), Sum()

    class Meta:
        primary_key = peewee.CompositeKey("month", "product_id")


class ReportStaffDay(BaseModel):
    day = peewee.TextField()
    role = peewee.TextField()
    staff_id = peewee.IntegerField()
    tickets, amount, items, member_tickets = Sum(), Sum(), Sum(), Sum()
    refunds, refund_amount, stored_value_sold = Sum(), Sum(), Sum()

    class Meta:
        primary_key = peewee.CompositeKey("day", "role", "staff_id")


class ReportPairDay(BaseModel):
    day = peewee.TextField()
    product_a = peewee.IntegerField()
    product_b = peewee.IntegerField()
    tickets = Sum()

    class Meta:
        primary_key = peewee.CompositeKey("day", "product_a", "product_b")


class ReportPairMonth(BaseModel):
    month = peewee.TextField()
    product_a = peewee.IntegerField()
    product_b = peewee.IntegerField()
    tickets = Sum()

    class Meta:
        primary_key = peewee.CompositeKey("month", "product_a", "product_b")
