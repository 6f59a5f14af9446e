"""HQ's answer to a store's e-invoice request: the status recorded at HQ and sent to the store, in one transaction.

The status travels as an ``invoice.status`` event in a broadcast (the next
hq_seq), the way HQ sends everything the stores must not miss: a store that
is away gets it on its resend request after the gap, and applies it once by
the event's id (edge/sync/apply.py, edge/invoices/service.py). The event
names its store in ``data.store_id``; the other stores skip it. A final
status (issued, rejected) is never changed, at HQ or at the store.
"""

from __future__ import annotations

import uuid

from edge.db import utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.hq.models import InvoiceRequest, add_broadcast, transaction

STATUSES = ("processing", "issued", "rejected")
FINAL = ("issued", "rejected")


def set_status(request_id: str, status: str, invoice_no: str | None = None, reason: str | None = None) -> dict:
    """Record ``status`` for the request and queue it for its store; what was done.

    The same status given again (a script's retry) changes nothing and sends nothing.
    """
    invoice_no, reason = (invoice_no or "").strip() or None, (reason or "").strip() or None
    if status not in STATUSES:
        raise DomainError(f"status must be one of {', '.join(STATUSES)}, got {status!r}", field="status")
    if status == "issued" and invoice_no is None:
        raise DomainError("an issued invoice needs its number", field="invoice_no")
    if status != "issued" and invoice_no is not None:
        raise DomainError(f"only an issued invoice has a number, not a {status} one", field="invoice_no")
    if status == "rejected" and reason is None:
        raise DomainError("a rejection needs its reason, for the customer", field="reason")
    with transaction():
        request = InvoiceRequest.get_or_none(InvoiceRequest.id == request_id)
        if request is None:
            raise NotFound(f"no invoice request {request_id} at HQ (has its store's event arrived?)",
                           field="request_id")
        if (request.status, request.invoice_no, request.reason) == (status, invoice_no, reason):
            return as_dict(request) | {"changed": False, "hq_seq": None}
        if request.status in FINAL:
            raise Conflict(f"invoice request {request_id} is {request.status} already; a final status stays",
                           field="status", code="invoice_final")
        now = utc_now()
        # conditional on the status read above: another HQ command that got there first wins, this one is refused
        if not InvoiceRequest.update(status=status, invoice_no=invoice_no, reason=reason, updated_at=now).where(
                (InvoiceRequest.id == request_id) & (InvoiceRequest.status == request.status)).execute():
            raise Conflict(f"invoice request {request_id} changed meanwhile: look again", field="status",
                           code="invoice_changed")
        event = {"id": str(uuid.uuid4()), "type": "invoice.status", "at": now, "store_id": None,
                 "data": {"request_id": request_id, "store_id": request.store_id, "status": status,
                          "invoice_no": invoice_no, "reason": reason, "at": now}}
        hq_seq = add_broadcast([event], now)
        return as_dict(InvoiceRequest.get_by_id(request_id)) | {"changed": True, "hq_seq": hq_seq}


def requests(store_id: str | None = None, status: str | None = None) -> list[dict]:
    query = InvoiceRequest.select().order_by(InvoiceRequest.requested_at, InvoiceRequest.id)
    if store_id:
        query = query.where(InvoiceRequest.store_id == store_id)
    if status:
        query = query.where(InvoiceRequest.status == status)
    return [as_dict(request) for request in query]


def as_dict(request: InvoiceRequest) -> dict:
    return {"id": request.id, "store_id": request.store_id, "receipt_no": request.receipt_no,
            "amount": request.amount, "buyer": request.buyer, "title": request.title,
            "taxpayer_id": request.taxpayer_id, "email": request.email, "channel": request.channel,
            "requested_at": request.requested_at, "status": request.status, "invoice_no": request.invoice_no,
            "reason": request.reason, "updated_at": request.updated_at}
