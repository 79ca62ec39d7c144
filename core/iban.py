"""Payout destinations: IBANs checked by their ISO 13616 check digits (python-stdnum)."""

from __future__ import annotations

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from core.errors import invalid

FIELD = "payoutDestination"


def checked_iban(value: str) -> str:
    """The IBAN in its compact form (spaces removed, upper case), or VALIDATION_ERROR."""
    try:
        return stdnum_iban.validate(value)
    except ValidationError:
        raise invalid(FIELD, "Not a valid IBAN (check the country, length and check "
                             "digits)") from None


def last4(compact_iban: str) -> str:
    return compact_iban[-4:]
