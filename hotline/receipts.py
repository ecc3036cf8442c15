"""Receipt phrases: 128 random bits as 12 words of the reporter's language.

BIP-39 word lists (2,048 words each, unique after accent folding) carry 11
bits a word: 12 words = 128 bits of entropy + a 4-bit checksum, so a typo is
caught before any lookup. The entropy never leaves memory: ``crypto`` derives
the lookup id and the reply key from it, and the server stores only an HMAC of
the lookup id under a secret kept outside the database.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Callable
from functools import cache

from mnemonic import Mnemonic

ENTROPY_BYTES = 16
WORDS = 12
_LANGS = {"en": "english", "es": "spanish"}


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _wordlist(lang: str) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", w) for w in Mnemonic(_LANGS[lang]).wordlist)


@cache
def _index(lang: str) -> dict[str, int]:
    return {_fold(w): i for i, w in enumerate(_wordlist(lang))}


def new_entropy(rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """A fresh receipt: 128 bits from a cryptographic source (``os.urandom`` or a
    ``hotline.entropy.Draw``). The words are only needed when the receipt is shown."""
    return rng(ENTROPY_BYTES)


def new_receipt(lang: str) -> tuple[list[str], bytes]:
    """Fresh entropy and its words in ``lang`` (English when unsupported)."""
    entropy = new_entropy()
    return encode(entropy, lang if lang in _LANGS else "en"), entropy


def encode(entropy: bytes, lang: str) -> list[str]:
    bits = int.from_bytes(entropy, "big") << 4 | _checksum(entropy)
    words = _wordlist(lang)
    return [words[(bits >> (11 * (WORDS - 1 - i))) & 0x7FF] for i in range(WORDS)]


def _checksum(entropy: bytes) -> int:
    return hashlib.sha256(entropy).digest()[0] >> 4


def decode(phrase: str) -> bytes | None:
    """The entropy of a typed phrase, or None if it is not a valid receipt.

    Tolerant of case, accents, numbering ("1. word"), commas and extra spaces;
    strict about the words themselves and the checksum.
    """
    tokens = _tokens(_fold(phrase[:1000]))
    if len(tokens) != WORDS:
        return None
    for lang in _LANGS:
        index = _index(lang)
        if all(t in index for t in tokens):
            entropy = _from_indices([index[t] for t in tokens])
            if entropy is not None:
                return entropy
    return None


def _tokens(phrase: str) -> list[str]:
    cleaned = "".join(c if c.isalpha() else " " for c in phrase)
    return cleaned.split()


def _from_indices(indices: list[int]) -> bytes | None:
    bits = 0
    for i in indices:
        bits = bits << 11 | i
    entropy = (bits >> 4).to_bytes(ENTROPY_BYTES, "big")
    return entropy if bits & 0xF == _checksum(entropy) else None
