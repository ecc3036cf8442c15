"""Load rule files: parse, validate, compile, run every rule's examples.

Any issue in any file fails the whole load (``RulesLoadError`` lists them all),
so a service refuses to start on broken rules and a reload keeps the last good
set. The file format is documented in ``RULES.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import RuleIssue, RulesLoadError
from .grammar import (  # noqa: F401  (re-exported: tests and tools read the grammar from here)
    DEFAULT_NEGATION_WINDOW,
    EXAMPLE_KEYS,
    GROUP_KEYS,
    ID_CHARS,
    KNOWN_CHANNELS,
    LIST_PREFIX,
    MAX_LIST_NAME,
    NEAR_KEYS,
    PACK_KEYS,
    RULE_KEYS,
    TOP_KEYS,
    unknown_key_message,
)
from .model import Rule, RuleSet
from .normalize import normalize, shorthand_bytes
from .positions import Positions, Section
from .rule_reader import RuleReader
from .urgency import Urgency

__all__ = [
    "DEFAULT_NEGATION_WINDOW",
    "KNOWN_CHANNELS",
    "default_pack_dir",
    "load_rules",
]


ENGINE = b"triage_rules/1"


def default_pack_dir() -> Path:
    """The directory of the default pack shipped with the package."""
    packs = resources.files(__package__).joinpath("packs", "default")
    return packs if isinstance(packs, Path) else Path(str(packs))


def load_rules(paths: Sequence[Path]) -> RuleSet:
    """Load every rule file in ``paths`` (files, or directories of ``*.toml``).

    Raises RulesLoadError listing every issue in every file; nothing is loaded
    unless everything is valid and every rule's examples pass.
    """
    loader = _Loader()
    for file, name in _rule_files(paths, loader.issues):
        loader.load_file(file, name)
    return loader.finish(paths)


def _rule_files(paths: Sequence[Path], issues: list[RuleIssue]) -> list[tuple[Path, str]]:
    """(file, name used in the version hash) for every file to load, each once."""
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix == ".toml" and p.is_file())
            if not files:
                issues.append(RuleIssue(str(path), None, None, "no *.toml rule files in directory"))
        elif path.is_file():
            files = [path]
        else:
            issues.append(RuleIssue(str(path), None, None, "no such file or directory"))
            continue
        for file in files:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                found.append((file, file.name))
    return found


@dataclass
class _Origin:
    path: str
    line: int | None


@dataclass
class _Loader:
    issues: list[RuleIssue] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    contents: list[tuple[str, bytes]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    first_seen: dict[str, _Origin] = field(default_factory=dict)
    default_urgency: tuple[Urgency, _Origin] | None = None
    thresholds: dict[Urgency, tuple[int, _Origin]] = field(default_factory=dict)

    def load_file(self, file: Path, name: str) -> None:
        path = str(file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            self.issues.append(RuleIssue(path, None, None, f"cannot read: {exc.strerror}"))
            return
        self.contents.append((name, data))
        self.sources.append(path)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.issues.append(RuleIssue(path, line, None, "not valid UTF-8 text"))
            return
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.issues.append(_syntax_issue(path, text, exc))
            return
        FileReader(self, path, Positions(text)).read(document)

    def finish(self, paths: Sequence[Path]) -> RuleSet:
        self._check_thresholds()
        self._check_acts_on()
        if not self.rules and not self.issues:
            where = ", ".join(str(p) for p in paths) or "(no paths)"
            self.issues.append(RuleIssue(where, None, None, "no rules found"))
        if self.issues:
            raise RulesLoadError(self.issues)
        return RuleSet(
            version=_version(self.contents),
            rules=tuple(self.rules),
            sources=tuple(self.sources),
            default_urgency=self.default_urgency[0] if self.default_urgency else Urgency.NORMAL,
            thresholds=tuple(sorted((u, n) for u, (n, _) in self.thresholds.items())),
        )

    def _check_acts_on(self) -> None:
        """Every tag a modifier acts on is some loaded rule's tag (a typo would make it act on nothing)."""
        known = frozenset().union(*(rule.tags for rule in self.rules))
        for rule in self.rules:
            if rule.modifier is None:
                continue
            for tag in sorted(rule.modifier.acts_on - known):
                hint = f"; tags in use: {', '.join(sorted(known))}" if known else "; no rule has tags"
                self.issues.append(
                    RuleIssue(
                        rule.source, rule.line, rule.id, f"acts_on names tag {tag!r}, which no rule has{hint}"
                    )
                )

    def _check_thresholds(self) -> None:
        ordered = sorted(self.thresholds.items())
        for (lower, (low, _)), (higher, (high, origin)) in itertools.pairwise(ordered):
            if high <= low:
                self.issues.append(
                    RuleIssue(
                        origin.path,
                        origin.line,
                        None,
                        f"threshold for {higher} ({high}) must be above the threshold for {lower} ({low})",
                    )
                )


