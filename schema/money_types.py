"""GraphQL types of money after payment (CONTRACT §13): balances, balance transactions,
payouts, disputes, and the loaders of an intent's money."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core.clock import now
from models.money import BalanceTransaction as TransactionModel
from models.money import Dispute as DisputeModel
from models.money import DisputeStatus as _DisputeStatus
from models.money import Payout as PayoutModel
from models.money import PayoutSchedule as _PayoutSchedule
from models.money import PayoutStatus as _PayoutStatus
from models.money import TransactionType as _TransactionType
from resolvers.money import balance
from resolvers.money.decisions import status_at
from schema.context import loader
from schema.enums import documented

BalanceTransactionType = documented(_TransactionType, "BalanceTransactionType", (
    "What moved money, as its ledger row says."), {
    "CHARGE": "A capture: + captured, minus the fee; available after the settlement delay.",
    "REFUND": "A refund: − refunded, at once.",
    "DISPUTE": "A dispute opened: − disputed and the dispute fee, at once.",
    "DISPUTE_REVERSAL": "A dispute won: + disputed, at once (the fee is not returned).",
    "PAYOUT": "A payout created: − paid out, at once.",
    "PAYOUT_FAILURE": "A payout failed: + paid out, at once.",
})
PayoutStatus = documented(_PayoutStatus, "PayoutStatus", "Where a payout stands.", {
    "IN_TRANSIT": "On its way; it lands at arrivalDate.",
    "PAID": "Arrived in the destination account.",
    "FAILED": "Refused by the destination bank (failureCode); the money is back in the "
              "balance (PAYOUT_FAILURE).",
})
PayoutSchedule = documented(_PayoutSchedule, "PayoutSchedule", "When payouts happen.", {
    "AUTOMATIC": "The gateway pays out the whole available balance of each currency every "
                 "payout interval (a day by default).",
    "MANUAL": "Only when asked (createPayout).",
})
DisputeStatus = documented(_DisputeStatus, "DisputeStatus", "Where a dispute stands.", {
    "NEEDS_RESPONSE": "Open: submit evidence or accept it before evidenceDueBy.",
    "UNDER_REVIEW": "Open: evidence submitted, the issuer is deciding.",
    "WON": "Closed in the merchant's favour: the disputed amount came back.",
    "LOST": "Closed against the merchant (accepted, unanswered, or decided so).",
})


@strawberry.type(description="An amount of one currency.")
class Money:
    amount: int = strawberry.field(description="In the currency's minor units; may be "
                                               "negative.")
    currency: str = strawberry.field(description="ISO 4217 code, upper-case.")


@strawberry.type(description="A merchant's money, per currency that has balance transactions. "
                             "available + pending is the sum of net over them.")
class Balance:
    available: list[Money] = strawberry.field(
        description="What may be paid out now (may be negative after refunds and disputes).")
    pending: list[Money] = strawberry.field(
        description="Charges' net not yet settled (availableOn still ahead).")

    @staticmethod
    def of(found: balance.Balance) -> Balance:
        return Balance(available=[Money(amount=a, currency=c) for a, c in found.available],
                       pending=[Money(amount=a, currency=c) for a, c in found.pending])


@strawberry.type(description="One movement of a merchant's money (the ledger): never changed "
                             "after it is written.")
class BalanceTransaction:
    model: strawberry.Private[TransactionModel]

    @staticmethod
    def of(model: TransactionModel) -> BalanceTransaction:
        return BalanceTransaction(model=model)

    @strawberry.field(description="The balance transaction's id (txn_...).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field(description="What moved the money.")
    def type(self) -> BalanceTransactionType:
        return _TransactionType(self.model.type)

    @strawberry.field(description="The gross amount in minor units: positive in, negative out.")
    def amount(self) -> int:
        return self.model.amount

    @strawberry.field(description="What the gateway took, in minor units.")
    def fee(self) -> int:
        return self.model.fee

    @strawberry.field(description="amount − fee: what it does to the balance.")
    def net(self) -> int:
        return self.model.net

    @strawberry.field(description="ISO 4217 code, upper-case.")
    def currency(self) -> str:
        return self.model.currency

    @strawberry.field(description="PENDING until availableOn, AVAILABLE from then on.")
    def status(self) -> str:
        return status_at(self.model, now())

    @strawberry.field(description="When its net counts as available.")
    def available_on(self) -> datetime:
        return self.model.available_on

    @strawberry.field(description="When it was written.")
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="The payment intent it is about (CHARGE, REFUND, DISPUTE, "
                                  "DISPUTE_REVERSAL).")
    def payment_intent_id(self) -> strawberry.ID | None:
        return self.model.payment_intent_id

    @strawberry.field(description="The refund (REFUND).")
    def refund_id(self) -> strawberry.ID | None:
        return self.model.refund_id

    @strawberry.field(description="The dispute (DISPUTE, DISPUTE_REVERSAL).")
    def dispute_id(self) -> strawberry.ID | None:
        return self.model.dispute_id

    @strawberry.field(description="The payout (PAYOUT, PAYOUT_FAILURE).")
    def payout_id(self) -> strawberry.ID | None:
        return self.model.payout_id

    @strawberry.field(description="What it was, for people.")
    def description(self) -> str | None:
        return self.model.description


@strawberry.type(description="Money sent from the balance to the merchant's bank account.")
class Payout:
    model: strawberry.Private[PayoutModel]

    @staticmethod
    def of(model: PayoutModel) -> Payout:
        return Payout(model=model)

    @strawberry.field(description="The payout's id (po_...).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field(description="In minor units.")
    def amount(self) -> int:
        return self.model.amount

    @strawberry.field(description="ISO 4217 code, upper-case.")
    def currency(self) -> str:
        return self.model.currency

    @strawberry.field(description="Where it stands.")
    def status(self) -> PayoutStatus:
        return _PayoutStatus(self.model.status)

    @strawberry.field(description="True when made by the automatic schedule.")
    def automatic(self) -> bool:
        return self.model.automatic

    @strawberry.field(description="The last 4 characters of the destination IBAN.")
    def destination_last4(self) -> str:
        return self.model.destination_last4

    @strawberry.field(description="When it lands (PAID or FAILED): creation + the transit "
                                  "time.")
    def arrival_date(self) -> datetime:
        return self.model.arrival_date

    @strawberry.field(description='Why it failed, e.g. "no_account"; null unless FAILED.')
    def failure_code(self) -> str | None:
        return self.model.failure_code

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.model.created_at


@strawberry.type(description="A cardholder's dispute of a captured payment.")
class Dispute:
    model: strawberry.Private[DisputeModel]

    @staticmethod
    def of(model: DisputeModel) -> Dispute:
        return Dispute(model=model)

    @strawberry.field(description="The dispute's id (dp_...).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field(description="The disputed payment intent.")
    def payment_intent_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.payment_intent_id)

    @strawberry.field(description="Disputed, in minor units: what was captured and not "
                                  "refunded when it opened.")
    def amount(self) -> int:
        return self.model.amount

    @strawberry.field(description="ISO 4217 code, upper-case.")
    def currency(self) -> str:
        return self.model.currency

    @strawberry.field(description='The cardholder\'s reason, e.g. "fraudulent".')
    def reason(self) -> str:
        return self.model.reason

    @strawberry.field(description="Where it stands.")
    def status(self) -> DisputeStatus:
        return _DisputeStatus(self.model.status)

    @strawberry.field(description="The evidence submitted; null before any.")
    def evidence(self) -> str | None:
        return self.model.evidence

    @strawberry.field(description="Respond before this, or the dispute is lost.")
    def evidence_due_by(self) -> datetime:
        return self.model.evidence_due_by

    @strawberry.field(description="When it opened.")
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="When it was won or lost; null while open.")
    def closed_at(self) -> datetime | None:
        return self.model.closed_at


async def intent_transactions(info: Info, intent_id: str) -> list[BalanceTransaction]:
    """One query for the balance transactions of every intent in the response."""
    rows = await loader(info, "balance_transactions", balance.transactions_of).load(intent_id)
    return [BalanceTransaction.of(row) for row in rows]


async def intent_disputes(info: Info, intent_id: str) -> list[Dispute]:
    rows = await loader(info, "disputes", balance.disputes_of).load(intent_id)
    return [Dispute.of(row) for row in rows]
