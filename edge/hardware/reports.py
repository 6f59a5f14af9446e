"""Plain print-outs: shift reports (X while open, Z at close) and paper coupons."""

from __future__ import annotations

from drivers import text as t
from drivers.printer.document import TextPage

TITLES = {"X": "X 报表（班中）", "Z": "Z 报表（交班）"}
MOVED = {"in": "存入", "out": "取出"}


def shift_report_page(app, report: dict, columns: int = 32) -> TextPage:
    def row(label: str, fen: int | None) -> str:
        return t.spread(label, "—" if fen is None else t.money(fen), columns)

    sales, cash, refunds = report["sales"], report["cash"], report["refunds"]
    body = [f"班次 {report['shift_id'][:8]}  {report['lane'] or '-'}号机",
            f"开班 {(report['opened_at'] or '')[:16].replace('T', ' ')}",
            f"交班 {(report['closed_at'] or '')[:16].replace('T', ' ')}" if report["closed_at"] else "",
            t.spread("销售笔数", str(sales["count"]), columns), row("销售额", sales["gross"]),
            row("优惠", -sales["discounts"]), row("实收", sales["net"])]
    body += [row(app.sales.tenders.get(method).label.split(" ")[0], amount)
             for method, amount in sorted(report["tenders"].items())]
    body += [t.spread("退货笔数", str(refunds["count"]), columns), row("退货金额", refunds["total"]),
             t.spread("作废", str(report["voids"]), columns),
             t.spread("开钱箱", str(report["no_sale_opens"]), columns)]
    # each paid-in and paid-out with its reason (clipped to the line), out as a negative amount
    body += [row(f"{MOVED[m['kind']]} {m['reason']}", m["amount"] if m["kind"] == "in" else -m["amount"])
             for m in report["cash_movements"] if m["kind"] in MOVED]
    body += [row("备用金", cash["opening_float"]), row("应有现金", cash["expected"]),
             row("实点现金", cash["counted"]), row("差额", cash["variance"])]
    return TextPage(title=TITLES[report["kind"]], body=[line for line in body if line])


def coupon_page(coupon: dict, definition: dict, store_name: str, columns: int = 32) -> TextPage:
    """A paper coupon: what it takes off, where and until when, and its code as a barcode for the till."""
    if definition["kind"] == "percent":
        left = 100 - definition["value"]  # 10 % off is 9折, 15 % off 85折
        worth = f"{left // 10 if left % 10 == 0 else left}折"
    else:
        worth = f"立减 {t.money(definition['value'], sign=True)}"
    if definition["threshold"]:
        worth = f"满 {t.money(definition['threshold'], sign=True)} {worth}"
    body = [store_name, worth, f"适用：{definition['category'] or '全场'}",
            f"有效期 {definition['valid_from']} 至 {definition['valid_to']}",
            t.spread("券号", coupon["code"], columns), "每券限用一次，不找零不兑现"]
    return TextPage(title=f"优惠券 {definition['name']}", body=body, barcode=coupon["code"])
