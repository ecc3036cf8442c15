"""The shorthand table (``shorthand.toml``): contractions, SMS and Spanish shorthand, one
expansion per word, the same for every language (step 4 of ``normalize``).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources

from .errors import RuleError

SHORTHAND_FILE = "shorthand.toml"


# -- shorthand -----------------------------------------------------------------


@functools.cache
def shorthand() -> Mapping[str, str]:
    """The shorthand table, every section merged (see ``shorthand.toml``)."""
    raw = resources.files(__package__).joinpath(SHORTHAND_FILE).read_text(encoding="utf-8")
    return parse_shorthand(raw)


def shorthand_bytes() -> bytes:
    """The table file's bytes (part of every rule set's version)."""
    return resources.files(__package__).joinpath(SHORTHAND_FILE).read_bytes()


def parse_shorthand(raw: str) -> dict[str, str]:
    """Merge the table's ``[lang.kind]`` sections; a key listed twice is an error."""
    table: dict[str, str] = {}
    for lang, kinds in tomllib.loads(raw).items():
        if not isinstance(kinds, dict):
            raise RuleError(f"{SHORTHAND_FILE}: [{lang}] must hold tables of words")
        for kind, entries in kinds.items():
            if not isinstance(entries, dict):
                raise RuleError(f"{SHORTHAND_FILE}: [{lang}.{kind}] must map words to words")
            for key, value in entries.items():
                if not isinstance(value, str) or not value:
                    raise RuleError(f"{SHORTHAND_FILE}: [{lang}.{kind}] {key!r} needs a text")
                if key in table:
                    raise RuleError(f"{SHORTHAND_FILE}: {key!r} is listed twice")
                table[key] = value
    return table
