"""Pricing of a cart: pure integer arithmetic, testable on its own.

Order of work, all in fen, half-up (see edge.money):
1. gross per line: unit price × qty (weighed goods: price per kg × grams / 1000),
   or the scale label's printed price;
2. automatic promotions (edge.promotions.engine), or else the cashier's own discount
   on the line: an amount, or a percent of its gross;
3. the whole-sale discount: a percent taken from each line (rounded per line),
   or an amount spread over the lines by largest remainder;
4. the sale total is the sum of the line totals.
Cash rounding (抹零 / 四舍五入到角) applies at payment, to the cash part only.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import DomainError
from edge.money import allocate, round_half_up


@dataclass(frozen=True)
class Discount:
    kind: str  # 'amount' (fen) or 'percent' (whole percent, 1–100)
    value: int

    def off(self, base: int) -> int:
        if self.kind == "percent":
            return round_half_up(base * self.value, 100)
        return self.value


@dataclass
class PricedLine:
    gross: int
    line_discount: int
    sale_discount: int
    promo_discount: int = 0

    @property
    def total(self) -> int:
        return self.gross - self.promo_discount - self.line_discount - self.sale_discount


def line_gross(sold_by: str, unit_price: int, qty: int, label_price: int | None = None) -> int:
    if label_price is not None:
        return label_price
    if sold_by == "weight":
        return round_half_up(unit_price * qty, 1000)
    return unit_price * qty


def price_lines(grosses: list[int], line_discounts: list[Discount | None],
                sale_discount: Discount | None, promo_discounts: list[int] | None = None) -> list[PricedLine]:
    """Apply promotions and line discounts, then the whole-sale one; refuses a discount larger than its base."""
    lines = []
    promos = promo_discounts or [0] * len(grosses)
    for index, (gross, discount, promo) in enumerate(zip(grosses, line_discounts, promos)):
        off = discount.off(gross) if discount else 0
        if off > gross:
            raise DomainError(f"line {index + 1}: discount {off} fen is more than the line's {gross} fen",
                              field="discount.value")
        lines.append(PricedLine(gross=gross, line_discount=off, sale_discount=0, promo_discount=promo))
    if sale_discount is None:
        return lines
    bases = [line.gross - line.promo_discount - line.line_discount for line in lines]
    if sale_discount.kind == "percent":
        shares = [sale_discount.off(base) for base in bases]
    else:
        if sale_discount.value > sum(bases):
            raise DomainError(f"discount {sale_discount.value} fen is more than the sale's {sum(bases)} fen",
                              field="discount.value")
        shares = allocate(sale_discount.value, bases)
    for line, share in zip(lines, shares):
        line.sale_discount = share
    return lines


def included_tax(total: int, rate_bp: int) -> int:
    """The VAT inside a tax-inclusive amount (shelf prices in China include it), half-up to the fen.

    rate_bp is basis points: 1300 = 13 %. tax = total × rate / (1 + rate).
    """
    return round_half_up(total * rate_bp, 10_000 + rate_bp)


def cash_rounding(amount: int, mode: str) -> int:
    """The adjustment (fen, may be negative) that rounds a cash amount due to the 角."""
    if mode == "none":
        return 0
    remainder = amount % 10
    if mode == "floor_jiao":
        return -remainder
    return (10 - remainder) if remainder >= 5 else -remainder
