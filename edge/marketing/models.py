import peewee

from edge.db import BaseModel

INTEREST_SOURCES = ("cart_removed", "price_check")
FLOW_STATUSES = ("draft", "active", "paused")


class MemberInterest(BaseModel):
    """An identified member looked at a product without (yet) buying it."""

    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    product_id = peewee.IntegerField()
    sku = peewee.TextField()
    source = peewee.TextField()  # cart_removed, price_check
    ref = peewee.TextField(null=True)  # the sale the line was taken off
    on_date = peewee.TextField()  # the store's business date
    at = peewee.TextField()


class Flow(BaseModel):
    class Meta:
        table_name = "marketing_flow"

    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()
    status = peewee.TextField()  # draft, active, paused
    trigger_kind = peewee.TextField(null=True)  # copied from the definition: the checkout asks for it cheaply
    definition = peewee.TextField()  # JSON: {"nodes": [...], "edges": [...]}
    reentry_days = peewee.IntegerField(null=True)  # None: a member enters once; N: again N days after a journey ends
    created_by = peewee.IntegerField(null=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()


class Journey(BaseModel):
    """One entry of one member into one flow (numbered 1, 2, ...): waiting at a node until a day, or done."""

    class Meta:
        table_name = "marketing_journey"
        primary_key = peewee.CompositeKey("flow_id", "member_id", "entry")

    flow_id = peewee.TextField()
    member_id = peewee.TextField()
    status = peewee.TextField()  # waiting, done
    node_id = peewee.TextField(null=True)  # the wait node while waiting
    due_on = peewee.TextField(null=True)
    coupon_id = peewee.TextField(null=True)  # the last coupon the flow gave: a follow-up checks its use
    started_at = peewee.TextField()
    updated_at = peewee.TextField()
    entry = peewee.IntegerField(default=1)
    ended_on = peewee.TextField(null=True)  # the store's day it finished: re-entry counts from it


class Step(BaseModel):
    """One node taken by one member in one journey: unique, so no member gets the same step twice in a journey."""

    class Meta:
        table_name = "marketing_step"

    id = peewee.TextField(primary_key=True)
    flow_id = peewee.TextField()
    member_id = peewee.TextField()
    node_id = peewee.TextField()
    outcome = peewee.TextField()
    detail = peewee.TextField(null=True)
    at = peewee.TextField()
    entry = peewee.IntegerField(default=1)  # the journey's number


class Message(BaseModel):
    """A message for the member's next receipt or next kiosk visit."""

    class Meta:
        table_name = "marketing_message"

    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    channel = peewee.TextField()  # receipt, kiosk
    text = peewee.TextField()
    flow_id = peewee.TextField()
    node_id = peewee.TextField()
    created_at = peewee.TextField()
    delivered_at = peewee.TextField(null=True)
    delivered_ref = peewee.TextField(null=True)  # the sale whose receipt printed it
