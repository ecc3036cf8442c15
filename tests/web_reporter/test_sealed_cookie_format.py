"""The sealed receipt cookie and the resubmission box keep PyNaCl ``SecretBox``'s format
(nonce, then MAC and ciphertext), made by its binding directly (hotline/channels/web_sealed.py):
what ``SecretBox`` made opens, and what is made now opens with ``SecretBox``."""

from __future__ import annotations

import base64
import os

from nacl.secret import SecretBox

from hotline.channels import web_sealed as sealed
from hotline.server_secret import ServerSecret


def _secret() -> ServerSecret:
    return ServerSecret(current=1, keys={1: os.urandom(32)})


def test_a_sealed_cookie_is_exactly_secretbox_with_the_same_nonce_and_opens() -> None:
    secret, entropy, nonce = _secret(), os.urandom(16), os.urandom(24)
    value = sealed.seal(secret, sealed.RECEIPT_LABEL, entropy, "es", 2**40, urgent=True,
                        rng=lambda n: nonce[:n])
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    box = SecretBox(secret.subkey(sealed.RECEIPT_LABEL))
    assert raw == bytes(box.encrypt(box.decrypt(raw), nonce))
    opened = sealed.unseal(secret, sealed.RECEIPT_LABEL, value)
    assert opened is not None and opened.entropy == entropy and opened.lang == "es"
    assert opened.urgent and opened.expires == 2**40


def test_a_resubmission_box_is_exactly_secretbox_and_opens_only_with_its_token() -> None:
    secret, entropy, nonce = _secret(), os.urandom(17), os.urandom(24)
    box = sealed.seal_for_token(secret, "123.nonce.mac", entropy, rng=lambda n: nonce[:n])
    key = sealed.box_key(secret, "123.nonce.mac")
    assert box == bytes(SecretBox(key).encrypt(entropy, nonce))
    assert sealed.open_for_token(secret, "123.nonce.mac", box) == entropy
    assert sealed.open_for_token(secret, "123.nonce.maC", box) is None
