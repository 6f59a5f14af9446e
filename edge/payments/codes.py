"""What a scanned payment code (付款码) is: WeChat Pay, Alipay, UnionPay, or none of them.

The providers publish the shapes: WeChat Pay 18 digits starting 10–15;
Alipay 16–24 digits starting 25–30; UnionPay QR 19 digits starting 62.
None of these overlap a product barcode (8, 12, 13 or 14 digits), a member
code (M and 12 digits) or a receipt number (S001-20261123-0042).
"""

from __future__ import annotations

import hashlib

from edge.errors import DomainError

PROVIDERS = ("wechat", "alipay", "unionpay")
LABELS = {"wechat": "微信支付 WeChat Pay", "alipay": "支付宝 Alipay", "unionpay": "银联 UnionPay"}


def provider_of(code: str) -> str | None:
    """The provider whose payment code this is, or None for anything else."""
    if not (isinstance(code, str) and code.isascii() and code.isdigit()):
        return None
    head = int(code[:2])
    if len(code) == 18 and 10 <= head <= 15:
        return "wechat"
    if 16 <= len(code) <= 24 and 25 <= head <= 30:
        return "alipay"
    if len(code) == 19 and head == 62:
        return "unionpay"
    return None


def check_payment_code(code: str, field: str = "code") -> str:
    """The provider of a payment code, or a DomainError saying what the code is not."""
    provider = provider_of(code)
    if provider is None:
        raise DomainError("not a payment code: WeChat Pay is 18 digits starting 10–15, Alipay 16–24 digits "
                          "starting 25–30, UnionPay 19 digits starting 62", field=field, code="not_a_payment_code")
    return provider


def code_fingerprint(code: str) -> str:
    """What the store keeps of a code: enough to refuse it twice, not enough to pay with it."""
    return hashlib.sha256(code.encode()).hexdigest()


def mask_code(code: str) -> str:
    return code[:4] + "*" * (len(code) - 8) + code[-4:]
