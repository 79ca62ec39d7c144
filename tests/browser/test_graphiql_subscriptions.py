"""CONTRACT §15 in GraphiQL: a subscription runs from the page (over WebSocket to the same
/graphql, under the page's Content-Security-Policy), in Chromium against a real server."""

from __future__ import annotations

import httpx

from tests.helpers import CANCEL, create_intent, gql, open_shop

SESSION = """subscription { checkoutSessionUpdated(id: "%s", clientSecret: "%s") { status } }"""


async def test_a_subscription_runs_in_graphiql(browser, live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        shop = await open_shop(http)
        intent = await create_intent(http, shop)
        page = await browser.new_page()
        problems: list[str] = []
        # Resource failures are seen as responses (the browser's own favicon.ico request,
        # not the page's, would otherwise show as a console error)
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" and "Failed to load resource" not in message.text
                else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
                if response.status >= 400 else None)
        await page.goto(f"{live_server.url}/graphql")
        editor = page.locator(".graphiql-query-editor .CodeMirror").first
        await editor.wait_for(timeout=15_000)
        query = SESSION % (intent["id"], intent["clientSecret"])
        await page.evaluate("""query => document.querySelector(
            '.graphiql-query-editor .CodeMirror').CodeMirror.setValue(query)""", query)
        # GraphiQL parses the editor's text a moment after a change, and picks WebSocket
        # from that parse: a person typing, then clicking, never outruns it
        await page.wait_for_timeout(1000)
        await page.locator(".graphiql-execute-button").click()
        result = page.locator(".result-window")
        try:
            await result.filter(has_text="AWAITING_PAYMENT_METHOD").wait_for(timeout=15_000)
        except Exception as error:
            raise AssertionError(f"{await result.inner_text()} {problems}") from error
        await gql(http, CANCEL, {"input": {"id": intent["id"]}}, api_key=shop.api_key)
        await result.filter(has_text="CANCELED").wait_for(timeout=15_000)  # live, no click
        await page.close()
    assert problems == [], problems
