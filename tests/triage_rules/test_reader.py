"""The second reader: shipped weights that load and check their version, deterministic
readings, and the one guarantee that matters most -- it may raise the rules' urgency,
never lower it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_rules import RuleSet, Urgency, default_pack_dir, load_rules
from triage_rules._reader_reference import ReferenceReader
from triage_rules.compare import load_corpus
from triage_rules.reader import Reader, ReaderError, Reading, combine, default_reader_path, load_reader
from triage_rules.train.sources import SOURCES
from triage_rules.triage import triage, with_reading

DATA = Path(__file__).resolve().parent.parent / "data"
URGENCIES = st.sampled_from(list(Urgency))


@pytest.fixture(scope="module")
def reader() -> Reader:
    return load_reader()


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([default_pack_dir()])


def test_the_shipped_weights_load_and_name_their_version(reader: Reader) -> None:
    payload = json.loads(default_reader_path().read_text(encoding="utf-8"))
    assert reader.version == payload["version"] and reader.version.startswith("rd-")
    assert 0.5 <= reader.critical_threshold < 1 and 0.5 <= reader.high_threshold < 1
    assert payload["training"] == list(SOURCES)  # every source, the retired unseen sets included
    assert reader.size == len(payload["vocab"]) > 1000


def test_weights_that_do_not_match_their_version_are_refused(tmp_path: Path) -> None:
    payload = json.loads(default_reader_path().read_text(encoding="utf-8"))
    payload["critical"]["threshold"] = 0.01  # a silent edit that would page everyone
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ReaderError, match="do not match its version"):
        load_reader(altered)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ReaderError, match="cannot read"):
        load_reader(broken)
    del payload["vocab"]
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ReaderError, match="malformed"):
        load_reader(missing)


def test_readings_are_deterministic_across_processes(reader: Reader) -> None:
    texts = ["he is hitting her right now in the kitchen", "hola, a que hora abren?",
             "me quitaron el pasaporte y no me pagan"]
    here = [reader.read(t) for t in texts]
    assert here == [reader.read(t) for t in texts]
    code = ("import json,sys; from triage_rules.reader import load_reader; r = load_reader();"
            "print(json.dumps([[r.read(t).p_critical, r.read(t).p_high] for t in json.load(sys.stdin)]))")
    for seed in ("1", "2"):  # string hashing (set order) differs per process
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), text=True,
                             capture_output=True, check=True, env={"PYTHONHASHSEED": seed,
                                                                  "PATH": ""},
                             cwd=Path(__file__).resolve().parents[2])
        assert json.loads(out.stdout) == [[r.p_critical, r.p_high] for r in here]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), rules=URGENCIES)
def test_the_reader_never_lowers_any_rule_outcome(reader: Reader, text: str, rules: Urgency) -> None:
    reading = reader.read(text)
    assert combine(rules, reading) >= rules
    assert combine(rules, reading) in (rules, reading.suggests)


@given(rules=URGENCIES, p_critical=st.floats(0, 1), p_high=st.floats(0, 1),
       suggests=st.none() | URGENCIES)
def test_combine_is_the_higher_of_the_two(rules: Urgency, p_critical: float, p_high: float,
                                          suggests: Urgency | None) -> None:
    reading = Reading("rd-test", p_critical, p_high, suggests)
    combined = combine(rules, reading)
    if rules is Urgency.LOW:  # a rule judged it not a live report: the reader leaves it
        assert combined is Urgency.LOW
    else:
        assert combined == max(rules, suggests or Urgency.LOW)
    assert combine(rules, None) is rules


def test_a_story_or_an_exercise_is_raised_to_high_at_most(ruleset: RuleSet) -> None:
    """A ``final`` rule judged it not a live report: the reader's critical becomes high."""
    story = "I'm writing a thriller where a girl is locked in a container and moved tonight"
    decision = ruleset.evaluate(story, spans=False)
    assert not decision.live and decision.urgency is Urgency.NORMAL
    sure = Reading("rd-test", 0.99, 0.99, Urgency.CRITICAL)
    assert combine(decision.urgency, sure, live=decision.live) is Urgency.HIGH
    assert combine(decision.urgency, sure) is Urgency.CRITICAL  # a live report: as before
    assert combine(Urgency.LOW, sure, live=False) is Urgency.LOW
    real = ruleset.evaluate("this is not a role play, they are moving us tonight", spans=False)
    assert real.live


WORDS = ["he", "is", "hitting", "me", "now", "tonight", "passport", "years", "ago", "safe",
         "me", "pega", "ahorita", "la", "niña", "pills", "lol", "joke", "not", "no", "locked",
         "help", "ayuda", "bleeding", "sangre", "boss", "jefe", "deuda", "debt", "?", "!", "."]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=40))
def test_triage_never_lowers_the_rules_decision(reader: Reader, ruleset: RuleSet, words: list[str]) -> None:
    text = " ".join(words)
    both = triage(ruleset, reader, text)
    alone = ruleset.evaluate(text, spans=False)
    assert both.decision == alone
    assert both.urgency >= alone.urgency
    assert both.ruleset_version == ruleset.version and both.reader_version == reader.version
    assert triage(ruleset, None, text).urgency is alone.urgency  # reader off: the rules alone


