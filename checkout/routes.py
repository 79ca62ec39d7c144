"""The hosted checkout: a server-rendered card form that calls the same confirm as GraphQL."""

from __future__ import annotations

import functools
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from babel.numbers import get_currency_symbol
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from checkout import i18n
from core import http_body, money
from core.branding import Branding, logo_content_type, text_color_on
from core.clock import now
from core.config import get_settings
from core.errors import UNAVAILABLE_RETRY_AFTER_SECONDS, ErrorCode, UserError
from core.proxies import client_ip
from core.urls import origin, return_url
from models.db import is_connection_error
from models.merchants import Merchant
from models.payment_intents import CLOSED_UNPAID, PAID, IntentStatus, PaymentIntent
from resolvers import payment_intents
from resolvers.merchants import branding_of, logo_bytes, preview_token
from resolvers.payment_intents import shopper

HERE = Path(__file__).parent
log = logging.getLogger("gateway.checkout")
Endpoint = Callable[[Request], Awaitable[Response]]
_ = i18n.gettext  # _(language, message): the page's texts are English gettext ids

# Where a confirm's field errors show on the form.
FORM_FIELDS = {"number": "card_number", "cardholderName": "cardholder_name",
               "expMonth": "expiry", "expYear": "expiry", "cvc": "cvc"}
RADIUS = {"ROUNDED": "8px", "SHARP": "0", "PILL": "999px"}
ASSET_CACHE = "public, max-age=31536000, immutable"
THEME_KEY = re.compile(r"([0-9a-f]{6})([0-9a-f]{6})([0-9a-f]{6})([rsp])")
BORDER_LETTERS = {"ROUNDED": "r", "SHARP": "s", "PILL": "p"}


@dataclass
class Form:
    """What the shopper typed that may be shown again: never the number or the CVC."""

    cardholder_name: str = ""
    expiry: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None


@dataclass(frozen=True)
class LineView:
    name: str
    quantity: int
    amount: str


@dataclass(frozen=True)
class PageView:
    """What the checkout template shows, for a real intent or for the merchant's preview."""

    merchant_name: str
    logo_src: str | None
    description: str | None
    amount: str
    button_text: str
    line_items: list[LineView]
    action: str | None = None
    client_secret: str | None = None
    cancel_href: str | None = None
    remaining: int = 0
    preview: bool = False


def security_headers(intent: PaymentIntent | None = None) -> dict[str, str]:
    form_targets = ["'self'"]
    if intent is not None:  # the 303 after the form post must be allowed to leave
        form_targets += sorted({source for url in (intent.success_url, intent.cancel_url)
                                if url and (source := origin(url))})
    # connect-src 'self': live.js follows the intent over this origin's ws/wss (§15)
    policy = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
              "connect-src 'self'; "
              f"form-action {' '.join(form_targets)}; frame-ancestors 'none'; "
              "base-uri 'none'")
    return {"Content-Security-Policy": policy, "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"}


def theme_key(branding: Branding) -> str:
    """The theme stylesheet's name: the colours and corners themselves, so the name changes
    whenever the look does (the file may be cached for ever) and any process of the fleet
    can serve it without a lookup."""
    colours = (branding.primary_color, branding.button_color, branding.background_color)
    return "".join(colour.lstrip("#").lower() for colour in colours) + \
        BORDER_LETTERS.get(border_name(branding), "r")


def border_name(branding: Branding) -> str:
    return str(getattr(branding.border_style, "value", branding.border_style))


def theme_css(primary: str, button: str, background: str, border: str) -> str:
    """CSS custom properties the static stylesheet uses; text on each colour is black or
    white, whichever contrasts more (CONTRACT §17)."""
    return (":root {\n"
            f"  --primary: {primary}; --on-primary: {text_color_on(primary)};\n"
            f"  --button: {button}; --on-button: {text_color_on(button)};\n"
            f"  --background: {background}; --on-background: {text_color_on(background)};\n"
            f"  --radius: {RADIUS[border]};\n}}\n")


async def theme(request: Request) -> Response:
    match = THEME_KEY.fullmatch(request.path_params["key"])
    if match is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    primary, button, background, letter = match.groups()
    border = next(name for name, short in BORDER_LETTERS.items() if short == letter)
    css = theme_css(f"#{primary}", f"#{button}", f"#{background}", border)
    return Response(css, media_type="text/css",
                    headers={"Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff"})


def render(template: str, status: int, language: str, intent: PaymentIntent | None = None,
           branding: Branding | None = None, **context) -> HTMLResponse:
    theme_href = f"/checkout/assets/theme-{theme_key(branding)}.css" if branding else None
    html = i18n.environment(language).get_template(template).render(
        language=language, direction=i18n.direction(language), theme_href=theme_href,
        **context)
    headers = security_headers(intent) | {"Content-Language": language}
    return HTMLResponse(html, status_code=status, headers=headers)


