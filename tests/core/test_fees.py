"""Fees (round half up, never more than captured), IBAN checks and encryption at rest."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from core import crypto, iban
from core.errors import UserError
from core.fees import capture_fee, round_half_up_div

FEES = [  # (captured, bps, fixed, fee)
    (10_000, 290, 30, 320),
    (9_999, 290, 30, 320),  # 289.971 -> 290
    (1, 290, 30, 1),  # at most what was captured
    (50, 100, 0, 1),  # 0.5 rounds up
    (149, 100, 0, 1),  # 1.49 rounds down
    (150, 100, 0, 2),  # 1.5 rounds up
    (99_999_999, 290, 30, 2_900_030),
    (1_000, 0, 0, 0),
]


@pytest.mark.parametrize(("captured", "bps", "fixed", "fee"), FEES)
def test_capture_fee(captured, bps, fixed, fee):
    assert capture_fee(captured, bps, fixed) == fee


def test_round_half_up_is_exact_for_large_integers():
    assert round_half_up_div(10**30 + 5, 10) == 10**29 + 1
    assert round_half_up_div(10**30 + 4, 10) == 10**29


@pytest.mark.parametrize("value", ["GB82 WEST 1234 5698 7654 32", "gb82west12345698765432",
                                   "DE89 3704 0044 0532 0130 00"])
def test_valid_ibans_are_compacted(value):
    assert iban.checked_iban(value) == value.replace(" ", "").upper()


@pytest.mark.parametrize("value", ["GB83 WEST 1234 5698 7654 32", "DE89", "", "not an iban",
                                   "XX89 3704 0044 0532 0130 00"])
def test_invalid_ibans_are_validation_errors(value):
    with pytest.raises(UserError) as refused:
        iban.checked_iban(value)
    assert refused.value.field == ("payoutDestination",)


def test_encryption_round_trips_and_binds_key_and_context():
    stored = crypto.encrypt("key-one", "DE89370400440532013000", "mer_a")
    assert "DE89" not in stored and stored.startswith("v1:")
    assert crypto.decrypt("key-one", stored, "mer_a") == "DE89370400440532013000"
    assert crypto.encrypt("key-one", "x", "mer_a") != crypto.encrypt("key-one", "x", "mer_a")
    for key, context in (("key-two", "mer_a"), ("key-one", "mer_b")):
        with pytest.raises(InvalidTag):
            crypto.decrypt(key, stored, context)
