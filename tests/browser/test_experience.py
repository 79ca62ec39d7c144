"""CONTRACT §17 in a real browser: languages (French amounts, Arabic right to left on a
phone), branding (colours read back from computed styles, contrast of text on them, logo),
line items, submitType wording and the merchant preview. Every page ends with no console
error and no CSP violation (the `open_page` fixture checks). Screenshots of each language
and of a branded page go to test-artifacts/screenshots (docs/checkout-*.png are copies)."""

from __future__ import annotations

import base64
import io
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image

from core.branding import contrast_ratio
from tests.browser import test_checkout as checkout_tests
from tests.browser.test_checkout import DESKTOP, PHONE, new_intent, shoot
from tests.helpers import UPDATE_SETTINGS, gql, open_shop, payload_of

# The browser, the live gateway, its shop and the merchant's site, as the checkout tests have them.
shop = checkout_tests.shop
open_page = checkout_tests.open_page

UPLOAD_LOGO = """mutation($input: UploadMerchantLogoInput!) { uploadMerchantLogo(input: $input) {
  userErrors { code field message } } }"""
# 99.99 USD by CLDR; on the Arabic page "US$" is isolated left to right (U+2066..U+2069).
AMOUNTS = {"en": "$99.99", "fr": "99,99\xa0$US", "ar": "\u200f99.99\xa0\u2066US$\u2069"}
ITEMS = [{"name": "Notebook", "quantity": 2, "unitAmount": 2500},
         {"name": "Fountain pen", "quantity": 1, "unitAmount": 4999}]


PREVIEW_URL = """query($id: ID!) { merchant(id: $id) { settings { checkoutPreviewUrl } } }"""


async def preview_path(gateway, branded) -> str:
    """The preview link as the merchant reads it (checkoutPreviewUrl), on this gateway."""
    body = await gql(gateway, PREVIEW_URL, {"id": branded.merchant_id},
                     token=branded.owner.token)
    url = urlsplit(body["data"]["merchant"]["settings"]["checkoutPreviewUrl"])
    return f"{url.path}?{url.query}"


def hex_of(css_colour: str) -> str:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_colour)[:3])
    return f"#{red:02x}{green:02x}{blue:02x}"


async def style_of(page, selector: str, prop: str) -> str:
    return await page.eval_on_selector(selector, f"e => getComputedStyle(e)['{prop}']")


async def branded_shop(gateway, **branding):
    branded = await open_shop(gateway)
    answer = await gql(gateway, UPDATE_SETTINGS, {"input": {
        "merchantId": branded.merchant_id, "branding": branding}}, token=branded.owner.token)
    assert payload_of(answer, "updateMerchantSettings")["userErrors"] == []
    return branded


