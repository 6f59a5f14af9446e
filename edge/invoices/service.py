"""E-invoice requests (电子发票申请): a customer asks for an invoice for a receipt; HQ issues it.

The receipt is named by the content of its QR code (the ``[gateway]
invoice_url`` template filled in with this store, the receipt number and the
total) or by its receipt number typed in. The buyer is a company, with its
taxpayer ID (统一社会信用代码, 18 characters, check character per
GB 32100-2015, checked with python-stdnum), or a person; the invoice goes to
an e-mail address. A receipt has one request at a time: another is taken
only once HQ rejected the last one. The request goes to HQ as the outbox
event ``invoice.requested``; HQ answers with ``invoice.status`` events
(processing, issued, rejected), applied by the sync service.
"""

from __future__ import annotations

import logging
import re
import uuid

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from edge import audit
from edge.db import utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.invoices.models import InvoiceRequest
from edge.members.identity import mask_name
from edge.outbox.events import emit

log = logging.getLogger("storeedge.invoices")

BUYERS = ("company", "personal")
FINAL = ("issued", "rejected")
HQ_STATUSES = ("processing", *FINAL)
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
RECEIPT_NO = re.compile(r"^[A-Za-z0-9-]{1,40}$")
_PLACEHOLDER = re.compile(r"\\\{(store_id|receipt_no|total)\\\}")
_GROUPS = {"store_id": r"(?P<store_id>[A-Za-z0-9_-]+)", "receipt_no": r"(?P<receipt_no>[A-Za-z0-9-]+)",
           "total": r"(?P<total>-?\d+)"}


def mask_email(email: str) -> str:
    """wang.xiaoming@example.com → w***@example.com"""
    local, _, domain = email.partition("@")
    return f"{local[0]}***@{domain}"


def taxpayer_id(text: str | None, field: str = "taxpayer_id") -> str:
    """The 18-character 统一社会信用代码 in its compact form, or a DomainError saying what is wrong."""
    if not text or not text.strip():
        raise DomainError("a company's invoice needs its taxpayer ID (统一社会信用代码)", field=field,
                          code="taxpayer_id_required")
    try:
        return uscc.validate(text.upper())
    except InvalidLength:
        raise DomainError("a taxpayer ID (统一社会信用代码) has 18 characters", field=field,
                          code="invalid_taxpayer_id") from None
    except InvalidChecksum:
        raise DomainError("this taxpayer ID's check character is wrong: please check each character",
                          field=field, code="invalid_taxpayer_id") from None
    except ValidationError:
        raise DomainError("a taxpayer ID is 8 digits then 10 digits or capital letters (no I, O, S, V, Z)",
                          field=field, code="invalid_taxpayer_id") from None


