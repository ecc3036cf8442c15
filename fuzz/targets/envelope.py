"""Fuzz the envelope and attachment-part readers in ``crypto``.

Input layout: the first byte chooses the reader (even: a message envelope;
odd: an attachment part stream, part 1 or 2 from bit 1); the rest is the
object. The key is the ``crypto/vectors`` identity "Alice Advocate" (one of
the vector envelope's recipients), and parts use the vector message key, so
valid seeds open and mutations explore every check on the way.

Contract: ``open_envelope``, ``read_header`` and ``decrypt_part_bytes`` return
or raise ``CryptoError``. Properties: an envelope that opens has the header
``read_header`` reports; its body, sealed again to the same key, opens to the
same body and context (a real round trip); the input itself, sealed as a body,
opens to itself; a part decrypts to fewer bytes than its stream.
"""

from __future__ import annotations

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from crypto import (
        CryptoError,
        EnvelopeContext,
        Identity,
        decrypt_part_bytes,
        open_envelope,
        read_header,
        seal,
    )
    from crypto.testing import seeded_rng

HOLDER = Identity.generate("Alice Advocate", rng=seeded_rng(b"vector-identity-alice"))
CONTEXT = EnvelopeContext("hotline-demo", "tip-0001", "msg-0001", "in", "sms")
MESSAGE_KEY = bytes.fromhex("66fe636d3b30f7cef0b041b9695d17feac538f71f30aa01f89b0959158ec9f88")


def check_envelope(envelope: bytes) -> None:
    try:
        header = read_header(envelope)
    except CryptoError:
        header = None
    try:
        opened = open_envelope(envelope, HOLDER)
    except CryptoError:
        return
    require(header is not None and header.context == opened.context, "opened, but read_header refused it")
    require(HOLDER.fingerprint in opened.recipients, "opened by a key it does not list")
    again = seal(opened.context, opened.body, [HOLDER.recipient()], rng=seeded_rng(b"fuzz-reseal"))
    reopened = open_envelope(again.envelope, HOLDER, expected=opened.context)
    require(reopened.body == opened.body, "a resealed body does not open to itself")


def check_part(part: int, stream: bytes) -> None:
    try:
        plaintext = decrypt_part_bytes(CONTEXT, MESSAGE_KEY, part, stream)
    except CryptoError:
        return
    require(len(plaintext) < len(stream), "a part decrypted to more bytes than its stream")


def check(data: bytes) -> None:
    if not data:
        return
    selector, rest = data[0], data[1:]
    if selector & 1:
        check_part(1 + (selector >> 1 & 1), rest)
        return
    check_envelope(rest)
    if len(rest) <= 4096:
        sealed = seal(CONTEXT, rest, [HOLDER.recipient()], rng=seeded_rng(b"fuzz-seal"))
        require(open_envelope(sealed.envelope, HOLDER, expected=CONTEXT).body == rest,
                "a sealed body does not open to itself")


if __name__ == "__main__":
    fuzz_main(check)
