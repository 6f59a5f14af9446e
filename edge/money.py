"""Money is integer fen; these are the only rounding rules.

Every rounding is half-up on exact integers (no floats anywhere):
- weighed goods: price per kg × grams / 1000, half-up to the fen;
- a percent discount: each line's amount × percent / 100, half-up per line;
- an amount spread over lines (a whole-sale amount discount, a refund share):
  largest remainder, so the parts add up exactly to the whole.
"""

from __future__ import annotations

MAX_AMOUNT = 10**10  # ¥100,000,000.00: anything larger is a typo, not a sale


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` so the parts sum exactly to it."""
    weight_sum = sum(weights)
    if not weights:
        return []
    if weight_sum == 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    parts = [total * w // weight_sum for w in weights]
    remainders = sorted(
        range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i)
    )
    for i in remainders[: total - sum(parts)]:
        parts[i] += 1
    return parts


def yuan(fen: int) -> str:
    """Human form for messages and receipts: 1234 → '12.34'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
