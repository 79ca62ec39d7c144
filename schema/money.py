"""Queries and mutations of money after payment (CONTRACT §13)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.money import balance, disputes, payouts
from schema.context import caller_of
from schema.inputs import gateway_input
from schema.money_types import (
    Balance,
    BalanceTransaction,
    BalanceTransactionType,
    Dispute,
    DisputeStatus,
    Payout,
    PayoutStatus,
)
from schema.payloads import UserErrorType, payload
from schema.payment_types import Connection, connection

IDEMPOTENCY = ("1 to 255 characters. The same key with the same arguments within 24 hours "
               "returns the first payout and pays nothing again; with other arguments it is "
               "IDEMPOTENCY_KEY_REUSED.")
USER_ERRORS = "Why the operation was refused; empty when it succeeded."
INPUT = "What to do."
MERCHANT_ID = ("The merchant: required with a user token (OWNER, ADMIN or MANAGER), optional "
               "with an API key (its own merchant).")
FIRST = "How many items, 0 to 100 (else VALIDATION_ERROR)."
AFTER = ("The endCursor of the previous page; a cursor that does not decode is "
         "VALIDATION_ERROR.")
DISPUTE_ID = "The dispute's id."


@gateway_input(description="A payout to make now (createPayout).")
class CreatePayoutInput:
    currency: str = strawberry.field(description="ISO 4217 code of the balance to pay out.")
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required with a user token (OWNER or ADMIN); optional with "
                                  "an API key.")
    amount: int | None = strawberry.field(
        default=None, description="In minor units, 1 up to what is available. Default: all "
                                  "that is available.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@gateway_input(description="Evidence against a dispute (submitDisputeEvidence).")
class SubmitDisputeEvidenceInput:
    id: strawberry.ID = strawberry.field(description=DISPUTE_ID)
    evidence: str = strawberry.field(description="Up to 20,000 characters (line breaks "
                                                 "allowed).")


@gateway_input(description="The dispute to accept (acceptDispute).")
class AcceptDisputeInput:
    id: strawberry.ID = strawberry.field(description=DISPUTE_ID)


@strawberry.type(description="The result of createPayout.")
class PayoutPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    payout: Payout | None = strawberry.field(default=None, description="The new payout.")


@strawberry.type(description="The result of submitDisputeEvidence or acceptDispute.")
class DisputePayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    dispute: Dispute | None = strawberry.field(default=None,
                                               description="The dispute as it now stands.")


@strawberry.type
class MoneyQuery:
    @strawberry.field(description="A merchant's balance per currency: the API key, or OWNER, "
                                  "ADMIN or MANAGER.")
    async def balance(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None,
                                   strawberry.argument(description=MERCHANT_ID)] = None
    ) -> Balance:
        return Balance.of(await balance.balance(await caller_of(info), merchant_id))

    @strawberry.field(description="A merchant's balance transactions (its ledger), newest "
                                  "first: the API key, or OWNER, ADMIN or MANAGER.")
    async def balance_transactions(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None,
                                   strawberry.argument(description=MERCHANT_ID)] = None,
            type: Annotated[BalanceTransactionType | None, strawberry.argument(
                description="Only rows of this type.")] = None,
            payment_intent_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Only rows naming this payment intent.")] = None,
            payout_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Only rows naming this payout.")] = None,
            created_after: Annotated[datetime | None, strawberry.argument(
                description="Only rows created at or after this time (inclusive).")] = None,
            created_before: Annotated[datetime | None, strawberry.argument(
                description="Only rows created before this time (exclusive).")] = None,
            first: Annotated[int, strawberry.argument(description=FIRST)] = 20,
            after: Annotated[str | None, strawberry.argument(description=AFTER)] = None
    ) -> Connection[BalanceTransaction]:
        given = balance.TransactionFilter(type, payment_intent_id, payout_id, created_after,
                                          created_before)
        rows, more = await balance.list_transactions(await caller_of(info), merchant_id, given,
                                                     first, after)
        return Connection(**connection(rows, more, BalanceTransaction.of))

    @strawberry.field(description="A merchant's payouts, newest first: the API key, or OWNER, "
                                  "ADMIN or MANAGER.")
    async def payouts(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None,
                                   strawberry.argument(description=MERCHANT_ID)] = None,
            status: Annotated[PayoutStatus | None, strawberry.argument(
                description="Only payouts in this status.")] = None,
            first: Annotated[int, strawberry.argument(description=FIRST)] = 20,
            after: Annotated[str | None, strawberry.argument(description=AFTER)] = None
    ) -> Connection[Payout]:
        rows, more = await payouts.list_payouts(await caller_of(info), merchant_id, status,
                                                first, after)
        return Connection(**connection(rows, more, Payout.of))

    @strawberry.field(description="A payout; null when you may not see it.")
    async def payout(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description="The payout's id.")]
    ) -> Payout | None:
        model = await payouts.find_payout(await caller_of(info), id)
        return Payout.of(model) if model else None

    @strawberry.field(description="A merchant's disputes, newest first: the API key, or OWNER, "
                                  "ADMIN or MANAGER.")
    async def disputes(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None,
                                   strawberry.argument(description=MERCHANT_ID)] = None,
            status: Annotated[DisputeStatus | None, strawberry.argument(
                description="Only disputes in this status.")] = None,
            first: Annotated[int, strawberry.argument(description=FIRST)] = 20,
            after: Annotated[str | None, strawberry.argument(description=AFTER)] = None
    ) -> Connection[Dispute]:
        rows, more = await disputes.list_disputes(await caller_of(info), merchant_id, status,
                                                  first, after)
        return Connection(**connection(rows, more, Dispute.of))

    @strawberry.field(description="A dispute; null when you may not see it.")
    async def dispute(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description=DISPUTE_ID)]
    ) -> Dispute | None:
        model = await disputes.find_dispute(await caller_of(info), id)
        return Dispute.of(model) if model else None


@strawberry.type
class MoneyMutation:
    @strawberry.mutation(description="Pay out available money now to the payout IBAN. API key, "
                                     "or OWNER or ADMIN. Errors: VALIDATION_ERROR, "
                                     "INVALID_STATE (more than available, nothing available, "
                                     "no destination), NOT_FOUND, IDEMPOTENCY_KEY_REUSED.")
    async def create_payout(
            self, info: Info,
            input: Annotated[CreatePayoutInput, strawberry.argument(description=INPUT)]
    ) -> PayoutPayload:
        action = payouts.create_payout(await caller_of(info), input.merchant_id, input.currency,
                                       input.amount, input.idempotency_key)
        return await payload(PayoutPayload, action, lambda model: {"payout": Payout.of(model)})

    @strawberry.mutation(description="Answer a NEEDS_RESPONSE dispute with evidence "
                                     "(UNDER_REVIEW). API key, or OWNER, ADMIN or MANAGER. "
                                     "Errors: VALIDATION_ERROR, INVALID_STATE, NOT_FOUND.")
    async def submit_dispute_evidence(
            self, info: Info,
            input: Annotated[SubmitDisputeEvidenceInput, strawberry.argument(description=INPUT)]
    ) -> DisputePayload:
        action = disputes.submit_evidence(await caller_of(info), input.id, input.evidence)
        return await payload(DisputePayload, action,
                             lambda model: {"dispute": Dispute.of(model)})

    @strawberry.mutation(description="Accept a NEEDS_RESPONSE dispute: it is LOST. API key, or "
                                     "OWNER, ADMIN or MANAGER. Errors: INVALID_STATE, "
                                     "NOT_FOUND.")
    async def accept_dispute(
            self, info: Info,
            input: Annotated[AcceptDisputeInput, strawberry.argument(description=INPUT)]
    ) -> DisputePayload:
        action = disputes.accept(await caller_of(info), input.id)
        return await payload(DisputePayload, action,
                             lambda model: {"dispute": Dispute.of(model)})