class InvoicesService:
    def __init__(self, app):
        self.app = app

    # -- which receipt ------------------------------------------------------------------

    def receipt_no(self, text: str, field: str = "receipt") -> tuple[str, int | None]:
        """The receipt number (and the total when a QR code carries one) from a scanned QR code or typed text."""
        text = (text or "").strip()
        template = self.app.config.gateway.invoice_url
        if "://" in text:
            if template is None:
                raise DomainError("this store prints no invoice QR code: type the receipt number", field=field,
                                  code="invalid_receipt")
            pattern = _PLACEHOLDER.sub(lambda m: _GROUPS[m.group(1)], re.escape(template))
            match = re.fullmatch(pattern, text)
            if match is None:
                raise DomainError("this QR code is not one of our receipts' invoice codes", field=field,
                                  code="invalid_receipt")
            found = match.groupdict()
            if found.get("store_id", self.app.config.store.id) != self.app.config.store.id:
                raise DomainError(f"this receipt is from store {found['store_id']}: ask for the invoice there",
                                  field=field, code="other_store")
            total = int(found["total"]) if found.get("total") is not None else None
            return found["receipt_no"], total
        if not RECEIPT_NO.match(text):
            raise DomainError("type the receipt number as printed (for example S001-20261123-0042)", field=field,
                              code="invalid_receipt")
        return text.upper(), None

    def sale_of(self, text: str, field: str = "receipt"):
        number, total = self.receipt_no(text, field)
        try:
            sale = self.app.sales.by_receipt(number)
        except NotFound:
            raise NotFound(f"no sale with receipt number {number} at this store", field=field) from None
        if total is not None and total != sale.total:
            raise DomainError("this QR code's total is not the receipt's: it was not printed here", field=field,
                              code="invalid_receipt")
        if sale.status != "completed":
            raise Conflict(f"sale {number} is {sale.status}", field=field, code=f"sale_{sale.status}")
        return sale

    # -- requesting ---------------------------------------------------------------------

    def request(self, caller, *, receipt: str, buyer: str, title: str, email: str,
                taxpayer_id_text: str | None = None) -> InvoiceRequest:
        """Check everything, then record the request and its invoice.requested event in one transaction."""
        if buyer not in BUYERS:
            raise DomainError(f"buyer must be one of {', '.join(BUYERS)}", field="buyer")
        title = (title or "").strip()
        if not title:
            raise DomainError("the invoice title (抬头) must not be blank", field="title")
        if buyer == "company":
            tax_id = taxpayer_id(taxpayer_id_text)
        elif taxpayer_id_text:
            raise DomainError("a personal invoice has no taxpayer ID: leave it out or choose company",
                              field="taxpayer_id")
        else:
            tax_id = None
        email = (email or "").strip()
        if len(email) > 254 or not EMAIL.match(email):
            raise DomainError("the e-mail address is not valid (name@example.com)", field="email",
                              code="invalid_email")
        channel = "kiosk" if caller.device is not None and caller.device.kind == "kiosk" else "pos"
        with self.app.db.transaction():
            sale = self.sale_of(receipt)
            open_one = InvoiceRequest.select().where(
                (InvoiceRequest.sale_id == sale.id) & (InvoiceRequest.status != "rejected")).first()
            if open_one is not None:
                raise Conflict(f"an invoice for receipt {sale.receipt_no} was already requested "
                               f"({open_one.status}); a new request is taken only if HQ rejects it",
                               field="receipt", code="invoice_already_requested")
            now = utc_now()
            shown = self.app.sales.as_dict(sale)
            request = InvoiceRequest.create(
                id=str(uuid.uuid4()), sale_id=sale.id, receipt_no=sale.receipt_no, amount=sale.total + sale.rounding,
                buyer=buyer, title=title, taxpayer_id=tax_id, email=email, channel=channel,
                device_id=caller.device_id, status="requested", requested_at=now, updated_at=now)
            emit("invoice.requested", {
                "id": request.id, "store_id": self.app.config.store.id, "sale_id": sale.id,
                "receipt_no": sale.receipt_no, "business_date": sale.business_date, "completed_at": sale.completed_at,
                "amount": request.amount, "tax_total": shown["tax_total"],
                "lines": [{"sku": line["sku"], "name": line["name"], "qty": line["qty"], "sold_by": line["sold_by"],
                           "total": line["total"], "tax_rate": line["tax_rate"], "tax": line["tax"]}
                          for line in shown["lines"]],
                "buyer": buyer, "title": title, "taxpayer_id": tax_id, "email": email, "channel": channel,
                "requested_at": now})
            audit.record("invoice.requested", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="invoice_request", entity_id=request.id,
                         data={"receipt_no": sale.receipt_no, "buyer": buyer, "channel": channel,
                               "email": mask_email(email)})
        return request

    # -- reading --------------------------------------------------------------------------

    def get(self, request_id: str) -> InvoiceRequest:
        request = InvoiceRequest.get_or_none(InvoiceRequest.id == request_id)
        if request is None:
            raise NotFound(f"no invoice request {request_id}", field="request_id")
        return request

    def of_receipt(self, receipt: str) -> tuple[str, list[InvoiceRequest]]:
        sale = self.sale_of(receipt)
        return sale.receipt_no, list(InvoiceRequest.select().where(InvoiceRequest.sale_id == sale.id).order_by(
            InvoiceRequest.requested_at.desc(), InvoiceRequest.id))

    @staticmethod
    def as_dict(request: InvoiceRequest, public: bool = False) -> dict:
        """As a screen shows it: the e-mail address masked; on a public screen (the kiosk, where receipt numbers
        can be guessed) the title and taxpayer ID too."""
        title, tax_id = request.title, request.taxpayer_id
        if public:
            title = mask_name(title)
            tax_id = tax_id and tax_id[:4] + "*" * 10 + tax_id[-4:]
        return {"id": request.id, "receipt_no": request.receipt_no, "amount": request.amount, "buyer": request.buyer,
                "title": title, "taxpayer_id": tax_id, "email_masked": mask_email(request.email),
                "channel": request.channel, "status": request.status, "reason": request.reason,
                "invoice_no": request.invoice_no, "requested_at": request.requested_at,
                "updated_at": request.updated_at}

    # -- HQ's answer ----------------------------------------------------------------------

    def apply_status(self, data: dict) -> bool:
        """An invoice.status event from HQ, inside the sync transaction; True when it changed the request.

        Idempotent: the same status again changes nothing, and a final status (issued, rejected) is never
        moved by a late 'processing'."""
        if data.get("store_id") != self.app.config.store.id:
            return False  # another store's invoice
        status = data.get("status")
        if status not in HQ_STATUSES:
            log.error("HQ sent invoice status %r for %s; not applied", status, data.get("request_id"))
            return False
        request = InvoiceRequest.get_or_none(InvoiceRequest.id == data.get("request_id"))
        if request is None:
            log.error("HQ sent a status for invoice request %s, unknown here", data.get("request_id"))
            return False
        if request.status in FINAL or request.status == status:
            return False
        request.status, request.updated_at = status, utc_now()
        request.reason = data.get("reason")
        request.invoice_no = data.get("invoice_no")
        request.save()
        audit.record("invoice.status", entity="invoice_request", entity_id=request.id,
                     data={"receipt_no": request.receipt_no, "status": status, "reason": request.reason,
                           "invoice_no": request.invoice_no})
        return True
