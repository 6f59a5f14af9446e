"""A scanner's read on a sale: one rule for the tablet's request and the lane's own scanner.

A payment code (付款码) starts that payment, a member code names the member,
anything else is an item's barcode (or a scale label).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.payments.codes import provider_of
from edge.sales.models import Sale, SaleLine


@dataclass(frozen=True)
class ScanOutcome:
    kind: str  # payment, member or item
    sale: Sale
    line: SaleLine | None = None
    payment: object | None = None  # the payment attempt a payment code started


def read_scan(app, sale_id: str, caller, code: str, amount: int | None = None) -> ScanOutcome:
    """``amount``: what a payment code pays (part of a split); None pays all that is left."""
    if provider_of(code) is not None:
        attempt = app.payments.start(sale_id, caller, code, amount)
        return ScanOutcome("payment", app.sales.get(sale_id), payment=attempt)
    if app.members.is_member_code(code):
        return ScanOutcome("member", app.sales.set_member(sale_id, caller, app.members.find(code=code)))
    line = app.sales.add_line(sale_id, caller, barcode=code)
    return ScanOutcome("item", line.sale, line=line)
