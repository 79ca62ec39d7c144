"""The state machine of CONTRACT §6, one row per line of its table, and every refusal.

Pure decisions: no database, no settings, no clock but the moment passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import cards, limits
from core.errors import ErrorCode, UserError
from core.names import EventType as E
from models.payment_intents import CaptureMethod, PaymentIntent
from models.payment_intents import IntentStatus as S
from resolvers.payment_intents import decisions as d

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LIFETIME = timedelta(days=7)
SECRET = "pi_secret_" + "s" * 32
TODAY = NOW.date()


def intent(status: S = S.AWAITING_PAYMENT_METHOD, *, manual: bool = False,
           **fields) -> PaymentIntent:
    values = dict(id="pi_test", merchant_id="mch_test", amount=10_000, currency="USD",
                  capture_method=CaptureMethod.MANUAL if manual else CaptureMethod.AUTOMATIC,
                  success_url="https://shop.test/ok", client_secret=SECRET,
                  expires_at=NOW + timedelta(hours=1), created_at=NOW - timedelta(minutes=1),
                  status=status, attempt_count=0, max_attempts=5, amount_capturable=0,
                  amount_captured=0, amount_refunded=0, version=1)
    return PaymentIntent(**{**values, **fields})


def card(number: str) -> cards.CheckedCard:
    return cards.check_card(number, "Ada Lovelace", 12, TODAY.year + 2, "123", TODAY)


def confirm(number: str = "4242424242424242", secret: str = SECRET) -> d.Decision:
    return d.decide_confirm(card(number), "fingerprint", secret)


AUTHORIZED = dict(status=S.AUTHORIZED, amount_capturable=10_000,
                  authorized_at=NOW - timedelta(hours=1))
CAPTURED = dict(status=S.CAPTURED, amount_captured=10_000)

# (row of §6's table, intent before, decision, status after, fields after, events)
TABLE = [
    ("AWAITING_PAYMENT_METHOD, approved, AUTOMATIC -> CAPTURED", intent(), confirm(),
     S.CAPTURED, {"amount_captured": 10_000, "attempt_count": 1, "card_last4": "4242"},
     [E.PAYMENT_INTENT_CAPTURED]),
    ("AWAITING_PAYMENT_METHOD, approved, MANUAL -> AUTHORIZED", intent(manual=True), confirm(),
     S.AUTHORIZED, {"amount_capturable": 10_000, "authorized_at": NOW},
     [E.PAYMENT_INTENT_AUTHORIZED]),
    ("AWAITING_PAYMENT_METHOD, declined, attempts left -> AWAITING_PAYMENT_METHOD",
     intent(attempt_count=3), confirm("4000000000009995"), None,
     {"attempt_count": 4, "last_error_code": "51"}, [E.PAYMENT_INTENT_PAYMENT_FAILED]),
    ("AWAITING_PAYMENT_METHOD, 5th declined attempt -> FAILED", intent(attempt_count=4),
     confirm("4000000000000002"), S.FAILED, {"attempt_count": 5, "last_error_code": "05"},
     [E.PAYMENT_INTENT_PAYMENT_FAILED, E.PAYMENT_INTENT_FAILED]),
    ("AWAITING_PAYMENT_METHOD, expiresAt passes -> EXPIRED",
     intent(expires_at=NOW - timedelta(seconds=1)), confirm(), S.EXPIRED,
     {"closed_at": NOW, "close_reason": "expired"}, [E.PAYMENT_INTENT_EXPIRED]),
    ("AWAITING_PAYMENT_METHOD, cancel -> CANCELED", intent(),
     d.decide_cancel("requested_by_merchant", LIFETIME), S.CANCELED, {"closed_at": NOW},
     [E.PAYMENT_INTENT_CANCELED]),
    ("AUTHORIZED, capture (amount <= authorized) -> CAPTURED, the rest released",
     intent(manual=True, **AUTHORIZED), d.decide_capture(6_000, LIFETIME), S.CAPTURED,
     {"amount_captured": 6_000, "amount_capturable": 0}, [E.PAYMENT_INTENT_CAPTURED]),
    ("AUTHORIZED, void -> VOIDED", intent(manual=True, **AUTHORIZED),
     d.decide_void("fraud", LIFETIME), S.VOIDED, {"amount_capturable": 0,
                                                  "close_reason": "fraud"},
     [E.PAYMENT_INTENT_VOIDED]),
    ("AUTHORIZED, cancel -> VOIDED", intent(manual=True, **AUTHORIZED),
     d.decide_cancel(None, LIFETIME), S.VOIDED, {"amount_capturable": 0},
     [E.PAYMENT_INTENT_VOIDED]),
    ("AUTHORIZED, 7 days without capture -> VOIDED (the worker)",
     intent(manual=True, **{**AUTHORIZED, "authorized_at": NOW - LIFETIME}),
     d.decide_auto_void(LIFETIME), S.VOIDED, {"close_reason": "authorization_expired"},
     [E.PAYMENT_INTENT_VOIDED]),
    ("CAPTURED, refund of part -> PARTIALLY_REFUNDED", intent(**CAPTURED),
     d.decide_refund(2_500, "damaged"), S.PARTIALLY_REFUNDED,
     {"amount_refunded": 2_500, "refund_count": 1},
     [E.PAYMENT_INTENT_REFUNDED]),
    ("PARTIALLY_REFUNDED, refund of part -> PARTIALLY_REFUNDED",
     intent(status=S.PARTIALLY_REFUNDED, amount_captured=10_000, amount_refunded=2_500),
     d.decide_refund(2_500, None), S.PARTIALLY_REFUNDED, {"amount_refunded": 5_000},
     [E.PAYMENT_INTENT_REFUNDED]),
    ("CAPTURED, refund of all that is left -> REFUNDED", intent(**CAPTURED),
     d.decide_refund(None, None), S.REFUNDED, {"amount_refunded": 10_000},
     [E.PAYMENT_INTENT_REFUNDED]),
    ("PARTIALLY_REFUNDED, refund of all that is left -> REFUNDED",
     intent(status=S.PARTIALLY_REFUNDED, amount_captured=10_000, amount_refunded=2_500),
     d.decide_refund(7_500, None), S.REFUNDED, {"amount_refunded": 10_000},
     [E.PAYMENT_INTENT_REFUNDED]),
]


@pytest.mark.parametrize("row, before, decide, status, fields, events", TABLE,
                         ids=[row[0] for row in TABLE])
def test_each_line_of_the_state_machine(row, before, decide, status, fields, events):
    change = decide(before, NOW)
    assert change.fields.get("status") is status
    assert {name: change.fields.get(name) for name in fields} == fields
    assert change.event_types == events


def test_a_declined_card_commits_its_attempt_then_answers_payment_declined():
    change = confirm("4000000000000127")(intent(), NOW)
    assert change.raise_after_commit.code is ErrorCode.PAYMENT_DECLINED
    assert change.fields["last_error_code"] == "N7"


def test_an_expired_confirm_records_the_expiry_then_answers_intent_expired():
    change = confirm()(intent(expires_at=NOW), NOW)
    assert change.raise_after_commit.code is ErrorCode.INTENT_EXPIRED


def test_a_refund_carries_its_row():
    change = d.decide_refund(2_500, "damaged")(intent(**CAPTURED), NOW)
    assert (change.refund.amount, change.refund.reason) == (2_500, "damaged")


# (what is tried, intent, decision, the code it is refused with)
REFUSED = [
    ("confirm a captured intent", intent(**CAPTURED), confirm(),
     ErrorCode.PAYMENT_ALREADY_COMPLETED),
    ("confirm an authorized intent", intent(manual=True, **AUTHORIZED), confirm(),
     ErrorCode.PAYMENT_ALREADY_COMPLETED),
    ("confirm a failed intent", intent(status=S.FAILED), confirm(),
     ErrorCode.MAX_ATTEMPTS_REACHED),
    ("confirm an expired intent", intent(status=S.EXPIRED), confirm(), ErrorCode.INTENT_EXPIRED),
    ("confirm a canceled intent", intent(status=S.CANCELED), confirm(), ErrorCode.INVALID_STATE),
    ("confirm a voided intent", intent(status=S.VOIDED), confirm(), ErrorCode.INVALID_STATE),
    ("confirm with another intent's secret", intent(), confirm(secret="pi_secret_other"),
     ErrorCode.INVALID_CLIENT_SECRET),
    ("capture an unpaid intent", intent(), d.decide_capture(None, LIFETIME),
     ErrorCode.INVALID_STATE),
    ("capture twice", intent(**CAPTURED), d.decide_capture(None, LIFETIME),
     ErrorCode.INVALID_STATE),
    ("capture more than authorized", intent(manual=True, **AUTHORIZED),
     d.decide_capture(10_001, LIFETIME), ErrorCode.INVALID_STATE),
    ("capture a lapsed authorization",
     intent(manual=True, **{**AUTHORIZED, "authorized_at": NOW - LIFETIME}),
     d.decide_capture(None, LIFETIME), ErrorCode.INVALID_STATE),
    ("void a captured intent", intent(**CAPTURED), d.decide_void(None, LIFETIME),
     ErrorCode.INVALID_STATE),
    ("void an unpaid intent", intent(), d.decide_void(None, LIFETIME), ErrorCode.INVALID_STATE),
    ("cancel a captured intent", intent(**CAPTURED), d.decide_cancel(None, LIFETIME),
     ErrorCode.INVALID_STATE),
    ("cancel an expired intent", intent(expires_at=NOW), d.decide_cancel(None, LIFETIME),
     ErrorCode.INVALID_STATE),
    ("refund an unpaid intent", intent(), d.decide_refund(None, None), ErrorCode.INVALID_STATE),
    ("refund an authorized intent", intent(manual=True, **AUTHORIZED),
     d.decide_refund(None, None), ErrorCode.INVALID_STATE),
    ("refund more than is left",
     intent(status=S.PARTIALLY_REFUNDED, amount_captured=10_000, amount_refunded=9_000),
     d.decide_refund(1_001, None), ErrorCode.INVALID_STATE),
    ("refund once more than the cap",
     intent(status=S.PARTIALLY_REFUNDED, amount_captured=10_000, amount_refunded=100,
            refund_count=limits.REFUNDS_PER_INTENT),
     d.decide_refund(1, None), ErrorCode.INVALID_STATE),
    ("refund a refunded intent", intent(status=S.REFUNDED, amount_captured=10_000,
                                        amount_refunded=10_000),
     d.decide_refund(None, None), ErrorCode.INVALID_STATE),
]


@pytest.mark.parametrize("tried, before, decide, code", REFUSED, ids=[r[0] for r in REFUSED])
def test_every_refused_transition(tried, before, decide, code):
    with pytest.raises(UserError) as refused:
        decide(before, NOW)
    assert refused.value.code is code


def test_an_authorization_within_its_lifetime_is_left_alone():
    assert d.decide_auto_void(LIFETIME)(intent(manual=True, **AUTHORIZED), NOW).fields == {}
