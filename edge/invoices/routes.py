"""E-invoice request endpoints, for the kiosk and the cashier's terminal alike."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema

routes = Routes("invoices")
SELF_SERVICE = {"auth": "device", "kinds": ("terminal", "kiosk")}
ReceiptText = Field(min_length=1, max_length=300,
                    description="the receipt's QR code content, or its receipt number typed in")


class InvoiceRequestIn(Schema):
    receipt: str = ReceiptText
    buyer: Literal["company", "personal"] = "company"
    title: str = Field(min_length=1, max_length=100, description="发票抬头: the company's or the person's name")
    taxpayer_id: str | None = Field(None, min_length=1, max_length=30,
                                    description="统一社会信用代码, 18 characters; a company's invoice needs it")
    email: str = Field(min_length=3, max_length=254, description="where HQ sends the invoice")


class ReceiptQuery(Schema):
    receipt: str = ReceiptText


def _shown(call: Call, request) -> dict:
    """A kiosk is a public screen: who asked for an invoice is masked there."""
    return call.store.invoices.as_dict(request, public=call.caller.device.kind == "kiosk")


@routes.post("/invoice-requests", "Ask for an e-invoice for a receipt (sent to HQ)", body=InvoiceRequestIn,
             status=201, **SELF_SERVICE)
def request_invoice(call: Call):
    body = call.body
    request = call.store.invoices.request(call.caller, receipt=body.receipt, buyer=body.buyer, title=body.title,
                                          email=body.email, taxpayer_id_text=body.taxpayer_id)
    return _shown(call, request)


@routes.get("/invoice-requests", "The invoice requests of a receipt and their status from HQ", query=ReceiptQuery,
            **SELF_SERVICE)
def requests_of_receipt(call: Call):
    receipt_no, requests = call.store.invoices.of_receipt(call.query.receipt)
    return {"receipt_no": receipt_no, "requests": [_shown(call, r) for r in requests]}


@routes.get("/invoice-requests/{request_id}", "One invoice request and its status from HQ", **SELF_SERVICE)
def invoice_request(call: Call, request_id: str):
    return _shown(call, call.store.invoices.get(request_id))
