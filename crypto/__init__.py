"""Hotline's cryptography: libsodium (PyNaCl) constructions only; formats in SPEC.md.

This package never imports the service (``hotline``); the service imports it.
"""

from crypto._encoding import Rng
from crypto.atrest import new_storage_key, unwrap, wrap
from crypto.auth import login_message, sign_login, verify_login
from crypto.envelope import (
    BoxKeyHolder,
    EnvelopeContext,
    EnvelopeHeader,
    OpenedMessage,
    Recipient,
    SealedMessage,
    open_envelope,
    open_with_key,
    read_header,
    reseal,
    seal,
)
from crypto.errors import (
    BadSignature,
    CryptoError,
    DecryptionError,
    InvalidGrant,
    InvalidPublicKey,
    KeyFileError,
    NotARecipient,
    UnsupportedFormat,
    WrongPassphrase,
)
from crypto.grant import (
    Grant,
    GrantCheck,
    GrantedMessage,
    check_grants,
    make_grant,
    open_granted,
    parse_grant,
)
from crypto.identity import Identity, PublicIdentity
from crypto.kdf import derive_subkey, fingerprint_of, is_fingerprint, keyed_hash
from crypto.keyfile import (
    LAPTOP,
    PHONE,
    TESTING,
    KdfParams,
    decrypt_identity,
    encrypt_identity,
    read_kdf_params,
)
from crypto.padding import padded_length
from crypto.parts import decrypt_part, decrypt_part_bytes, encrypt_part, encrypt_part_bytes
from crypto.receipt import ReceiptKeys, ReplyKeyPair, derive_receipt_keys
from crypto.signing import SignedText, decode_body, parse_signed, sign_message, signed_body, verify_message

__all__ = [
    "LAPTOP",
    "PHONE",
    "TESTING",
    "BadSignature",
    "BoxKeyHolder",
    "CryptoError",
    "DecryptionError",
    "EnvelopeContext",
    "EnvelopeHeader",
    "Grant",
    "GrantCheck",
    "GrantedMessage",
    "Identity",
    "InvalidGrant",
    "InvalidPublicKey",
    "KdfParams",
    "KeyFileError",
    "NotARecipient",
    "OpenedMessage",
    "PublicIdentity",
    "ReceiptKeys",
    "Recipient",
    "ReplyKeyPair",
    "Rng",
    "SealedMessage",
    "SignedText",
    "UnsupportedFormat",
    "WrongPassphrase",
    "check_grants",
    "decode_body",
    "decrypt_identity",
    "decrypt_part",
    "decrypt_part_bytes",
    "derive_receipt_keys",
    "derive_subkey",
    "encrypt_identity",
    "encrypt_part",
    "encrypt_part_bytes",
    "fingerprint_of",
    "is_fingerprint",
    "keyed_hash",
    "login_message",
    "make_grant",
    "new_storage_key",
    "open_envelope",
    "open_granted",
    "open_with_key",
    "padded_length",
    "parse_grant",
    "parse_signed",
    "read_header",
    "read_kdf_params",
    "reseal",
    "seal",
    "sign_login",
    "sign_message",
    "signed_body",
    "unwrap",
    "verify_login",
    "verify_message",
    "wrap",
]
