"""Render the reporter-facing pages, in the reporter's language.

One Jinja2 ``Environment`` per language is built once, at start, with that
language's translations installed. Rendering then only reads shared state,
so concurrent requests in different languages never race.

Translations are gettext ``.po`` catalogues under ``locales/<code>/LC_MESSAGES``.
They are compiled in memory at start (no ``.mo`` is committed): adding a
language is adding a ``.po`` file and its code to ``languages``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import jinja2
import jinja2.ext
import jinja2.lexer
from aiohttp import web
from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from hotline.web import messages

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_SITE_TITLE",
    "LOCALES_DIR",
    "STATIC_DIR",
    "STATIC_PREFIX",
    "TEMPLATES_DIR",
    "PageRenderer",
]

_HERE: Final = Path(__file__).resolve().parent
TEMPLATES_DIR: Final = _HERE / "templates"
STATIC_DIR: Final = _HERE / "static"
LOCALES_DIR: Final = _HERE / "locales"
STATIC_PREFIX: Final = "/static/"
DEFAULT_LANGUAGE: Final = "en"

DEFAULT_SITE_TITLE: Final = messages.SITE_TITLE
"""The neutral default title. Translated per language when left unchanged."""

# Words that must never be in a page title: a title is what shows in a tab,
# in history and in a screenshot of the task switcher.
_REVEALING_TITLE: Final = re.compile(
    r"traffick|trafic|tráfico|\btrata\b|\bexploit|explotaci|slavery|esclav",
    re.IGNORECASE,
)
_LANGUAGE_CODE: Final = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_TEL_CHARS: Final = re.compile(r"[^0-9+*#]")
# Accept-Language is attacker-controlled: read a bounded prefix only.
_MAX_ACCEPT_LANGUAGE: Final = 1024
_MAX_LANGUAGE_RANGES: Final = 32


class _PretranslateConstants(jinja2.ext.Extension):
    """Translate ``{{ _("constant") }}`` once, when the template is compiled.

    Each language has its own Environment, so a constant string's translation
    is fixed for the life of the process: folding it into template data saves
    a gettext call, a Markup wrap and a %-format per string per page (most of
    a page's render time). The result is what newstyle gettext would produce:
    the translation, %-formatted with no variables, inserted unescaped (it is
    translator-controlled markup, exactly as Jinja treats it at run time).
    """

    def filter_stream(self, stream: jinja2.lexer.TokenStream) -> Iterator[jinja2.lexer.Token]:
        pending: list[jinja2.lexer.Token] = []
        shape = ("variable_begin", "name", "lparen", "string", "rparen", "variable_end")
        for token in stream:
            pending.append(token)
            i = len(pending) - 1
            if token.type != shape[i] or (i == 1 and token.value != "_"):
                if token.type == "variable_begin":
                    yield from pending[:-1]
                    pending = [token]
                else:
                    yield from pending
                    pending = []
                continue
            if len(pending) == len(shape):
                translations = self.environment.pretranslations  # type: ignore[attr-defined]
                text = translations.gettext(pending[3].value) % {}
                yield jinja2.lexer.Token(pending[0].lineno, "data", text)
                pending = []
        yield from pending


def _normalise(code: str) -> str:
    return code.strip().replace("_", "-").lower()


def _load_translations(locales_dir: Path, code: str) -> Translations:
    """Read ``code``'s ``.po`` and compile it in memory (fuzzy entries are skipped)."""
    candidates = [code, code.replace("-", "_")]
    for name in candidates:
        po_path = locales_dir / name / "LC_MESSAGES" / "messages.po"
        if po_path.is_file():
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=name.replace("-", "_"))
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return Translations(fp=buffer)
    raise ValueError(
        f"no catalogue for language {code!r}: add "
        f"{locales_dir / candidates[-1] / 'LC_MESSAGES' / 'messages.po'}"
    )


