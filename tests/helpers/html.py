"""Read pages as a browser would: find forms, keep their hidden fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: dict[str, str] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.receipt_words: list[str] = []
        self._in_receipt = False
        self._in_li = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower(),
                                   a.get("enctype", "application/x-www-form-urlencoded")))
        elif tag == "input" and self.forms and a.get("name"):
            if a.get("type", "text") in ("hidden", "text"):
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "ol" and "receipt" in a.get("class", ""):
            self._in_receipt = True
        elif tag == "li" and self._in_receipt:
            self._in_li = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "ol":
            self._in_receipt = False
        if tag == "li":
            self._in_li = False

    def handle_data(self, data: str) -> None:
        if self._in_li and data.strip():
            self.receipt_words.append(data.strip())


def forms(html: str) -> list[Form]:
    p = _Parser()
    p.feed(html)
    return p.forms


def form_by_action(html: str, action: str) -> Form:
    for f in forms(html):
        if f.action == action:
            return f
    raise AssertionError(f"no form posting to {action}")


def receipt_words(html: str) -> list[str]:
    p = _Parser()
    p.feed(html)
    return p.receipt_words
