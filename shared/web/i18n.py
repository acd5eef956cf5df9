"""Page language: Chinese (zh-CN) by default, English on request. Templates are written in
English; translations/zh_CN/LC_MESSAGES/messages.po holds the Chinese, compiled in memory
when first needed (no compiled catalogue to build or commit)."""
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import request, session
from flask_babel import Babel, Domain, get_locale

from shared.i18n import translate

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"
CATALOGUES = Path(__file__).resolve().parent / "translations"


@lru_cache(maxsize=None)
def _catalogue(locale: str):
    po = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


class PoDomain(Domain):
    def get_translations(self):
        return _catalogue(DEFAULT) if is_chinese() else NullTranslations()


def select_locale() -> str:
    chosen = request.args.get("lang") or session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT


def is_chinese() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def localized(messages):
    """API validation messages (English) in the page's language."""
    return translate(messages) if is_chinese() else messages


def init_app(app) -> None:
    babel = Babel(app, locale_selector=select_locale, default_timezone="Asia/Shanghai")
    babel.domain_instance = PoDomain()