async def upload_logo(gateway, branded) -> None:
    image = Image.new("RGB", (64, 64), (255, 212, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    answer = await gql(gateway, UPLOAD_LOGO, {"input": {
        "merchantId": branded.merchant_id, "contentType": "image/png",
        "dataBase64": base64.b64encode(out.getvalue()).decode()}}, token=branded.owner.token)
    assert payload_of(answer, "uploadMerchantLogo")["userErrors"] == []


CAFE = {"displayName": "Café Lumière", "primaryColor": "#0b3d2e", "buttonColor": "#ffd400",
        "backgroundColor": "#f3efe6", "borderStyle": "PILL"}


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
async def test_each_language_on_a_phone(open_page, gateway, shop_site, language):
    """The branded page in each language (the README shows these screenshots)."""
    branded = await branded_shop(gateway, **CAFE)
    await upload_logo(gateway, branded)
    watched = await open_page(PHONE, is_mobile=True, has_touch=True, locale=language)
    intent = await new_intent(gateway, branded, shop_site, lineItems=ITEMS)
    await watched.page.goto(intent["checkoutUrl"])
    html = watched.page.locator("html")
    assert await html.get_attribute("lang") == language
    assert await html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    amount = await watched.page.text_content(".amount")
    assert amount == AMOUNTS[language]
    assert await watched.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await watched.page.screenshot(path=shoot(f"checkout-{language}"), full_page=True)


async def test_arabic_lays_out_right_to_left(open_page, gateway, shop, shop_site):
    watched = await open_page(PHONE, is_mobile=True, has_touch=True, locale="ar")
    intent = await new_intent(gateway, shop, shop_site)
    await watched.page.goto(intent["checkoutUrl"])
    label = await watched.page.eval_on_selector("label[for=card_number]",
                                                "e => e.getBoundingClientRect().right")
    field = await watched.page.eval_on_selector("#card_number",
                                                "e => e.getBoundingClientRect().right")
    assert label == pytest.approx(field, abs=1)  # labels start on the right, as fields do
    assert await watched.page.text_content("label[for=card_number]") == "رقم البطاقة"


async def test_a_french_decline_is_explained_in_french(open_page, gateway, shop, shop_site):
    watched = await open_page(DESKTOP, locale="fr-FR")
    intent = await new_intent(gateway, shop, shop_site)
    await watched.page.goto(intent["checkoutUrl"])
    await watched.page.fill("#card_number", "4242 4242 4242 4241")
    await watched.page.fill("#cardholder_name", "Ada Lovelace")
    await watched.page.fill("#expiry", "12/34")
    await watched.page.fill("#cvc", "123")
    async with watched.page.expect_navigation():
        await watched.page.click("#pay-button")
    assert await watched.page.text_content("#card_number-error") == \
        "Le numéro de carte n'est pas valide"


@pytest.mark.parametrize(("button", "text"), [("#ffd400", "#000000"), ("#1a1f36", "#ffffff"),
                                              ("#00a86b", "#000000"), ("#b42318", "#ffffff")])
async def test_button_text_contrasts_with_the_brand_colour(open_page, gateway, shop_site,
                                                           button, text):
    branded = await branded_shop(gateway, buttonColor=button)
    watched = await open_page(DESKTOP)
    intent = await new_intent(gateway, branded, shop_site)
    await watched.page.goto(intent["checkoutUrl"])
    background = hex_of(await style_of(watched.page, ".pay", "backgroundColor"))
    foreground = hex_of(await style_of(watched.page, ".pay", "color"))
    assert (background, foreground) == (button, text)
    assert contrast_ratio(background, foreground) >= 4.5


async def test_a_branded_page(open_page, gateway, shop_site):
    branded = await branded_shop(gateway, **CAFE)
    await upload_logo(gateway, branded)
    watched = await open_page(DESKTOP)
    intent = await new_intent(gateway, branded, shop_site, lineItems=ITEMS)
    await watched.page.goto(intent["checkoutUrl"])
    page = watched.page
    assert await page.text_content(".merchant") == "Café Lumière"
    assert hex_of(await style_of(page, "body", "backgroundColor")) == "#f3efe6"
    assert hex_of(await style_of(page, ".brand-bar", "backgroundColor")) == "#0b3d2e"
    assert hex_of(await style_of(page, ".brand-bar", "color")) == "#ffffff"
    assert await style_of(page, ".pay", "borderTopLeftRadius") == "999px"
    assert await page.eval_on_selector(".logo", "e => e.complete && e.naturalWidth") == 64
    await page.screenshot(path=shoot("checkout-branded"), full_page=True)


async def test_line_items_and_submit_types(open_page, gateway, shop, shop_site):
    watched = await open_page(DESKTOP)
    booking = await new_intent(gateway, shop, shop_site, lineItems=ITEMS, submitType="BOOK")
    await watched.page.goto(booking["checkoutUrl"])
    rows = await watched.page.locator(".line-item").all_inner_texts()
    assert [re.sub(r"\s+", " ", row).strip() for row in rows] == \
        ["Notebook Qty 2 $50.00", "Fountain pen Qty 1 $49.99"]
    assert (await watched.page.text_content("#pay-button")).strip() == "Book"
    donation = await new_intent(gateway, shop, shop_site, submitType="DONATE", locale="fr")
    await watched.page.goto(donation["checkoutUrl"])
    assert (await watched.page.text_content("#pay-button")).strip() == \
        "Faire un don de 99,99\xa0$US"


async def test_the_preview_cannot_pay(open_page, gateway, shop_site):
    branded = await branded_shop(gateway, buttonColor="#1a1f36", borderStyle="SHARP")
    watched = await open_page(DESKTOP)
    await watched.page.goto(str(gateway.base_url.join(await preview_path(gateway, branded))))
    assert await watched.page.locator("[data-testid=preview-banner]").is_visible()
    assert await watched.page.locator(".line-item").count() == 2
    assert await watched.page.is_disabled("#pay-button")
    assert await style_of(watched.page, ".pay", "borderTopLeftRadius") == "0px"
    await watched.page.fill("#card_number", "4242 4242 4242 4242")
    await watched.page.press("#card_number", "Enter")
    await watched.page.wait_for_timeout(200)
    assert watched.posts == 0 and "/preview/" in watched.page.url
