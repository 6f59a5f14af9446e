"""A completed sale as a receipt document (drivers.printer.document.Receipt), taken at the moment of sale."""

from __future__ import annotations

from drivers.printer.document import Receipt

DISCOUNT_LABELS = {"percent": "折扣", "amount": "优惠", "price": "改价"}


def qty_text(line) -> str:
    return f"{line.qty / 1000:.3f}kg" if line.sold_by == "weight" else str(line.qty)


def tender_label(app, method: str) -> str:
    """The Chinese part of a tender's label ('现金 cash' → '现金'), which is what a receipt shows."""
    return app.sales.tenders.get(method).label.split(" ")[0]


def receipt_for(app, sale, lines, payments, reprint: bool = False) -> Receipt:
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
        title=store.name, receipt_no=sale.receipt_no, at=(sale.completed_at or "")[:19].replace("T", " "),
        lane=sale.lane, lines=printed_lines,
        discounts=[{"label": "整单优惠", "amount": sale_discount}] if sale_discount else [],
        subtotal=sale.subtotal, total=sale.total + sale.rounding, rounding=sale.rounding,
        payments=[{"label": tender_label(app, p["method"]), "amount": p["tendered"]} for p in payments],
        change=sale.change, member=member, footer=["谢谢惠顾，欢迎再次光临"],
        invoice_url=_invoice_url(app, sale),
        reprint=reprint,
    )


def _invoice_url(app, sale) -> str | None:
    template = app.config.gateway.invoice_url
    if template is None:
        return None
    return template.format(store_id=app.config.store.id, receipt_no=sale.receipt_no, total=sale.total)