def message_page(title: str, message: str, status: int, language: str) -> HTMLResponse:
    return render("message.html", status, language, title=_(language, title),
                  message=_(language, message))


def language_of(request: Request, intent: PaymentIntent | None = None) -> str:
    return i18n.page_language(intent.locale if intent is not None else None,
                              request.headers.get("accept-language", ""))


def redirect(url: str, intent: PaymentIntent) -> Response:
    return RedirectResponse(return_url(url, intent.id), status_code=303,
                            headers=security_headers(intent))


def leave_unpaid(intent: PaymentIntent, language: str) -> Response:
    if intent.cancel_url:
        return redirect(intent.cancel_url, intent)
    return message_page("Payment unavailable",
                        "This payment can no longer be completed. Return to the merchant's "
                        "site to try again.", 410, language)


def button_text(submit_type: object, amount: str, language: str) -> str:
    """The button's words by submitType (CONTRACT §17): "Pay $99.99", "Book", "Donate $99.99"."""
    kind = str(getattr(submit_type, "value", submit_type) or "PAY")
    if kind == "BOOK":
        return _(language, "Book")
    if kind == "DONATE":
        return _(language, "Donate %(amount)s") % {"amount": amount}
    return _(language, "Pay %(amount)s") % {"amount": amount}


def shown_amount(minor_units: int, currency: str, language: str) -> str:
    """The CLDR amount; on a right-to-left page a Latin symbol such as "US$" is isolated left
    to right, or the bidi algorithm would show its "$" on the wrong side ("$US")."""
    text = money.format_amount(minor_units, currency, language)
    if i18n.direction(language) != "rtl":
        return text
    symbol = get_currency_symbol(currency, language)
    return text.replace(symbol, f"\u2066{symbol}\u2069", 1)


def line_views(items: list[dict] | None, currency: str, language: str) -> list[LineView]:
    return [LineView(str(item["name"]), int(item["quantity"]),
                     shown_amount(int(item["amount"]), currency, language))
            for item in items or []]


def form_page(intent: PaymentIntent, form: Form, language: str,
              status: int = 200) -> HTMLResponse:
    branding = branding_of(intent.merchant)
    amount = shown_amount(intent.amount, intent.currency, language)
    view = PageView(
        merchant_name=branding.display_name or intent.merchant.business_name,
        logo_src=branding.logo_src, description=intent.description, amount=amount,
        button_text=button_text(intent.submit_type, amount, language),
        line_items=line_views(intent.line_items, intent.currency, language),
        action=f"/checkout/{intent.id}", client_secret=intent.client_secret,
        cancel_href=return_url(intent.cancel_url, intent.id) if intent.cancel_url else None,
        remaining=shopper.remaining_attempts(intent, now()))
    return render("checkout.html", status, language, intent=intent, branding=branding,
                  view=view, form=form)


def outcome_for(intent: PaymentIntent, language: str) -> Response | None:
    """A redirect when the intent is past paying, else None (show the form)."""
    status = intent.effective_status(now())
    if status in PAID:
        return redirect(intent.success_url, intent)
    if status in CLOSED_UNPAID:
        return leave_unpaid(intent, language)
    return None


async def session_or_error(intent_id: str, client_secret: str, language: str
                           ) -> tuple[PaymentIntent | None, Response | None]:
    try:
        return await payment_intents.checkout_session(intent_id, client_secret), None
    except UserError as error:
        if error.code is ErrorCode.NOT_FOUND:
            return None, message_page("Payment not found",
                                      "We could not find this payment.", 404, language)
        return None, message_page("Invalid payment session",
                                  "This payment link is not valid. Return to the merchant's "
                                  "site and start again.", 403, language)


async def show(request: Request) -> Response:
    intent, error = await session_or_error(request.path_params["intent_id"],
                                           request.query_params.get("client_secret", ""),
                                           language_of(request))
    if error is not None:
        return error
    language = language_of(request, intent)
    return outcome_for(intent, language) or form_page(intent, Form(), language)


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
        result = await request.app.state.limits.checkout(
            client_ip(request), request.path_params["intent_id"][:64])
        if result.retry_after:
            response: Response = message_page(
                "Too many attempts", "Too many payment attempts. Wait a moment and try again.",
                429, language_of(request))
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
        return message_page("Form too large", "The form sent was too large.", 413,
                            language_of(request))
    except http_body.MalformedBody:
        return message_page("Form incomplete", "The form did not arrive whole.", 400,
                            language_of(request))
    intent, error = await session_or_error(request.path_params["intent_id"],
                                           str(data.get("client_secret", "")),
                                           language_of(request))
    if error is not None:
        return error
    language = language_of(request, intent)
    form = Form(cardholder_name=str(data.get("cardholder_name", ""))[:100],
                expiry=str(data.get("expiry", ""))[:7])
    try:
        month, year = parse_expiry(form.expiry)
        card = payment_intents.CardInput(
            number=str(data.get("card_number", ""))[:40], cardholder_name=form.cardholder_name,
            exp_month=month, exp_year=year, cvc=str(data.get("cvc", ""))[:8])
        paid = await payment_intents.confirm(intent.id, intent.client_secret, card)
    except UserError as refusal:
        return await after_refusal(intent, refusal, form, language)
    return redirect(paid.success_url, paid)


