"""A completed sale as a receipt document (drivers.printer.document.Receipt), taken at the moment of sale."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from drivers.printer.document import Receipt
from edge.db import Prepared
from edge.staff.models import Staff

_STAFF_NAME = Prepared(Staff.select(Staff.id, Staff.name).where(Staff.id == Prepared.arg(0)))

DISCOUNT_LABELS = {"percent": "折扣", "amount": "优惠", "price": "改价"}


def qty_text(line) -> str:
    return f"{line.qty / 1000:.3f}kg" if line.sold_by == "weight" else str(line.qty)


def tender_label(app, method: str) -> str:
    """The Chinese part of a tender's label ('现金 cash' → '现金'), which is what a receipt shows."""
    return app.sales.tenders.get(method).label.split(" ")[0]


def receipt_for(app, sale, lines, payments, reprint: bool = False, notes: list[str] = ()) -> Receipt:
    """The receipt; ``notes`` (messages for the member) print above the thanks."""
    store = app.config.store
    printed_lines = [{
        "name": line.name, "qty_text": qty_text(line), "unit_price": line.unit_price, "total": line.gross,
        "discounts": ([{"label": DISCOUNT_LABELS.get(line.discount_kind, "优惠"), "amount": line.line_discount}]
                      if line.line_discount else []),
    } for line in lines]
    sale_discount = sum(line.sale_discount for line in lines)
    member = None
    if sale.member_id is not None:
        from edge.members.models import Member

        found = Member.get_by_id(sale.member_id)
        member = {"code": found.code, "points_balance": app.points.balance(sale.member_id),
                  "stored_value_balance": app.stored_value.balance(sale.member_id).total}
    return Receipt(
        title=store.name, receipt_no=sale.receipt_no, at=_local_time(sale.completed_at, store.timezone),
        cashier=_cashier_name(sale.cashier_id), lane=sale.lane, lines=printed_lines,
        discounts=[{"label": "整单优惠", "amount": sale_discount}] if sale_discount else [],
        subtotal=sale.subtotal, total=sale.total + sale.rounding, rounding=sale.rounding,
        payments=[{"label": tender_label(app, p["method"]), "amount": p["tendered"]} for p in payments],
        change=sale.change, member=member, footer=[*notes, "谢谢惠顾，欢迎再次光临"],
        invoice_url=_invoice_url(app, sale),
        reprint=reprint,
    )


def _invoice_url(app, sale) -> str | None:
    template = app.config.gateway.invoice_url
    if template is None:
        return None
    return template.format(store_id=app.config.store.id, receipt_no=sale.receipt_no, total=sale.total)


def _local_time(stamp: str | None, timezone: str) -> str:
    """The shop's wall clock (timestamps are stored in UTC)."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _cashier_name(staff_id: int | None) -> str | None:
    staff = _STAFF_NAME.first(staff_id) if staff_id is not None else None
    return staff.name if staff else None
