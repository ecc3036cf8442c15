"""WCAG 2.2 AA checks that can be made on the markup and the stylesheet."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from hotline.web.render import STATIC_DIR, PageRenderer

Rendered = list[tuple[str, str, str, str]]
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


def test_every_field_has_a_label(rendered: Rendered, read_page: Callable[[str], Any]) -> None:
    for _, template, lang, html in rendered:
        page = read_page(html)
        labelled = {e.attrs.get("for") for e in page.find("label")}
        fields = [e for e in page.elements if e.tag in {"input", "textarea", "select"}]
        for field in fields:
            if field.attrs.get("type") in UNLABELLED_TYPES:
                continue
            has_label = field.attrs.get("id") in labelled
            has_aria = bool(field.attrs.get("aria-label") or field.attrs.get("aria-labelledby"))
            assert has_label or has_aria, (template, lang, field)
        for label in page.find("label"):
            target = page.by_id(label.attrs["for"])
            assert target is not None and target.tag in {"input", "textarea", "select"}
            assert label.text.strip(), (template, lang)
        for button in page.find("button"):
            assert button.text.strip(), (template, lang)


def test_one_h1_and_headings_in_order(rendered: Rendered, read_page: Callable[[str], Any]) -> None:
    for _, template, lang, html in rendered:
        levels = read_page(html).headings()
        assert levels.count(1) == 1, (template, lang, levels)
        assert levels[0] == 1, (template, lang, levels)
        for previous, current in itertools.pairwise(levels):
            assert current <= previous + 1, (template, lang, levels)


def test_described_by_points_at_real_elements(
    rendered: Rendered, read_page: Callable[[str], Any]
) -> None:
    for _, template, lang, html in rendered:
        page = read_page(html)
        for element in page.elements:
            for name in ("aria-describedby", "aria-labelledby"):
                for target in (element.attrs.get(name) or "").split():
                    assert page.by_id(target) is not None, (template, lang, name, target)


@pytest.mark.parametrize("template", ["form.html", "thread.html"])
def test_form_errors_are_tied_to_the_fields(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any], template: str
) -> None:
    page = read_page(renderer.render(template, "es", **contexts[template]))
    summary = page.by_id("form-errors")
    assert summary is not None and summary.attrs.get("role") == "alert"
    assert contexts[template]["errors"][0] in summary.text
    for field in page.find("textarea") + [
        e for e in page.find("input") if e.attrs.get("type") == "file"
    ]:
        assert "form-errors" in (field.attrs.get("aria-describedby") or "").split()
    quiet = read_page(renderer.render(template, "es", **{**contexts[template], "errors": []}))
    assert quiet.by_id("form-errors") is None
    assert all("form-errors" not in (e.attrs.get("aria-describedby") or "") for e in quiet.elements)


def test_receipt_error_is_tied_to_the_field(
    renderer: PageRenderer, contexts: dict, read_page: Callable[[str], Any]
) -> None:
    page = read_page(renderer.render("followup.html", "en", **contexts["followup.html"]))
    (field,) = [e for e in page.find("input") if e.attrs.get("name") == "receipt"]
    assert field.attrs["aria-describedby"] == "receipt-help receipt-error"
    assert field.attrs["aria-invalid"] == "true"
    error = page.by_id("receipt-error")
    assert error is not None and contexts["followup.html"]["error"] in error.text


def test_skip_link_viewport_and_landmarks(
    rendered: Rendered, read_page: Callable[[str], Any]
) -> None:
    for _, template, lang, html in rendered:
        page = read_page(html)
        assert page.by_id("main") is not None and page.by_id("main").tag == "main"
        (viewport,) = [m for m in page.find("meta") if m.attrs.get("name") == "viewport"]
        content = viewport.attrs["content"] or ""
        assert "width=device-width" in content
        assert "user-scalable" not in content and "maximum-scale" not in content  # zoom allowed
        navs = page.find("nav")
        assert len(navs) == (0 if template == "receipt.html" else 1), template
        assert all(nav.attrs.get("aria-label") for nav in navs)
        assert len(page.find("header")) == 1 and len(page.find("footer")) == 1
        for link in page.find("a"):
            assert link.text.strip(), (template, lang, link)  # every link has a name
            if link.attrs.get("hreflang"):
                assert link.attrs.get("lang") == link.attrs["hreflang"]


# --- the stylesheet -------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# (foreground, background) pairs the stylesheet puts together for text.
TEXT_PAIRS = [
    ("#111111", "#ffffff"),  # body
    ("#0b3d91", "#ffffff"),  # links
    ("#062659", "#ffffff"),  # hovered links
    ("#333333", "#ffffff"),  # help and meta text
    ("#ffffff", "#8a1020"),  # quick-exit bar
    ("#8a1020", "#ffffff"),  # quick-exit button
    ("#5c0a15", "#ffe5e8"),  # hovered quick-exit button
    ("#0b3d91", "#fff4e5"),  # emergency number link
    ("#111111", "#fff4e5"),  # emergency, urgent and warning boxes
    ("#111111", "#eef7f0"),  # notice
    ("#333333", "#f3f3f3"),  # meta inside a "sent" entry
    ("#ffffff", "#0b3d91"),  # button
    ("#ffffff", "#062659"),  # hovered button
    ("#b00020", "#ffffff"),  # error text
]
# Non-text: borders of inputs and focus rings need 3:1 (WCAG 1.4.11).
UI_PAIRS = [("#111111", "#ffffff"), ("#000000", "#ffffff"), ("#b00020", "#ffffff")]


def test_colour_contrast() -> None:
    css = (STATIC_DIR / "style.css").read_text(encoding="utf-8").lower()
    for foreground, background in TEXT_PAIRS:
        assert foreground in css and background in css
        assert _contrast(foreground, background) >= 4.5, (foreground, background)
    for foreground, background in UI_PAIRS:
        assert _contrast(foreground, background) >= 3.0, (foreground, background)


def test_stylesheet_focus_targets_and_small_screens() -> None:
    css = (STATIC_DIR / "style.css").read_text(encoding="utf-8")
    focus = re.search(r":focus-visible\s*\{([^}]*)\}", css)
    assert focus is not None and "outline: 3px solid" in focus.group(1)
    assert "outline: none" not in css.replace("main:focus {\n  outline: none;", "")
    for selector in (".quick-exit", "button", ".languages a"):
        block = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", css)
        assert block is not None and "min-height: 44px" in block.group(1), selector
    # mobile first: only min-width queries, and nothing wider than a 320px screen
    assert "max-width:" not in re.sub(r"max-width:\s*(100%|40rem)", "", css)
    for number in re.findall(r"(?<![-\w])(?:min-)?width:\s*(\d+)px", css):
        assert int(number) <= 320
    assert "white-space: pre-wrap" in css