def _version(contents: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    digest.update(ENGINE + b"\0")
    for name, data in [("(shorthand.toml)", shorthand_bytes()), *sorted(contents)]:
        encoded = name.encode("utf-8")
        digest.update(b"%d:%s%d:" % (len(encoded), encoded, len(data)))
        digest.update(data)
    return "rs-" + digest.hexdigest()[:16]


def _syntax_issue(path: str, text: str, exc: tomllib.TOMLDecodeError) -> RuleIssue:
    message = str(exc)
    line: int | None = None
    marker = message.rfind(" (at line ")
    if marker >= 0:
        digits = message[marker + len(" (at line ") :].split(",", 1)[0]
        line = int(digits) if digits.isdigit() else None
        column = message[marker:].rsplit("column ", 1)[-1].rstrip(")")
        message = message[:marker] + (f" (column {column})" if column.isdigit() else "")
    elif message.endswith(" (at end of document)"):
        message = message.removesuffix(" (at end of document)") + " (at end of file)"
        line = max(len(text.splitlines()), 1)
    return RuleIssue(path, line, None, f"invalid TOML: {message}")


class FileReader:
    """Reads one parsed file: its [pack] table and its [[rule]] blocks."""

    def __init__(self, loader: _Loader, path: str, positions: Positions) -> None:
        self.loader, self.path, self.positions = loader, path, positions
        # [lists]: name -> its texts; a list with problems maps to None (already reported)
        self.lists: dict[str, tuple[str, ...] | None] = {}

    def issue(self, line: int | None, rule_id: str | None, message: str) -> None:
        self.loader.issues.append(RuleIssue(self.path, line, rule_id, message))

    def read(self, document: dict[str, Any]) -> None:
        for key in document:
            if key not in TOP_KEYS:
                line = self.positions.table_line(key)
                self.issue(line, None, unknown_key_message(key, TOP_KEYS, "the file"))
        if "pack" in document:
            self._read_pack(document["pack"])
        if "lists" in document:
            self._read_lists(document["lists"])
        rules = document.get("rule", [])
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            line = self.positions.table_line("rule")
            self.issue(line, None, "'rule' must be written as [[rule]] blocks")
            return
        for index, raw in enumerate(rules):
            section = self.positions.rule_section(index, len(rules))
            rule = RuleReader(self, raw, section).read()
            if rule is not None:
                self._add(rule)

    def _add(self, rule: Rule) -> None:
        first = self.loader.first_seen.get(rule.id)
        if first is not None:
            where = first.path if first.line is None else f"{first.path}:{first.line}"
            self.issue(rule.line, rule.id, f"duplicate rule id (first defined at {where})")
            return
        self.loader.first_seen[rule.id] = _Origin(self.path, rule.line)
        self.loader.rules.append(rule)

    def _read_lists(self, lists: Any) -> None:
        header = self.positions.table_line("lists")
        if not isinstance(lists, dict):
            self.issue(header, None, '[lists] must be a table of named lists, like terms = ["..."]')
            return
        section = Section(header, self.positions.section("lists", header).last) if header else None

        def line_of(name: str, literal: str | None = None) -> int | None:
            if section is None:
                return header
            key_line = self.positions.key_line(section, name, "lists")
            if literal is not None:
                after = Section(key_line, section.last) if key_line is not None else section
                found = self.positions.literal_line(after, literal)
                if found is not None:
                    return found
            return key_line or header

        for name, value in lists.items():
            self.lists[name] = None
            if not name or len(name) > MAX_LIST_NAME or not set(name) <= ID_CHARS:
                self.issue(
                    line_of(name),
                    None,
                    f"[lists] name {name!r} must be 1 to {MAX_LIST_NAME} of a-z 0-9 _ . -",
                )
                continue
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                self.issue(
                    line_of(name), None, f'[lists] {name} must be a non-empty list of texts, like ["..."]'
                )
                continue
            good = True
            for item in value:
                if item.strip().startswith(LIST_PREFIX):
                    self.issue(
                        line_of(name, item),
                        None,
                        f"[lists] {name}: {item!r}: a list cannot name another list",
                    )
                    good = False
                elif not normalize(item).text:
                    self.issue(
                        line_of(name, item), None, f"[lists] {name}: {item!r} has no letters or digits"
                    )
                    good = False
            if good:
                self.lists[name] = tuple(value)

    def _read_pack(self, pack: Any) -> None:
        section = self.positions.pack_section()
        header = section.first if section else self.positions.table_line("pack")

        def line_of(key: str, table: str = "pack") -> int | None:
            found = self.positions.key_line(section, key, table) if section else None
            return found or header

        if not isinstance(pack, dict):
            self.issue(header, None, "[pack] must be a table")
            return
        for key in pack:
            if key not in PACK_KEYS:
                self.issue(line_of(key), None, unknown_key_message(key, PACK_KEYS, "[pack]"))
        for key in ("name", "description"):
            if key in pack and not isinstance(pack[key], str):
                self.issue(line_of(key), None, f"[pack] {key} must be a text")
        if "default_urgency" in pack:
            self._pack_default(pack["default_urgency"], line_of("default_urgency"))
        thresholds = pack.get("thresholds", {})
        if not isinstance(thresholds, dict):
            self.issue(line_of("thresholds"), None, "[pack.thresholds] must be a table")
            return
        for key, value in thresholds.items():
            self._pack_threshold(key, value, line_of(key, "pack.thresholds"))

    def _pack_default(self, value: Any, line: int | None) -> None:
        try:
            urgency = Urgency.parse(value) if isinstance(value, str) else Urgency.parse(repr(value))
        except ValueError as exc:
            self.issue(line, None, f"[pack] default_urgency: {exc}")
            return
        known = self.loader.default_urgency
        if known is not None and known[0] is not urgency:
            origin = known[1]
            self.issue(
                line,
                None,
                f"[pack] default_urgency {urgency} conflicts with {known[0]} set in {origin.path}",
            )
            return
        self.loader.default_urgency = (urgency, _Origin(self.path, line))

    def _pack_threshold(self, key: str, value: Any, line: int | None) -> None:
        try:
            urgency = Urgency.parse(key)
        except ValueError as exc:
            self.issue(line, None, f"[pack.thresholds]: {exc}")
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.issue(line, None, f"[pack.thresholds] {key} must be a whole number of at least 1")
            return
        known = self.loader.thresholds.get(urgency)
        if known is not None and known[0] != value:
            self.issue(
                line,
                None,
                f"[pack.thresholds] {key} = {value} conflicts with {known[0]} set in {known[1].path}",
            )
            return
        if known is None:
            self.loader.thresholds[urgency] = (value, _Origin(self.path, line))
