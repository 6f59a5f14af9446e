"""Stock rules: every change is a movement; on-hand is their sum, kept in step in one transaction.

Stock may go negative (the shelf had what the system did not know about); a
negative level is flagged, never refused at the till.
"""

from __future__ import annotations

import uuid

from edge import audit
from edge.catalog.models import Product
from edge.db import utc_now
from edge.errors import DomainError
from edge.inventory.models import StockLevel, StockMovement
from edge.outbox.events import emit


class InventoryService:
    def __init__(self, app):
        self.app = app

    def move(self, product_id: int, qty: int, reason: str, *, ref: str | None = None,
             note: str | None = None, staff_id: int | None = None, sku: str | None = None) -> StockMovement:
        """Append one movement and update on-hand; call inside the fact's transaction."""
        movement = StockMovement.create(
            id=str(uuid.uuid4()), product_id=product_id, qty=qty, reason=reason, ref=ref,
            note=note, staff_id=staff_id, at=utc_now(),
        )
        updated = (
            StockLevel.update(on_hand=StockLevel.on_hand + qty, updated_at=movement.at)
            .where(StockLevel.product_id == product_id)
            .execute()
        )
        if not updated:
            StockLevel.create(product_id=product_id, on_hand=qty, updated_at=movement.at)
        emit("stock.movement", {"id": movement.id, "product_id": product_id,
                                "sku": sku or Product.get_by_id(product_id).sku, "qty": qty,
                                "reason": reason, "ref": ref})
        return movement

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
                self.move(product.id, qty, "receipt", ref=receipt_id, note=supplier, staff_id=staff_id,
                          sku=product.sku)
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
            movement = self.move(product.id, qty, kind, note=reason, staff_id=staff_id, sku=product.sku)
            audit.record(f"stock.{kind}", staff_id=staff_id, device_id=device_id, entity="product",
                         entity_id=product.id, data={"qty": qty, "reason": reason})
        return {**self.level(product), "movement": movement.id}

    def negative_levels(self) -> list[dict]:
        rows = StockLevel.select().where(StockLevel.on_hand < 0)
        return [self.level(Product.get_by_id(r.product_id)) for r in rows]
