"""Property tests of the small parsers on the reporter's path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline import csrf, receipts
from hotline.server_secret import ServerSecret

SECRET = ServerSecret(1, {1: bytes(range(32))})


@given(st.binary(min_size=16, max_size=16), st.sampled_from(["en", "es"]))
def test_receipt_words_round_trip(entropy: bytes, lang: str) -> None:
    words = receipts.encode(entropy, lang)
    assert len(words) == 12
    assert receipts.decode(" ".join(words)) == entropy
    assert receipts.decode("\n".join(f"{i}. {w.upper()}" for i, w in enumerate(words, 1))) == entropy


@given(st.binary(min_size=16, max_size=16), st.integers(0, 11), st.integers(0, 11))
def test_a_swapped_or_changed_word_is_caught_mostly(entropy: bytes, i: int, j: int) -> None:
    words = receipts.encode(entropy, "en")
    words[i], words[j] = words[j], words[i]
    decoded = receipts.decode(" ".join(words))
    assert decoded is None or decoded == entropy or receipts.encode(decoded, "en") == words


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_decode_never_raises(text: str) -> None:
    result = receipts.decode(text)
    assert result is None or len(result) == 16


def test_accents_are_optional_in_spanish() -> None:
    words, entropy = receipts.new_receipt("es")
    import unicodedata
    plain = "".join(c for c in unicodedata.normalize("NFKD", " ".join(words)) if not unicodedata.combining(c))
    assert receipts.decode(plain) == entropy


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=80)))
def test_csrf_verify_never_raises_and_refuses_garbage(cookie: str, token: str | None) -> None:
    assert csrf.verify(SECRET, cookie, token, 3600) is not None or token == csrf.issue(SECRET, cookie)


def test_csrf_token_is_bound_to_cookie_and_time() -> None:
    token = csrf.issue(SECRET, "cookie-a", now=1_000_000)
    assert csrf.verify(SECRET, "cookie-a", token, 3600, now=1_000_100) is None
    assert csrf.verify(SECRET, "cookie-b", token, 3600, now=1_000_100) == "mismatch"
    assert csrf.verify(SECRET, "cookie-a", token, 3600, now=1_004_000) == "expired"
    other = ServerSecret(1, {1: bytes(32)})
    assert csrf.verify(other, "cookie-a", token, 3600, now=1_000_100) == "mismatch"
