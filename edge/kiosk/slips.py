"""The pickup slip a kiosk prints for a gift taken for points: the cashier scans its code at the till."""

from __future__ import annotations

from drivers.printer.document import TextPage


def pickup_slip(app, redemption: dict) -> TextPage:
    """Gift, quantity, points taken and the pickup code, the code also as a barcode (no personal data)."""
    return TextPage(title="积分兑换 礼品领取单", body=[
        app.config.store.name, f"礼品：{redemption['gift']} × {redemption['qty']}",
        f"使用积分：{redemption['points']}", f"领取码：{redemption['code']}",
        "请凭此单到收银台领取礼品"], barcode=redemption["code"])
