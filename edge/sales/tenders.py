"""The tender registry: how each way of paying is checked, recorded and refunded.

Built in: cash (gives change), bank card and external terminal or QR (each
needs the reference printed by the terminal). The members and scan-to-pay
features add their tenders here (stored value, points, coupons, payment codes).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import DomainError


@dataclass(frozen=True)
class Tender:
    name: str
    label: str
    gives_change: bool = False
    needs_reference: bool = False

    def check(self, amount: int, reference: str | None, index: int) -> None:
        """Refuse a payment this tender cannot take; field names its place in the list."""
        if self.needs_reference and not (reference and reference.strip()):
            raise DomainError(f"{self.label} payment needs the terminal's reference",
                              field=f"payments[{index}].reference")

    def refund_reference(self, original_reference: str | None) -> str | None:
        """The reference of money going back the way it came."""
        return original_reference

    def take(self, app, sale, payment: dict, asked: dict, caller) -> None:
        """Inside the sale's transaction, once its payment row is written: a tender that holds value
        (stored value, points, a coupon) debits its ledger here. ``asked`` is the payment as requested."""

    def give_back(self, app, refund, payment: dict, sale, caller) -> None:
        """Inside the refund's transaction, once its refund payment row is written: credit the value back."""


class TenderRegistry:
    def __init__(self):
        self._tenders: dict[str, Tender] = {}

    def register(self, tender: Tender) -> None:
        if tender.name in self._tenders:
            raise ValueError(f"tender {tender.name!r} is registered twice")
        self._tenders[tender.name] = tender

    def get(self, name: str, field: str = "method") -> Tender:
        tender = self._tenders.get(name)
        if tender is None:
            raise DomainError(f"unknown payment method {name!r}; known: {', '.join(sorted(self._tenders))}",
                              field=field)
        return tender

    def names(self) -> list[str]:
        return sorted(self._tenders)


def builtin_tenders() -> TenderRegistry:
    registry = TenderRegistry()
    registry.register(Tender("cash", "现金 cash", gives_change=True))
    registry.register(Tender("card", "银行卡 bank card", needs_reference=True))
    registry.register(Tender("external", "外部终端/扫码 external terminal", needs_reference=True))
    return registry
