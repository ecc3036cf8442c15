"""Shared fixtures for the reporter-page tests: a renderer, sample contexts,
and a strict HTML reader (balanced tags, unique ids) built on html.parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from hotline.web.render import PageRenderer

QUICK_EXIT_URL = "https://weather.example.org/today"
EMERGENCY = "911"
LANGS = ("en", "es")
HOSTILE = '<script>alert("x")</script>'

VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    line: int
    text: str = ""


@dataclass
class Page:
    """What the strict reader saw in one rendered page."""

    html: str
    elements: list[Element] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    doctype: str | None = None

    def find(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def by_id(self, element_id: str) -> Element | None:
        for element in self.elements:
            if element.attrs.get("id") == element_id:
                return element
        return None

    def headings(self) -> list[int]:
        return [
            int(e.tag[1]) for e in self.elements if e.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}
        ]


class StrictReader(HTMLParser):
    """html.parser plus the checks it does not make: every non-void element is
    closed in order, nothing is left open, ids are unique."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page(html=html)
        self._open: list[Element] = []
        self._ids: set[str] = set()
        self.feed(html)
        self.close()
        for element in self._open:
            self.page.errors.append(f"<{element.tag}> on line {element.line} never closed")

    def handle_decl(self, decl: str) -> None:
        self.page.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        attr_map: dict[str, str | None] = {}
        for name, value in attrs:
            if name in attr_map:
                self.page.errors.append(f"duplicate attribute {name} on <{tag}> line {line}")
            attr_map[name] = value
        element = Element(tag, attr_map, line)
        element_id = attr_map.get("id")
        if element_id is not None:
            if element_id in self._ids:
                self.page.errors.append(f"duplicate id {element_id!r} on line {line}")
            self._ids.add(element_id)
        self.page.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID:
            self.page.errors.append(f"end tag for void <{tag}> on line {line}")
            return
        if not self._open or self._open[-1].tag != tag:
            expected = self._open[-1].tag if self._open else "nothing"
            self.page.errors.append(f"</{tag}> on line {line}, expected </{expected}>")
            return
        self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def sample_contexts() -> dict[str, dict[str, object]]:
    """One ordinary context per template (errors and notices present)."""
    limits = {"max_attachments": 3, "max_attachment_mb": 10, "max_chars": 5000}
    return {
        "form.html": {
            "csrf_token": "csrf-123",
            "errors": ["Please write a message before you send it."],
            "text": "They took my passport.\nWe live at the farm.",
            **limits,
        },
        "receipt.html": {
            "receipt_words": [
                "apple",
                "river",
                "stone",
                "cloud",
                "lemon",
                "tiger",
                "paper",
                "glass",
                "honey",
                "maple",
                "orbit",
            ],
            "urgent": True,
            "again": True,
        },
        "receipt_gone.html": {"again": True},
        "followup.html": {"csrf_token": "csrf-123", "error": "We could not find these words."},
        "thread.html": {
            "csrf_token": "csrf-123",
            "entries": [
                {"kind": "sent", "at": "3 May 2025, 10:02", "text": None},
                {"kind": "reply", "at": "3 May 2025, 12:40", "text": "Thank you.\nAre you safe?"},
                {"kind": "sent", "at": "4 May 2025, 08:15", "text": None},
            ],
            "notice": "Your message was added.",
            "errors": ["A file is too large. Please choose a smaller file."],
            **limits,
        },
        "error.html": {
            "status": 404,
            "title": "Page not found",
            "message": "We could not find this page.",
        },
    }


def minimal_contexts() -> dict[str, dict[str, object]]:
    """The quiet variants: no errors, no notice, no replies, not urgent."""
    contexts = sample_contexts()
    contexts["form.html"] = {**contexts["form.html"], "errors": [], "text": ""}
    contexts["receipt.html"] = {**contexts["receipt.html"], "urgent": False, "again": False}
    contexts["receipt_gone.html"] = {"again": False}
    contexts["followup.html"] = {**contexts["followup.html"], "error": None}
    contexts["thread.html"] = {
        **contexts["thread.html"],
        "entries": [{"kind": "sent", "at": "3 May 2025, 10:02", "text": None}],
        "notice": None,
        "errors": [],
    }
    return contexts


TEMPLATES = tuple(sample_contexts())


@pytest.fixture(scope="session")
def renderer() -> PageRenderer:
    return PageRenderer(
        site_title="Community Help Line",
        org_name="Example Outreach",
        emergency_number=EMERGENCY,
        quick_exit_url=QUICK_EXIT_URL,
        languages=LANGS,
    )


def _all_pages(renderer: PageRenderer) -> Iterator[tuple[str, str, str, str]]:
    for variant, contexts in (("full", sample_contexts()), ("quiet", minimal_contexts())):
        for template, context in contexts.items():
            for lang in LANGS:
                yield variant, template, lang, renderer.render(template, lang, **context)


@pytest.fixture(scope="session")
def rendered(renderer: PageRenderer) -> list[tuple[str, str, str, str]]:
    """Every template, in every language, full and quiet: (variant, template, lang, html)."""
    return list(_all_pages(renderer))


@pytest.fixture(scope="session")
def read_page() -> Callable[[str], Page]:
    return lambda html: StrictReader(html).page


@pytest.fixture(scope="session")
def quick_exit_url() -> str:
    return QUICK_EXIT_URL


@pytest.fixture
def contexts() -> dict[str, dict[str, object]]:
    return sample_contexts()


@pytest.fixture
def hostile() -> str:
    return HOSTILE
