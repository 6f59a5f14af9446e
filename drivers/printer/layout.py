"""The layout engine: a receipt document → ESC/POS bytes (and the same lines as text).

Every column is measured by East Asian Width (drivers.text), so a line of
可口可乐 lines up with a line of Coca-Cola. Chinese goes out as GB18030 in
the printer's Chinese mode (FS &), or, for a printer without a Chinese
font, as a raster image of the line. QR codes use the printer's own
command (GS ( k), the receipt number a CODE128 barcode (GS k).
"""

from __future__ import annotations

from escpos.printer import Dummy

from drivers import text as t
from drivers.printer.base import PAPER, Rendered
from drivers.printer.document import Receipt, TextPage
from drivers.printer.raster import logo_bytes, raster_bytes, text_image

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01", "right": ESC + b"a\x02"}
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
TALL_ON, TALL_OFF = GS + b"!\x01", GS + b"!\x00"  # double height only: the columns stay as they are
COPY_MARK = "重印"


def drawer_pulse(pin: int = 2, pulse_ms: int = 100) -> bytes:
    """ESC p m t1 t2: the drawer kick on connector pin 2 (m=0) or 5 (m=1), on for pulse_ms, off for as long."""
    if pin not in (2, 5):
        raise ValueError(f"drawer pin must be 2 or 5, not {pin}")
    units = max(1, min(255, pulse_ms // 2))  # the printer counts in 2 ms steps
    return ESC + b"p" + bytes([0 if pin == 2 else 1, units, units])


class Page:
    """Builds one print-out for one paper width and Chinese mode."""

    def __init__(self, paper_mm: int = 80, chinese: str = "gb18030", font_path: str | None = None, logo=None):
        if chinese not in ("gb18030", "raster"):
            raise ValueError(f"chinese must be 'gb18030' or 'raster', not {chinese!r}")
        self.columns, self.dots = PAPER[paper_mm]
        self.chinese = chinese
        self.font_path = font_path
        self.out = bytearray(INIT + (CHINESE_ON if chinese == "gb18030" else b""))
        self.text: list[str] = []
        self.logo = logo

    def print_logo(self) -> None:
        """FS p n 0: the logo kept in the printer's NV memory as image n; or the cached raster of a file."""
        if self.logo is None:
            return
        if isinstance(self.logo, int):
            self.out += ALIGN["center"] + FS + b"p" + bytes([self.logo, 0]) + ALIGN["left"]
        else:
            self.out += logo_bytes(self.logo, self.dots)
        self.text.append("[LOGO]")

    def line(self, content: str = "", align: str = "left", bold: bool = False, tall: bool = False) -> None:
        laid = {"left": t.pad_right, "center": t.center, "right": t.pad_left}[align](content, self.columns).rstrip()
        self.text.append(laid)
        if self.chinese == "raster" and not t.is_ascii(laid):
            self.out += ALIGN["left"] + raster_bytes(text_image(laid, self.dots, self.font_path))
            return
        self.out += (BOLD_ON if bold else b"") + (TALL_ON if tall else b"")
        self.out += laid.encode("gb18030") + b"\n"
        self.out += (TALL_OFF if tall else b"") + (BOLD_OFF if bold else b"")

    def spread(self, left: str, right: str, **style) -> None:
        """left and right on one line, the right end flush; on two lines when they do not fit together."""
        if t.width(left) + 1 + t.width(right) > self.columns:
            self.line(left, **style)
            self.line(right, align="right", **style)
        else:
            self.line(t.spread(left, right, self.columns), **style)

    def rule(self, char: str = "-") -> None:
        self.line(char * self.columns)

    def qr(self, payload: str) -> None:
        self.text.append(f"[QR {payload}]")
        self.out += self._escpos(lambda p: p.qr(payload, native=True, size=6)) + ALIGN["left"]

    def barcode(self, code: str) -> None:
        """CODE128 (code set B) centred, 80 dots tall, the number printed below it (GS H 2)."""
        self.text.append(f"[CODE128 {code}]")
        data = b"{B" + code.encode("ascii")
        self.out += (ALIGN["center"] + GS + b"h\x50" + GS + b"w\x02" + GS + b"H\x02"
                     + GS + b"kI" + bytes([len(data)]) + data + b"\n" + ALIGN["left"])

    def cut(self) -> Rendered:
        self.out += self._escpos(lambda p: p.cut(mode="PART"))
        return Rendered(bytes(self.out), self.text)

    @staticmethod
    def _escpos(command) -> bytes:
        """The bytes python-escpos writes for a command (its own code for QR, barcode and cut)."""
        builder = Dummy()
        command(builder)
        return builder.output


def render(document: Receipt | TextPage, paper_mm: int = 80, chinese: str = "gb18030",
           font_path: str | None = None, logo: int | str | None = None) -> Rendered:
    """``logo``: the NV image number, or an image file's path (receipts only)."""
    page = Page(paper_mm, chinese, font_path, logo)
    if isinstance(document, TextPage):
        _text_page(page, document)
    else:
        _receipt(page, document)
    return page.cut()


def _text_page(page: Page, doc: TextPage) -> None:
    page.line(doc.title, align="center", bold=True)
    page.rule()
    for line in doc.body:
        for part in t.wrap(line, page.columns):
            page.line(part)
    if doc.qr:
        page.qr(doc.qr)
    if doc.barcode:
        page.barcode(doc.barcode)


def _receipt(page: Page, doc: Receipt) -> None:
    page.print_logo()
    page.line(doc.title, align="center", bold=True, tall=True)
    if doc.reprint:
        page.line(f"*** {COPY_MARK} ***", align="center", bold=True)
    for line in doc.header:
        page.line(line, align="center")
    page.spread(f"单号 {doc.receipt_no}", doc.at)
    if doc.cashier or doc.lane:
        page.spread(f"收银员 {doc.cashier or ''}", f"{doc.lane}号机" if doc.lane else "")
    page.rule()
    _lines(page, doc)
    page.rule()
    page.spread("小计", t.money(doc.subtotal))
    for discount in doc.discounts:
        page.spread(discount.label, t.money(-abs(discount.amount)))
    if doc.rounding:
        page.spread("抹零", t.money(doc.rounding))
    page.spread("应付", t.money(doc.total, sign=True), bold=True, tall=True)
    for payment in doc.payments:
        page.spread(payment.label, t.money(payment.amount))
    if doc.change:
        page.spread("找零", t.money(doc.change, sign=True))
    if doc.member is not None:
        _member(page, doc)
    if doc.footer:
        page.rule()
        for line in doc.footer:
            page.line(line, align="center")
    if doc.invoice_url:
        page.line("扫码开具电子发票", align="center")
        page.qr(doc.invoice_url)
    page.barcode(doc.receipt_no)


def _lines(page: Page, doc: Receipt) -> None:
    """Name on its own line when long; quantity, unit price and total in fixed right-aligned columns."""
    qty_w, price_w, total_w = (7, 8, 8) if page.columns < 48 else (8, 10, 10)
    name_w = page.columns - qty_w - price_w - total_w
    page.line(t.pad_right("商品", name_w) + t.pad_left("数量", qty_w) + t.pad_left("单价", price_w)
              + t.pad_left("金额", total_w))
    for line in doc.lines:
        # a quantity wider than its column (99.999kg) pushes the figures left rather than being cut
        own_qty_w = max(qty_w, t.width(line.qty_text) + 1)
        figures = (t.pad_left(line.qty_text, own_qty_w) + t.pad_left(t.money(line.unit_price), price_w)
                   + t.pad_left(t.money(line.total), total_w))
        if t.width(line.name) <= name_w and own_qty_w == qty_w:
            page.line(t.pad_right(line.name, name_w) + figures)
        else:
            for part in t.wrap(line.name, page.columns):
                page.line(part)
            page.line(t.pad_left(figures, page.columns))
        for discount in line.discounts:
            page.spread(f"  {discount.label}", t.money(-abs(discount.amount)))


def _member(page: Page, doc: Receipt) -> None:
    member = doc.member
    page.rule()
    page.spread("会员", f"{member.code}{' ' + member.level if member.level else ''}")
    if member.points_earned is not None:
        page.spread("本次积分", str(member.points_earned))
    if member.points_balance is not None:
        page.spread("积分余额", str(member.points_balance))
    if member.stored_value_balance is not None:
        page.spread("储值余额", t.money(member.stored_value_balance, sign=True))
