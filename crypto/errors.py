"""The single error hierarchy of the crypto package.

Every failure a caller can see is a ``CryptoError``. Each class's docstring is
its user-facing message and is copied into ``public_message`` so the service
can show it without ever formatting the exception (whose ``reason`` is more
specific, but still never contains key material or plaintext).
"""

from __future__ import annotations

from typing import ClassVar


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


class CryptoError(Exception):
    """A cryptographic operation failed."""

    public_message: ClassVar[str] = "A cryptographic operation failed."

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.public_message = _first_line(cls.__doc__) or CryptoError.public_message

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason or self.public_message
        super().__init__(self.reason)


class DecryptionError(CryptoError):
    """This message could not be opened (it may be damaged or not meant for you)."""


class NotARecipient(DecryptionError):
    """This message was not sealed to your key."""


class UnsupportedFormat(CryptoError):
    """This data uses a format or version this software does not support."""


class KeyFileError(CryptoError):
    """The key file is damaged or not a Hotline key file."""


class WrongPassphrase(KeyFileError):
    """The passphrase is not correct for this key file."""


class InvalidPublicKey(CryptoError):
    """The public key file is malformed or its signature does not verify."""


class BadSignature(CryptoError):
    """The signature is not valid."""


class InvalidGrant(CryptoError):
    """This key grant is malformed, not validly signed, or not for this message."""
