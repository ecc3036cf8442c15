"""One error root; each class's docstring is its safe, user-facing message."""

from __future__ import annotations

import inspect

import crypto
from crypto import errors


def _error_classes() -> list[type[errors.CryptoError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.CryptoError) and obj.__module__ == errors.__name__
    ]


def test_single_root_and_public_messages() -> None:
    classes = _error_classes()
    assert len(classes) == 9
    for cls in classes:
        assert issubclass(cls, errors.CryptoError)
        assert cls.__doc__
        assert cls.public_message == cls.__doc__.strip().splitlines()[0]
        assert getattr(crypto, cls.__name__) is cls


def test_hierarchy() -> None:
    assert issubclass(errors.NotARecipient, errors.DecryptionError)
    assert issubclass(errors.WrongPassphrase, errors.KeyFileError)


def test_reason_and_public_message() -> None:
    exc = errors.KeyFileError("truncated")
    assert exc.reason == "truncated" and str(exc) == "truncated"
    assert exc.public_message == "The key file is damaged or not a Hotline key file."
    assert errors.BadSignature().reason == errors.BadSignature.public_message
