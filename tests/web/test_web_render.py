"""PageRenderer: every page renders, in every language, safely."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hotline.web import messages
from hotline.web.render import LOCALES_DIR, PageRenderer

ALL_TEMPLATES = ("form.html", "receipt.html", "receipt_gone.html", "followup.html", "thread.html",
                 "error.html")


def make(**overrides: object) -> PageRenderer:
    options: dict[str, object] = {
        "site_title": "Community Help Line",
        "org_name": "Example Outreach",
        "emergency_number": "911",
        "quick_exit_url": "https://weather.example.org/",
    }
    options.update(overrides)
    return PageRenderer(**options)  # type: ignore[arg-type]


def test_every_template_renders_as_well_formed_html(
    rendered: list[tuple[str, str, str, str]], read_page: Callable[[str], Any]
) -> None:
    seen = {(template, lang) for _, template, lang, _ in rendered}
    assert seen == {(t, lang) for t in ALL_TEMPLATES for lang in ("en", "es")}
    for variant, template, lang, html in rendered:
        page = read_page(html)
        assert page.errors == [], (variant, template, lang, page.errors)
        assert page.doctype is not None and page.doctype.lower() == "doctype html"
        (root,) = page.find("html")
        assert root.attrs["lang"] == lang
        assert root.attrs["dir"] == "ltr"
        assert len(page.find("main")) == 1


def test_spanish_pages_are_in_spanish(renderer: PageRenderer, contexts: dict) -> None:
    html = renderer.render("form.html", "es", **contexts["form.html"])
    assert '<html lang="es"' in html
    assert "Cuéntanos qué está pasando" in html
    assert "Salir rápido de este sitio" in html
    assert "Llama al" in html
    assert "Tell us what is happening" not in html


def test_unsupported_language_renders_in_english(renderer: PageRenderer, contexts: dict) -> None:
    html = renderer.render("followup.html", "xx", **contexts["followup.html"])
    assert '<html lang="en"' in html
    assert "Check for replies" in html


def test_region_code_renders_the_base_language(renderer: PageRenderer, contexts: dict) -> None:
    html = renderer.render("followup.html", "es-MX", **contexts["followup.html"])
    assert '<html lang="es"' in html


def test_base_layout_on_every_page(
    rendered: list[tuple[str, str, str, str]],
    read_page: Callable[[str], Any],
    quick_exit_url: str,
) -> None:
    for _, template, _lang, html in rendered:
        page = read_page(html)
        first_link = page.find("a")[0]
        assert first_link.attrs["href"] == "#main", template  # skip link comes first
        exit_link = page.by_id("quick-exit")
        assert exit_link is not None and exit_link.tag == "a"
        assert exit_link.attrs["href"] == "/exit"  # clears the site's data, then leaves
        assert set((exit_link.attrs["rel"] or "").split()) == {"noreferrer"}
        # the quick exit comes before any content
        assert page.elements.index(exit_link) < page.elements.index(page.find("main")[0])
        scripts = [e.attrs.get("src") for e in page.find("script")]
        assert scripts == ["/static/quick-exit.js"]
        styles = [
            e.attrs.get("href") for e in page.find("link") if e.attrs.get("rel") == "stylesheet"
        ]
        assert styles == ["/static/style.css"]
        assert 'href="tel:911"' in html
        assert "911" in page.find("header")[0].text


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("form.html", "/"),
        ("followup.html", "/followup"),
        ("thread.html", "/followup/thread"),
        ("error.html", "/"),
    ],
)
def test_language_switch_works_without_javascript(
    renderer: PageRenderer,
    contexts: dict,
    read_page: Callable[[str], Any],
    template: str,
    path: str,
) -> None:
    page = read_page(renderer.render(template, "en", **contexts[template]))
    (nav,) = page.find("nav")
    links = [e for e in page.elements[page.elements.index(nav) :] if e.tag == "a"][:2]
    assert [link.attrs["href"] for link in links] == [f"{path}?lang=en", f"{path}?lang=es"]
    assert [link.attrs["lang"] for link in links] == ["en", "es"]
    assert links[0].attrs.get("aria-current") == "true"
    assert "Español" in page.html and "English" in page.html


def test_form_page_fields(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any]
) -> None:
    page = read_page(renderer.render("form.html", "es", **contexts["form.html"]))
    (form,) = page.find("form")
    assert form.attrs == {
        "class": "report",
        "method": "post",
        "action": "/report",
        "enctype": "multipart/form-data",
        "autocomplete": "off",  # Chromium keeps no form state of it in Sessions/
    }
    hidden = {
        e.attrs["name"]: e.attrs["value"]
        for e in page.find("input")
        if e.attrs.get("type") == "hidden"
    }
    assert hidden == {"csrf_token": "csrf-123", "lang": "es"}
    (textarea,) = page.find("textarea")
    assert textarea.attrs["name"] == "message"
    assert "required" in textarea.attrs
    assert textarea.attrs["maxlength"] == "5000"
    # the newline after <textarea> is the one a browser drops
    assert textarea.text == "\nThey took my passport.\nWe live at the farm."
    (upload,) = [e for e in page.find("input") if e.attrs.get("type") == "file"]
    assert upload.attrs["name"] == "attachment"
    assert "multiple" in upload.attrs
    assert [e.attrs.get("type") for e in page.find("button")] == ["submit"]
    assert 'href="/followup?lang=es"' in page.html


def test_form_keeps_leading_newline_of_text(renderer: PageRenderer, contexts: dict) -> None:
    context = {**contexts["form.html"], "text": "\nfirst line blank"}
    html = renderer.render("form.html", "en", **context)
    # browsers drop one newline right after <textarea>; the template adds one
    assert ">\n\nfirst line blank</textarea>" in html


def test_form_without_attachments_has_no_file_input(renderer: PageRenderer, contexts: dict) -> None:
    html = renderer.render("form.html", "en", **{**contexts["form.html"], "max_attachments": 0})
    assert 'type="file"' not in html
    single = renderer.render("form.html", "en", **{**contexts["form.html"], "max_attachments": 1})
    assert 'type="file"' in single and "multiple" not in single
    assert "You can add 1 file, up to 10 MB." in single


def test_receipt_page(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any]
) -> None:
    for lang in ("en", "es"):
        page = read_page(renderer.render("receipt.html", lang, **contexts["receipt.html"]))
        (words,) = page.find("ol")
        assert words.attrs.get("translate") == "no"
        items = [
            e
            for e in page.elements
            if e.tag == "li" and e.text.strip() in contexts["receipt.html"]["receipt_words"]
        ]
        assert [e.text.strip() for e in items] == contexts["receipt.html"]["receipt_words"]
        alert = [e for e in page.elements if e.attrs.get("role") == "alert"]
        assert len(alert) == 1 and "911" in alert[0].text
        assert 'href="/followup?lang=' + lang + '"' in page.html
    en = renderer.render("receipt.html", "en", **contexts["receipt.html"])
    assert "Anyone who has these words can read the replies" in en
    assert "we cannot get them back" in en


def test_receipt_page_has_no_language_switch(renderer: PageRenderer, contexts: dict) -> None:
    # following it would lose the receipt, which is shown only once
    html = renderer.render("receipt.html", "es", **contexts["receipt.html"])
    assert "?lang=en" not in html and "<nav" not in html
    assert "asegúrate de tener las palabras" in html


def test_receipt_page_not_urgent_has_no_alert(renderer: PageRenderer, contexts: dict) -> None:
    html = renderer.render("receipt.html", "en", **{**contexts["receipt.html"], "urgent": False})
    assert "If you are in danger now" not in html
    assert 'role="alert"' not in html


def test_followup_page(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any]
) -> None:
    page = read_page(renderer.render("followup.html", "en", **contexts["followup.html"]))
    (form,) = page.find("form")
    assert form.attrs["method"] == "post" and form.attrs["action"] == "/followup"
    (receipt,) = [e for e in page.find("input") if e.attrs.get("name") == "receipt"]
    assert receipt.attrs["type"] == "text"
    assert receipt.attrs["autocomplete"] == "off"
    assert receipt.attrs["autocapitalize"] == "none"
    assert receipt.attrs["spellcheck"] == "false"
    assert "value" not in receipt.attrs  # a failed receipt is not echoed back
    hidden = {e.attrs["name"] for e in page.find("input") if e.attrs.get("type") == "hidden"}
    assert hidden == {"csrf_token", "lang"}


def test_thread_page(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any]
) -> None:
    context = contexts["thread.html"]
    page = read_page(renderer.render("thread.html", "en", **context))
    (form,) = page.find("form")
    assert form.attrs["action"] == "/followup/add"
    assert form.attrs["enctype"] == "multipart/form-data"
    hidden = {
        e.attrs["name"]: e.attrs["value"]
        for e in page.find("input")
        if e.attrs.get("type") == "hidden"
    }
    assert hidden == {"csrf_token": "csrf-123", "lang": "en"}  # the receipt is in a sealed cookie
    assert [
        e.attrs["class"] for e in page.find("li") if "entry" in (e.attrs.get("class") or "")
    ] == [
        "entry sent",
        "entry reply",
        "entry sent",
    ]
    assert page.html.count("You sent a message") == 2
    assert "Thank you.\nAre you safe?" in page.html
    assert "Anyone who has your receipt can read these replies" in page.html
    notices = [e for e in page.elements if e.attrs.get("role") == "status"]
    assert [n.text for n in notices] == ["Your message was added."]


def test_receipt_never_appears_in_a_url(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any]
) -> None:
    context = contexts["receipt.html"]
    page = read_page(renderer.render("receipt.html", "es", **context))
    for element in page.elements:
        for name in ("href", "src", "action"):
            assert not any(w in (element.attrs.get(name) or "") for w in context["receipt_words"])


def test_every_form_and_field_is_autocomplete_off(
    rendered: list[tuple[str, str, str, str]], read_page: Callable[[str], Any]
) -> None:
    """Chromium saves no form state for these, so nothing typed is in Sessions/."""
    for _, template, lang, html in rendered:
        page = read_page(html)
        for element in page.elements:
            if element.tag in ("form", "textarea") or (
                element.tag == "input" and element.attrs.get("name")
            ):
                assert element.attrs.get("autocomplete") == "off", (template, lang, element)


def test_thread_without_replies_says_so(renderer: PageRenderer, contexts: dict) -> None:
    context = {**contexts["thread.html"], "entries": [], "notice": None, "errors": []}
    html = renderer.render("thread.html", "en", **context)
    assert "There are no replies yet" in html
    assert "<ol" not in html


def test_optional_context_may_be_left_out(renderer: PageRenderer, contexts: dict) -> None:
    form = {k: v for k, v in contexts["form.html"].items() if k not in {"errors", "text"}}
    assert "<textarea" in renderer.render("form.html", "en", **form)
    thread = {k: v for k, v in contexts["thread.html"].items() if k not in {"notice", "errors"}}
    assert 'role="status"' not in renderer.render("thread.html", "en", **thread)
    followup = {k: v for k, v in contexts["followup.html"].items() if k != "error"}
    assert "aria-invalid" not in renderer.render("followup.html", "en", **followup)


def test_missing_required_context_fails_loudly(renderer: PageRenderer, contexts: dict) -> None:
    context = {k: v for k, v in contexts["form.html"].items() if k != "csrf_token"}
    with pytest.raises(Exception, match="csrf_token"):
        renderer.render("form.html", "en", **context)


def test_error_page(renderer: PageRenderer, read_page: Callable[[str], Any]) -> None:
    title = renderer.gettext("es", messages.NOT_FOUND_TITLE)
    message = renderer.gettext("es", messages.NOT_FOUND)
    page = read_page(renderer.render("error.html", "es", status=404, title=title, message=message))
    assert page.find("h1")[0].text == "Página no encontrada"
    assert "No pudimos encontrar esta página." in page.html
    assert "Código de error: 404" in page.html
    assert 'href="/?lang=es"' in page.html


# --- autoescape ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ("form.html", "text"),
        ("form.html", "errors"),
        ("followup.html", "error"),
        ("thread.html", "entries"),
        ("thread.html", "notice"),
        ("receipt.html", "receipt_words"),
        ("error.html", "title"),
        ("error.html", "message"),
    ],
)
def test_user_and_handler_text_is_escaped(
    renderer: PageRenderer, contexts: dict, hostile: str, template: str, key: str
) -> None:
    context = dict(contexts[template])
    if key == "entries":
        context[key] = [{"kind": "reply", "at": hostile, "text": hostile}]
    elif isinstance(context[key], list):
        context[key] = [hostile]
    else:
        context[key] = hostile
    for lang in ("en", "es"):
        html = renderer.render(template, lang, **context)
        assert hostile not in html
        assert "&lt;script&gt;" in html
        assert html.count("<script") == 1  # only quick-exit.js


def test_configured_names_are_escaped(hostile: str, contexts: dict) -> None:
    renderer = make(org_name=hostile, emergency_number='911"><b>')
    html = renderer.render("form.html", "es", **contexts["form.html"])
    assert hostile not in html and "&lt;script&gt;" in html
    assert '911"><b>' not in html


# --- negotiate ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "explicit", "expected"),
    [
        (None, None, "en"),
        ("", None, "en"),
        ("es", None, "es"),
        ("es-MX,es;q=0.9,en;q=0.8", None, "es"),
        ("es-MX", None, "es"),
        ("ES_mx", None, "es"),
        ("en-GB,en;q=0.9", None, "en"),
        ("fr-FR,fr;q=0.9", None, "en"),
        ("fr;q=1, es;q=0.5, en;q=0.4", None, "es"),
        ("en;q=0.2, es;q=0.8", None, "es"),
        ("en;q=0.8, es;q=0.8", None, "en"),  # equal q: header order wins
        ("es;q=0, en;q=0.1", None, "en"),  # q=0 means "not this one"
        ("es;q=0", None, "en"),
        ("*", None, "en"),
        ("es;q=abc, en;q=0.5", None, "en"),  # a broken q-value counts for nothing
        ("es;q=2", None, "en"),  # out of range
        (";;;,,,q=,", None, "en"),
        ("en", "es", "es"),  # explicit wins
        ("es", "en", "en"),
        ("es", "fr", "es"),  # unsupported explicit is ignored
        ("es", "", "es"),
        (None, "es-AR", "es"),
        (None, "ES", "es"),
        (None, "../../etc", "en"),
    ],
)
def test_negotiate(
    renderer: PageRenderer, accept: str | None, explicit: str | None, expected: str
) -> None:
    assert renderer.negotiate(accept, explicit) == expected


def test_negotiate_bounds_hostile_headers(renderer: PageRenderer) -> None:
    header = ",".join(["xx;q=0.9"] * 10_000) + ",es"
    assert renderer.negotiate(header, None) == "en"  # only a bounded prefix is read
    assert renderer.negotiate("x" * 100_000, None) == "en"


# --- options, languages, catalogues ------------------------------------------


def test_languages_are_native_labels(renderer: PageRenderer) -> None:
    assert list(renderer.languages()) == [("en", "English"), ("es", "Español")]


def test_gettext_for_handlers(renderer: PageRenderer) -> None:
    assert renderer.gettext("es", messages.MESSAGE_ADDED) == "Se agregó tu mensaje."
    assert renderer.gettext("en", messages.MESSAGE_ADDED) == "Your message was added."
    assert renderer.gettext("es-MX", messages.EMPTY_MESSAGE).startswith("Escribe")
    assert renderer.gettext("xx", messages.EMPTY_MESSAGE) == messages.EMPTY_MESSAGE
    assert renderer.gettext("es", "not in the catalogue") == "not in the catalogue"


@pytest.mark.parametrize(
    "title",
    [
        "Anti-Trafficking Hotline",
        "Línea contra la trata",
        "TRAFFICKING tips",
        "Tráfico de personas",
    ],
)
def test_revealing_site_title_is_refused(title: str) -> None:
    with pytest.raises(ValueError, match="neutral"):
        make(site_title=title)


@pytest.mark.parametrize(
    "overrides",
    [
        {"languages": ()},
        {"languages": ("en", "zz")},  # no catalogue
        {"languages": ("en", "../es")},
        {"quick_exit_url": "javascript:alert(1)"},
        {"quick_exit_url": "/relative"},
        {"emergency_number": " "},
    ],
)
def test_bad_options_are_refused_at_start(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(**overrides)


def test_default_title_is_translated_custom_title_is_kept(contexts: dict) -> None:
    default = make()
    assert "<title>Línea de Ayuda Comunitaria</title>" in default.render(
        "error.html", "es", **contexts["error.html"]
    )
    custom = make(site_title="Riverside Neighbours")
    for lang in ("en", "es"):
        html = custom.render("error.html", lang, **contexts["error.html"])
        assert "<title>Riverside Neighbours</title>" in html


def test_title_never_names_the_subject(rendered: list[tuple[str, str, str, str]]) -> None:
    for _, template, lang, html in rendered:
        (title,) = re.findall(r"<title>(.*?)</title>", html, flags=re.S)
        lowered = title.lower()
        for word in ("traffick", "trata", "tráfico", "explot", "exploit"):
            assert word not in lowered, (template, lang, title)


def test_adding_a_language_is_adding_a_po_file(tmp_path: Path, contexts: dict) -> None:
    for code in ("en", "es"):
        shutil.copytree(LOCALES_DIR / code, tmp_path / code)
    po = (LOCALES_DIR / "es" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    po = po.replace("Language: es", "Language: fr").replace(
        'msgstr "Salir rápido de este sitio"', 'msgstr "Quitter ce site rapidement"'
    )
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr" / "LC_MESSAGES" / "messages.po").write_text(po, encoding="utf-8")
    renderer = make(languages=("en", "es", "fr"), locales_dir=tmp_path)
    assert ("fr", "Français") in renderer.languages()
    assert renderer.negotiate("fr-CA", None) == "fr"
    html = renderer.render("form.html", "fr", **contexts["form.html"])
    assert '<html lang="fr"' in html and "Quitter ce site rapidement" in html
    assert 'href="/?lang=fr"' in html


def test_right_to_left_language_sets_dir(tmp_path: Path, contexts: dict) -> None:
    for code in ("en", "ar"):
        (tmp_path / code / "LC_MESSAGES").mkdir(parents=True)
        shutil.copy(
            LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po", tmp_path / code / "LC_MESSAGES"
        )
    renderer = make(languages=("en", "ar"), locales_dir=tmp_path)
    html = renderer.render("error.html", "ar", **contexts["error.html"])
    assert '<html lang="ar" dir="rtl">' in html


def test_concurrent_rendering_does_not_mix_languages(
    renderer: PageRenderer, contexts: dict
) -> None:
    def render(lang: str) -> tuple[str, str]:
        return lang, renderer.render("followup.html", lang, **contexts["followup.html"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(render, ["en", "es"] * 50))
    for lang, html in results:
        expected = "Ver respuestas" if lang == "es" else "Check for replies"
        assert f'<html lang="{lang}"' in html and expected in html
