"""A real browser (Playwright driving Debian's Chromium) walks the hosted checkout.

The gateway is a real `python main.py serve`; a small local merchant site serves the success
and cancel pages. Screenshots go to test-artifacts/screenshots (ignored by git).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from tests.conftest import ROOT
from tests.helpers import DECLINE_CARDS, INTENT, gql, open_shop

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


@pytest_asyncio.fixture(scope="module")
async def shop(gateway):
    return await open_shop(gateway)


class Watched:
    """A page whose console errors and blocked resources are collected."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.posts = 0
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(str(e)))
        page.on("requestfailed", lambda r: self.problems.append(f"failed {r.url}"))
        page.on("request", self._count_post)

    def _console(self, message) -> None:
        # The checkout answers 400/402 on purpose (a refused card); Chromium logs that status
        # of the document itself as an error. Anything else logged as an error is a problem.
        own_status = message.text.startswith("Failed to load resource") and \
            "/checkout/pi_" in message.location.get("url", "")
        if message.type == "error" and not own_status:
            self.problems.append(message.text)

    def _count_post(self, request) -> None:
        if request.method == "POST" and "/checkout/" in request.url:
            self.posts += 1


@pytest_asyncio.fixture
async def open_page(browser):
    """Pages with JavaScript on, at a chosen viewport; each must end with no problems."""
    contexts, pages = [], []

    async def opener(viewport: dict, **options) -> Watched:
        context = await browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        pages.append(Watched(await context.new_page()))
        return pages[-1]

    yield opener
    for context in contexts:
        await context.close()
    assert [problem for page in pages for problem in page.problems] == []


@pytest_asyncio.fixture(params=["js", "no-js"])
async def page(request, open_page):
    """The scenarios run twice: with JavaScript, and as a browser without it."""
    return await open_page(DESKTOP, java_script_enabled=request.param == "js")


async def new_intent(gateway, shop, shop_site, **fields) -> dict:
    values = {"amount": 9999, "currency": "USD", "description": "Two books",
              "successUrl": f"{shop_site.url}/success", "cancelUrl": f"{shop_site.url}/cancel",
              **fields}
    from tests.helpers import create_intent
    return await create_intent(gateway, shop, **values)


async def fill_card(page, number: str, expiry: str = "12/34", cvc: str = "123") -> None:
    await page.fill("#card_number", number)
    await page.fill("#cardholder_name", "Ada Lovelace")
    await page.fill("#expiry", expiry)
    await page.fill("#cvc", cvc)


async def pay(watched, number: str, **fields) -> None:
    await fill_card(watched.page, number, **fields)
    async with watched.page.expect_navigation():
        await watched.page.click("#pay-button")


