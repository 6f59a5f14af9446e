"""Stock rules: every change is a movement; on-hand is their sum, kept in step in one transaction.

Stock may go negative (the shelf had what the system did not know about); a
negative level is flagged, never refused at the till.
"""

from __future__ import annotations

import uuid

from peewee import EXCLUDED

from edge import audit
from edge.catalog.models import Product
from edge.db import Prepared, RowInsert, utc_now
from edge.errors import DomainError
from edge.inventory.models import StockLevel, StockMovement
from edge.outbox.events import emit

_INSERT_MOVEMENT = RowInsert(StockMovement)
_ADD_ON_HAND = Prepared(
    StockLevel.insert(product_id=Prepared.arg(0), on_hand=Prepared.arg(1), updated_at=Prepared.arg(2))
    .on_conflict(conflict_target=[StockLevel.product_id],
                 update={StockLevel.on_hand: StockLevel.on_hand + EXCLUDED.on_hand,
                         StockLevel.updated_at: EXCLUDED.updated_at})
)


class InventoryService:
    def __init__(self, app):
        self.app = app

    def move(self, product: Product, qty: int, reason: str, *, ref: str | None = None,
             note: str | None = None, staff_id: int | None = None) -> str:
        """A receipt or correction: one movement and its own `stock.movement` event."""
        [movement_id] = self.record([(product.id, qty)], reason, ref=ref, note=note, staff_id=staff_id)
        emit("stock.movement", {"id": movement_id, "product_id": product.id, "sku": product.sku, "qty": qty,
                                "reason": reason, "ref": ref, "note": note})
        return movement_id

    def record(self, changes: list[tuple[int, int]], reason: str, *, ref: str | None = None,
               note: str | None = None, staff_id: int | None = None) -> list[str]:
        """Append movements and update on-hand; call inside the fact's transaction.

        A sale or refund records its movements here without separate events:
        its own `sale.completed` / `refund.completed` event carries the lines.
        """
        at = utc_now()
        rows = [{"id": str(uuid.uuid4()), "product_id": product_id, "qty": qty, "reason": reason, "ref": ref,
                 "note": note, "staff_id": staff_id, "at": at} for product_id, qty in changes]
        _INSERT_MOVEMENT.rows(rows)
        per_product: dict[int, int] = {}
        for product_id, qty in changes:
            per_product[product_id] = per_product.get(product_id, 0) + qty
        _ADD_ON_HAND.execute_many((product_id, qty, at) for product_id, qty in per_product.items())
        return [row["id"] for row in rows]

    def on_hand(self, product_id: int) -> int:
        level = StockLevel.get_or_none(StockLevel.product_id == product_id)
        return level.on_hand if level else 0

    def level(self, product: Product) -> dict:
        on_hand = self.on_hand(product.id)
        return {"product_id": product.id, "sku": product.sku, "name": product.name,
                "on_hand": on_hand, "negative": on_hand < 0}

    def receive(self, lines: list[tuple[Product, int]], *, supplier: str | None, note: str | None,
                staff_id: int, device_id: int | None) -> dict:
        """Goods received: one receipt, one movement per line."""
        receipt_id = str(uuid.uuid4())
        with self.app.db.transaction():
            for product, qty in lines:
                if qty <= 0:
                    raise DomainError("received quantity must be positive", field="lines.qty")
                self.move(product, qty, "receipt", ref=receipt_id, note=supplier, staff_id=staff_id)
            audit.record("stock.received", staff_id=staff_id, device_id=device_id, entity="stock_receipt",
                         entity_id=receipt_id,
                         data={"supplier": supplier, "note": note, "lines": [[p.sku, q] for p, q in lines]})
        return {"id": receipt_id, "levels": [self.level(p) for p, _ in lines]}

    def adjust(self, product: Product, *, qty: int | None, counted: int | None, reason: str,
               staff_id: int, device_id: int | None) -> dict:
        """A correction by a delta (damage, loss) or to a counted figure (stocktake)."""
        if (qty is None) == (counted is None):
            raise DomainError("give exactly one of qty (a change) or counted (the figure on the shelf)",
                              field="qty")
        with self.app.db.transaction():
            kind = "adjustment"
            if counted is not None:
                qty = counted - self.on_hand(product.id)
                kind = "stocktake"
            if qty == 0:
                return {**self.level(product), "movement": None}
            movement = self.move(product, qty, kind, note=reason, staff_id=staff_id)
            audit.record(f"stock.{kind}", staff_id=staff_id, device_id=device_id, entity="product",
                         entity_id=product.id, data={"qty": qty, "reason": reason})
        return {**self.level(product), "movement": movement}

    def negative_levels(self) -> list[dict]:
        rows = StockLevel.select().where(StockLevel.on_hand < 0)
        return [self.level(Product.get_by_id(r.product_id)) for r in rows]
