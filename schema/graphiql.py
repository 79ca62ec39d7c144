"""GraphiQL from the gateway's own assets (CONTRACT §16): no CDN, works with no internet.

The built GraphiQL, React and ReactDOM bundles come from the `graphene-django-graphiql-static`
package (installed, never copied into this repository); `schema/static` holds our page script
and stylesheet. Both are served under `ASSETS_PATH`, and the page runs under a
Content-Security-Policy that allows scripts, styles and requests from this origin only.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql/static"
ASSETS_PACKAGE = ("graphene_django_graphiql_static", "static/graphene_django_graphiql_static")
OUR_ASSETS = ("schema", "static")

# GraphiQL's stylesheet embeds its fonts and icons as data: URLs.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
    "img-src 'self' data:", "font-src 'self' data:", "base-uri 'none'", "form-action 'none'",
    "frame-ancestors 'none'"])

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>GraphiQL</title>
  <link rel="stylesheet" href="{assets}/graphiql.min.css">
  <link rel="stylesheet" href="{assets}/graphiql.css">
  <script src="{assets}/react.production.min.js" defer></script>
  <script src="{assets}/react-dom.production.min.js" defer></script>
  <script src="{assets}/graphiql.min.js" defer></script>
  <script src="{assets}/graphiql.js" defer></script>
</head>
<body>
  <div id="graphiql">Loading…</div>
</body>
</html>
"""


def graphiql_assets() -> StaticFiles:
    """The package's bundles and our page script, under one mount."""
    return StaticFiles(packages=[OUR_ASSETS, ASSETS_PACKAGE])


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(PAGE.format(assets=ASSETS_PATH), headers={
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store"})
