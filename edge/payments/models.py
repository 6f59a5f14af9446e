import secrets
from datetime import datetime

import peewee

from edge.db import BaseModel

IN_FLIGHT = ("created", "paying")
UNFINISHED = ("created", "paying", "reversing")
FINAL = ("paid", "failed", "reversed")


class PaymentAttempt(BaseModel):
    """One scan of a payment code: written before any network call, every change of state persisted."""

    id = peewee.TextField(primary_key=True)
    out_trade_no = peewee.TextField(unique=True)  # ours, sent to the provider: at most 32 characters
    sale_id = peewee.TextField()
    provider = peewee.TextField()
    code_hash = peewee.TextField()
    code_masked = peewee.TextField()
    amount = peewee.IntegerField()
    state = peewee.TextField()
    simulated = peewee.BooleanField()  # the built-in simulator served, not the provider
    transaction_id = peewee.TextField(null=True)  # the provider's
    reason = peewee.TextField(null=True)  # why it failed or is being reversed
    used = peewee.BooleanField(default=False)  # taken as a payment row of its sale
    device_id = peewee.IntegerField()
    staff_id = peewee.IntegerField()
    created_at = peewee.TextField()
    updated_at = peewee.TextField()
    deadline = peewee.FloatField()  # epoch seconds: past it, a payment still unconfirmed is reversed
    next_at = peewee.FloatField()  # epoch seconds: when to ask the provider again


class PaymentRefund(BaseModel):
    """Money of a scan payment going back through the provider's refund API."""

    id = peewee.TextField(primary_key=True)
    out_refund_no = peewee.TextField(unique=True)
    attempt_id = peewee.TextField()
    refund_id = peewee.TextField()
    amount = peewee.IntegerField()
    state = peewee.TextField()  # pending (sent or to send; resending is idempotent) → refunded | failed
    provider_refund_id = peewee.TextField(null=True)
    reason = peewee.TextField(null=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()
    next_at = peewee.FloatField()


def new_out_trade_no() -> str:
    """32 characters, unique per attempt or refund: the 14-digit local time (UnionPay's txnTime) and 72 random bits."""
    return datetime.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(9)
