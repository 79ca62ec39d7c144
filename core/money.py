"""Currencies (ISO 4217) and amounts in minor units."""

from __future__ import annotations

from core.errors import invalid

MIN_AMOUNT = 1
MAX_AMOUNT = 99_999_999

# code: (minor-unit digits, symbol used on the checkout page)
CURRENCIES: dict[str, tuple[int, str]] = {
    "USD": (2, "$"), "EUR": (2, "€"), "GBP": (2, "£"), "MAD": (2, "MAD "), "JPY": (0, "¥"),
    "CAD": (2, "CA$"), "AUD": (2, "A$"), "NZD": (2, "NZ$"), "CHF": (2, "CHF "),
    "SEK": (2, "SEK "), "NOK": (2, "NOK "), "DKK": (2, "DKK "), "PLN": (2, "PLN "),
    "CZK": (2, "CZK "), "HUF": (2, "HUF "), "RON": (2, "RON "), "TRY": (2, "TRY "),
    "CNY": (2, "CN¥"), "HKD": (2, "HK$"), "SGD": (2, "SGD "), "INR": (2, "₹"),
    "KRW": (0, "₩"), "BRL": (2, "R$"), "MXN": (2, "MX$"), "ZAR": (2, "ZAR "),
    "AED": (2, "AED "), "SAR": (2, "SAR "), "EGP": (2, "EGP "), "NGN": (2, "NGN "),
    "KES": (2, "KES "), "TND": (3, "TND "), "KWD": (3, "KWD "), "BHD": (3, "BHD "),
    "JOD": (3, "JOD "), "OMR": (3, "OMR "), "XOF": (0, "CFA "), "XAF": (0, "FCFA "),
    "CLP": (0, "CLP "), "VND": (0, "₫"), "ISK": (0, "ISK "), "ILS": (2, "₪"),
    "THB": (2, "THB "), "IDR": (2, "IDR "), "MYR": (2, "RM"), "PHP": (2, "₱"),
}


def currency(value: str, field: str = "currency") -> str:
    """An upper-case supported ISO 4217 code."""
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise invalid(field, f"Unsupported currency {value.strip()[:8]!r}")
    return code


def amount(value: int, field: str = "amount") -> int:
    if not MIN_AMOUNT <= value <= MAX_AMOUNT:
        raise invalid(field, f"Amount must be between {MIN_AMOUNT} and {MAX_AMOUNT} minor units")
    return value


def positive_amount(value: int, field: str = "amount") -> int:
    """A capture or refund amount; whether enough is left is the state machine's call."""
    if value < MIN_AMOUNT:
        raise invalid(field, "Amount must be at least 1")
    return value


def minor_digits(code: str) -> int:
    return CURRENCIES[code][0]


def format_amount(minor_units: int, code: str) -> str:
    """'$99.99', '¥500', 'MAD 12.50': the amount as a shopper reads it."""
    digits, symbol = CURRENCIES[code]
    whole, fraction = divmod(minor_units, 10**digits)
    return f"{symbol}{whole:,}" + (f".{fraction:0{digits}d}" if digits else "")
