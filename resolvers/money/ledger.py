"""The ledger's link to the payment engine and to the settings: every capture and refund
the engine writes carries its balance transactions (`book`), in the same statement."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config import Settings, get_settings
from models.money import BalancePending
from models.payment_intents import PaymentIntent
from models.sql import hour_of
from resolvers.money import decisions
from resolvers.payment_intents.decisions import Change


def rules(settings: Settings | None = None) -> decisions.Rules:
    """§13's numbers from the settings."""
    s = settings or get_settings()
    return decisions.Rules(
        fee_percent_bps=s.fee_percent_bps, fee_fixed=s.fee_fixed,
        settlement_delay=timedelta(seconds=s.settlement_delay_seconds),
        payout_transit=timedelta(seconds=s.payout_transit_seconds), dispute_fee=s.dispute_fee,
        dispute_open_delay=timedelta(seconds=s.dispute_open_delay_seconds),
        dispute_evidence=timedelta(seconds=s.dispute_evidence_seconds),
        dispute_review=timedelta(seconds=s.dispute_review_seconds))


def book(intent: PaymentIntent, change: Change, moment: datetime) -> Change:
    return decisions.book(intent, change, moment, rules())


async def forget_past_buckets(moment: datetime) -> int:
    """Delete the pending buckets of hours before the current one: pending is read from the
    buckets after the current hour only, so these are never read again (one per merchant,
    currency and hour with money settling would otherwise pile up). A late write to a past
    hour's bucket makes it again, for the next sweep to delete."""
    return await BalancePending.filter(available_hour__lt=hour_of(moment)).delete()
