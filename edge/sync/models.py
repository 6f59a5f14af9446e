"""The store's record of what HQ sent: broadcast events applied (by id) and commands answered."""

import peewee

from edge.db import BaseModel


class SyncApplied(BaseModel):
    id = peewee.TextField(primary_key=True)  # the event's id: applied once
    hq_seq = peewee.IntegerField()
    type = peewee.TextField()
    applied_at = peewee.TextField()


class SyncCommand(BaseModel):
    id = peewee.TextField(primary_key=True)  # the command's id: answered once
    command = peewee.TextField()
    reply = peewee.TextField()  # JSON, sent again for a repeated command
    at = peewee.TextField()
