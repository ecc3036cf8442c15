"""What a texter's words mean to the channel, and what we text back. Pure.

- Carrier keywords (STOP, START, HELP…) are Twilio's to handle: matched the way
  Twilio matches them, on the whole body, case-insensitively.
- A language keyword (ESPAÑOL, ENGLISH…) asks for the automatic reply in that
  language; otherwise the language is guessed from the words themselves.
- The automatic reply comes from a gettext catalogue (``locales/<lang>/
  LC_MESSAGES/sms.po``: adding a language is adding a file), or from the
  operator's own text, which is checked to stay neutral: it shows on the
  phone's lock screen, where someone else may read it.
"""

from __future__ import annotations

import functools
import io
import re
import unicodedata
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR: Final = Path(__file__).resolve().parent / "locales"
LANGUAGES: Final = ("en", "es")

AUTO_REPLY: Final = (
    "Thank you. We got your message. Someone will text you back as soon as they can. "
    "If you are in danger now, call {emergency}."
)
DELETION_REPLY: Final = (
    "We got your request. This conversation is set to be deleted in {delay}. "
    "If you write to us again before then, it will not be deleted."
)
"""The answer to DELETE/BORRAR: what happens, and how to stop it; nothing about who is told."""
_DURATIONS: Final = (
    (86400, "{n} day", "{n} days"), (3600, "{n} hour", "{n} hours"),
    (60, "{n} minute", "{n} minutes"), (1, "{n} second", "{n} seconds"),
)
EMERGENCY_PLACEHOLDER: Final = "{emergency}"
MAX_AUTO_REPLY_CHARS: Final = 320  # two SMS segments


class Keyword(Enum):
    """Twilio's default messaging keywords (TWILIO.md §7)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


_KEYWORDS: Final[Mapping[str, Keyword]] = {
    **{w: Keyword.OPT_OUT for w in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                                    "REVOKE", "OPTOUT")},
    **{w: Keyword.OPT_IN for w in ("START", "YES", "UNSTOP")},
    **{w: Keyword.HELP for w in ("HELP", "INFO")},
}
_OPT_OUT_TYPES: Final[Mapping[str, Keyword]] = {
    "STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP,
}


def keyword_of(body: str, opt_out_type: str | None = None) -> Keyword | None:
    """The carrier keyword this message is, if it is one (whole body, any case)."""
    if opt_out_type:
        return _OPT_OUT_TYPES.get(opt_out_type.strip().upper(), Keyword.OPT_OUT)
    return _KEYWORDS.get(body.strip().upper())


def _fold(text: str) -> str:
    """Lower case without accents: ``ESPAÑOL`` and ``espanol`` are the same word."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_LANGUAGE_KEYWORDS: Final[Mapping[str, str]] = {
    "espanol": "es", "spanish": "es", "castellano": "es",
    "english": "en", "ingles": "en",
}


def language_keyword(body: str) -> str | None:
    """``es`` for a message that is only ESPAÑOL (or SPANISH…), ``en`` for ENGLISH."""
    word = body.strip().strip(".!¡¿?")
    return _LANGUAGE_KEYWORDS.get(_fold(word)) if len(word) <= 20 else None


_WORD: Final = re.compile(r"[^\W\d_]+")
_ES_WORDS: Final = frozenset(
    "el la los las de del que y en un una por para con es esta estoy estan tengo tiene mi mis "
    "nos su sus al lo se pero muy hola gracias ayuda ayudar necesito quiero puedo donde casa "
    "trabajo dinero miedo hijo hija somos soy ella ellos usted porque cuando ahora aqui".split()
)
_EN_WORDS: Final = frozenset(
    "the and is are i my to of in you we it help need not have has this that with for please "
    "hello thanks they she he her his at on am was can where house work money scared now here "
    "what when because".split()
)
_ES_MARKS: Final = frozenset("ñ¿¡áéíóú")
_MAX_SCAN: Final = 2000  # characters looked at: a guess, not a parse


def detect_language(text: str) -> str | None:
    """``en``, ``es`` or None, from common words and Spanish letters. Linear time."""
    sample = text[:_MAX_SCAN].casefold()
    es = 2 * sum(sample.count(c) for c in _ES_MARKS)
    words = _WORD.findall(_fold(sample))
    es += sum(1 for w in words if w in _ES_WORDS)
    en = sum(1 for w in words if w in _EN_WORDS)
    if es > en and es >= 2:
        return "es"
    if en > es and en >= 1:
        return "en"
    return None


_REVEALING: Final = re.compile(
    r"traffick|trafic|tr[aá]fico|\btrata\b|exploit|explotaci|slavery|esclav|abus",
    re.IGNORECASE,
)


def auto_reply_problem(text: str) -> str | None:
    """Why an operator's auto-reply text is unsafe to send, or None if it is fine."""
    if _REVEALING.search(text):
        return ("must stay neutral (it shows in the phone's preview); remove words about what "
                "the service is for")
    if EMERGENCY_PLACEHOLDER not in text:
        return "must include {emergency} (the emergency number)"
    if len(text) > MAX_AUTO_REPLY_CHARS:
        return f"must be at most {MAX_AUTO_REPLY_CHARS} characters"
    return None


def _catalogue(lang: str) -> Translations:
    path = LOCALES_DIR / lang / "LC_MESSAGES" / "sms.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@functools.cache
def _translations(lang: str) -> Translations:
    return _catalogue(lang if lang in LANGUAGES else LANGUAGES[0])


def duration_words(lang: str | None, seconds: float) -> str:
    """``72h`` as "3 days" / "3 días": the largest unit that says it exactly."""
    whole = max(1, round(seconds))
    for unit, one, many in _DURATIONS:
        if whole % unit == 0:
            n = whole // unit
            return _translations(lang or "en").ngettext(one, many, n).replace("{n}", str(n))
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


def deletion_reply(lang: str | None, grace_seconds: float) -> str:
    """The neutral answer to a reporter's deletion keyword, in their language."""
    return _translations(lang or "en").gettext(DELETION_REPLY).replace(
        "{delay}", duration_words(lang, grace_seconds))


class AutoReplyTexts:
    """The automatic reply per language, built once at start."""

    def __init__(self, emergency_number: str, default_language: str,
                 overrides: Mapping[str, str] | None = None) -> None:
        self._default = default_language
        self._texts: dict[str, str] = {}
        for lang in LANGUAGES:
            template = (overrides or {}).get(lang) or _catalogue(lang).gettext(AUTO_REPLY)
            problem = auto_reply_problem(template)
            if problem is not None:  # a shipped catalogue is checked like an operator's text
                raise ValueError(f"auto-reply ({lang}): {problem}")
            self._texts[lang] = template.replace(EMERGENCY_PLACEHOLDER, emergency_number)

    def language(self, lang: str | None) -> str:
        return lang if lang in self._texts else self._default

    def text(self, lang: str | None) -> str:
        return self._texts[self.language(lang)]
