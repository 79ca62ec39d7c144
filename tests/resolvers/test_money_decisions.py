"""The rules of CONTRACT §13 as pure decisions: the ledger rows of captures and refunds,
payout amounts and arrivals, dispute transitions, refunds refused by a dispute. No
database, no settings: `Rules` and the moment come in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ErrorCode, UserError
from core.names import EventType as E
from models.money import BalanceTransaction, Dispute, DisputeStatus, Payout, PayoutStatus
from models.money import TransactionType as T
from models.payment_intents import IntentStatus as S
from models.sql import AddToPending, AddToTotal, Update, hour_of
from resolvers.money import decisions as m
from resolvers.payment_intents import decisions as d
from tests.resolvers.test_decisions import NOW, intent

RULES = m.Rules()


@pytest.fixture(autouse=True, scope="module")
def _models_without_a_database():
    """Relations (merchant_id, payment_intent_id) exist on models once Tortoise knows them;
    no connection is made (the app fixture's Tortoise.init does the same again)."""
    from tortoise import Tortoise

    from models import MODEL_MODULES

    if not Tortoise._inited:
        Tortoise.init_models(MODEL_MODULES, "models")


def rows(change) -> list[tuple]:
    return [(w.type, w.amount, w.fee, w.net, w.available_on) for w in change.writes
            if isinstance(w, BalanceTransaction)]


def totals(change) -> list[int]:
    return [w.net for w in change.writes if isinstance(w, AddToTotal)]


def test_a_capture_books_its_charge_available_after_settlement():
    decided = d.decide_capture(None, timedelta(days=7))(
        intent(S.AUTHORIZED, manual=True, amount_capturable=10_000,
               authorized_at=NOW - timedelta(hours=1)), NOW)
    change = m.book(intent(S.AUTHORIZED), decided, NOW, RULES)
    assert change.fields["fee"] == 320
    assert rows(change) == [(T.CHARGE, 10_000, 320, 9_680, NOW + RULES.settlement_delay)]
    assert totals(change) == [9_680]
    assert "dispute_due_at" not in change.fields


def test_the_dispute_card_schedules_its_dispute_at_capture():
    change = m.book(intent(), d.Change({"status": S.CAPTURED, "amount_captured": 500,
                                        "disputes_on_capture": True}), NOW, RULES)
    assert change.fields["dispute_due_at"] == NOW + RULES.dispute_open_delay


def test_a_refund_books_a_refund_row_at_once():
    decided = d.decide_refund(2_500, None)(intent(S.CAPTURED, amount_captured=10_000), NOW)
    change = m.book(intent(S.CAPTURED), decided, NOW, RULES)
    assert rows(change) == [(T.REFUND, -2_500, 0, -2_500, NOW)]
    refund_row = change.writes[0]
    assert refund_row.refund_id == decided.refund.id and refund_row.payment_intent_id == "pi_test"


def test_other_changes_book_nothing():
    change = m.book(intent(), d.Change({"status": S.CANCELED}), NOW, RULES)
    assert change.writes == []


@pytest.mark.parametrize(("status", "refundable"), [
    (None, True), ("NEEDS_RESPONSE", False), ("UNDER_REVIEW", False), ("LOST", False),
    ("WON", True)])
def test_refunds_and_disputes(status, refundable):
    decide = d.decide_refund(None, None)
    captured = intent(S.CAPTURED, amount_captured=10_000, dispute_status=status)
    if refundable:
        assert decide(captured, NOW).fields["status"] is S.REFUNDED
    else:
        with pytest.raises(UserError) as refused:
            decide(captured, NOW)
        assert refused.value.code is ErrorCode.INVALID_STATE


# (requested, available, has destination, amount or error code)
PAYOUTS = [
    (None, 9_680, True, 9_680),
    (4_000, 9_680, True, 4_000),
    (9_680, 9_680, True, 9_680),
    (9_681, 9_680, True, "INVALID_STATE"),
    (None, 0, True, "INVALID_STATE"),
    (None, -500, True, "INVALID_STATE"),
    (None, 9_680, False, "INVALID_STATE"),
    (0, 9_680, True, "VALIDATION_ERROR"),
    (-1, 9_680, True, "VALIDATION_ERROR"),
]


@pytest.mark.parametrize(("requested", "available", "destination", "expected"), PAYOUTS)
def test_payout_amount(requested, available, destination, expected):
    if isinstance(expected, int):
        assert m.payout_amount(requested, available, destination) == expected
    else:
        with pytest.raises(UserError) as refused:
            m.payout_amount(requested, available, destination)
        assert refused.value.code.value == expected


def test_a_payout_writes_its_payout_row():
    payout, writes = m.new_payout("mer_x", 4_000, "EUR", "3000", False, NOW, RULES)
    assert payout.arrival_date == NOW + RULES.payout_transit
    assert payout.status is PayoutStatus.IN_TRANSIT
    [row, total, bucket] = writes
    assert (row.type, row.amount, row.net, row.payout_id) == (T.PAYOUT, -4_000, -4_000,
                                                              payout.id)
    assert total == AddToTotal("mer_x", "EUR", -4_000)
    assert bucket == AddToPending("mer_x", "EUR", -4_000, available_hour=hour_of(NOW))


@pytest.mark.parametrize(("last4", "status", "back", "event"), [
    ("3000", PayoutStatus.PAID, [], E.PAYOUT_PAID),
    ("0002", PayoutStatus.FAILED, [4_000], E.PAYOUT_FAILED)])
def test_payout_arrival(last4, status, back, event):
    payout, _ = m.new_payout("mer_x", 4_000, "EUR", last4, True, NOW, RULES)
    changes, writes, event_type = m.payout_arrival(payout, NOW)
    assert changes["status"] is status and event_type is event
    assert [w.net for w in writes if isinstance(w, AddToTotal)] == back
    assert changes.get("failure_code") == ("no_account" if back else None)


DUE = NOW - timedelta(seconds=1)


def test_a_dispute_opens_for_what_is_left_with_its_fee():
    disputed = intent(S.PARTIALLY_REFUNDED, amount_captured=10_000, amount_refunded=1_000,
                      dispute_due_at=DUE)
    change = m.decide_open_dispute(RULES)(disputed, NOW)
    assert change.fields == {"dispute_due_at": None, "dispute_status": "NEEDS_RESPONSE"}
    dispute = change.writes[0]
    assert isinstance(dispute, Dispute) and dispute.amount == 9_000
    assert dispute.evidence_due_by == NOW + RULES.dispute_evidence
    assert rows(change) == [(T.DISPUTE, -9_000, 1_500, -10_500, NOW)]
    assert [event for event, _, _ in change.other_events] == [E.DISPUTE_CREATED]


@pytest.mark.parametrize("fields", [
    dict(dispute_due_at=NOW + timedelta(seconds=1)),  # not yet
    dict(dispute_due_at=None),  # opened by another worker
])
def test_no_dispute_before_its_time_or_twice(fields):
    assert m.decide_open_dispute(RULES)(intent(S.CAPTURED, amount_captured=10, **fields),
                                        NOW).fields == {}


def test_a_fully_refunded_payment_has_nothing_to_dispute():
    refunded = intent(S.REFUNDED, amount_captured=10, amount_refunded=10, dispute_due_at=DUE)
    change = m.decide_open_dispute(RULES)(refunded, NOW)
    assert change.fields == {"dispute_due_at": None} and change.writes == []


def dispute(status=DisputeStatus.NEEDS_RESPONSE, **fields) -> Dispute:
    values = dict(id="dp_test", merchant_id="mch_test", payment_intent_id="pi_test",
                  amount=9_000, currency="USD", reason="fraudulent", status=status,
                  evidence=None, evidence_due_by=NOW + timedelta(days=7), review_due_at=None,
                  created_at=NOW - timedelta(hours=1), closed_at=None)
    return Dispute(**{**values, **fields})


def disputed(status: str) -> object:
    return intent(S.CAPTURED, amount_captured=9_000, dispute_status=status)


def updated(change) -> dict:
    [update] = [w for w in change.writes if isinstance(w, Update)]
    return update.changes


def test_evidence_puts_it_under_review():
    change = m.decide_evidence(dispute(), "winning_evidence", RULES)(disputed("NEEDS_RESPONSE"),
                                                                     NOW)
    assert change.fields == {"dispute_status": "UNDER_REVIEW"}
    assert updated(change)["review_due_at"] == NOW + RULES.dispute_review
    assert [event for event, _, _ in change.other_events] == [E.DISPUTE_UPDATED]


@pytest.mark.parametrize("status", ["UNDER_REVIEW", "WON", "LOST"])
def test_only_a_dispute_needing_a_response_is_answered(status):
    for decide in (m.decide_evidence(dispute(), "x", RULES), m.decide_accept(dispute())):
        with pytest.raises(UserError) as refused:
            decide(disputed(status), NOW)
        assert refused.value.code is ErrorCode.INVALID_STATE


def test_accepting_loses():
    change = m.decide_accept(dispute())(disputed("NEEDS_RESPONSE"), NOW)
    assert change.fields == {"dispute_status": "LOST"} and rows(change) == []
    assert updated(change)["closed_at"] == NOW


REVIEWED = dict(status=DisputeStatus.UNDER_REVIEW, review_due_at=DUE)


@pytest.mark.parametrize(("intent_status", "fields", "after", "reversal"), [
    ("UNDER_REVIEW", dict(REVIEWED, evidence="see winning_evidence"), "WON", [9_000]),
    ("UNDER_REVIEW", dict(REVIEWED, evidence="receipt"), "LOST", []),
    ("UNDER_REVIEW", dict(REVIEWED, review_due_at=NOW + timedelta(seconds=1)), None, []),
    ("NEEDS_RESPONSE", dict(evidence_due_by=DUE), "LOST", []),  # no answer in time
    ("NEEDS_RESPONSE", {}, None, []),
    ("WON", dict(REVIEWED, evidence="winning_evidence"), None, []),  # decided already
])
def test_the_issuer_decides(intent_status, fields, after, reversal):
    change = m.decide_issuer(dispute(**fields))(disputed(intent_status), NOW)
    assert change.fields.get("dispute_status") == after
    assert [net for _, _, _, net, _ in rows(change)] == reversal
    if after:
        assert [event for event, _, _ in change.other_events] == [E.DISPUTE_CLOSED]


def test_status_is_available_once_available_on_passes():
    row = m.entry("mer_x", T.CHARGE, 100, 33, "USD", NOW, NOW + timedelta(days=2))
    assert row.net == 67
    assert m.status_at(row, NOW) == "PENDING"
    assert m.status_at(row, NOW + timedelta(days=2)) == "AVAILABLE"


def test_totals_sum_per_currency():
    a = m.entry("mer_x", T.CHARGE, 100, 10, "USD", NOW)
    b = m.entry("mer_x", T.REFUND, -30, 0, "USD", NOW)
    c = m.entry("mer_x", T.CHARGE, 50, 0, "EUR", NOW)
    assert m.with_total([a, b, c])[3:5] == [AddToTotal("mer_x", "USD", 60),
                                            AddToTotal("mer_x", "EUR", 50)]


def test_pending_buckets_sum_per_currency_and_hour_of_availability():
    """One bucket per (merchant, currency, hour availableOn falls in), each the sum of net."""
    later = NOW + timedelta(days=2, minutes=20)
    a = m.entry("mer_x", T.CHARGE, 100, 10, "USD", NOW, later)
    b = m.entry("mer_x", T.CHARGE, 200, 20, "USD", NOW, later + timedelta(minutes=30))
    c = m.entry("mer_x", T.CHARGE, 50, 5, "USD", NOW, later + timedelta(minutes=40))
    d = m.entry("mer_x", T.REFUND, -30, 0, "USD", NOW)
    buckets = [w for w in m.with_total([a, b, c, d]) if isinstance(w, AddToPending)]
    assert sorted((w.available_hour, w.net) for w in buckets) == [
        (NOW, -30), (NOW + timedelta(days=2), 270), (NOW + timedelta(days=2, hours=1), 45)]


def test_moments_are_aware():
    assert NOW.tzinfo is UTC and isinstance(NOW, datetime)
    assert Payout  # the models import cleanly without a database