def test_an_emergency_in_plain_words_is_raised_and_says_so(reader: Reader, ruleset: RuleSet) -> None:
    text = ("I have written my goodbye letters. After what I was forced to do I don't want to wake "
            "up tomorrow. I have the pills ready.")
    both = with_reading(ruleset.evaluate(text, spans=False), reader, text, cues=5)
    assert both.rules_urgency is not Urgency.CRITICAL  # the rules alone miss it
    assert both.urgency is Urgency.CRITICAL and both.raised
    line = both.describe_reader(reader)
    assert line.startswith(f"reader {reader.version}: P(critical) ")
    record = both.to_json()
    assert record["ruleset_version"] == ruleset.version
    assert isinstance(record["reader"], dict) and record["reader"]["version"] == reader.version
    assert "pills" not in json.dumps(record)  # a decision records ids and numbers, never text


def test_no_message_of_one_source_is_in_another() -> None:
    """Leave-one-source-out holds out a writer: a text shared by two sources would be read
    in training and scored as unseen (a few one-word tests -- "prueba", "wrong number
    sorry", "what hours r u open" -- are every writer's; anything longer than five words must
    be one source's)."""
    owner: dict[str, str] = {}
    for name in SOURCES:
        for item in load_corpus(DATA / name):
            text = " ".join(item.text.lower().split())
            if len(text.split()) > 5:
                assert owner.setdefault(text, name) == name, (name, owner[text], text[:60])


def test_the_new_training_messages_cover_both_languages_channels_and_urgencies() -> None:
    items = load_corpus(DATA / "triage_train_extra.jsonl")
    assert len(items) >= 600
    for lang in ("en", "es"):
        mine = [i for i in items if i.lang == lang]
        assert {i.urgency for i in mine} == set(Urgency)
        assert {i.channel for i in mine} == {"web", "sms", "voice"}
    assert sum(i.hard_negative for i in items) >= 100


# --- the fast reader against the original (``_reader_reference``) ---------------------------

@pytest.fixture(scope="module")
def reference() -> ReferenceReader:
    return ReferenceReader.load()


@pytest.mark.parametrize("corpus", SOURCES)
def test_the_reader_reads_every_corpus_message_exactly_as_the_original(
        reader: Reader, reference: ReferenceReader, corpus: str) -> None:
    items = load_corpus(DATA / corpus)
    assert items
    for item in items:
        # equal Readings: the same floats bit for bit, the same suggestion, the same cues
        assert reader.read(item.text, cues=5) == reference.read(item.text, cues=5), item.text[:60]


# Texts in the corpora's alphabet (letters, digits, apostrophes, separators, accents), any
# Unicode, and words with characters beyond U+FFFF, NUL, a lone surrogate.
_LETTERS = "abcdeghilmnoprstuyz0123456789ñáéíóúüßçøæœ'’ .,!?¿¡\n\t-"
_TEXTS = (st.text(alphabet=_LETTERS, max_size=600)
          | st.text(max_size=300)
          | st.lists(st.sampled_from([*WORDS, "ahorita", "tonight", "𝐇𝐄𝐋𝐏", "𠀀", "\x00", "\ud800"]),
                     max_size=60).map(" ".join))


@settings(max_examples=500, deadline=None)
@given(text=_TEXTS)
def test_the_reader_reads_any_text_exactly_as_the_original(
        reader: Reader, reference: ReferenceReader, text: str) -> None:
    assert reader.read(text, cues=3) == reference.read(text, cues=3)


def test_long_texts_are_read_exactly_as_the_original_up_to_the_same_cut(
        reader: Reader, reference: ReferenceReader) -> None:
    items = load_corpus(DATA / "triage_dev.jsonl")
    text = " ".join(item.text for item in items)  # far beyond the 4,000 characters read
    assert len(text) > 20_000
    assert reader.read(text, cues=5) == reference.read(text, cues=5)
    assert reader.read(text) == reader.read(text + " he is hitting me right now")  # past the cut


def test_the_weights_are_loaded_and_checked_once_per_process(tmp_path: Path) -> None:
    assert load_reader() is load_reader()
    copy = tmp_path / "weights.json"
    copy.write_bytes(default_reader_path().read_bytes())
    assert load_reader(copy) is load_reader()  # the same bytes: the same checked reader
    payload = json.loads(copy.read_text(encoding="utf-8"))
    payload["high"]["threshold"] = 0.5
    copy.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ReaderError, match="do not match its version"):
        load_reader(copy)  # changed bytes are checked again, and refused


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=40))
def test_intake_skips_the_reader_only_where_it_cannot_change_the_urgency(
        reader: Reader, ruleset: RuleSet, words: list[str]) -> None:
    text = " ".join(words)
    full = triage(ruleset, reader, text)
    quick = triage(ruleset, reader, text, read_moot=False)
    assert quick.urgency is full.urgency and quick.decision == full.decision
    assert quick.reader_version == reader.version
    if quick.reading is None:  # skipped: the record and explain say so, with no probabilities
        assert full.rules_urgency in (Urgency.CRITICAL, Urgency.LOW)
        record = quick.to_json()["reader"]
        assert isinstance(record, dict) and record["version"] == reader.version and "skipped" in record
        assert "p_critical" not in record
        assert "not consulted" in quick.describe_reader(reader)
    else:
        assert quick == full


def test_a_critical_rules_decision_is_recorded_with_the_reader_skipped(reader: Reader,
                                                                      ruleset: RuleSet) -> None:
    quick = triage(ruleset, reader, "he is beating me right now, help", read_moot=False)
    assert quick.urgency is Urgency.CRITICAL and quick.reading is None and not quick.raised
    assert quick.to_json()["reader"] == {
        "version": reader.version,
        "skipped": "the rules rated it critical, and the reader can only raise"}
