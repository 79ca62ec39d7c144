"""The fee of a capture (CONTRACT §13): exact integer arithmetic in minor units."""

from __future__ import annotations


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers (no floats)."""
    return (2 * numerator + denominator) // (2 * denominator)


def capture_fee(captured: int, percent_bps: int, fixed: int) -> int:
    """round-half-up(captured × bps / 10000) + fixed, never more than what was captured."""
    return min(captured, round_half_up_div(captured * percent_bps, 10_000) + fixed)
