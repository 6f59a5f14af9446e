"""Stocktake (盘点) and reorder points: the back office's stock work beyond receipts and single corrections.

A stocktake is counted product by product (a scan adds one, a typed figure sets the count) while the shop
keeps selling; nothing moves until it is posted. Posting compares each counted figure with the on-hand
figure at that moment and writes every difference as a `stocktake` movement, with its `stock.movement`
event, in one transaction with one audit record. Products not counted are left as they are (a partial
count of one shelf is a normal stocktake).
"""

from __future__ import annotations

import uuid

from edge import audit
from edge.catalog.models import Product
from edge.db import utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.inventory.models import ReorderPoint, Stocktake, StocktakeLine
from edge.staff.service import Caller

COUNT_MODES = ("add", "set")
MAX_COUNT = 10_000_000


def value_of(product: Product, qty: int) -> int:
    """Retail value in fen of a quantity (grams for goods sold by weight, priced per kg)."""
    if product.sold_by == "weight":
        return round(qty * product.price / 1000)
    return qty * product.price


class StocktakeService:
    def __init__(self, app):
        self.app = app

    # -- reading --------------------------------------------------------------------------------------------------

    def get(self, stocktake_id: str) -> Stocktake:
        stocktake = Stocktake.get_or_none(Stocktake.id == stocktake_id)
        if stocktake is None:
            raise NotFound(f"no stocktake {stocktake_id}", field="stocktake_id")
        return stocktake

    def as_dict(self, stocktake: Stocktake) -> dict:
        """The stocktake with each counted line; while counting, the variance is against on-hand now."""
        lines = []
        rows = (StocktakeLine.select(StocktakeLine, Product)
                .join(Product, on=(StocktakeLine.product_id == Product.id), attr="product")
                .where(StocktakeLine.stocktake_id == stocktake.id).order_by(Product.sku))
        for line in rows:
            product = line.product
            expected = line.expected if stocktake.status == "posted" else self.app.inventory.on_hand(product.id)
            variance = line.counted - expected if expected is not None else None
            lines.append({"product_id": product.id, "sku": product.sku, "name": product.name, "unit": product.unit,
                          "sold_by": product.sold_by, "counted": line.counted, "expected": expected,
                          "variance": variance,
                          "variance_value": value_of(product, variance) if variance is not None else None,
                          "movement_id": line.movement_id, "counted_at": line.counted_at})
        changed = [line for line in lines if line["variance"]]
        return {"id": stocktake.id, "status": stocktake.status, "note": stocktake.note,
                "started_by": stocktake.started_by, "started_at": stocktake.started_at,
                "finished_by": stocktake.finished_by, "finished_at": stocktake.finished_at, "lines": lines,
                "summary": {"counted": len(lines), "with_variance": len(changed),
                            "variance_value": sum(line["variance_value"] for line in changed)}}

    @staticmethod
    def recent(limit: int = 20) -> list[dict]:
        return [{"id": s.id, "status": s.status, "note": s.note, "started_at": s.started_at,
                 "finished_at": s.finished_at}
                for s in Stocktake.select().order_by(Stocktake.started_at.desc()).limit(limit)]

    # -- counting -------------------------------------------------------------------------------------------------

    def start(self, note: str | None, caller: Caller) -> Stocktake:
        caller.require("manager", "starting a stocktake")
        with self.app.db.transaction():
            running = Stocktake.get_or_none(Stocktake.status == "counting")
            if running is not None:
                raise Conflict(f"stocktake {running.id} is still counting: post or cancel it first",
                               code="stocktake_open")
            stocktake = Stocktake.create(id=str(uuid.uuid4()), status="counting", note=note,
                                         started_by=caller.staff_id, started_at=utc_now())
            audit.record("stock.stocktake_started", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="stocktake", entity_id=stocktake.id, data={"note": note})
        return stocktake

    def count(self, stocktake_id: str, product: Product, qty: int, mode: str, caller: Caller) -> dict:
        """A scan (mode add, usually 1) or a typed figure (mode set) for one product; returns its line."""
        caller.require("manager", "counting stock")
        if mode not in COUNT_MODES:
            raise DomainError(f"mode must be one of {', '.join(COUNT_MODES)}", field="mode")
        with self.app.db.transaction():
            stocktake = self._counting(stocktake_id)
            line = StocktakeLine.get_or_none((StocktakeLine.stocktake_id == stocktake.id)
                                             & (StocktakeLine.product_id == product.id))
            counted = qty if mode == "set" or line is None else line.counted + qty
            if not 0 <= counted <= MAX_COUNT:
                raise DomainError(f"the count of {product.sku} would be {counted}: it must be from 0 to {MAX_COUNT}",
                                  field="qty")
            StocktakeLine.insert(stocktake_id=stocktake.id, product_id=product.id, counted=counted,
                                 counted_at=utc_now()).on_conflict_replace().execute()
        return {"product_id": product.id, "sku": product.sku, "name": product.name, "counted": counted,
                "on_hand": self.app.inventory.on_hand(product.id)}

    def uncount(self, stocktake_id: str, product: Product, caller: Caller) -> dict:
        """Drop a product counted by mistake: it is left out of the stocktake (not counted as zero)."""
        caller.require("manager", "counting stock")
        with self.app.db.transaction():
            stocktake = self._counting(stocktake_id)
            removed = StocktakeLine.delete().where((StocktakeLine.stocktake_id == stocktake.id)
                                                   & (StocktakeLine.product_id == product.id)).execute()
            if not removed:
                raise NotFound(f"{product.sku} has not been counted in this stocktake", field="sku")
        return self.as_dict(stocktake)

    def post(self, stocktake_id: str, caller: Caller) -> dict:
        """Every counted difference as one stocktake movement and event, in one transaction and one audit record."""
        caller.require("manager", "posting a stocktake")
        with self.app.db.transaction():
            stocktake = self._counting(stocktake_id)
            lines = list(StocktakeLine.select().where(StocktakeLine.stocktake_id == stocktake.id))
            if not lines:
                raise DomainError("nothing has been counted: count at least one product, or cancel",
                                  field="stocktake_id")
            moved = []
            for line in lines:
                product = Product.get_by_id(line.product_id)
                line.expected = self.app.inventory.on_hand(product.id)
                variance = line.counted - line.expected
                if variance:
                    line.movement_id = self.app.inventory.move(
                        product, variance, "stocktake", ref=stocktake.id, note=stocktake.note or "盘点",
                        staff_id=caller.staff_id)
                    moved.append([product.sku, variance])
                StocktakeLine.update(expected=line.expected, movement_id=line.movement_id).where(
                    (StocktakeLine.stocktake_id == stocktake.id) & (StocktakeLine.product_id == product.id)).execute()
            self._finish(stocktake, "posted", caller)
            audit.record("stock.stocktake_posted", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="stocktake", entity_id=stocktake.id,
                         data={"counted": len(lines), "variances": moved})
            return self.as_dict(stocktake)

    def cancel(self, stocktake_id: str, caller: Caller) -> dict:
        caller.require("manager", "cancelling a stocktake")
        with self.app.db.transaction():
            stocktake = self._counting(stocktake_id)
            self._finish(stocktake, "cancelled", caller)
            audit.record("stock.stocktake_cancelled", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="stocktake", entity_id=stocktake.id)
            return self.as_dict(stocktake)

    def _counting(self, stocktake_id: str) -> Stocktake:
        stocktake = self.get(stocktake_id)
        if stocktake.status != "counting":
            raise Conflict(f"stocktake {stocktake_id} is {stocktake.status}", field="stocktake_id",
                           code=f"stocktake_{stocktake.status}")
        return stocktake

    @staticmethod
    def _finish(stocktake: Stocktake, status: str, caller: Caller) -> None:
        stocktake.status = status
        stocktake.finished_by = caller.staff_id
        stocktake.finished_at = utc_now()
        stocktake.save()

    # -- reorder points and the low-stock list --------------------------------------------------------------------

    def set_reorder_point(self, product: Product, reorder_point: int | None, caller: Caller) -> dict:
        """Set (or, with None, clear) the figure at or below which a product is low on stock."""
        caller.require("manager", "setting a reorder point")
        if reorder_point is not None and not 0 <= reorder_point <= MAX_COUNT:
            raise DomainError(f"reorder_point must be from 0 to {MAX_COUNT}", field="reorder_point")
        with self.app.db.transaction():
            before = ReorderPoint.get_or_none(ReorderPoint.product_id == product.id)
            if reorder_point is None:
                ReorderPoint.delete().where(ReorderPoint.product_id == product.id).execute()
            else:
                ReorderPoint.insert(product_id=product.id, reorder_point=reorder_point,
                                    updated_at=utc_now()).on_conflict_replace().execute()
            audit.record("stock.reorder_point_set", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="product", entity_id=product.id,
                         data={"sku": product.sku, "reorder_point": reorder_point,
                               "before": before.reorder_point if before else None})
        return self.reorder_dict(product, reorder_point)

    def reorder_dict(self, product: Product, reorder_point: int | None) -> dict:
        on_hand = self.app.inventory.on_hand(product.id)
        return {"product_id": product.id, "sku": product.sku, "name": product.name, "unit": product.unit,
                "on_hand": on_hand, "reorder_point": reorder_point,
                "low": reorder_point is not None and on_hand <= reorder_point}

    @staticmethod
    def reorder_point(product_id: int) -> int | None:
        row = ReorderPoint.get_or_none(ReorderPoint.product_id == product_id)
        return row.reorder_point if row else None

    def reorder_points(self, low_only: bool) -> list[dict]:
        """Active products with a reorder point (only those at or below it when low_only), lowest cover first."""
        rows = (ReorderPoint.select(ReorderPoint, Product)
                .join(Product, on=(ReorderPoint.product_id == Product.id), attr="product").where(Product.active))
        found = [self.reorder_dict(row.product, row.reorder_point) for row in rows]
        if low_only:
            found = [row for row in found if row["low"]]
        return sorted(found, key=lambda row: (row["on_hand"] - row["reorder_point"], row["sku"]))

