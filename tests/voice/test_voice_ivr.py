"""The IVR's pure decisions and TwiML, without a server: any administrator's prompt
text is said as written (escaped, never parsed as TwiML), and every answer is a
TwiML document Twilio can follow."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from hotline.voice.ivr import DANGER, MESSAGE, NONE, TALK, Ivr, Ring
from hotline.voice.settings import DEFAULT_PROMPTS, LANGUAGES, PROMPT_NAMES, prompt_key


def _ivr(prompt: str = "", **kw: object) -> Ivr:
    prompts = {prompt_key(n, lang): (prompt or DEFAULT_PROMPTS[lang][n])
               for lang in LANGUAGES for n in PROMPT_NAMES}
    base: dict[str, object] = dict(
        public_url="https://hotline.example.org", hotline_number="+15005550006",
        emergency="112", languages=("en", "es"), prompts=prompts,
        tts={"en": "en-GB", "es": "es-ES"}, danger_option=True, gather_timeout=6,
        dial_timeout=20, max_recording=180, transcribe=False)
    base.update(kw)
    return Ivr(**base)  # type: ignore[arg-type]


def _root(xml: str) -> ET.Element:
    root = ET.fromstring(xml)  # noqa: S314 - our own TwiML
    assert root.tag == "Response"
    return root


_prompt_text = st.text(st.characters(min_codepoint=32, blacklist_categories=("Cs",)),
                       min_size=1, max_size=200).filter(lambda t: "{" not in t and t.strip())


@given(_prompt_text | st.sampled_from(["<Hangup/>", "&amp; ]]>", "</Say><Dial>+1</Dial>"]))
def test_any_prompt_is_said_verbatim_never_parsed_as_twiml(prompt: str) -> None:
    ivr = _ivr(prompt)
    for xml in (ivr.welcome(), ivr.language(1, "2").twiml, ivr.record("es", "record"),
                ivr.goodbye("en"), ivr.ring("en", TALK, [4], 0, Ring(4, "a", "+15005550101"),
                                             first=True)):
        root = _root(xml)
        said = [s.text or "" for s in root.iter("Say")]
        assert said and all(s == prompt for s in said)
        assert {e.tag for e in root.iter()} <= {"Response", "Say", "Gather", "Redirect", "Record",
                                                "Hangup", "Dial", "Number"}
        assert len(root.findall("Dial")) <= 1


def test_menu_decisions() -> None:
    ivr = _ivr()
    assert ivr.menu("en", 1, "1").choice == TALK
    assert ivr.menu("en", 2, "3").choice == DANGER
    assert ivr.menu("es", 1, "2").choice == MESSAGE
    assert ivr.menu("en", 1, "").choice is None and ivr.menu("en", 2, "").choice == NONE
    assert ivr.menu("en", 1, "9").choice is None
    assert _ivr(danger_option=False).menu("en", 1, "3").choice is None
    assert ivr.language(1, "2").lang == "es" and ivr.language(1, "5").choice is None
    assert ivr.language(2, "").choice == NONE


def test_one_language_skips_the_language_menu_and_advice_comes_first() -> None:
    root = _root(_ivr(languages=("es",)).welcome())
    said = [(s.get("language"), s.text) for s in root.iter("Say")]
    assert said[0] == ("en-GB", "If you are in danger right now, hang up and call 112.")
    assert "/twilio/voice/menu?lang=es" in (root.find("Gather").get("action") or "")  # type: ignore[union-attr]


def test_record_is_bounded_and_transcription_follows_the_setting() -> None:
    rec = _root(_ivr(max_recording=42).record("en", "record")).find("Record")
    assert rec is not None and rec.get("maxLength") == "42" and rec.get("transcribe") == "false"
    assert rec.get("transcribeCallback") is None
    rec = _root(_ivr(transcribe=True).record("en", "record")).find("Record")
    assert rec is not None and rec.get("transcribe") == "true"
    assert rec.get("transcribeCallback") == "https://hotline.example.org/twilio/voice/transcription"
