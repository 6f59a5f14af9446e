import peewee

from edge.db import BaseModel


class PrintJob(BaseModel):
    """One print-out, durable until printed: queued → printing → done (or failed when it cannot be printed)."""

    id = peewee.TextField(primary_key=True)
    printer = peewee.TextField()
    kind = peewee.TextField()  # receipt, reprint, test, text
    document = peewee.TextField()  # JSON of a drivers.printer.document model
    ref = peewee.TextField(null=True)  # the sale it prints
    status = peewee.TextField()
    attempts = peewee.IntegerField(default=0)
    last_error = peewee.TextField(null=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()
    done_at = peewee.TextField(null=True)


class DeviceState(BaseModel):
    name = peewee.TextField(primary_key=True)
    kind = peewee.TextField()
    lane = peewee.IntegerField(null=True)
    state = peewee.TextField()  # connected, offline, paper_out, cover_open, error
    detail = peewee.TextField(null=True)
    updated_at = peewee.TextField()
