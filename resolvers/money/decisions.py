"""The rules of money after payment (CONTRACT §13) as pure functions, table-tested without a
database (tests/resolvers/test_money_decisions.py): what a capture or refund writes to the
ledger, how much a payout may take, and how disputes move. No I/O and no settings: the rules'
numbers come in as `Rules`, the moment as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import security
from core.errors import ErrorCode, UserError, invalid
from core.fees import capture_fee
from core.names import EventType
from models.money import (
    BalanceTransaction,
    Dispute,
    DisputeStatus,
    Payout,
    PayoutStatus,
    TransactionType,
)
from models.payment_intents import IntentStatus, PaymentIntent
from models.sql import AddToPending, AddToTotal, Update, hour_of
from resolvers import events
from resolvers.payment_intents.decisions import Change, Decision

WINNING_EVIDENCE = "winning_evidence"
DISPUTE_REASON = "fraudulent"
FAILING_DESTINATION = "0002"  # an IBAN ending so is refused by the (simulated) bank
FAILURE_CODE = "no_account"


@dataclass(frozen=True)
class Rules:
    """The numbers of §13's table (settings), in minor units and seconds."""

    fee_percent_bps: int = 290
    fee_fixed: int = 30
    settlement_delay: timedelta = timedelta(seconds=172800)
    payout_transit: timedelta = timedelta(seconds=86400)
    dispute_fee: int = 1500
    dispute_open_delay: timedelta = timedelta(seconds=60)
    dispute_evidence: timedelta = timedelta(seconds=604800)
    dispute_review: timedelta = timedelta(seconds=3600)


def refuse(message: str) -> UserError:
    return UserError(ErrorCode.INVALID_STATE, message)


def entry(merchant_id: str, kind: TransactionType, amount: int, fee: int, currency: str,
          moment: datetime, available_on: datetime | None = None,
          **ids: Any) -> BalanceTransaction:
    """One ledger row: net = amount − fee, always."""
    return BalanceTransaction(id=security.new_id("txn"), merchant_id=merchant_id, type=kind,
                              amount=amount, fee=fee, net=amount - fee, currency=currency,
                              available_on=available_on or moment, created_at=moment, **ids)


def with_total(rows: list[BalanceTransaction]) -> list[Any]:
    """The rows, one running-total upsert per merchant and currency they touch, and one
    pending-bucket upsert per merchant, currency and hour their `available_on` falls in."""
    totals: dict[tuple[str, str], int] = {}
    pending: dict[tuple[str, str, datetime], int] = {}
    for row in rows:
        key = (row.merchant_id, row.currency)
        totals[key] = totals.get(key, 0) + row.net
        bucket = (*key, hour_of(row.available_on))
        pending[bucket] = pending.get(bucket, 0) + row.net
    return [*rows,
            *(AddToTotal(merchant, currency, net) for (merchant, currency), net in totals.items()),
            *(AddToPending(merchant, currency, net, available_hour=hour)
              for (merchant, currency, hour), net in pending.items())]


def status_at(row: BalanceTransaction, moment: datetime) -> str:
    """AVAILABLE from the moment availableOn passes (computed when read)."""
    return "AVAILABLE" if row.available_on <= moment else "PENDING"


# --- captures and refunds: what the payment engine's changes write to the ledger -----------
def book(intent: PaymentIntent, change: Change, moment: datetime, rules: Rules) -> Change:
    """Add to a payment change the ledger rows it causes: a CHARGE (with the fee, and the
    dispute test card's opening time) for a capture, a REFUND for a refund."""
    rows: list[BalanceTransaction] = []
    fields = change.fields
    if fields.get("status") == IntentStatus.CAPTURED and "amount_captured" in fields:
        captured = fields["amount_captured"]
        fee = capture_fee(captured, rules.fee_percent_bps, rules.fee_fixed)
        fields["fee"] = fee
        rows.append(entry(intent.merchant_id, TransactionType.CHARGE, captured, fee,
                          intent.currency, moment, moment + rules.settlement_delay,
                          payment_intent_id=intent.id))
        if fields.get("disputes_on_capture", intent.disputes_on_capture):
            fields["dispute_due_at"] = moment + rules.dispute_open_delay
    if change.refund is not None:
        rows.append(entry(intent.merchant_id, TransactionType.REFUND, -change.refund.amount, 0,
                          intent.currency, moment, payment_intent_id=intent.id,
                          refund_id=change.refund.id))
    if rows:
        change.writes += with_total(rows)
    return change


# --- payouts --------------------------------------------------------------------------------
def payout_amount(requested: int | None, available: int, has_destination: bool) -> int:
    """How much a payout takes: `requested`, or all that is available."""
    if requested is not None and requested <= 0:
        raise invalid("amount", "amount must be at least 1")
    if not has_destination:
        raise refuse("Set a payout destination (an IBAN) in the merchant's settings first")
    if available <= 0:
        raise refuse("Nothing is available to pay out")
    amount = available if requested is None else requested
    if amount > available:
        raise refuse(f"Cannot pay out {amount}: only {available} is available")
    return amount


def new_payout(merchant_id: str, amount: int, currency: str, last4: str, automatic: bool,
               moment: datetime, rules: Rules) -> tuple[Payout, list[Any]]:
    """The payout and what it writes: its PAYOUT row and the total."""
    payout = Payout(id=security.new_id("po"), merchant_id=merchant_id, amount=amount,
                    currency=currency, status=PayoutStatus.IN_TRANSIT, automatic=automatic,
                    destination_last4=last4, arrival_date=moment + rules.payout_transit,
                    failure_code=None, created_at=moment, updated_at=moment)
    row = entry(merchant_id, TransactionType.PAYOUT, -amount, 0, currency, moment,
                payout_id=payout.id, description="Payout")
    return payout, with_total([row])


