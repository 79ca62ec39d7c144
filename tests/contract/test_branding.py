"""Checkout branding (CONTRACT §17) through HTTP: colours, corners, display name, logos,
roles and the preview link."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from urllib.parse import urlsplit

import pytest
from PIL import Image, PngImagePlugin

from core.config import get_settings
from resolvers.merchants import preview_token
from tests.helpers import (
    UPDATE_SETTINGS,
    add_member,
    gql,
    open_shop,
    payload_of,
)

BRANDING = ("branding { displayName primaryColor buttonColor backgroundColor borderStyle "
            "logoUrl }")
SETTINGS_QUERY = f"""query($id: ID!) {{ merchant(id: $id) {{ settings {{ {BRANDING}
  checkoutPreviewUrl }} }} }}"""
UPDATE_BRANDING = f"""mutation($input: UpdateMerchantSettingsInput!) {{
  updateMerchantSettings(input: $input) {{ settings {{ {BRANDING} }}
  userErrors {{ code field message }} }} }}"""
UPLOAD = f"""mutation($input: UploadMerchantLogoInput!) {{ uploadMerchantLogo(input: $input) {{
  settings {{ {BRANDING} }} userErrors {{ code field message }} }} }}"""
REMOVE = f"""mutation($input: RemoveMerchantLogoInput!) {{ removeMerchantLogo(input: $input) {{
  settings {{ {BRANDING} }} userErrors {{ code field message }} }} }}"""
DEFAULTS = {"displayName": None, "primaryColor": "#1a1f36", "buttonColor": "#635bff",
            "backgroundColor": "#ffffff", "borderStyle": "ROUNDED", "logoUrl": None}


def image_bytes(image_format: str, **save_options) -> bytes:
    image = Image.new("RGB", (40, 20), (200, 30, 90))
    out = io.BytesIO()
    image.save(out, format=image_format, **save_options)
    return out.getvalue()


def png_with_metadata() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret-location-tag")
    exif = Image.Exif()
    exif[0x010E] = "exif-secret-description"  # ImageDescription
    return image_bytes("PNG", pnginfo=text, exif=exif.tobytes())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def branding_of(client, shop) -> dict:
    body = await gql(client, SETTINGS_QUERY, {"id": shop.merchant_id}, token=shop.owner.token)
    return body["data"]["merchant"]["settings"]["branding"]


async def upload(client, shop, content_type: str, data: bytes, token=None) -> dict:
    return payload_of(await gql(client, UPLOAD, {"input": {
        "merchantId": shop.merchant_id, "contentType": content_type,
        "dataBase64": b64(data)}}, token=token or shop.owner.token), "uploadMerchantLogo")


async def test_branding_defaults_update_and_read_back_lower_case(client, shop):
    assert await branding_of(client, shop) == DEFAULTS
    updated = payload_of(await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": {
            "displayName": "  Acme Shop ", "primaryColor": "#AABBCC", "buttonColor": "#0A0B0C",
            "backgroundColor": "#FfFfF0", "borderStyle": "PILL"}}}, token=shop.owner.token),
        "updateMerchantSettings")
    assert updated["userErrors"] == []
    expected = {**DEFAULTS, "displayName": "Acme Shop", "primaryColor": "#aabbcc",
                "buttonColor": "#0a0b0c", "backgroundColor": "#fffff0", "borderStyle": "PILL"}
    assert updated["settings"]["branding"] == expected
    assert await branding_of(client, shop) == expected
    # Fields left out stay; "" shows the business name again.
    payload_of(await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": {"displayName": ""}}},
        token=shop.owner.token), "updateMerchantSettings")
    assert await branding_of(client, shop) == {**expected, "displayName": None}


@pytest.mark.parametrize(("branding", "field"), [
    ({"primaryColor": "red"}, "primaryColor"),
    ({"buttonColor": "#12345"}, "buttonColor"),
    ({"backgroundColor": "#1234567"}, "backgroundColor"),
    ({"primaryColor": "#GGGGGG"}, "primaryColor"),
    ({"displayName": "x" * 101}, "displayName"),
    ({"displayName": "bad\x07name"}, "displayName"),
])
async def test_branding_validation_names_the_field(client, shop, branding, field):
    refused = payload_of(await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": branding}}, token=shop.owner.token),
        "updateMerchantSettings")
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == \
        [("VALIDATION_ERROR", ["input", "branding", field])]
    assert await branding_of(client, shop) == DEFAULTS


@pytest.mark.parametrize("role", ["MANAGER", "STAFF"])
async def test_only_owner_and_admin_change_branding(client, shop, role):
    member = await add_member(client, shop.owner, shop.merchant_id, role)
    body = await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": {"primaryColor": "#000000"}}},
        token=member.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await gql(client, UPLOAD, {"input": {
        "merchantId": shop.merchant_id, "contentType": "image/png",
        "dataBase64": b64(image_bytes("PNG"))}}, token=member.token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_key = await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": {"primaryColor": "#000000"}}},
        api_key=shop.api_key)
    assert by_key["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")
    admin = await add_member(client, shop.owner, shop.merchant_id, "ADMIN")
    allowed = payload_of(await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": {"borderStyle": "SHARP"}}},
        token=admin.token), "updateMerchantSettings")
    assert allowed["settings"]["branding"]["borderStyle"] == "SHARP"


async def test_logo_is_reencoded_without_metadata_and_served_immutable(client, shop):
    original = png_with_metadata()
    assert b"secret-location-tag" in original and b"exif-secret" in original
    uploaded = await upload(client, shop, "image/png", original)
    assert uploaded["userErrors"] == []
    url = uploaded["settings"]["branding"]["logoUrl"]
    base = get_settings().public_base_url
    assert url.startswith(f"{base}/checkout/assets/logo-") and url.endswith(".png")
    served = await client.get(urlsplit(url).path)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert b"secret-location-tag" not in served.content and b"exif" not in served.content
    assert b"tEXt" not in served.content and b"eXIf" not in served.content
    assert hashlib.sha256(served.content).hexdigest() in url  # content-addressed
    decoded = Image.open(io.BytesIO(served.content))
    assert decoded.format == "PNG" and decoded.size == (40, 20) and not decoded.getexif()
    assert (await branding_of(client, shop))["logoUrl"] == url


@pytest.mark.parametrize(("content_type", "image_format", "extension"), [
    ("image/jpeg", "JPEG", "jpg"), ("image/webp", "WEBP", "webp")])
async def test_jpeg_and_webp_logos(client, shop, content_type, image_format, extension):
    uploaded = await upload(client, shop, content_type, image_bytes(image_format))
    url = uploaded["settings"]["branding"]["logoUrl"]
    assert url.endswith(f".{extension}")
    served = await client.get(urlsplit(url).path)
    assert served.headers["content-type"] == content_type
    assert Image.open(io.BytesIO(served.content)).format == image_format


@pytest.mark.parametrize(("content_type", "data", "field"), [
    ("image/png", image_bytes("JPEG"), "dataBase64"),  # a JPEG called a PNG
    ("image/png", b"GIF89a not really an image at all", "dataBase64"),
    ("image/png", image_bytes("PNG")[:40], "dataBase64"),  # truncated
    ("image/gif", image_bytes("GIF"), "contentType"),
    ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "contentType"),
])
async def test_logo_refusals(client, shop, content_type, data, field):
    refused = await upload(client, shop, content_type, data)
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == \
        [("VALIDATION_ERROR", ["input", field])]
    assert (await branding_of(client, shop))["logoUrl"] is None


async def test_logo_over_48_kib_is_refused(client, shop):
    """48 KiB in base64 fills the request body limit (§12.6): a larger logo never arrives
    (core.branding refuses it too when the limit is raised: tests/core/test_branding.py)."""
    body = await gql(client, UPLOAD, {"input": {
        "merchantId": shop.merchant_id, "contentType": "image/png",
        "dataBase64": b64(b"\x89PNG" + bytes(48 * 1024))}}, token=shop.owner.token)
    assert body["_status"] == 413 and body["data"] is None
    assert (await branding_of(client, shop))["logoUrl"] is None


async def test_logo_refusals_for_bad_base64_and_huge_dimensions(client, shop):
    refused = payload_of(await gql(client, UPLOAD, {"input": {
        "merchantId": shop.merchant_id, "contentType": "image/png",
        "dataBase64": "not base64!!"}}, token=shop.owner.token), "uploadMerchantLogo")
    assert refused["userErrors"][0]["field"] == ["input", "dataBase64"]
    # A tiny file that decodes to a huge canvas (a decompression bomb) is refused unread.
    bomb = io.BytesIO()
    Image.new("1", (5000, 5000)).save(bomb, format="PNG", optimize=True)
    assert len(bomb.getvalue()) < 48 * 1024
    refused = await upload(client, shop, "image/png", bomb.getvalue())
    assert refused["userErrors"][0]["field"] == ["input", "dataBase64"]


async def test_remove_logo_and_unknown_assets(client, shop):
    uploaded = await upload(client, shop, "image/png", image_bytes("PNG"))
    path = urlsplit(uploaded["settings"]["branding"]["logoUrl"]).path
    removed = payload_of(await gql(client, REMOVE, {"input": {
        "merchantId": shop.merchant_id}}, token=shop.owner.token), "removeMerchantLogo")
    assert removed["userErrors"] == [] and removed["settings"]["branding"]["logoUrl"] is None
    assert (await branding_of(client, shop))["logoUrl"] is None
    assert (await client.get(path.replace(".png", ".jpg"))).status_code == 404
    assert (await client.get("/checkout/assets/logo-" + "0" * 64 + ".png")).status_code == 404
    assert (await client.get("/checkout/assets/logo-nothex.png")).status_code == 404


async def test_checkout_preview_url_per_role(client, shop):
    expected = (f"{get_settings().public_base_url}/checkout/preview/{shop.merchant_id}"
                f"?token={preview_token(shop.merchant_id)}")

    async def seen_by(**auth) -> str | None:
        body = await gql(client, SETTINGS_QUERY, {"id": shop.merchant_id}, **auth)
        return body["data"]["merchant"]["settings"]["checkoutPreviewUrl"]

    assert await seen_by(token=shop.owner.token) == expected
    assert len(preview_token(shop.merchant_id)) == 64
    for role, sees in (("ADMIN", True), ("MANAGER", True), ("STAFF", False)):
        member = await add_member(client, shop.owner, shop.merchant_id, role)
        assert await seen_by(token=member.token) == (expected if sees else None), role
    assert await seen_by(api_key=shop.api_key) is None


async def test_update_settings_without_branding_keeps_it(client, shop):
    payload_of(await gql(client, UPDATE_BRANDING, {"input": {
        "merchantId": shop.merchant_id, "branding": {"buttonColor": "#FF0000"}}},
        token=shop.owner.token), "updateMerchantSettings")
    changed = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": shop.merchant_id, "defaultCurrency": "EUR"}}, token=shop.owner.token),
        "updateMerchantSettings")
    assert changed["userErrors"] == []
    assert (await branding_of(client, shop))["buttonColor"] == "#ff0000"


async def test_a_logo_no_merchant_shows_is_deleted_a_shared_one_is_kept(client, shop):
    from models.merchants import MerchantLogo

    other = await open_shop(client)
    image = Image.new("RGB", (24, 24), tuple(secrets.token_bytes(3)))  # no other test's image
    out = io.BytesIO()
    image.save(out, format="PNG")
    first = out.getvalue()
    await upload(client, shop, "image/png", first)
    await upload(client, other, "image/png", first)  # the same image: one stored row
    shared = urlsplit((await branding_of(client, shop))["logoUrl"]).path
    sha = shared.rsplit("-", 1)[1].split(".")[0]
    await upload(client, shop, "image/jpeg", image_bytes("JPEG"))
    assert await MerchantLogo.exists(sha256=sha)  # the other merchant still shows it
    await gql(client, REMOVE, {"input": {"merchantId": other.merchant_id}},
              token=other.owner.token)
    assert not await MerchantLogo.exists(sha256=sha)
    assert (await client.get(shared)).status_code == 404
