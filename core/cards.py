"""Card checks, brands and the test-card simulator (CONTRACT §6).

Nothing here keeps a card number: callers get a `CheckedCard` whose number lives only as long
as the request, and store `brand`, `last4`, expiry and a keyed fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core.errors import invalid
from core.validation import text_problem

FIELD = "card"


@dataclass(frozen=True)
class CheckedCard:
    number: str = field(repr=False)
    brand: str
    exp_month: int
    exp_year: int
    cardholder_name: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class IssuerResponse:
    approved: bool
    code: str
    message: str
    disputed: bool = False  # approved, then disputed by the cardholder (CONTRACT §13)


APPROVED = IssuerResponse(True, "00", "Approved")
DO_NOT_HONOR = IssuerResponse(False, "05", "Your card was declined (do not honor)")

TEST_CARDS: dict[str, IssuerResponse] = {
    "4242424242424242": APPROVED,
    "5555555555554444": APPROVED,
    "4000000000000259": IssuerResponse(True, "00", "Approved", disputed=True),
    "4000000000000002": DO_NOT_HONOR,
    "4000000000009995": IssuerResponse(False, "51", "Your card has insufficient funds"),
    "4000000000000069": IssuerResponse(False, "54", "Your card has expired"),
    "4000000000000127": IssuerResponse(False, "N7", "Your card's security code is incorrect"),
    "4000000000000119": IssuerResponse(False, "96", "A processing error occurred; try again"),
}


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str | None:
    """'visa', 'mastercard', or None for any other network."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(digits[:4] or 0) <= 2720:
        return "mastercard"
    return None


def normalise_number(number: str) -> str:
    return number.replace(" ", "").replace("-", "")


def check_number(number: str) -> tuple[str, str]:
    digits = normalise_number(number)
    if not digits.isdigit() or not digits.isascii():
        raise invalid((FIELD, "number"), "Card number must contain only digits")
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        raise invalid((FIELD, "number"), "Card number is invalid")
    brand = brand_of(digits)
    if brand is None:
        raise invalid((FIELD, "number"), "Only Visa and Mastercard are accepted")
    return digits, brand


def check_expiry(month: int, year: int, today: date) -> tuple[int, int]:
    if not 1 <= month <= 12:
        raise invalid((FIELD, "expMonth"), "Expiry month must be 1 to 12")
    if year < 100:  # a two-digit year, as typed on a card
        year += 2000
    if (year, month) < (today.year, today.month) or year > today.year + 50:
        raise invalid((FIELD, "expYear"), "Card has expired")
    return month, year


def check_cvc(cvc: str) -> None:
    if len(cvc) != 3 or not cvc.isdigit() or not cvc.isascii():
        raise invalid((FIELD, "cvc"), "Security code must be 3 digits")


def check_card(number: str, cardholder_name: str, exp_month: int, exp_year: int, cvc: str,
               today: date) -> CheckedCard:
    """Every check a card passes before the simulator sees it; raises VALIDATION_ERROR."""
    digits, brand = check_number(number)
    name = cardholder_name.strip()
    if not name or len(name) > 100 or text_problem(name):
        raise invalid((FIELD, "cardholderName"), "Enter the name on the card")
    month, year = check_expiry(exp_month, exp_year, today)
    check_cvc(cvc)
    return CheckedCard(number=digits, brand=brand, exp_month=month, exp_year=year,
                       cardholder_name=name)


def simulate_issuer(card: CheckedCard) -> IssuerResponse:
    """The test issuer: listed cards answer as listed, every other valid card `05`."""
    return TEST_CARDS.get(card.number, DO_NOT_HONOR)
