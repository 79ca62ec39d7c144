"""Currencies (ISO 4217) and amounts in minor units."""

from __future__ import annotations

from copy import copy
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency
from iso4217 import Currency

from core.errors import invalid

MIN_AMOUNT = 1
MAX_AMOUNT = 99_999_999

# The currencies the gateway accepts. Their minor-unit digits come from ISO 4217 (the
# `iso4217` package), which is what amounts in minor units are counted in.
CURRENCIES: frozenset[str] = frozenset({
    "USD", "EUR", "GBP", "MAD", "JPY", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN",
    "CZK", "HUF", "RON", "TRY", "CNY", "HKD", "SGD", "INR", "KRW", "BRL", "MXN", "ZAR", "AED",
    "SAR", "EGP", "NGN", "KES", "TND", "KWD", "BHD", "JOD", "OMR", "XOF", "XAF", "CLP", "VND",
    "ISK", "ILS", "THB", "IDR", "MYR", "PHP",
})


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
    """ISO 4217's minor-unit digits: 2 for USD, 0 for JPY, 3 for KWD."""
    return Currency(code).exponent or 0


def format_amount(minor_units: int, code: str, locale: str = "en") -> str:
    """The amount as a shopper of `locale` reads it, by CLDR rules: '$99.99' in English,
    '99,99 $US' in French, 'US$ 99.99' in Arabic (with Arabic's own marks).

    The decimals are ISO 4217's, not CLDR's: CLDR shows no decimals for a few currencies whose
    ISO minor unit is 2 or 3 (AFN, ALL, IQD, IRR, KPW, LAK, LBP, MGA, MMK, RSD, SOS, SYP, YER;
    none of them accepted today), and an amount counted in ISO minor units must show them all.
    """
    digits = minor_digits(code)
    pattern = copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    value = Decimal(minor_units).scaleb(-digits)
    return format_currency(value, code, format=pattern, locale=locale, currency_digits=False)
