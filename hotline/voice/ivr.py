"""The IVR as pure decisions: where a caller is, what they pressed → what they hear next.

No I/O here: the routes read the request, ask this module what comes next,
store the fact it names and answer with its TwiML. The tree:

    incoming ─ advice (English) ─ language menu ──(key)──▶ menu
                                      └ no key: repeat once, then voicemail
    menu ─ 1 talk now ─▶ ring the on-call advocates in order ─ none answered ─▶ voicemail
         ─ 2 message  ─▶ voicemail
         ─ 3 danger   ─▶ like 1, and the call is critical (voice.danger_option)
         └ no key / another key: repeat once, then voicemail

Every step URL carries what the next step needs in its query (language,
attempt, the dial order snapshot); Twilio signs it with the rest of the URL,
so the server keeps no call state between requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from ..domain import Urgency
from .settings import LANGUAGES, PROMPT_NAMES, prompt_key

INCOMING: Final = "/twilio/voice"
LANGUAGE: Final = "/twilio/voice/language"
MENU: Final = "/twilio/voice/menu"
DIAL: Final = "/twilio/voice/dial"
RECORDED: Final = "/twilio/voice/recorded"
RECORDING_STATUS: Final = "/twilio/voice/recording"
TRANSCRIPTION: Final = "/twilio/voice/transcription"
STATUS: Final = "/twilio/voice/status"

TALK, MESSAGE, DANGER, NONE = "talk", "message", "danger", "none"
URGENCY_OF: Final[Mapping[str, Urgency | None]] = {
    TALK: Urgency.HIGH, DANGER: Urgency.CRITICAL, MESSAGE: None, NONE: None}
RECORDING_BYTES_PER_SECOND: Final = 16_000  # Twilio records mono 8 kHz 16-bit PCM


@dataclass(frozen=True)
class Ring:
    """One advocate to ring: only what the TwiML and the sealed record need."""

    advocate_id: int
    name: str
    phone: str


@dataclass(frozen=True)
class Step:
    """What the caller hears next, and the menu choice to record, if one was made."""

    twiml: str
    lang: str
    choice: str | None = None


@dataclass(frozen=True)
class Ivr:
    public_url: str
    hotline_number: str
    emergency: str
    languages: tuple[str, ...]
    prompts: Mapping[str, str]  # "voice.menu_es" → text
    tts: Mapping[str, str]  # "es" → "es-US"
    danger_option: bool
    gather_timeout: int
    dial_timeout: int
    max_recording: int
    transcribe: bool

    @classmethod
    def from_config(cls, c: Mapping[str, Any] | Any) -> Ivr:
        langs = tuple(c["voice.languages"])
        prompts = {prompt_key(n, lang): str(c[prompt_key(n, lang)])
                   for lang in LANGUAGES for n in PROMPT_NAMES}
        return cls(str(c["service.public_url"]), str(c["twilio.number"]),
                   str(c["organisation.emergency_number"]), langs, prompts,
                   {lang: str(c[f"voice.tts_language_{lang}"]) for lang in LANGUAGES},
                   bool(c["voice.danger_option"]), round(c["voice.gather_timeout"]),
                   round(c["voice.dial_timeout"]), round(c["voice.max_recording_length"]),
                   bool(c["voice.transcribe"]))

    @property
    def default_lang(self) -> str:
        return self.languages[0]

    @property
    def max_recording_bytes(self) -> int:
        return self.max_recording * RECORDING_BYTES_PER_SECOND * 5 // 4 + 65536

    # -- building blocks ----------------------------------------------------------

    def url(self, path: str, **query: str | int) -> str:
        q = urlencode({k: str(v) for k, v in query.items()})
        return self.public_url + path + (f"?{q}" if q else "")

    def _say(self, node: Any, name: str, lang: str, **values: str) -> None:
        text = self.prompts[prompt_key(name, lang)].replace("{emergency}", self.emergency)
        for k, v in values.items():
            text = text.replace("{" + k + "}", v)
        node.say(text, language=self.tts[lang])

    def _gather(self, r: VoiceResponse, action: str) -> Any:
        return r.gather(input="dtmf", num_digits=1, timeout=self.gather_timeout, action=action,
                        method="POST", action_on_empty_result=False)

    # -- the tree -------------------------------------------------------------------

    def welcome(self) -> str:
        """The first answer: emergency advice in English, then the language menu."""
        r = VoiceResponse()
        self._say(r, "advice", "en")
        if len(self.languages) == 1:
            return self._menu(r, self.default_lang, 1)
        return self._language_menu(r, 1)

    def _language_menu(self, r: VoiceResponse, attempt: int) -> str:
        g = self._gather(r, self.url(LANGUAGE, **{"try": attempt}))
        for digit, lang in enumerate(self.languages, start=1):
            self._say(g, "language", lang, digit=str(digit))
        # No key before the timeout: Twilio goes on to the next verb, without Digits.
        r.redirect(self.url(LANGUAGE, **{"try": attempt}), method="POST")
        return str(r)

    def language(self, attempt: int, digits: str) -> Step:
        """After the language menu: a language's key opens the menu in it."""
        index = int(digits) - 1 if digits.isdigit() and len(digits) == 1 else -1
        if 0 <= index < len(self.languages):
            lang = self.languages[index]
            r = VoiceResponse()
            if lang != "en":  # the English advice opened the call already
                self._say(r, "advice", lang)
            return Step(self._menu(r, lang, 1), lang)
        if attempt == 1:
            return Step(self._language_menu(VoiceResponse(), 2), self.default_lang)
        return Step(self.record(self.default_lang, "record"), self.default_lang, NONE)

    def _menu(self, r: VoiceResponse, lang: str, attempt: int) -> str:
        action = self.url(MENU, lang=lang, **{"try": attempt})
        g = self._gather(r, action)
        self._say(g, "menu", lang)
        if self.danger_option:
            self._say(g, "danger", lang)
        r.redirect(action, method="POST")
        return str(r)

    def menu(self, lang: str, attempt: int, digits: str) -> Step:
        """After the main menu: the caller's choice, or a repeat, or voicemail."""
        choice = {"1": TALK, "2": MESSAGE}.get(digits)
        if digits == "3" and self.danger_option:
            choice = DANGER
        if choice == MESSAGE:
            return Step(self.record(lang, "record"), lang, MESSAGE)
        if choice is not None:  # talk or danger: the route rings the advocates
            return Step("", lang, choice)
        if attempt == 1:
            return Step(self._menu(VoiceResponse(), lang, 2), lang)
        return Step(self.record(lang, "record"), lang, NONE)

    def ring(self, lang: str, choice: str, order: Sequence[int], index: int, who: Ring | None,
             *, first: bool) -> str:
        """Ring one advocate with the hotline's number as caller ID; none left → voicemail."""
        if who is None:
            return self.record(lang, "no_answer")
        r = VoiceResponse()
        if first:
            self._say(r, "connecting", lang)
        action = self.url(DIAL, lang=lang, choice=choice, order="-".join(map(str, order)), n=index)
        d = r.dial(caller_id=self.hotline_number, timeout=self.dial_timeout, action=action,
                   method="POST", answer_on_bridge=True)
        d.number(who.phone)
        return str(r)

    def record(self, lang: str, intro: str) -> str:
        """Voicemail: a bounded recording, ready-callback for the fetch, then goodbye."""
        r = VoiceResponse()
        self._say(r, intro, lang)
        extra: dict[str, Any] = {}
        if self.transcribe:
            extra = {"transcribe": True, "transcribe_callback": self.url(TRANSCRIPTION)}
        r.record(action=self.url(RECORDED, lang=lang), method="POST", max_length=self.max_recording,
                 timeout=10, finish_on_key="#", play_beep=True, trim="trim-silence",
                 recording_status_callback=self.url(RECORDING_STATUS, lang=lang),
                 recording_status_callback_method="POST",
                 recording_status_callback_event="completed absent",
                 **({"transcribe": False} | extra))
        # Twilio goes on here only when nothing was recorded.
        self._say(r, "goodbye", lang)
        r.hangup()
        return str(r)

    def goodbye(self, lang: str) -> str:
        r = VoiceResponse()
        self._say(r, "goodbye", lang)
        r.hangup()
        return str(r)

    @staticmethod
    def hangup() -> str:
        r = VoiceResponse()
        r.hangup()
        return str(r)
