"""Small key/value facts about this store's database."""

from __future__ import annotations

import peewee

from edge.db import BaseModel, Prepared


class Meta(BaseModel):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField()

    @classmethod
    def get_value(cls, key: str) -> str | None:
        row = cls.get_or_none(cls.key == key)
        return row.value if row else None

    @classmethod
    def put(cls, key: str, value: str) -> None:
        _PUT.execute(key, value)


_PUT = Prepared(Meta.insert(key=Prepared.arg(0), value=Prepared.arg(1)).on_conflict_replace())
