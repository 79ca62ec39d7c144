"""The hosted checkout: a server-rendered card form that calls the same confirm as GraphQL."""

from __future__ import annotations

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
from core.errors import ErrorCode, UserError
from core.proxies import client_ip
from core.urls import origin, return_url
from models.payment_intents import CLOSED_UNPAID, PAID, IntentStatus, PaymentIntent
from resolvers import payment_intents
from resolvers.payment_intents import shopper

HERE = Path(__file__).parent
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


async def too_many_posts(request: Request) -> Response | None:
    """Card form posts are limited per intent and per IP (CONTRACT §12.10): a checkout link
    must not become a card-testing machine. None when this post may go ahead."""
    limits = request.app.state.limits
    wait = await limits.checkout_ip.retry_after(client_ip(request)) or \
        await limits.checkout_intent.retry_after(request.path_params["intent_id"][:64])
    if not wait:
        return None
    page = message_page("Too many attempts",
                        "Too many payment attempts. Wait a moment and try again.", 429)
    page.headers["Retry-After"] = str(wait)
    return page


async def pay(request: Request) -> Response:
    if (refusal := await too_many_posts(request)) is not None:
        return refusal
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


def checkout_routes() -> list[BaseRoute]:
    return [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="checkout-static"),
        Route("/{intent_id}", show, methods=["GET"]),
        Route("/{intent_id}", pay, methods=["POST"]),
    ]
