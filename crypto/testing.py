"""Deterministic randomness for test vectors and tests. NEVER use it for real keys.

Defined precisely (SPEC.md "Test vectors") so other implementations can
replay the vectors: call i (from 0) of ``seeded_rng(seed)`` returns
randombytes_buf_deterministic(n, BLAKE2b-256(key=K, data=u64be(i))) where
K = BLAKE2b-256(seed, person="hotline-testrng").
"""

from __future__ import annotations

import itertools

import nacl.bindings
import nacl.encoding
import nacl.hash

from crypto._encoding import Rng, u64
from crypto.kdf import keyed_hash


def seeded_rng(seed: bytes) -> Rng:
    """A reproducible rng: same seed, same sequence of outputs."""
    key = nacl.hash.blake2b(
        seed, digest_size=32, person=b"hotline-testrng", encoder=nacl.encoding.RawEncoder
    )
    counter = itertools.count()

    def rng(n: int) -> bytes:
        call_seed = keyed_hash(key, u64(next(counter)))
        return nacl.bindings.randombytes_buf_deterministic(n, call_seed)

    return rng