def payout_arrival(payout: Payout, moment: datetime) -> tuple[dict[str, Any], list[Any],
                                                             EventType]:
    """What arrival does to an IN_TRANSIT payout: PAID, or FAILED with its money back."""
    if payout.destination_last4 != FAILING_DESTINATION:
        return {"status": PayoutStatus.PAID, "updated_at": moment}, [], EventType.PAYOUT_PAID
    row = entry(payout.merchant_id, TransactionType.PAYOUT_FAILURE, payout.amount, 0,
                payout.currency, moment, payout_id=payout.id, description="Payout failed")
    return ({"status": PayoutStatus.FAILED, "failure_code": FAILURE_CODE, "updated_at": moment},
            with_total([row]), EventType.PAYOUT_FAILED)


# --- disputes: transitions of the intent's row, so refunds serialize with them ----------------
def decide_open_dispute(rules: Rules) -> Decision:
    """The dispute test card's dispute, once its time has come: for what was captured and
    not refunded, with the dispute fee (nothing to dispute: the flag is simply cleared)."""
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        if intent.dispute_due_at is None or moment < intent.dispute_due_at:
            return Change()
        disputed = intent.amount_captured - intent.amount_refunded
        if disputed <= 0 or intent.dispute_status is not None:
            return Change({"dispute_due_at": None})
        dispute = Dispute(id=security.new_id("dp"), merchant_id=intent.merchant_id,
                          payment_intent_id=intent.id, amount=disputed,
                          currency=intent.currency, reason=DISPUTE_REASON,
                          status=DisputeStatus.NEEDS_RESPONSE, evidence=None,
                          evidence_due_by=moment + rules.dispute_evidence, review_due_at=None,
                          created_at=moment, closed_at=None)
        row = entry(intent.merchant_id, TransactionType.DISPUTE, -disputed, rules.dispute_fee,
                    intent.currency, moment, payment_intent_id=intent.id,
                    dispute_id=dispute.id, description="Dispute: fraudulent")
        return Change({"dispute_due_at": None,
                       "dispute_status": DisputeStatus.NEEDS_RESPONSE.value},
                      writes=[dispute, *with_total([row])],
                      other_events=[_event(EventType.DISPUTE_CREATED, dispute)])
    return decide


def _dispute_change(intent: PaymentIntent, dispute: Dispute, changes: dict[str, Any],
                    event_type: EventType, rows: list[BalanceTransaction] | None = None
                    ) -> Change:
    after = replace_dispute(dispute, changes)
    return Change({"dispute_status": after.status.value},
                  writes=[Update(Dispute, dispute.id, changes), *with_total(rows or [])],
                  other_events=[_event(event_type, after)])


def _event(event_type: EventType, dispute: Dispute) -> tuple[EventType, str, dict[str, Any]]:
    return event_type, dispute.id, {"object": events.dispute_snapshot(dispute)}


def replace_dispute(dispute: Dispute, changes: dict[str, Any]) -> Dispute:
    """A copy of the dispute with `changes` (for the event's snapshot)."""
    values = {name: getattr(dispute, name) for name in dispute._meta.fields_map
              if name not in ("merchant", "payment_intent")}
    return Dispute(**{**values, "merchant_id": dispute.merchant_id,
                      "payment_intent_id": dispute.payment_intent_id, **changes})


def _require_needs_response(intent: PaymentIntent) -> None:
    if intent.dispute_status != DisputeStatus.NEEDS_RESPONSE.value:
        raise refuse(f"Only a dispute that NEEDS_RESPONSE can be answered "
                     f"(this one is {intent.dispute_status})")


def decide_evidence(dispute: Dispute, evidence: str, rules: Rules) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        _require_needs_response(intent)
        if moment >= dispute.evidence_due_by:
            raise refuse("The time to respond to this dispute has passed")
        return _dispute_change(intent, dispute, {
            "status": DisputeStatus.UNDER_REVIEW, "evidence": evidence,
            "review_due_at": moment + rules.dispute_review}, EventType.DISPUTE_UPDATED)
    return decide


def _lose(intent: PaymentIntent, dispute: Dispute, moment: datetime) -> Change:
    return _dispute_change(intent, dispute, {"status": DisputeStatus.LOST, "closed_at": moment},
                           EventType.DISPUTE_CLOSED)


def decide_accept(dispute: Dispute) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        _require_needs_response(intent)
        return _lose(intent, dispute, moment)
    return decide


def decide_issuer(dispute: Dispute) -> Decision:
    """The worker's: an UNDER_REVIEW dispute whose review time has passed is decided (the
    evidence names `winning_evidence`: won, with the disputed amount back); a NEEDS_RESPONSE
    one past `evidenceDueBy` is lost. Anything else: no change (another worker did it)."""
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        status = intent.dispute_status
        if status == DisputeStatus.NEEDS_RESPONSE.value and moment >= dispute.evidence_due_by:
            return _lose(intent, dispute, moment)
        if status != DisputeStatus.UNDER_REVIEW.value or dispute.review_due_at is None or \
                moment < dispute.review_due_at:
            return Change()
        if WINNING_EVIDENCE not in (dispute.evidence or ""):
            return _lose(intent, dispute, moment)
        row = entry(intent.merchant_id, TransactionType.DISPUTE_REVERSAL, dispute.amount, 0,
                    dispute.currency, moment, payment_intent_id=intent.id,
                    dispute_id=dispute.id, description="Dispute won")
        return _dispute_change(intent, dispute, {"status": DisputeStatus.WON,
                                                 "closed_at": moment},
                               EventType.DISPUTE_CLOSED, [row])
    return decide

