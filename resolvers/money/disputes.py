"""Disputes (CONTRACT §13): opened by the worker for the dispute test card's captures,
answered by the merchant (evidence, or acceptance), decided by the worker.

Every dispute change is a transition of the disputed intent through the payment engine (its
version check, its events): a dispute opening and a refund of the same intent are serialized
on the intent's row, so neither decides on a state the other has changed. Any number of
workers may run the sweeps: the version check lets each change happen once.
"""

from __future__ import annotations

from datetime import datetime

from core import validation
from models.money import Dispute, DisputeStatus
from models.payment_intents import PaymentIntent
from resolvers import dispatch
from resolvers.access import Caller, find_visible, visible
from resolvers.money import decisions
from resolvers.money.balance import READ
from resolvers.money.ledger import rules
from resolvers.paging import merchant_page
from resolvers.payment_intents.decisions import Decision
from resolvers.payment_intents.engine import transition

RESPOND = "disputes:respond"
EVIDENCE_MAX_LENGTH = 20_000
BATCH = 500


async def _answer(caller: Caller, dispute_id: str, decide_for) -> Dispute:
    dispute = await visible(caller, Dispute, dispute_id, RESPOND, "Dispute")
    _, _, event_ids = await transition(dispute.payment_intent_id, decide_for(dispute))
    await dispatch.deliver_events(event_ids)
    return await Dispute.get(id=dispute.id)


async def submit_evidence(caller: Caller, dispute_id: str, evidence: str) -> Dispute:
    evidence = validation.text(evidence, "evidence", max_length=EVIDENCE_MAX_LENGTH)
    return await _answer(caller, dispute_id,
                         lambda dispute: decisions.decide_evidence(dispute, evidence, rules()))


async def accept(caller: Caller, dispute_id: str) -> Dispute:
    return await _answer(caller, dispute_id, decisions.decide_accept)


# --- reads ------------------------------------------------------------------------------------
async def list_disputes(caller: Caller, merchant_id: str | None, status: DisputeStatus | None,
                        first: int, after: str | None) -> tuple[list[Dispute], bool]:
    return await merchant_page(caller, Dispute, merchant_id, READ, first, after, status)


async def find_dispute(caller: Caller, dispute_id: str) -> Dispute | None:
    return await find_visible(caller, Dispute, dispute_id, READ, "Dispute")


# --- the worker's -------------------------------------------------------------------------------
async def _each(intent_ids: list[str], decide_for, moment: datetime) -> list[str]:
    written: list[str] = []
    for intent_id in intent_ids:
        _, _, event_ids = await transition(intent_id, decide_for(intent_id), moment)
        written += event_ids
    return written


async def open_due(moment: datetime, batch: int = BATCH) -> list[str]:
    """Open the disputes whose time has come (the dispute card, DISPUTE_OPEN_DELAY_SECONDS
    after its capture)."""
    intent_ids = await PaymentIntent.filter(  # the partial index of dispute-card intents
        disputes_on_capture=True, dispute_due_at__lte=moment).limit(batch).values_list(
        "id", flat=True)
    decide = decisions.decide_open_dispute(rules())
    return await _each(list(intent_ids), lambda _: decide, moment)


async def decide_due(moment: datetime, batch: int = BATCH) -> list[str]:
    """The issuer's decisions: disputes UNDER_REVIEW past their review time, and disputes
    NEEDS_RESPONSE past `evidenceDueBy` (lost)."""
    reviewed = await Dispute.filter(status=DisputeStatus.UNDER_REVIEW,
                                    review_due_at__lte=moment).limit(batch)
    unanswered = await Dispute.filter(status=DisputeStatus.NEEDS_RESPONSE,
                                      evidence_due_by__lte=moment).limit(batch)
    by_intent = {dispute.payment_intent_id: dispute for dispute in [*reviewed, *unanswered]}
    deciders: dict[str, Decision] = {intent_id: decisions.decide_issuer(dispute)
                                     for intent_id, dispute in by_intent.items()}
    return await _each(list(deciders), deciders.__getitem__, moment)