async def after_refusal(intent: PaymentIntent, refusal: UserError, form: Form,
                        language: str) -> Response:
    """The form again with the refusal in the page's language (the core's English message is
    the gettext id), or where the intent now stands."""
    latest = refusal.result or await payment_intents.checkout_session(intent.id,
                                                                      intent.client_secret)
    latest.merchant = intent.merchant
    if refusal.code is ErrorCode.VALIDATION_ERROR:
        field_name = (refusal.field or ("number",))[-1]
        form.errors[FORM_FIELDS.get(field_name, "card_number")] = _(language, refusal.message)
        return form_page(latest, form, language, 400)
    if refusal.code is ErrorCode.PAYMENT_DECLINED and latest.status is \
            IntentStatus.AWAITING_PAYMENT_METHOD:
        form.notice = _(language, refusal.message)
        return form_page(latest, form, language, 402)
    return outcome_for(latest, language) or form_page(latest, form, language, 409)


# The sample order of the merchant's preview: (name, quantity, unit amount in cents of USD).
SAMPLE_ITEMS = (("Sample T-shirt", 2, 2500), ("Sample mug", 1, 1999))


def preview_view(merchant: Merchant, branding: Branding, language: str) -> PageView:
    """The checkout page as a shopper would see it, with a sample order and no way to pay."""
    items = [LineView(_(language, name), quantity,
                      shown_amount(quantity * unit, "USD", language))
             for name, quantity, unit in SAMPLE_ITEMS]
    total = sum(quantity * unit for _name, quantity, unit in SAMPLE_ITEMS)
    amount = shown_amount(total, "USD", language)
    return PageView(merchant_name=branding.display_name or merchant.business_name,
                    logo_src=branding.logo_src, description=_(language, "Sample order"),
                    amount=amount, button_text=button_text("PAY", amount, language),
                    line_items=items, preview=True)


def preview_language(request: Request) -> str:
    """?locale=fr previews another language; else the merchant's own Accept-Language."""
    return i18n.page_language(request.query_params.get("locale"),
                              request.headers.get("accept-language", ""))


async def preview(request: Request) -> Response:
    """The merchant's preview of its branded page (CONTRACT §17); the link's token is an HMAC
    of the merchant id, so only a member who read `checkoutPreviewUrl` has it."""
    language = preview_language(request)
    merchant_id = request.path_params["merchant_id"][:64]
    token = request.query_params.get("token", "")
    if not hmac.compare_digest(token.encode(), preview_token(merchant_id).encode()):
        return message_page("Invalid preview link", "This preview link is not valid. Open it "
                            "again from the merchant settings.", 403, language)
    merchant = await Merchant.get_or_none(id=merchant_id)
    if merchant is None:
        return message_page("Merchant not found", "We could not find this merchant.", 404,
                            language)
    branding = branding_of(merchant)
    return render("checkout.html", 200, language, branding=branding,
                  view=preview_view(merchant, branding, language), form=Form())


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
                                "try again.", 503, language_of(request))
            page.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
            return page

    return guarded


_SHA256 = re.compile(r"[0-9a-f]{64}")
IMMUTABLE = "public, max-age=31536000, immutable"


async def logo(request: Request) -> Response:
    """A merchant's logo by the SHA-256 of its bytes: the URL names the content, so it is
    cached for ever. Unknown hashes and extensions are 404s."""
    sha256, extension = request.path_params["sha256"], request.path_params["ext"]
    content_type = logo_content_type(extension)
    data = await logo_bytes(sha256, content_type) \
        if content_type and _SHA256.fullmatch(sha256) else None
    if data is None:
        return Response("Not found", status_code=404, media_type="text/plain",
                        headers={"Cache-Control": "no-store"})
    return Response(data, media_type=content_type, headers={
        "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'"})


def checkout_routes() -> list[BaseRoute]:
    return [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="checkout-static"),
        Route("/assets/theme-{key}.css", theme, methods=["GET"]),
        Route("/assets/logo-{sha256}.{ext}", unavailable_on_fault(logo), methods=["GET"]),
        Route("/preview/{merchant_id}", unavailable_on_fault(preview), methods=["GET"]),
        Route("/{intent_id}", unavailable_on_fault(show), methods=["GET"]),
        Route("/{intent_id}", unavailable_on_fault(pay), methods=["POST"]),
    ]
