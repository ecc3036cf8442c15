"""Fuzz the receipt decoder, ``hotline.receipts.decode``: the 12 words a reporter types back.

The input is the typed text (UTF-8; undecodable bytes become U+FFFD, as any
text the web form or an SMS delivers is already valid Unicode).

Contract: ``decode`` never raises; it returns 16 bytes of entropy or None.
Properties: an accepted phrase's entropy, written out again in English and in
Spanish, decodes to the same entropy, also in upper case and numbered
("1. word, 2. word"); the first 16 input bytes taken as entropy round-trip
the same way (so every part of the checksum and word lists is exercised).
"""

from __future__ import annotations

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from hotline.receipts import ENTROPY_BYTES, decode, encode

LANGS = ("en", "es")


def round_trips(entropy: bytes) -> None:
    for lang in LANGS:
        words = encode(entropy, lang)
        require(decode(" ".join(words)) == entropy, f"a {lang} phrase does not decode to its entropy")
        require(decode(" ".join(words).upper()) == entropy, f"an upper-case {lang} phrase does not decode")
        numbered = ", ".join(f"{i}. {w}" for i, w in enumerate(words, start=1))
        require(decode(numbered) == entropy, f"a numbered {lang} phrase does not decode")


def check(data: bytes) -> None:
    entropy = decode(data.decode("utf-8", "replace"))
    require(entropy is None or (isinstance(entropy, bytes) and len(entropy) == ENTROPY_BYTES),
            "decode returned something other than 16 bytes or None")
    if entropy is not None:
        round_trips(entropy)
    if len(data) >= ENTROPY_BYTES:
        round_trips(data[:ENTROPY_BYTES])


if __name__ == "__main__":
    fuzz_main(check)
