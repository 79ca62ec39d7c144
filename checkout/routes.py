"""The hosted checkout: a server-rendered card form that calls the same confirm as GraphQL."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from core import http_body, money
from core.clock import now
from core.config import get_settings
from core.errors import UNAVAILABLE_RETRY_AFTER_SECONDS, ErrorCode, UserError
from core.proxies import client_ip
from core.ratelimit import tightest
from core.urls import origin, return_url
from models.db import is_connection_error
from models.payment_intents import CLOSED_UNPAID, PAID, IntentStatus, PaymentIntent
from resolvers import payment_intents
from resolvers.payment_intents import shopper

HERE = Path(__file__).parent
log = logging.getLogger("gateway.checkout")
Endpoint = Callable[[Request], Awaitable[Response]]
templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(default=True))

# Where a confirm's field errors show on the form.
FORM_FIELDS = {"number": "card_number", "cardholderName": "cardholder_name",
               "expMonth": "expiry", "expYear": "expiry", "cvc": "cvc"}


@dataclass
class Form:
    """What the shopper typed that may be shown again: never the number or the CVC."""

    cardholder_name: str = ""
    expiry: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None


def security_headers(intent: PaymentIntent | None = None) -> dict[str, str]:
    form_targets = ["'self'"]
    if intent is not None:  # the 303 after the form post must be allowed to leave
        form_targets += sorted({source for url in (intent.success_url, intent.cancel_url)
                                if url and (source := origin(url))})
    policy = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
              f"form-action {' '.join(form_targets)}; frame-ancestors 'none'; "
              "base-uri 'none'")
    return {"Content-Security-Policy": policy, "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"}


def render(template: str, status: int, intent: PaymentIntent | None = None,
           **context) -> HTMLResponse:
    html = templates.get_template(template).render(intent=intent, **context)
    return HTMLResponse(html, status_code=status, headers=security_headers(intent))


def message_page(title: str, message: str, status: int) -> HTMLResponse:
    return render("message.html", status, title=title, message=message)


def redirect(url: str, intent: PaymentIntent) -> Response:
    return RedirectResponse(return_url(url, intent.id), status_code=303,
                            headers=security_headers(intent))


def leave_unpaid(intent: PaymentIntent) -> Response:
    if intent.cancel_url:
        return redirect(intent.cancel_url, intent)
    return message_page("Payment unavailable",
                        "This payment can no longer be completed. Return to the merchant's "
                        "site to try again.", 410)


def form_page(intent: PaymentIntent, form: Form, status: int = 200) -> HTMLResponse:
    return render("checkout.html", status, intent=intent, form=form,
                  amount=money.format_amount(intent.amount, intent.currency),
                  remaining=shopper.remaining_attempts(intent, now()),
                  cancel_href=return_url(intent.cancel_url, intent.id)
                  if intent.cancel_url else None)


def outcome_for(intent: PaymentIntent) -> Response | None:
    """A redirect when the intent is past paying, else None (show the form)."""
    status = intent.effective_status(now())
    if status in PAID:
        return redirect(intent.success_url, intent)
    if status in CLOSED_UNPAID:
        return leave_unpaid(intent)
    return None


async def session_or_error(intent_id: str, client_secret: str
                           ) -> tuple[PaymentIntent | None, Response | None]:
    try:
        return await payment_intents.checkout_session(intent_id, client_secret), None
    except UserError as error:
        if error.code is ErrorCode.NOT_FOUND:
            return None, message_page("Payment not found",
                                      "We could not find this payment.", 404)
        return None, message_page("Invalid payment session",
                                  "This payment link is not valid. Return to the merchant's "
                                  "site and start again.", 403)


async def show(request: Request) -> Response:
    intent, error = await session_or_error(request.path_params["intent_id"],
                                           request.query_params.get("client_secret", ""))
    if error is not None:
        return error
    return outcome_for(intent) or form_page(intent, Form())


def parse_expiry(text: str) -> tuple[int, int]:
    month, _, year = text.replace(" ", "").partition("/")
    if not (month.isdigit() and year.isdigit() and len(year) in (2, 4)):
        raise UserError(ErrorCode.VALIDATION_ERROR, "Enter the expiry as MM/YY",
                        ("card", "expMonth"))
    return int(month), int(year)


async def read_form(request: Request) -> FormData:
    """The posted form, its body read through the one bounded reader (CONTRACT §12.6)."""
    body = await http_body.read_body(request.receive, get_settings().max_body_bytes,
                                     request.headers.get("content-length"))
    return await Request(request.scope, http_body.replay(body, request.receive)).form()


def too_many_posts(endpoint: Endpoint) -> Endpoint:
    """Card form posts are limited per intent and per IP (CONTRACT §12.10): a checkout link
    must not become a card-testing machine. Every answer carries the X-RateLimit-* headers of
    the tightest limit that applied (§16); a refusal is a 429 page with Retry-After."""

    @functools.wraps(endpoint)
    async def limited(request: Request) -> Response:
        limits = request.app.state.limits
        result = await limits.checkout_ip.take(client_ip(request))
        if not result.retry_after:
            result = tightest(result, await limits.checkout_intent.take(
                request.path_params["intent_id"][:64]))
        if result.retry_after:
            response: Response = message_page(
                "Too many attempts", "Too many payment attempts. Wait a moment and try again.",
                429)
            response.headers["Retry-After"] = str(result.retry_after)
        else:
            response = await endpoint(request)
        response.headers.update(result.headers())
        return response

    return limited


@too_many_posts


async def pay(request: Request) -> Response:
    try:
        data = await read_form(request)
    except http_body.BodyTooLarge:
        return message_page("Form too large", "The form sent was too large.", 413)
    except http_body.MalformedBody:
        return message_page("Form incomplete", "The form did not arrive whole.", 400)
    intent, error = await session_or_error(request.path_params["intent_id"],
                                           str(data.get("client_secret", "")))
    if error is not None:
        return error
    form = Form(cardholder_name=str(data.get("cardholder_name", ""))[:100],
                expiry=str(data.get("expiry", ""))[:7])
    try:
        month, year = parse_expiry(form.expiry)
        card = payment_intents.CardInput(
            number=str(data.get("card_number", ""))[:40], cardholder_name=form.cardholder_name,
            exp_month=month, exp_year=year, cvc=str(data.get("cvc", ""))[:8])
        paid = await payment_intents.confirm(intent.id, intent.client_secret, card)
    except UserError as refusal:
        return await after_refusal(intent, refusal, form)
    return redirect(paid.success_url, paid)


async def after_refusal(intent: PaymentIntent, refusal: UserError, form: Form) -> Response:
    latest = refusal.result or await payment_intents.checkout_session(intent.id,
                                                                      intent.client_secret)
    latest.merchant = intent.merchant
    if refusal.code is ErrorCode.VALIDATION_ERROR:
        field_name = (refusal.field or ("number",))[-1]
        form.errors[FORM_FIELDS.get(field_name, "card_number")] = refusal.message
        return form_page(latest, form, 400)
    if refusal.code is ErrorCode.PAYMENT_DECLINED and latest.status is \
            IntentStatus.AWAITING_PAYMENT_METHOD:
        form.notice = refusal.message
        return form_page(latest, form, 402)
    return outcome_for(latest) or form_page(latest, form, 409)


def unavailable_on_fault(endpoint: Endpoint) -> Endpoint:
    """A database or Redis failure under a checkout page answers a 503 page with Retry-After,
    not a 500 (CONTRACT §16); the shopper's card was not charged twice: the confirm is one
    transaction, and trying again shows where the payment stands."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as error:
            if not is_connection_error(error):
                raise
            log.warning("checkout: connection failed under %s", request.url.path, exc_info=True)
            page = message_page("Temporarily unavailable",
                                "We could not reach our payment system. Wait a moment and "
                                "try again.", 503)
            page.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
            return page

    return guarded


def checkout_routes() -> list[BaseRoute]:
    return [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="checkout-static"),
        Route("/{intent_id}", unavailable_on_fault(show), methods=["GET"]),
        Route("/{intent_id}", unavailable_on_fault(pay), methods=["POST"]),
    ]
