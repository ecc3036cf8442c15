"""The ``[voice]`` settings of ``hotline.toml``, declared beside the code that uses them.

Every prompt a caller hears is a setting per language, with a default written
for someone frightened, possibly overheard, possibly in a second language:
short sentences, what happens next, the emergency number first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..errors import ConfigError
from ..settings_base import Setting, bool_, choice, str_, str_list
from ..units import parse_duration

LANGUAGES: Final = ("en", "es")
"""Languages with built-in prompts; ``voice.languages`` picks and orders them."""

PROMPT_NAMES: Final = ("advice", "language", "menu", "danger", "connecting", "no_answer",
                       "record", "goodbye")

DEFAULT_PROMPTS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "advice": "If you are in danger right now, hang up and call {emergency}.",
        "language": "For English, press {digit}.",
        "menu": "To talk with an advocate now, press 1. To leave a message, press 2.",
        "danger": "If you cannot talk safely, press 3.",
        "connecting": "Please hold. We are calling an advocate for you.",
        "no_answer": "No one can answer right now. Please leave a message after the tone. "
                     "You do not have to give your name.",
        "record": "Please leave a message after the tone. You do not have to give your name. "
                  "Press the pound key when you are done.",
        "goodbye": "Thank you. Your message is safe with us. Goodbye.",
    },
    "es": {
        "advice": "Si está en peligro ahora, cuelgue y llame al {emergency}.",
        "language": "Para español, marque {digit}.",
        "menu": "Para hablar ahora con una persona de apoyo, marque 1. "
                "Para dejar un mensaje, marque 2.",
        "danger": "Si no puede hablar con seguridad, marque 3.",
        "connecting": "Espere, por favor. Estamos llamando a una persona de apoyo.",
        "no_answer": "Nadie puede contestar ahora. Deje un mensaje después del tono. "
                     "No tiene que decir su nombre.",
        "record": "Deje un mensaje después del tono. No tiene que decir su nombre. "
                  "Marque la tecla de número cuando termine.",
        "goodbye": "Gracias. Su mensaje está seguro con nosotros. Adiós.",
    },
}

_PROMPT_HELP: Final = {
    "advice": "Emergency advice, said first ({emergency} is replaced by the emergency number); "
              "the English one opens every call.",
    "language": "The language choice line, said in its own language ({digit}: its key).",
    "menu": "The main menu: 1 talk now, 2 leave a message.",
    "danger": "Added to the menu when voice.danger_option is on.",
    "connecting": "Said while the on-call advocates are rung.",
    "no_answer": "Said when no advocate answered, before recording.",
    "record": "Said before recording a message (pressed 2, or no choice was made).",
    "goodbye": "Said after a message was recorded, before hanging up.",
}

_TTS_DEFAULTS: Final = {"en": "en-US", "es": "es-US"}


def prompt_key(name: str, lang: str) -> str:
    return f"voice.{name}_{lang}"


def _languages(v: Any) -> tuple[str, ...]:
    items = str_list(v)
    if not items:
        raise ValueError("must list at least one language")
    unknown = [i for i in items if i not in LANGUAGES]
    if unknown:
        raise ValueError(f"has no built-in prompts for {', '.join(unknown)} "
                         f"(known: {', '.join(LANGUAGES)})")
    if len(set(items)) != len(items):
        raise ValueError("names a language twice")
    return items


def _prompt(v: Any) -> str:
    text = str_(v).strip()
    if not text:
        raise ValueError("must not be empty (a caller would hear silence)")
    if len(text) > 1000:
        raise ValueError("is longer than 1000 characters")
    return text


def _prompts() -> tuple[Setting, ...]:
    rows = []
    for lang in LANGUAGES:
        for name in PROMPT_NAMES:
            rows.append(Setting(prompt_key(name, lang), f"HOTLINE_VOICE_{name.upper()}_{lang.upper()}",
                                _prompt, DEFAULT_PROMPTS[lang][name],
                                f"{_PROMPT_HELP[name]} ({lang})"))
        rows.append(Setting(f"voice.tts_language_{lang}", f"HOTLINE_VOICE_TTS_LANGUAGE_{lang.upper()}",
                            str_, _TTS_DEFAULTS[lang],
                            f"Twilio <Say> language code for {lang} prompts."))
    return tuple(rows)


SETTINGS: tuple[Setting, ...] = (
    Setting("voice.languages", "HOTLINE_VOICE_LANGUAGES", _languages, LANGUAGES,
            "Languages offered in the language menu, in key order (first = press 1). "
            "The first is used when the caller chooses none."),
    Setting("voice.danger_option", "HOTLINE_VOICE_DANGER_OPTION", bool_, True,
            "Offer 'press 3 if you cannot talk safely': the call becomes critical and "
            "rings the advocates like 'talk now'."),
    Setting("voice.gather_timeout", "HOTLINE_VOICE_GATHER_TIMEOUT", parse_duration, "6s",
            "How long a menu waits for a key before it repeats (once), then records."),
    Setting("voice.dial_timeout", "HOTLINE_VOICE_DIAL_TIMEOUT", parse_duration, "20s",
            "How long each on-call advocate's phone rings before the next is tried."),
    Setting("voice.max_recording_length", "HOTLINE_VOICE_MAX_RECORDING_LENGTH", parse_duration,
            "3m", "Longest voicemail (at most 10m); bounds the download and what we store."),
    Setting("voice.recording_format", "HOTLINE_VOICE_RECORDING_FORMAT", choice("wav", "mp3"),
            "wav", "Format fetched from Twilio: 'wav' (as recorded) or 'mp3' (about 8x smaller)."),
    Setting("voice.delete_recordings", "HOTLINE_VOICE_DELETE_RECORDINGS", bool_, True,
            "Delete each voicemail at Twilio once our encrypted copy is committed."),
    Setting("voice.transcribe", "HOTLINE_VOICE_TRANSCRIBE", bool_, False,
            "Ask Twilio to transcribe voicemails, so the triage rules can read them. Off by "
            "default: it sends the caller's words to a third party (Twilio's transcription "
            "service) and keeps a text copy there until deleted; turn it on only if your "
            "organisation accepts that."),
    *_prompts(),
)

MAX_RECORDING_SECONDS: Final = 600.0


def check(values: Mapping[str, Any]) -> None:
    """Cross-setting limits of this section; raise ConfigError naming the key."""
    if not 1 <= values["voice.gather_timeout"] <= 30:
        raise ConfigError("voice.gather_timeout: must be between 1s and 30s")
    if not 5 <= values["voice.dial_timeout"] <= 120:
        raise ConfigError("voice.dial_timeout: must be between 5s and 120s")
    if not 1 <= values["voice.max_recording_length"] <= MAX_RECORDING_SECONDS:
        raise ConfigError("voice.max_recording_length: must be between 1s and 10m")
    for lang in LANGUAGES:
        if "{emergency}" not in values[prompt_key("advice", lang)]:
            raise ConfigError(f"{prompt_key('advice', lang)}: must say {{emergency}}")
        if "{digit}" not in values[prompt_key("language", lang)]:
            raise ConfigError(f"{prompt_key('language', lang)}: must say {{digit}}")
