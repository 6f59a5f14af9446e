import peewee

from edge.db import BaseModel

ACCOUNTS = ("principal", "bonus")
ENTRY_KINDS = ("topup", "spend", "refund", "adjust")
TOPUP_METHODS = ("cash", "card", "external")


class StoredValueEntry(BaseModel):
    """One append-only ledger entry; its uuid makes applying it twice a no-op."""

    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    account = peewee.TextField()  # principal (money paid in) or bonus (given by the shop)
    amount = peewee.IntegerField()  # fen, signed: + credits the account, - debits it
    kind = peewee.TextField()  # topup, spend, refund, adjust
    ref = peewee.TextField(null=True)  # the top-up, sale or refund it belongs to
    store_id = peewee.TextField()  # the store that wrote it
    device_id = peewee.IntegerField(null=True)
    staff_id = peewee.IntegerField(null=True)
    at = peewee.TextField()


class StoredValueBalance(BaseModel):
    """Cache of the ledger's sums per member, updated in the entry's transaction."""

    member_id = peewee.TextField(primary_key=True)
    principal = peewee.IntegerField()
    bonus = peewee.IntegerField()
    updated_at = peewee.TextField()


class StoredValueTopup(BaseModel):
    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    shift_id = peewee.TextField()  # cash top-ups count in this shift's drawer
    device_id = peewee.IntegerField()
    staff_id = peewee.IntegerField()
    method = peewee.TextField()
    amount = peewee.IntegerField()  # paid in: the principal
    bonus = peewee.IntegerField()  # given by the bonus tier reached
    reference = peewee.TextField(null=True)
    at = peewee.TextField()


class StoredValuePayout(BaseModel):
    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    shift_id = peewee.TextField()  # the principal leaves this shift's drawer
    device_id = peewee.IntegerField()
    staff_id = peewee.IntegerField()
    approved_by = peewee.IntegerField()
    principal = peewee.IntegerField()  # paid back in cash
    bonus_forfeited = peewee.IntegerField()  # a gift of the shop, not the member's money
    reason = peewee.TextField()
    at = peewee.TextField()


class MemberPaymentPin(BaseModel):
    member_id = peewee.TextField(primary_key=True)
    pin_hash = peewee.TextField()  # Argon2id, as staff PINs
    set_at = peewee.TextField()
