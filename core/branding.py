"""A merchant's look on the hosted checkout page (CONTRACT §17): colours, corners, logo.

Pure rules: the checks of what a merchant sends, the contrast rule for text on a colour, and
the one way a logo becomes stored bytes (decoded, checked, re-encoded without metadata).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from enum import Enum

from PIL import Image, UnidentifiedImageError

from core.errors import invalid

DEFAULT_PRIMARY_COLOR = "#1a1f36"
DEFAULT_BUTTON_COLOR = "#635bff"
DEFAULT_BACKGROUND_COLOR = "#ffffff"
DISPLAY_NAME_MAX_LENGTH = 100

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
BLACK, WHITE = "#000000", "#ffffff"

MAX_LOGO_BYTES = 48 * 1024  # decoded: the upload fits the request body limit (§12.6)
MAX_LOGO_PIXELS = 2048 * 2048  # a logo is small; this bounds the memory decoding takes
MAX_LOGO_SIDE = 2048  # per side too: a long thin canvas has few pixels and breaks encoders
LOGO_BOX = (512, 512)  # what is stored: the page shows a logo a few dozen pixels high
# Pillow refuses (DecompressionBombError) images far larger than this before decoding them.
Image.MAX_IMAGE_PIXELS = 4096 * 4096

# The content types a logo may have: Pillow's format name and the served file extension.
LOGO_FORMATS = {"image/png": ("PNG", "png"), "image/jpeg": ("JPEG", "jpg"),
                "image/webp": ("WEBP", "webp")}


class BorderStyle(str, Enum):
    ROUNDED = "ROUNDED"
    SHARP = "SHARP"
    PILL = "PILL"


@dataclass(frozen=True)
class Branding:
    """What the checkout page is dressed in. `display_name` None: the business name shows.
    `logo_content_type` goes with `logo_sha256` (both None without a logo)."""

    display_name: str | None = None
    primary_color: str = DEFAULT_PRIMARY_COLOR
    button_color: str = DEFAULT_BUTTON_COLOR
    background_color: str = DEFAULT_BACKGROUND_COLOR
    border_style: BorderStyle = BorderStyle.ROUNDED
    logo_sha256: str | None = None
    logo_content_type: str | None = None

    @property
    def logo_src(self) -> str | None:
        """The logo's path on the gateway (see `logo_path`), or None without a logo."""
        if not self.logo_sha256 or not self.logo_content_type:
            return None
        return logo_path(self.logo_sha256, self.logo_content_type)


def color(value: str, field: str | tuple[str, ...]) -> str:
    """A "#RRGGBB" colour, any case in, lower-case out."""
    if not isinstance(value, str) or not _COLOR.fullmatch(value):
        raise invalid(field, 'Enter a colour as "#RRGGBB", e.g. "#635bff"')
    return value.lower()


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(hex_colour: str) -> str:
    """Black or white text on this colour: the one with the higher contrast, which is always
    at least 4.5:1 (WCAG AA); black when they tie."""
    on_black = contrast_ratio(hex_colour, BLACK)
    on_white = contrast_ratio(hex_colour, WHITE)
    return BLACK if on_black >= on_white else WHITE


def logo_path(sha256: str, content_type: str) -> str:
    """Where the gateway serves a logo: content-addressed, so it may be cached for ever."""
    return f"/checkout/assets/logo-{sha256}.{LOGO_FORMATS[content_type][1]}"


def logo_content_type(extension: str) -> str | None:
    """The content type served for a logo file extension, or None for any other."""
    return next((kind for kind, (_, ext) in LOGO_FORMATS.items() if ext == extension), None)


@dataclass(frozen=True)
class CleanLogo:
    sha256: str
    content_type: str
    data: bytes


def clean_logo(content_type: str, data_base64: str) -> CleanLogo:
    """The logo as stored: really an image of `content_type`, re-encoded by Pillow (so no
    EXIF, text chunk or trailing bytes survive), addressed by the SHA-256 of those bytes."""
    if content_type not in LOGO_FORMATS:
        raise invalid("contentType", "A logo is image/png, image/jpeg or image/webp")
    raw = _decoded(data_base64)
    image_format = LOGO_FORMATS[content_type][0]
    encoded = _reencoded(raw, image_format)
    return CleanLogo(sha256=hashlib.sha256(encoded).hexdigest(), content_type=content_type,
                     data=encoded)


def _decoded(data_base64: str) -> bytes:
    if len(data_base64) > (MAX_LOGO_BYTES * 4 // 3) + 8:
        raise invalid("dataBase64", "A logo is at most 48 KiB")
    try:
        raw = base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("dataBase64", "Must be base64") from None
    if not raw:
        raise invalid("dataBase64", "This field is required")
    if len(raw) > MAX_LOGO_BYTES:
        raise invalid("dataBase64", "A logo is at most 48 KiB")
    return raw


def _reencoded(raw: bytes, image_format: str) -> bytes:
    not_an_image = invalid("dataBase64", f"Must be a {image_format} image of at most "
                                         f"{MAX_LOGO_PIXELS} pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=[image_format]) as probe:
                probe.verify()
            with Image.open(io.BytesIO(raw), formats=[image_format]) as image:
                width, height = image.size
                if width * height > MAX_LOGO_PIXELS or max(width, height) > MAX_LOGO_SIDE:
                    raise not_an_image
                image.seek(0)  # the first frame of an animation
                image.load()
                clean = image.copy()
            clean.thumbnail(LOGO_BOX)  # stored small whatever was sent: no amplification
            clean.info = {}  # EXIF, ICC, text chunks, comments: none are written back
            encoded = _saved(clean, image_format)
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, OSError, ValueError, SyntaxError, EOFError):
        raise not_an_image from None
    if len(encoded) > MAX_LOGO_BYTES:  # what is stored and served stays within the limit too
        raise invalid("dataBase64", "This image does not fit 48 KiB once cleaned; send a "
                                    "smaller or simpler one")
    return encoded


def _saved(image: Image.Image, image_format: str) -> bytes:
    if image_format == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    if image_format == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    options = {"quality": 90} if image_format in ("JPEG", "WEBP") else {"optimize": True}
    image.save(out, format=image_format, **options)
    return out.getvalue()
