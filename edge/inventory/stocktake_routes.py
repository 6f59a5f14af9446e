"""Stocktake (盘点) and reorder-point endpoints for the back office."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.errors import DomainError

routes = Routes("stocktake")


class StocktakeIn(Schema):
    note: str | None = Field(None, max_length=200)


class CountIn(Schema):
    barcode: str | None = Field(None, min_length=1, max_length=64, description="a scanned code (or give sku)")
    sku: str | None = Field(None, min_length=1, max_length=64)
    qty: int = Field(1, ge=0, le=10_000_000, description="pieces, or grams for goods sold by weight")
    mode: Literal["add", "set"] = Field("add", description="add: a scan adds to the count; set: the typed figure")


class ReorderPointIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    reorder_point: int | None = Field(ge=0, le=10_000_000, description="null clears it")


class ReorderQuery(Schema):
    low_only: bool = False

    model_config = {**Schema.model_config, "strict": False}


@routes.post("/stocktakes", "Start a stocktake (one counts at a time)", body=StocktakeIn, role="manager", status=201)
def start_stocktake(call: Call):
    stocktakes = call.store.stocktakes
    return stocktakes.as_dict(stocktakes.start(call.body.note, call.caller))


@routes.get("/stocktakes", "Recent stocktakes, the counting one first", role="manager")
def list_stocktakes(call: Call):
    return {"stocktakes": call.store.stocktakes.recent()}


@routes.get("/stocktakes/{stocktake_id}", "A stocktake's counted lines and their variances", role="manager")
def review_stocktake(call: Call, stocktake_id: str):
    stocktakes = call.store.stocktakes
    return stocktakes.as_dict(stocktakes.get(stocktake_id))


@routes.post("/stocktakes/{stocktake_id}/counts", "Count a product: a scan adds, a typed figure sets",
             body=CountIn, role="manager")
def count_stock(call: Call, stocktake_id: str):
    body, catalog = call.body, call.store.catalog
    if (body.barcode is None) == (body.sku is None):
        raise DomainError("give exactly one of barcode or sku", field="barcode")
    product = catalog.scan(body.barcode).product if body.barcode else catalog.by_sku(body.sku)
    return call.store.stocktakes.count(stocktake_id, product, body.qty, body.mode, call.caller)


@routes.delete("/stocktakes/{stocktake_id}/counts/{sku}", "Drop a product counted by mistake (not a zero count)",
               role="manager")
def uncount_stock(call: Call, stocktake_id: str, sku: str):
    return call.store.stocktakes.uncount(stocktake_id, call.store.catalog.by_sku(sku), call.caller)


@routes.post("/stocktakes/{stocktake_id}/post", "Post every variance as stock movements, in one transaction",
             role="manager")
def post_stocktake(call: Call, stocktake_id: str):
    return call.store.stocktakes.post(stocktake_id, call.caller)


@routes.post("/stocktakes/{stocktake_id}/cancel", "Drop a stocktake without moving stock", role="manager")
def cancel_stocktake(call: Call, stocktake_id: str):
    return call.store.stocktakes.cancel(stocktake_id, call.caller)


@routes.get("/reorder-points", "Products with a reorder point; low_only lists those at or below it",
            query=ReorderQuery, role="manager")
def list_reorder_points(call: Call):
    return {"products": call.store.stocktakes.reorder_points(call.query.low_only)}


@routes.post("/reorder-points", "Set or clear a product's reorder point", body=ReorderPointIn, role="manager")
def set_reorder_point(call: Call):
    product = call.store.catalog.by_sku(call.body.sku)
    return call.store.stocktakes.set_reorder_point(product, call.body.reorder_point, call.caller)
