"""The hosted page of CONTRACT §17 over HTTP: the page's language (intent locale, else the
shopper's Accept-Language), translated error pages, the theme stylesheet and the preview."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from resolvers.merchants import preview_token
from tests.helpers import UPDATE_SETTINGS, create_intent, gql, payload_of

THEME_LINK = re.compile(r'href="(/checkout/assets/theme-[^"]+\.css)"')
HTML_TAG = re.compile(r"<html lang=\"([a-z]+)\" dir=\"(ltr|rtl)\">")


async def page_of(client, intent: dict, accept_language: str | None = None):
    path = urlsplit(intent["checkoutUrl"])
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return await client.get(f"{path.path}?{path.query}", headers=headers)


async def test_the_shoppers_accept_language_picks_the_page_language(client, shop):
    intent = await create_intent(client, shop)
    for header, language, direction, amount in [
            ("fr-CA,fr;q=0.9,en;q=0.8", "fr", "ltr", "99,99\xa0$US"),
            ("de, ar;q=0.5", "ar", "rtl", "99.99\xa0\u2066US$\u2069"),
            ("de, ja", "en", "ltr", "$99.99"),
            (None, "en", "ltr", "$99.99")]:
        response = await page_of(client, intent, header)
        assert HTML_TAG.search(response.text).groups() == (language, direction), header
        assert response.headers["content-language"] == language
        assert amount in response.text


async def test_the_intents_locale_wins_over_accept_language(client, shop):
    intent = await create_intent(client, shop, locale="fr", submitType="DONATE")
    response = await page_of(client, intent, "ar, en;q=0.9")
    assert HTML_TAG.search(response.text).groups() == ("fr", "ltr")
    assert "Faire un don de 99,99\xa0$US" in response.text
    assert "Numéro de carte" in response.text


async def test_the_invalid_session_page_is_translated(client, shop):
    intent = await create_intent(client, shop)
    response = await client.get(f"/checkout/{intent['id']}?client_secret=wrong",
                                headers={"Accept-Language": "ar"})
    assert response.status_code == 403
    assert "جلسة دفع غير صالحة" in response.text and 'dir="rtl"' in response.text


async def test_a_declined_card_is_explained_in_the_pages_language(client, shop):
    intent = await create_intent(client, shop, locale="fr")
    response = await client.post(f"/checkout/{intent['id']}", data={
        "client_secret": intent["clientSecret"], "card_number": "4000000000009995",
        "cardholder_name": "Ada", "expiry": "12/34", "cvc": "123"})
    assert response.status_code == 402
    assert "Le solde de votre carte est insuffisant" in response.text
    assert "Il reste 4 tentatives." in response.text


async def test_the_theme_stylesheet_carries_the_branding_and_caches_for_ever(client, shop):
    answer = await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": shop.merchant_id, "branding": {"buttonColor": "#FFD400",
                                                     "borderStyle": "PILL"}}},
        token=shop.owner.token)
    assert payload_of(answer, "updateMerchantSettings")["userErrors"] == []
    page = await page_of(client, await create_intent(client, shop))
    assert "img-src 'self';" in page.headers["content-security-policy"]
    css = await client.get(THEME_LINK.search(page.text).group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "--button: #ffd400; --on-button: #000000;" in css.text
    assert "--radius: 999px;" in css.text
    assert (await client.get("/checkout/assets/theme-nothex.css")).status_code == 404


async def test_the_preview_needs_its_token_and_cannot_pay(client, shop):
    path = f"/checkout/preview/{shop.merchant_id}"
    refused = await client.get(f"{path}?token={'0' * 64}")
    assert refused.status_code == 403 and "Invalid preview link" in refused.text
    preview = await client.get(f"{path}?token={preview_token(shop.merchant_id)}&locale=fr")
    assert preview.status_code == 200
    assert "Aperçu : cette page ne peut pas encaisser de paiement." in preview.text
    assert re.search(r'<button[^>]*id="pay-button"[^>]*disabled', preview.text, re.S)
    assert "action=" not in preview.text and "client_secret" not in preview.text
    assert "69,99\xa0$US" in preview.text  # the two sample items: 2 × 25.00 + 19.99
