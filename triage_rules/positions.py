"""Line numbers for rule files: tomllib gives values but no positions.

The loader asks "which line holds rule #k's key ``phrases``" or "which line
holds this example text"; this module answers by scanning the file's lines for
table headers and ``key =`` lines. It is a best effort: when it cannot tell, it
falls back to the rule's ``id`` line, then its ``[[rule]]`` header.
"""

from __future__ import annotations

from dataclasses import dataclass


def _header(line: str) -> tuple[str, bool] | None:
    """``("rule", True)`` for ``[[rule]]``, ``("rule.examples", False)`` for ``[rule.examples]``."""
    stripped = line.strip()
    if stripped.startswith("[["):
        close = stripped.find("]]")
        return (stripped[2:close].replace(" ", ""), True) if close > 2 else None
    if stripped.startswith("["):
        close = stripped.find("]")
        return (stripped[1:close].replace(" ", ""), False) if close > 1 else None
    return None


def _key_of(line: str) -> str | None:
    """The key a ``key = value`` line sets (quotes removed), or None."""
    stripped = line.strip()
    equals = stripped.find("=")
    if equals <= 0 or stripped.startswith("#"):
        return None
    return stripped[:equals].strip().strip("\"'")


def _toml_escaped(literal: str) -> str:
    return literal.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class Section:
    """Lines ``first``..``last`` (1-based, inclusive) of one table and its sub-tables."""

    first: int
    last: int


class Positions:
    """Where things are in one rule file's text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._headers = [(number, _header(line)) for number, line in enumerate(self.lines, 1)]
        self.rule_headers = [n for n, h in self._headers if h == ("rule", True)]

    @property
    def last_line(self) -> int:
        return max(len(self.lines), 1)

    def section(self, name: str, first: int) -> Section:
        """The section starting at header line ``first`` for table ``name``."""
        for number, header in self._headers:
            if number <= first or header is None:
                continue
            table, is_array = header
            if (table == name and is_array) or not table.startswith(name + "."):
                return Section(first, number - 1)
        return Section(first, len(self.lines))

    def rule_section(self, index: int, count: int) -> Section | None:
        """Rule number ``index`` of ``count``, if the file writes each as ``[[rule]]``."""
        if len(self.rule_headers) != count:
            return None
        return self.section("rule", self.rule_headers[index])

    def pack_section(self) -> Section | None:
        for number, header in self._headers:
            if header == ("pack", False):
                return self.section("pack", number)
        return None

    def table_line(self, name: str) -> int | None:
        """The first line that opens table ``name`` or sets top-level key ``name``."""
        for number, header in self._headers:
            if header is not None and (header[0] == name or header[0].startswith(name + ".")):
                return number
        for number, line in enumerate(self.lines, 1):
            if _key_of(line) == name and not line.startswith((" ", "\t")):
                return number
        return None

    def key_line(self, section: Section, key: str, table: str) -> int | None:
        """The line in ``section`` that sets ``key`` in table ``table`` (e.g. "rule.examples")."""
        current = None
        for number in range(section.first, section.last + 1):
            line = self.lines[number - 1]
            header = _header(line)
            if header is not None:
                current = header[0]
                continue
            if current == table and _key_of(line) == key:
                return number
        # inline tables (near = { within = 4 }) and dotted keys (examples.match = [...])
        for number in range(section.first, section.last + 1):
            line = self.lines[number - 1]
            if _header(line) is None and (f"{key} =" in line or f"{key}=" in line):
                return number
        return None

    def header_line(self, section: Section, table: str) -> int | None:
        """The first line in ``section`` that opens sub-table ``table``."""
        for number in range(section.first, section.last + 1):
            header = _header(self.lines[number - 1])
            if header is not None and header[0] == table:
                return number
        return None

    def literal_line(self, section: Section, literal: str) -> int | None:
        """The first line in ``section`` that contains ``literal`` as written in TOML."""
        if not literal:
            return None
        needles = {literal, _toml_escaped(literal)}
        for number in range(section.first, section.last + 1):
            line = self.lines[number - 1]
            if any(needle in line for needle in needles):
                return number
        return None

    def id_line(self, rule_id: str) -> int | None:
        """The line of ``id = "rule_id"`` (for rules not written as ``[[rule]]`` blocks)."""
        quoted = (f'"{rule_id}"', f"'{rule_id}'")
        for number, line in enumerate(self.lines, 1):
            if "id" in line and any(q in line for q in quoted):
                return number
        return None
