"""The pages work under the strict CSP and load nothing from another host."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hotline.web import PAGE_HEADERS
from hotline.web.headers import CONTENT_SECURITY_POLICY
from hotline.web.render import STATIC_DIR

URL = re.compile(r"(?:https?:)?//[^\s\"'<>)]+", re.IGNORECASE)
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "srcset", "poster", "data", "ping")


def test_csp_is_the_one_the_templates_are_written_for() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    assert PAGE_HEADERS["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert PAGE_HEADERS["Cache-Control"] == "no-store"
    assert PAGE_HEADERS["Referrer-Policy"] == "no-referrer"


def test_no_inline_script_style_or_handlers(
    rendered: list[tuple[str, str, str, str]], read_page: Callable[[str], Any]
) -> None:
    for _, template, lang, html in rendered:
        page = read_page(html)
        where = (template, lang)
        assert page.find("style") == [], where
        for script in page.find("script"):
            assert script.text.strip() == "", where
            assert (script.attrs.get("src") or "").startswith("/static/"), where
        for element in page.elements:
            for name in element.attrs:
                assert name != "style", (where, element)
                assert not name.startswith("on"), (where, element)
            for name in URL_ATTRIBUTES:
                value = (element.attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), (where, element)
        assert not re.search(r"<[^>]+\son\w+\s*=", html, re.IGNORECASE), where
        assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), where


def test_no_page_points_to_another_host(
    rendered: list[tuple[str, str, str, str]], read_page: Callable[[str], Any], quick_exit_url: str
) -> None:
    """Not even the quick exit: it goes through /exit, which clears the site's data first."""
    for _, template, lang, html in rendered:
        assert URL.findall(html) == [], (template, lang, URL.findall(html))
        page = read_page(html)
        assert any(e.attrs.get("id") == "quick-exit" and e.attrs.get("href") == "/exit"
                   for e in page.elements), (template, lang)
        for element in page.elements:
            for name in URL_ATTRIBUTES:
                value = element.attrs.get(name)
                if value is None:
                    continue
                assert value.startswith(("/", "#", "?", "tel:")), (template, lang, name, value)
                assert not value.startswith("//"), (template, lang, name, value)
        forms = page.find("form")
        assert all(f.attrs["action"].startswith("/") for f in forms)
        assert page.find("iframe") == [] and page.find("img") == [] and page.find("base") == []


def test_static_files_load_nothing_else() -> None:
    css = (STATIC_DIR / "style.css").read_text(encoding="utf-8")
    js = (STATIC_DIR / "quick-exit.js").read_text(encoding="utf-8")
    assert "@import" not in css and "url(" not in css and "@font-face" not in css
    assert URL.findall(css) == []
    assert URL.findall(js) == []
    for forbidden in (
        "eval(",
        "new Function",
        "innerHTML",
        "document.write",
        'setTimeout("',
        "fetch(",
        "XMLHttpRequest",
        ".style.",
        "localStorage",
        "sessionStorage",
        "cookie",
    ):
        assert forbidden not in js, forbidden


def test_quick_exit_script_replaces_history_with_the_links_href() -> None:
    js = (STATIC_DIR / "quick-exit.js").read_text(encoding="utf-8")
    assert 'getElementById("quick-exit")' in js
    assert "link.href" in js
    assert "location.replace(target)" in js
    assert '"Escape"' in js
    assert "preventDefault" in js