def shoot(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


async def attempts_of(gateway, shop, intent_id: str) -> int:
    body = await gql(gateway, INTENT, {"id": intent_id}, api_key=shop.api_key)
    return body["data"]["paymentIntent"]["attemptCount"]


async def test_pay_with_4242_lands_on_the_success_page(page, gateway, shop, shop_site):
    intent = await new_intent(gateway, shop, shop_site)
    await page.page.goto(intent["checkoutUrl"])
    assert await page.page.text_content(".amount") == "$99.99"
    assert await page.page.text_content(".merchant") == "Acme Books"
    await pay(page, "4242 4242 4242 4242")
    assert await page.page.text_content("#outcome") == "success"
    assert await page.page.text_content("#intent") == intent["id"]


async def test_a_decline_shows_the_reason_then_a_good_card_pays(page, gateway, shop,
                                                                 shop_site):
    intent = await new_intent(gateway, shop, shop_site)
    await page.page.goto(intent["checkoutUrl"])
    await pay(page, DECLINE_CARDS["51"])
    notice = page.page.locator("#status")
    assert "insufficient funds" in await notice.text_content()
    assert "4 attempts left" in await notice.text_content()
    assert await notice.get_attribute("aria-live") == "assertive"
    assert await page.page.input_value("#card_number") == ""  # never echoed
    await pay(page, "5555 5555 5555 4444")
    assert await page.page.text_content("#outcome") == "success"


async def test_an_invalid_number_is_flagged_without_an_attempt(page, gateway, shop, shop_site):
    intent = await new_intent(gateway, shop, shop_site)
    await page.page.goto(intent["checkoutUrl"])
    await pay(page, "4242 4242 4242 4241")
    field = page.page.locator("#card_number")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.get_attribute("aria-describedby") == "card_number-error"
    assert "invalid" in (await page.page.text_content("#card_number-error")).lower()
    assert await page.page.locator("#card_number-error").is_visible()
    assert await attempts_of(gateway, shop, intent["id"]) == 0


async def test_five_declines_land_on_the_cancel_page(page, gateway, shop, shop_site):
    intent = await new_intent(gateway, shop, shop_site)
    await page.page.goto(intent["checkoutUrl"])
    for _ in range(5):
        await pay(page, DECLINE_CARDS["05"])
    assert await page.page.text_content("#outcome") == "cancel"
    assert await page.page.text_content("#intent") == intent["id"]


async def test_an_expired_intent_lands_on_the_cancel_page(page, gateway, shop, shop_site,
                                                          live_server):
    intent = await new_intent(gateway, shop, shop_site)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(sep=" ")
    with sqlite3.connect(live_server.database) as db:  # the server's own embedded database
        db.execute("UPDATE payment_intents SET expires_at = ? WHERE id = ?",
                   (past, intent["id"]))
    await page.page.goto(intent["checkoutUrl"])
    assert await page.page.text_content("#outcome") == "cancel"


async def test_keyboard_only(page, gateway, shop, shop_site):
    intent = await new_intent(gateway, shop, shop_site)
    keyboard = page.page.keyboard
    await page.page.goto(intent["checkoutUrl"])
    await keyboard.press("Tab")
    assert await page.page.evaluate("document.activeElement.id") == "card_number"
    await keyboard.type("4242 4242 4242 4242")
    for field_id, text in [("cardholder_name", "Ada Lovelace"), ("expiry", "12/34"),
                           ("cvc", "123")]:
        await keyboard.press("Tab")
        assert await page.page.evaluate("document.activeElement.id") == field_id
        await keyboard.type(text)
    await keyboard.press("Tab")
    assert await page.page.evaluate("document.activeElement.id") == "pay-button"
    outline = await page.page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    await page.page.focus("#cvc")
    async with page.page.expect_navigation():
        await keyboard.press("Enter")
    assert await page.page.text_content("#outcome") == "success"


async def test_a_phone_width_has_no_horizontal_scrolling(open_page, gateway, shop, shop_site):
    watched = await open_page(PHONE, is_mobile=True, has_touch=True)
    intent = await new_intent(gateway, shop, shop_site)
    await watched.page.goto(intent["checkoutUrl"])
    width = await watched.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await watched.page.screenshot(path=shoot("phone-before-decline"), full_page=True)
    await pay(watched, DECLINE_CARDS["05"])
    assert await watched.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await watched.page.screenshot(path=shoot("phone-after-decline"), full_page=True)


async def test_the_brand_shows_as_the_number_is_typed(open_page, gateway, shop, shop_site):
    watched = await open_page(DESKTOP)
    intent = await new_intent(gateway, shop, shop_site)
    await watched.page.goto(intent["checkoutUrl"])
    await watched.page.screenshot(path=shoot("desktop-before-decline"), full_page=True)
    await watched.page.type("#card_number", "4242")
    assert await watched.page.text_content("#card-brand") == "Visa"
    await watched.page.fill("#card_number", "")
    await watched.page.type("#card_number", "5555 55")
    assert await watched.page.text_content("#card-brand") == "Mastercard"
    await pay(watched, DECLINE_CARDS["51"])
    await watched.page.screenshot(path=shoot("desktop-after-decline"), full_page=True)


async def test_a_double_click_cannot_pay_twice(open_page, gateway, shop, shop_site):
    watched = await open_page(DESKTOP)
    intent = await new_intent(gateway, shop, shop_site)

    async def slow_post(route):
        import asyncio
        await asyncio.sleep(0.5)  # the payment is "running": the button must stay disabled
        await route.continue_()

    await watched.page.route("**/checkout/pi_*", lambda route: slow_post(route)
                             if route.request.method == "POST" else route.continue_())
    await watched.page.goto(intent["checkoutUrl"])
    await fill_card(watched.page, "4242 4242 4242 4242")
    async with watched.page.expect_navigation():
        await watched.page.dblclick("#pay-button")
    assert await watched.page.text_content("#outcome") == "success"
    assert watched.posts == 1
