"""CONTRACT §15: the hosted checkout, with JavaScript, follows its intent live: paid in
another tab, or canceled, the page leaves as §7 says without a reload (Chromium, a real
`python main.py serve`)."""

from __future__ import annotations

from tests.helpers import CANCEL, confirm, create_intent, gql, open_shop


async def open_checkout(browser, gateway, shop_site):
    shop = await open_shop(gateway)
    intent = await create_intent(gateway, shop, successUrl=f"{shop_site.url}/success",
                                 cancelUrl=f"{shop_site.url}/cancel")
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(intent["checkoutUrl"])
    await page.wait_for_function("document.readyState === 'complete'")
    await page.wait_for_timeout(500)  # live.js connects and subscribes
    return shop, intent, page, problems


async def test_paid_in_another_tab_the_page_goes_to_the_success_url(browser, gateway,
                                                                    shop_site):
    shop, intent, page, problems = await open_checkout(browser, gateway, shop_site)
    await confirm(gateway, intent)  # the other tab
    await page.wait_for_url(f"{shop_site.url}/success?payment_intent={intent['id']}",
                            timeout=10_000)
    assert problems == []
    await page.close()


async def test_canceled_the_page_goes_to_the_cancel_url(browser, gateway, shop_site):
    shop, intent, page, problems = await open_checkout(browser, gateway, shop_site)
    await gql(gateway, CANCEL, {"input": {"id": intent["id"]}}, api_key=shop.api_key)
    await page.wait_for_url(f"{shop_site.url}/cancel?payment_intent={intent['id']}",
                            timeout=10_000)
    assert problems == []
    await page.close()
