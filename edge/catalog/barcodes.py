"""What a scanned code means: a product barcode (GTIN) or a scale label.

GTIN check digits come from python-stdnum. UPC-A (12 digits) is stored and
looked up in its EAN-13 form (a leading 0), because scanners send either.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum import ean

from edge.config import VariableBarcodeSection
from edge.errors import DomainError

GTIN_LENGTHS = (8, 12, 13)


def normalize_gtin(code: str, field: str = "barcode") -> str:
    """A valid EAN-13 / EAN-8 / UPC-A in canonical form, or a clear error."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in GTIN_LENGTHS:
        raise DomainError(f"barcode {code!r} must be 8, 12 or 13 digits (EAN-8, UPC-A, EAN-13)", field=field)
    if not ean.is_valid(code):
        raise DomainError(f"barcode {code!r} has a wrong check digit", field=field)
    return "0" + code if len(code) == 12 else code


@dataclass(frozen=True)
class ScaleLabel:
    """An in-store EAN-13 from a scale: which PLU, and its embedded price or weight."""

    plu: str
    kind: str  # 'price' (fen) or 'weight' (grams)
    value: int


def parse_scale_label(code: str, layout: VariableBarcodeSection) -> ScaleLabel | None:
    """The scale label in ``code`` if it has a configured in-store prefix, else None."""
    if len(code) != 13 or not code.isdigit():
        return None
    kind = layout.prefixes.get(code[:2])
    if kind is None:
        return None
    if not ean.is_valid(code):
        raise DomainError(f"scale label {code!r} has a wrong check digit", field="barcode")
    plu = code[2 : 2 + layout.plu_digits]
    value = int(code[2 + layout.plu_digits : 12])
    return ScaleLabel(plu=plu, kind=kind, value=value)


def make_scale_label(prefix: str, plu: str, value: int, layout: VariableBarcodeSection) -> str:
    """The label a scale would print (used by the demo data and the tests)."""
    body = f"{prefix}{plu:0>{layout.plu_digits}}{value:0{layout.value_digits}d}"
    return body + ean.calc_check_digit(body)
