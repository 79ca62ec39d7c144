"""Table tests of the pure rules of CONTRACT §17: colours, contrast, logos, line items,
locales."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from core import branding, limits, line_items
from core.errors import ErrorCode, UserError
from core.line_items import LineItem


def refused_field(call, *args) -> tuple:
    with pytest.raises(UserError) as error:
        call(*args)
    assert error.value.code is ErrorCode.VALIDATION_ERROR
    return error.value.field


@pytest.mark.parametrize(("value", "expected"), [
    ("#AABBCC", "#aabbcc"), ("#635bff", "#635bff"), ("#00fF0a", "#00ff0a")])
def test_colours_read_back_lower_case(value, expected):
    assert branding.color(value, ("branding", "primaryColor")) == expected


@pytest.mark.parametrize("value", [
    "red", "#abc", "#abcdefa", "aabbcc", "#gg0000", " #aabbcc", "#aabbcc\n", "", "#ａａbbcc"])
def test_bad_colours_name_their_field(value):
    field = refused_field(branding.color, value, ("branding", "buttonColor"))
    assert field == ("branding", "buttonColor")


@pytest.mark.parametrize(("background", "text"), [
    ("#ffffff", "#000000"), ("#000000", "#ffffff"), ("#635bff", "#ffffff"),
    ("#1a1f36", "#ffffff"), ("#ffff00", "#000000"), ("#777777", "#000000"),
    ("#767676", "#000000"), ("#595959", "#ffffff"), ("#ff0000", "#000000"), ("#0000ff", "#ffffff")])
def test_text_colour_is_the_contrasting_one(background, text):
    assert branding.text_color_on(background) == text
    assert branding.contrast_ratio(background, text) >= 4.5


def test_every_grey_gets_at_least_4_5_to_1():
    for level in range(256):
        colour = f"#{level:02x}{level:02x}{level:02x}"
        assert branding.contrast_ratio(colour, branding.text_color_on(colour)) >= 4.5


def test_logo_paths_and_branding_defaults():
    sha = "a" * 64
    assert branding.logo_path(sha, "image/png") == f"/checkout/assets/logo-{sha}.png"
    assert branding.logo_path(sha, "image/jpeg").endswith(".jpg")
    assert branding.logo_path(sha, "image/webp").endswith(".webp")
    assert branding.logo_content_type("jpg") == "image/jpeg"
    assert branding.logo_content_type("svg") is None
    default = branding.Branding()
    assert (default.primary_color, default.button_color, default.background_color,
            default.border_style, default.logo_src) == \
        ("#1a1f36", "#635bff", "#ffffff", branding.BorderStyle.ROUNDED, None)
    with_logo = branding.Branding(logo_sha256=sha, logo_content_type="image/png")
    assert with_logo.logo_src == f"/checkout/assets/logo-{sha}.png"


def encoded(image_format: str, size=(8, 8), mode="RGB", **options) -> str:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format=image_format, **options)
    return base64.b64encode(out.getvalue()).decode()


def test_clean_logo_reencodes_and_addresses_by_content():
    exif = Image.Exif()
    exif[0x010E] = "where I live"
    logo = branding.clean_logo("image/jpeg", encoded("JPEG", exif=exif.tobytes()))
    assert b"where I live" not in logo.data and b"Exif" not in logo.data
    assert Image.open(io.BytesIO(logo.data)).format == "JPEG"
    again = branding.clean_logo("image/jpeg", encoded("JPEG"))
    assert again.sha256 == logo.sha256  # the same picture, the same address
    webp = branding.clean_logo("image/webp", encoded("WEBP", mode="RGBA"))
    assert Image.open(io.BytesIO(webp.data)).format == "WEBP"
    palette = branding.clean_logo("image/png", encoded("PNG", mode="P"))
    assert Image.open(io.BytesIO(palette.data)).mode == "P"


@pytest.mark.parametrize(("content_type", "data", "field"), [
    ("image/gif", encoded("GIF"), ("contentType",)),
    ("image/png", encoded("JPEG"), ("dataBase64",)),
    ("image/jpeg", encoded("PNG"), ("dataBase64",)),
    ("image/webp", encoded("PNG"), ("dataBase64",)),
    ("image/png", "%%%", ("dataBase64",)),
    ("image/png", "", ("dataBase64",)),
    ("image/png", base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(48 * 1024)).decode(),
     ("dataBase64",)),  # over 48 KiB
    ("image/png", encoded("PNG", size=(3000, 3000), mode="1"), ("dataBase64",)),  # too big
    ("image/png", encoded("PNG", size=(9000, 9000), mode="1"), ("dataBase64",)),  # a bomb
])
def test_clean_logo_refusals(content_type, data, field):
    assert refused_field(branding.clean_logo, content_type, data) == field


def test_line_items_are_checked_and_summed():
    items = [LineItem("Mug", 2, 1250), LineItem("Tea", 1, 0)]
    assert line_items.line_items(items, 2500) == [
        {"name": "Mug", "quantity": 2, "unit_amount": 1250, "amount": 2500},
        {"name": "Tea", "quantity": 1, "unit_amount": 0, "amount": 0}]
    assert line_items.line_items(None, 2500) is None
    most = [LineItem("x", 1, 1)] * limits.LINE_ITEMS_PER_INTENT
    assert len(line_items.line_items(most, limits.LINE_ITEMS_PER_INTENT)) == 100


@pytest.mark.parametrize(("items", "amount", "field"), [
    ([LineItem("Mug", 2, 1250)], 2499, ("lineItems",)),
    ([], 1, ("lineItems",)),
    ([LineItem("x", 1, 1)] * 101, 101, ("lineItems",)),
    ([LineItem("", 1, 1)], 1, ("lineItems", "0", "name")),
    ([LineItem("x" * 201, 1, 1)], 1, ("lineItems", "0", "name")),
    ([LineItem("a\x1bb", 1, 1)], 1, ("lineItems", "0", "name")),
    ([LineItem("x", 1, 1), LineItem("y", 0, 1)], 1, ("lineItems", "1", "quantity")),
    ([LineItem("x", 1000, 1)], 1000, ("lineItems", "0", "quantity")),
    ([LineItem("x", 1, -1)], -1, ("lineItems", "0", "unitAmount")),
])
def test_line_item_refusals(items, amount, field):
    assert refused_field(line_items.line_items, items, amount) == field


def test_locales():
    assert [line_items.locale(v) for v in ("en", "fr", "ar", None)] == ["en", "fr", "ar", None]
    for bad in ("de", "EN", "fr-FR", "", " en"):
        assert refused_field(line_items.locale, bad) == ("locale",)


def amplifying_png(side: int = 2048) -> bytes:
    """A small upload that decodes to a large, noisy image (each row the PNG 'average' filter
    over a constant): ~21 KB sent, megabytes if stored as decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x03" + b"\x95" * 4 * side for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def test_what_is_stored_stays_small_whatever_was_sent():
    sent = amplifying_png()
    assert len(sent) <= branding.MAX_LOGO_BYTES
    try:
        logo = branding.clean_logo("image/png", base64.b64encode(sent).decode())
    except UserError as refused:  # too noisy to fit once cleaned: refused, not stored
        assert refused.code is ErrorCode.VALIDATION_ERROR
        return
    assert len(logo.data) <= branding.MAX_LOGO_BYTES
    assert max(Image.open(io.BytesIO(logo.data)).size) <= 512


# An animated WebP whose canvas is 8 × 20000 pixels (few pixels, a side too long to encode).
THIN_WEBP = ("UklGRlQAAABXRUJQVlA4WAoAAAACAAAABwAAH04AQU5JTQYAAAAAAAAAAABBTk1GKAAAAAAAAAAAAAcAAA"
             "cAAGQAAABWUDhMDwAAAC8HwAEABxD9j/4HIqL/AQA=")


def test_a_long_thin_canvas_is_refused_not_a_crash():
    with pytest.raises(UserError) as refused:
        branding.clean_logo("image/webp", THIN_WEBP)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.field == ("dataBase64",)
