"""The tender registry: how each way of paying is checked, recorded and refunded.

Built in: cash (gives change), bank card and external terminal or QR (each
needs the reference printed by the terminal). The members and scan-to-pay
features add their tenders here (stored value, points, coupons, payment codes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from edge.errors import Conflict, DomainError


@dataclass(frozen=True)
class Tender:
    name: str
    label: str
    gives_change: bool = False
    needs_reference: bool = False
    needs_member: bool = False  # spends a member's own value (points, stored value)
    # The service keeping the value this tender spends (stored value, points, coupons), or None for money.
    # Its take / give_back run inside the sale's / refund's transaction, so a ledger moves with the fact.
    ledger: object | None = None

    def check(self, amount: int, reference: str | None, index: int, member_id: str | None) -> None:
        """Refuse a payment this tender cannot take; field names its place in the list."""
        if self.needs_member and member_id is None:
            raise Conflict(f"paying with {self.label} needs the member on the sale (POST /sales/{{id}}/member)",
                           field=f"payments[{index}].method", code="member_required")
        if self.needs_reference and not (reference and reference.strip()):
            raise DomainError(f"{self.label} payment needs the terminal's reference",
                              field=f"payments[{index}].reference")

    def refund_reference(self, original_reference: str | None) -> str | None:
        """The reference of money going back the way it came."""
        return original_reference

    def take(self, sale, payment: dict, asked: dict, caller) -> None:
        """Once the payment row is written: the ledger debits it (``asked``: the payment as requested)."""
        if self.ledger is not None:
            self.ledger.take(sale, payment, asked, caller)

    def give_back(self, refund, payment: dict, sale, caller) -> None:
        """Once the refund payment row is written: the ledger credits it back."""
        if self.ledger is not None:
            self.ledger.give_back(refund, payment, sale, caller)


class TenderRegistry:
    def __init__(self):
        self._tenders: dict[str, Tender] = {}

    def register(self, tender: Tender) -> None:
        if tender.name in self._tenders:
            raise ValueError(f"tender {tender.name!r} is registered twice")
        self._tenders[tender.name] = tender

    def wrap_ledger(self, name: str, wrap) -> None:
        """Put a guard around a tender's ledger: ``wrap(ledger)`` returns the ledger to use instead."""
        tender = self.get(name)
        self._tenders[name] = replace(tender, ledger=wrap(tender.ledger))

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
