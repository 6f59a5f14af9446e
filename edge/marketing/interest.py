"""Interest without purchase (浏览未购): what identified members looked at and did not buy.

Two sources: a line taken off a cart with a member named on it (heard from
the sales service, inside the cart edit's transaction: one prepared insert,
so the checkout stays within its budget) and a price check at the kiosk by a
signed-in member (the kiosk calls ``record``).
"""

from __future__ import annotations

import uuid

from edge.db import RowInsert, utc_now
from edge.errors import DomainError
from edge.marketing.models import INTEREST_SOURCES, MemberInterest

_INSERT = RowInsert(MemberInterest)


class InterestRecorder:
    def __init__(self, app):
        self.app = app

    def _row(self, member_id: str, product_id: int, sku: str, source: str, ref: str | None) -> dict:
        return {"id": str(uuid.uuid4()), "member_id": member_id, "product_id": product_id, "sku": sku,
                "source": source, "ref": ref, "on_date": self.app.today().isoformat(), "at": utc_now()}

    def on_line_removed(self, sale, line, caller) -> None:
        if sale.member_id is not None:
            _INSERT.rows([self._row(sale.member_id, line.product_id, line.sku, "cart_removed", sale.id)])

    def record(self, member_id: str, product_id: int, source: str, ref: str | None = None) -> None:
        if source not in INTEREST_SOURCES:
            raise DomainError(f"source must be one of {', '.join(INTEREST_SOURCES)}", field="source")
        member = self.app.members.find(member_id=member_id)
        product = self.app.catalog.get(product_id)
        with self.app.db.transaction(durable=False):  # as a cart edit: a lost look on power loss is no loss
            _INSERT.rows([self._row(member.id, product.id, product.sku, source, ref)])

    def of_member(self, member_id: str) -> list[dict]:
        return [{"sku": i.sku, "product_id": i.product_id, "source": i.source, "on_date": i.on_date, "at": i.at}
                for i in MemberInterest.select().where(MemberInterest.member_id == member_id)
                .order_by(MemberInterest.at)]
