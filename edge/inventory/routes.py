"""Stock endpoints."""

from __future__ import annotations

from pydantic import Field

from edge.api.registry import Call, Routes, Schema

routes = Routes("stock")


class ReceiptLineIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(gt=0, le=1_000_000)


class ReceiptIn(Schema):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)
    supplier: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=200)


class AdjustmentIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    qty: int | None = Field(None, ge=-1_000_000, le=1_000_000, description="change, e.g. -2 for breakage")
    counted: int | None = Field(None, ge=0, le=10_000_000, description="the figure counted on the shelf")
    reason: str = Field(min_length=1, max_length=200)


@routes.post("/stock/receipts", "Goods received", body=ReceiptIn, role="manager", status=201)
def receive(call: Call):
    catalog = call.store.catalog
    lines = [(catalog.by_sku(l.sku, field=f"lines[{i}].sku"), l.qty) for i, l in enumerate(call.body.lines)]
    return call.store.inventory.receive(lines, supplier=call.body.supplier, note=call.body.note,
                                        staff_id=call.caller.staff_id, device_id=call.caller.device_id)


@routes.post("/stock/adjustments", "Correct stock by a change or a count", body=AdjustmentIn, role="manager",
             status=201)
def adjust(call: Call):
    product = call.store.catalog.by_sku(call.body.sku)
    return call.store.inventory.adjust(product, qty=call.body.qty, counted=call.body.counted,
                                       reason=call.body.reason, staff_id=call.caller.staff_id,
                                       device_id=call.caller.device_id)


@routes.get("/stock/{sku}", "On-hand for one product")
def level(call: Call, sku: str):
    return call.store.inventory.level(call.store.catalog.by_sku(sku))


@routes.get("/stock", "Products whose stock has gone negative", role="manager")
def negative(call: Call):
    return {"negative": call.store.inventory.negative_levels()}
