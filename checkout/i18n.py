"""The hosted checkout's languages (CONTRACT §17): English, French and Arabic.

The catalogs are the source .po files under checkout/locale/; they are compiled in memory when
first needed, so nothing built is kept in the tree. Texts the page shows that come from the core
(card checks, decline reasons) are English messages used as gettext ids: a message with no
translation shows in English rather than not at all.
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
LANGUAGES = ("en", "fr", "ar")
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})


@functools.cache
def translations(language: str) -> NullTranslations:
    """The language's catalog, compiled from its .po file; English is the source language."""
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with open(HERE / "locale" / language / "LC_MESSAGES" / "messages.po", "rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@functools.cache
def environment(language: str) -> Environment:
    """One Jinja environment per language, so a render never switches another's catalog."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)
    return env


def preferred_languages(accept_language: str) -> list[str]:
    """The Accept-Language header's tags, most wanted first (q=0 means 'not this one')."""
    weighted = []
    for position, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def page_language(intent_locale: str | None, accept_language: str) -> str:
    """The intent's locale when the merchant set one, else the shopper's best match."""
    if intent_locale in LANGUAGES:
        return intent_locale
    wanted = preferred_languages(accept_language)
    return negotiate_locale(wanted, LANGUAGES, sep="-") or DEFAULT_LANGUAGE


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)