def _native_label(code: str) -> tuple[str, str]:
    """The language's name in itself, capitalised, and its writing direction."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return code, "ltr"
    name = locale.get_display_name(locale) or code
    direction = "rtl" if locale.character_order == "right-to-left" else "ltr"
    return name[:1].upper() + name[1:], direction


def _tel_uri(number: str) -> str | None:
    digits = _TEL_CHARS.sub("", number)
    return f"tel:{digits}" if digits else None


class PageRenderer:
    """Renders ``hotline/web/templates`` for the web handlers.

    Options are checked here, once: an unknown language, a missing catalogue
    or a title that names what the service is about refuse to build.
    """

    def __init__(
        self,
        *,
        site_title: str = DEFAULT_SITE_TITLE,
        org_name: str,
        emergency_number: str,
        quick_exit_url: str,
        languages: Sequence[str] = ("en", "es"),
        locales_dir: Path | None = None,
    ) -> None:
        if not languages:
            raise ValueError("at least one language is needed")
        for code in languages:
            if not _LANGUAGE_CODE.match(code):
                raise ValueError(f"not a language code: {code!r}")
        if _REVEALING_TITLE.search(site_title):
            raise ValueError(
                "site_title must be neutral: it shows in tabs and browser history, "
                "so it must not say what the service is about"
            )
        if not quick_exit_url.startswith(("https://", "http://")):
            raise ValueError("quick_exit_url must be an absolute http(s) URL")
        if not emergency_number.strip():
            raise ValueError("emergency_number is required")

        self._codes: tuple[str, ...] = tuple(dict.fromkeys(languages))
        self._by_normalised: dict[str, str] = {_normalise(c): c for c in self._codes}
        self._default = DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in self._codes else self._codes[0]
        labels = {code: _native_label(code) for code in self._codes}
        self._languages: tuple[tuple[str, str], ...] = tuple(
            (code, labels[code][0]) for code in self._codes
        )

        loader = jinja2.FileSystemLoader(TEMPLATES_DIR)
        self._translations: dict[str, Translations] = {}
        self._envs: dict[str, jinja2.Environment] = {}
        self._globals: dict[str, Mapping[str, object]] = {}
        for code in self._codes:
            translations = _load_translations(locales_dir or LOCALES_DIR, code)
            self._translations[code] = translations
            self._envs[code] = self._build_environment(loader, translations)
            title = site_title
            if site_title == DEFAULT_SITE_TITLE:
                title = translations.gettext(DEFAULT_SITE_TITLE)
            self._globals[code] = {
                "lang": code,
                "dir": labels[code][1],
                "languages": self._languages,
                "site_title": title,
                "org_name": org_name,
                "emergency_number": emergency_number,
                "emergency_tel": _tel_uri(emergency_number),
                "quick_exit_url": quick_exit_url,
                "static": STATIC_PREFIX,
            }

    @staticmethod
    def _build_environment(
        loader: jinja2.BaseLoader, translations: Translations
    ) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=loader,
            autoescape=True,
            extensions=["jinja2.ext.i18n", _PretranslateConstants],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        env.policies["ext.i18n.trimmed"] = True
        env.install_gettext_translations(  # type: ignore[attr-defined]
            translations, newstyle=True
        )
        env.extend(pretranslations=translations)
        return env

    def _code(self, lang: str) -> str:
        return self._match(lang) or self._default

    def negotiate(self, accept_language: str | None, explicit: str | None) -> str:
        """Pick the page language.

        ``explicit`` (``?lang=xx`` or the form's ``lang`` field) wins when
        supported; then the best ``Accept-Language`` match by q-value (a
        region such as ``es-MX`` falls back to ``es``); then English.
        """
        if explicit:
            match = self._match(explicit)
            if match is not None:
                return match
        if accept_language:
            for tag in self._ranked(accept_language):
                match = self._match(tag)
                if match is not None:
                    return match
        return self._default

    def _match(self, tag: str) -> str | None:
        wanted = _normalise(tag)
        if wanted in self._by_normalised:
            return self._by_normalised[wanted]
        primary = wanted.split("-", 1)[0]
        return self._by_normalised.get(primary)

    @staticmethod
    def _ranked(header: str) -> list[str]:
        ranges: list[tuple[float, int, str]] = []
        parts = header[:_MAX_ACCEPT_LANGUAGE].split(",")[:_MAX_LANGUAGE_RANGES]
        for position, part in enumerate(parts):
            tag, _, params = part.partition(";")
            tag = tag.strip()
            if not tag or tag == "*" or not _LANGUAGE_CODE.match(tag):
                continue
            quality = 1.0
            for param in params.split(";"):
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    try:
                        quality = float(value.strip())
                    except ValueError:
                        quality = 0.0
            if 0.0 < quality <= 1.0:
                ranges.append((-quality, position, tag))
        return [tag for _, _, tag in sorted(ranges)]

    def render(self, template: str, lang: str, **context: object) -> str:
        """Render ``template`` in ``lang`` (an unsupported code renders in English)."""
        code = self._code(lang)
        page = self._envs[code].get_template(template)
        return page.render({**context, **self._globals[code]})

    def gettext(self, lang: str, message: str) -> str:
        """Translate one of the handler strings in ``hotline.web.messages``."""
        return str(self._translations[self._code(lang)].gettext(message))

    def languages(self) -> Sequence[tuple[str, str]]:
        """``[(code, native label)]``, e.g. ``("es", "Español")``, in configured order."""
        return self._languages


# The application's renderer, on the aiohttp application (built by ``app.make_app``).
RENDERER: web.AppKey[PageRenderer] = web.AppKey("renderer", PageRenderer)
