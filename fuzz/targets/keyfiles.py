"""Fuzz the key readers in ``crypto``: passphrase-wrapped key files and ``.pub`` files.

Input layout: the first byte chooses (bit 0 clear: a key file; set: a
``.pub`` file). For key files, bit 1 makes the target recompute the header
checksum after mutation (a fuzzer cannot forge BLAKE2b, and without this every
mutated header stops at the checksum), and bit 2 uses a wrong passphrase.
Argon2id runs only for the vector's cheap ``TESTING`` cost or below: the
reader's own bound (at most 1 GiB, 16 passes) is checked by ``read_kdf_params``
for every input, but running it at that cost would turn the fuzzer into a
password-hashing benchmark.

Contract: ``read_kdf_params`` and ``decrypt_identity`` return or raise
``KeyFileError`` (``WrongPassphrase`` included); ``PublicIdentity.from_pub_file``
returns or raises ``InvalidPublicKey``. Properties: an unwrapped identity,
wrapped again, unwraps to the same keys and name; an accepted ``.pub`` file
written again reads back to the same identity and fingerprint.
"""

from __future__ import annotations

import json
from pathlib import Path

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from crypto import (
        TESTING,
        InvalidPublicKey,
        KeyFileError,
        PublicIdentity,
        decrypt_identity,
        encrypt_identity,
        read_kdf_params,
    )
    from crypto.keyfile import CHECKSUM_BYTES, HEADER_BYTES, _checksum
    from crypto.testing import seeded_rng

_VECTOR = json.loads((Path(__file__).resolve().parents[2] / "crypto" / "vectors" / "keyfile.json")
                     .read_text("utf-8"))
PASSPHRASE = _VECTOR["passphrase"]


def with_fixed_checksum(data: bytes) -> bytes:
    if len(data) < HEADER_BYTES + CHECKSUM_BYTES:
        return data
    header = data[:HEADER_BYTES]
    return header + _checksum(header) + data[HEADER_BYTES + CHECKSUM_BYTES:]


def check_keyfile(data: bytes, passphrase: str) -> None:
    try:
        params = read_kdf_params(data)
    except KeyFileError:
        return
    if params.opslimit > TESTING.opslimit or params.memlimit > TESTING.memlimit:
        return
    try:
        identity = decrypt_identity(data, passphrase)
    except KeyFileError:
        return
    again = decrypt_identity(encrypt_identity(identity, passphrase, TESTING, rng=seeded_rng(b"fuzz")),
                             passphrase)
    require((again.name, again.box_secret, again.sign_seed)
            == (identity.name, identity.box_secret, identity.sign_seed), "a rewrapped key differs")


def check_pub(data: bytes) -> None:
    try:
        public = PublicIdentity.from_pub_file(data)
    except InvalidPublicKey:
        return
    again = PublicIdentity.from_pub_file(public.to_pub_file())
    require(again == public and again.fingerprint == public.fingerprint, "a rewritten .pub file differs")


def check(data: bytes) -> None:
    if not data:
        return
    selector, rest = data[0], data[1:]
    if selector & 1:
        check_pub(rest)
        return
    if selector & 2:
        rest = with_fixed_checksum(rest)
    check_keyfile(rest, PASSPHRASE + "x" if selector & 4 else PASSPHRASE)



if __name__ == "__main__":
    fuzz_main(check)
