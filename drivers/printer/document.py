"""A print-out as data: what goes on a receipt, independent of the printer that prints it.

Money in fen. Web builds these (a completed sale, a reprint, a test page);
the gateway renders them for the printer it has (paper width, Chinese font
or raster).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amount(Strict):
    label: str
    amount: int


class ReceiptLine(Strict):
    name: str
    qty_text: str = Field(description="as printed: '2', '0.535kg'")
    unit_price: int
    total: int
    discounts: list[Amount] = Field(default_factory=list)


class MemberPart(Strict):
    code: str
    level: str | None = None
    points_earned: int | None = None
    points_balance: int | None = None
    stored_value_balance: int | None = None


class Receipt(Strict):
    kind: str = "receipt"
    title: str
    header: list[str] = Field(default_factory=list)
    receipt_no: str
    at: str
    cashier: str | None = None
    lane: int | None = None
    lines: list[ReceiptLine] = Field(default_factory=list)
    discounts: list[Amount] = Field(default_factory=list, description="whole-sale discounts")
    subtotal: int = 0
    total: int = 0
    rounding: int = 0
    payments: list[Amount] = Field(default_factory=list)
    change: int = 0
    member: MemberPart | None = None
    footer: list[str] = Field(default_factory=list)
    invoice_url: str | None = Field(None, description="the e-invoice request, printed as a native QR code")
    reprint: bool = Field(False, description="a copy printed again, marked 重印")


class TextPage(Strict):
    """A plain print-out: a test page, a shift report, a coupon."""

    kind: str = "text"
    title: str
    body: list[str] = Field(default_factory=list)
    qr: str | None = None
    barcode: str | None = Field(None, description="printed as CODE128 under the body (a coupon's code)")
