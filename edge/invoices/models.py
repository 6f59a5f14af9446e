import peewee

from edge.db import BaseModel


class InvoiceRequest(BaseModel):
    id = peewee.TextField(primary_key=True)  # uuid: HQ's status events name it
    sale_id = peewee.TextField()
    receipt_no = peewee.TextField()
    amount = peewee.IntegerField()  # fen, the receipt's total
    buyer = peewee.TextField()  # company, personal
    title = peewee.TextField()  # 发票抬头
    taxpayer_id = peewee.TextField(null=True)  # 统一社会信用代码, a company's
    email = peewee.TextField()
    channel = peewee.TextField()  # kiosk, pos
    device_id = peewee.IntegerField(null=True)
    status = peewee.TextField()  # requested, processing, issued, rejected
    reason = peewee.TextField(null=True)  # HQ's, when rejected
    invoice_no = peewee.TextField(null=True)  # HQ's, when issued
    requested_at = peewee.TextField()
    updated_at = peewee.TextField()
