"""Sale and refund endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge.api.registry import Call, Routes, Schema
from edge.errors import NotFound
from edge.money import MAX_AMOUNT
from edge.sales.pricing import Discount
from edge.sales.scanning import read_scan
from edge.shifts.routes import ApprovalIn

routes = Routes("sales")

Qty = Field(None, gt=0, le=1_000_000, description="items, or grams for goods sold by weight")


def exactly_one_of(*fields: str) -> dict:
    """The schema config stating, for the OpenAPI document, the rule a model validator enforces."""
    return {**Schema.model_config, "json_schema_extra": {
        "oneOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in fields]}}


class SaleIn(Schema):
    salesperson_id: int | None = Field(None, description="the 导购 who served the customer")


class SalePatchIn(Schema):
    salesperson_id: int | None


class LineIn(Schema):
    model_config = exactly_one_of("barcode", "sku")

    barcode: str | None = Field(None, min_length=1, max_length=32)
    sku: str | None = Field(None, min_length=1, max_length=64)
    qty: int | None = Qty
    salesperson_id: int | None = Field(None, description="the 导购 who sold this item, when not the sale's")

    @model_validator(mode="after")
    def _one_key(self):
        if (self.barcode is None) == (self.sku is None):
            raise ValueError("give exactly one of barcode or sku")
        return self


class DiscountIn(Schema):
    kind: Literal["amount", "percent"]
    value: int = Field(gt=0, le=MAX_AMOUNT, description="fen, or whole percent")

    def rule(self) -> Discount:
        return Discount(self.kind, self.value)


class LinePatchIn(Schema):
    qty: int | None = Qty
    unit_price: int | None = Field(None, ge=0, le=MAX_AMOUNT, description="price override; needs approval")
    discount: DiscountIn | None = None
    clear_discount: bool = False
    approval: ApprovalIn | None = None


class SaleDiscountIn(Schema):
    discount: DiscountIn | None = Field(description="null removes the discount")
    approval: ApprovalIn | None = None


class PaymentIn(Schema):
    method: str = Field(min_length=1, max_length=32)
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    reference: str | None = Field(None, max_length=64)
    pin: str | None = Field(None, min_length=6, max_length=6, pattern=r"^[0-9]{6}$",
                            description="the member's payment PIN, for stored value above the configured amount")


class CompleteIn(Schema):
    payments: list[PaymentIn] = Field(min_length=1, max_length=20)


class VoidIn(Schema):
    reason: str = Field(min_length=1, max_length=200)
    approval: ApprovalIn | None = None


class RefundLineIn(Schema):
    line_id: str
    qty: int | None = Qty


class RefundIn(Schema):
    model_config = exactly_one_of("sale_id", "receipt_no")

    sale_id: str | None = None
    receipt_no: str | None = None
    lines: list[RefundLineIn] | None = Field(None, min_length=1, description="omit to refund everything left")
    reason: str = Field(min_length=1, max_length=200)
    to: Literal["original", "cash"] = "original"
    approval: ApprovalIn | None = None

    @model_validator(mode="after")
    def _one_sale(self):
        if (self.sale_id is None) == (self.receipt_no is None):
            raise ValueError("give exactly one of sale_id or receipt_no")
        return self


class SalesQuery(Schema):
    status: Literal["suspended"] | None = None
    receipt_no: str | None = Field(None, min_length=1, max_length=40, description="the number on a receipt")

    @model_validator(mode="after")
    def _one_filter(self):
        if self.status is not None and self.receipt_no is not None:
            raise ValueError("give status or receipt_no, not both")
        return self


def _approval(body) -> dict | None:
    return body.approval.model_dump() if body.approval else None


def _sale(call: Call, sale) -> dict:
    return call.store.sales.as_dict(sale)


@routes.post("/sales", "Start a sale on this terminal", body=SaleIn, status=201, durable=False)
def open_sale(call: Call):
    return _sale(call, call.store.sales.open(call.caller, call.body.salesperson_id))


@routes.get("/sales/current", "This terminal's open sale")
def current_sale(call: Call):
    sale = call.store.sales.current(call.caller.device_id)
    if sale is None:
        raise NotFound("no open sale on this terminal", field="sale_id")
    return _sale(call, sale)


@routes.get("/sales", "Suspended sales (挂单) waiting to be resumed, or the sale of a receipt number",
            query=SalesQuery)
def list_sales(call: Call):
    if call.query.receipt_no is not None:
        return {"sales": [_sale(call, call.store.sales.by_receipt(call.query.receipt_no))]}
    return {"sales": [_sale(call, s) for s in call.store.sales.suspended()]}


@routes.get("/sales/{sale_id}", "One sale")
def get_sale(call: Call, sale_id: str):
    return _sale(call, call.store.sales.get(sale_id))


class SaleMemberIn(Schema):
    phone: str | None = Field(None, min_length=5, max_length=20)
    code: str | None = Field(None, min_length=1, max_length=32)
    member_id: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_key(self):
        if sum(v is not None for v in (self.phone, self.code, self.member_id)) != 1:
            raise ValueError("give exactly one of phone, code or member_id")
        return self


class ScanIn(Schema):
    code: str = Field(min_length=1, max_length=32, description="what the scanner read")


@routes.post("/sales/{sale_id}/member", "Name the customer's membership on the sale", body=SaleMemberIn,
             durable=False)
def set_member(call: Call, sale_id: str):
    body = call.body
    member = call.store.members.find(phone=body.phone, code=body.code, member_id=body.member_id)
    return _sale(call, call.store.sales.set_member(sale_id, call.caller, member))


@routes.delete("/sales/{sale_id}/member", "Take the member off the sale", durable=False)
def clear_member(call: Call, sale_id: str):
    return _sale(call, call.store.sales.set_member(sale_id, call.caller, None))


@routes.post("/sales/{sale_id}/scan", "A scanner read: a member code names the member, a payment code (付款码) "
             "starts that payment, anything else adds an item", body=ScanIn, durable=False)
def scan(call: Call, sale_id: str):
    outcome = read_scan(call.store, sale_id, call.caller, call.body.code)
    answer = {"kind": outcome.kind, "sale": _sale(call, outcome.sale)}
    if outcome.payment is not None:
        answer["payment"] = call.store.payments.as_dict(outcome.payment)
    if outcome.line is not None:
        answer["line_id"] = outcome.line.id
    return answer


@routes.patch("/sales/{sale_id}", "Name the salesperson (导购)", body=SalePatchIn, durable=False)
def patch_sale(call: Call, sale_id: str):
    return _sale(call, call.store.sales.set_salesperson(sale_id, call.caller, call.body.salesperson_id))


@routes.post("/sales/{sale_id}/lines", "Add an item by barcode or SKU", body=LineIn, status=201, durable=False)
def add_line(call: Call, sale_id: str):
    body = call.body
    line = call.store.sales.add_line(sale_id, call.caller, barcode=body.barcode, sku=body.sku, qty=body.qty,
                                     salesperson_id=body.salesperson_id)
    return _sale(call, line.sale)


@routes.patch("/sales/{sale_id}/lines/{line_id}", "Change quantity, price (approval) or discount",
              body=LinePatchIn, durable=False)
def update_line(call: Call, sale_id: str, line_id: str):
    body = call.body
    line = call.store.sales.update_line(
        sale_id, line_id, call.caller, qty=body.qty, unit_price=body.unit_price,
        discount=body.discount.rule() if body.discount else None, clear_discount=body.clear_discount,
        approval=_approval(body),
    )
    return _sale(call, line.sale)


@routes.delete("/sales/{sale_id}/lines/{line_id}", "Remove a line", durable=False)
def remove_line(call: Call, sale_id: str, line_id: str):
    return _sale(call, call.store.sales.remove_line(sale_id, line_id, call.caller))


@routes.post("/sales/{sale_id}/discount", "Set or clear the whole-sale discount", body=SaleDiscountIn,
             durable=False)
def sale_discount(call: Call, sale_id: str):
    body = call.body
    sale = call.store.sales.set_discount(sale_id, call.caller, body.discount.rule() if body.discount else None,
                                         approval=_approval(body))
    return _sale(call, sale)


@routes.post("/sales/{sale_id}/suspend", "Suspend (挂单)", durable=False)
def suspend(call: Call, sale_id: str):
    return _sale(call, call.store.sales.suspend(sale_id, call.caller))


@routes.post("/sales/{sale_id}/resume", "Resume a suspended sale on this terminal", durable=False)
def resume(call: Call, sale_id: str):
    return _sale(call, call.store.sales.resume(sale_id, call.caller))


@routes.post("/sales/{sale_id}/complete", "Pay and complete", body=CompleteIn)
def complete(call: Call, sale_id: str):
    payments = [p.model_dump() for p in call.body.payments]
    return _sale(call, call.store.sales.complete(sale_id, call.caller, payments))


@routes.post("/sales/{sale_id}/void", "Void an unpaid sale (manager PIN when it has lines)", body=VoidIn)
def void(call: Call, sale_id: str):
    return _sale(call, call.store.sales.void(sale_id, call.caller, call.body.reason, _approval(call.body)))


@routes.post("/refunds", "Refund a completed sale, whole or by line (manager PIN)", body=RefundIn, status=201)
def refund(call: Call):
    body = call.body
    sale_id = body.sale_id or call.store.sales.by_receipt(body.receipt_no).id
    lines = [l.model_dump() for l in body.lines] if body.lines is not None else None
    refund = call.store.refunds.refund(call.caller, sale_id, lines, body.reason, body.to, _approval(body))
    return call.store.refunds.as_dict(refund)


@routes.get("/refunds/{refund_id}", "One refund")
def get_refund(call: Call, refund_id: str):
    return call.store.refunds.as_dict(call.store.refunds.get(refund_id))
