"""Member identifiers: mainland mobile numbers, member codes, and masking.

Phone numbers are checked with phonenumbers (Google's libphonenumber data),
not a pattern of our own: number ranges change as carriers are licensed.
Member codes are "M" and 12 digits, the last a Luhn check digit, so a
scanner's read is told from a product's GTIN (digits only) and a mistyped
code is caught before any lookup.
"""

from __future__ import annotations

import secrets

import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum import luhn

from edge.errors import DomainError

CODE_PREFIX = "M"
CODE_DIGITS = 12
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def mainland_mobile(text: str, field: str = "phone") -> str:
    """The 11-digit national form of a mainland China mobile number, or a DomainError naming why not."""
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise DomainError(f"{text!r} is not a phone number", field=field, code="invalid_phone") from None
    if number.country_code != 86:
        raise DomainError("only mainland China mobile numbers (+86) can register", field=field,
                          code="invalid_phone")
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise DomainError(f"{text!r} is not a valid mainland mobile number", field=field, code="invalid_phone")
    return str(number.national_number)


def new_member_code() -> str:
    body = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS - 1))
    return CODE_PREFIX + body + luhn.calc_check_digit(body)


def looks_like_member_code(code: str) -> bool:
    """True for what a member card or screen carries, whether or not its check digit is right."""
    return len(code) == CODE_DIGITS + 1 and code[0] in "Mm" and code[1:].isdigit()


def check_member_code(code: str, field: str = "code") -> str:
    if not looks_like_member_code(code) or not luhn.is_valid(code[1:]):
        raise DomainError(f"{code!r} is not a member code (M and 12 digits with a valid check digit)",
                          field=field, code="invalid_member_code")
    return CODE_PREFIX + code[1:]


def mask_phone(phone: str | None) -> str | None:
    return None if phone is None else phone[:3] + "****" + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """王小明 → 王**: enough for the cashier to greet, no more."""
    return None if not name else name[0] + "*" * (len(name) - 1)
