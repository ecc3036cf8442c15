"""The catalogues match the templates, and Spanish is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hotline.web import messages
from hotline.web.render import LOCALES_DIR, PageRenderer

WEB_DIR = Path(messages.__file__).resolve().parent
LANGUAGES = ("en", "es")
MsgId = str | tuple[str, ...]


def load(code: str) -> Catalog:
    with (LOCALES_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


def extracted() -> set[MsgId]:
    """Run Babel's extractor with the project's own babel.cfg, as pybabel does."""
    with (WEB_DIR / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[MsgId] = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
        str(WEB_DIR), method_map, options_map
    ):
        found.add(message)
    return found


def ids(catalog: Catalog) -> set[MsgId]:
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module")
def source_ids() -> set[MsgId]:
    found = extracted()
    assert len(found) > 50  # the templates were really read
    return found


@pytest.mark.parametrize("code", LANGUAGES)
def test_catalogue_matches_the_source_exactly(code: str, source_ids: set[MsgId]) -> None:
    catalog = load(code)
    assert source_ids - ids(catalog) == set(), "strings in the code but not in the catalogue"
    assert ids(catalog) - source_ids == set(), "stale strings in the catalogue"


def test_spanish_is_complete_and_nothing_is_fuzzy() -> None:
    catalog = load("es")
    assert not catalog.fuzzy
    assert catalog.num_plurals == 2
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == (catalog.num_plurals if message.pluralizable else 1), message.id
        assert all(s.strip() for s in strings), f"untranslated: {message.id!r}"


@pytest.mark.parametrize("code", LANGUAGES)
def test_placeholders_and_markup_survive_translation(code: str) -> None:
    catalog = load(code)
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert problems == []
    for message in catalog:
        if not message.id or not message.string:
            continue
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        target = message.string if isinstance(message.string, tuple) else (message.string,)
        for translated in filter(None, target):
            assert re.findall(r"</?\w+>", translated) == re.findall(r"</?\w+>", source[0])
            assert sorted(re.findall(r"%\(\w+\)s", translated)) == sorted(
                re.findall(r"%\(\w+\)s", source[-1])
            )


def test_english_is_the_source_language() -> None:
    for message in load("en"):
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(s == "" for s in strings), message.id


def test_handler_strings_are_all_listed_and_translated(source_ids: set[MsgId]) -> None:
    constants = {
        value for name, value in vars(messages).items() if name.isupper() and isinstance(value, str)
    }
    assert constants == set(messages.ALL)
    assert set(messages.ALL) <= source_ids
    spanish = load("es")
    for text in messages.ALL:
        assert spanish[text] is not None and spanish[text].string, text


def test_spanish_uses_tu_consistently() -> None:
    """Informal tú throughout: no usted forms slipped in."""
    formal = re.compile(
        r"\b(usted|ustedes|escriba|llame|envíe|revise|intente|espere|vuelva|elija|agregue)\b", re.I
    )
    for message in load("es"):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for translated in strings:
            assert not formal.search(translated), translated


def test_spanish_plurals_render() -> None:
    renderer = PageRenderer(
        site_title="Community Help Line",
        org_name="Org",
        emergency_number="911",
        quick_exit_url="https://weather.example.org/",
    )
    base = {"csrf_token": "t", "errors": [], "text": "", "max_attachment_mb": 5, "max_chars": 1000}
    one = renderer.render("form.html", "es", max_attachments=1, **base)
    many = renderer.render("form.html", "es", max_attachments=4, **base)
    assert "Puedes agregar 1 archivo de hasta 5 MB." in one
    assert "Puedes agregar hasta 4 archivos, de hasta 5 MB cada uno." in many
    assert "Puedes escribir hasta 1000 caracteres." in many
