"""Real instance folders for tests: real keys (cheap Argon2id), real SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crypto import TESTING, Identity, encrypt_identity
from hotline.domain import Role
from hotline.instance_setup import add_advocate, create_instance, set_on_call

PASSPHRASE = "correct horse battery staple"


@dataclass
class TestInstance:
    root: Path
    instance_id: str
    recovery: Identity
    alice: Identity  # admin, on call
    bob: Identity  # advocate, not on call

    def key_file(self, who: str) -> Path:
        return self.root.parent / f"{who}.key"


DATABASE: list[Callable[[], str] | None] = [None]
"""Where new instances keep their data: None (SQLite), or a maker of fresh PostgreSQL
databases (one per instance); set per test by the ``store_kind`` fixture
(tests/conftest.py) so every helper that makes an instance follows it."""


def _new_database() -> str | None:
    maker = DATABASE[0]
    return maker() if maker is not None else None


def make_instance(tmp_path: Path, public_url: str = "http://127.0.0.1:8080", *,
                  database: str | None = None) -> TestInstance:
    root = tmp_path / "instance"
    recovery = Identity.generate("recovery")
    instance_id = create_instance(root, recovery.public, public_url=public_url,
                                  database=database or _new_database())
    alice, bob = Identity.generate("alice"), Identity.generate("bob")
    for who, ident, role in (("alice", alice, Role.ADMIN), ("bob", bob, Role.ADVOCATE)):
        add_advocate(root, ident.public, name=who, role=role)
        (tmp_path / f"{who}.key").write_bytes(encrypt_identity(ident, PASSPHRASE, TESTING))
        (tmp_path / f"{who}.key.pub").write_bytes(ident.public.to_pub_file())
    (tmp_path / "recovery.key").write_bytes(encrypt_identity(recovery, PASSPHRASE, TESTING))
    set_on_call(root, ["alice"])
    # Tests post forms at machine speed; the minimum age has its own tests (tests/web_reporter/).
    config = root / "hotline.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('form_min_age = "2s"', 'form_min_age = "0s"'), encoding="utf-8")
    return TestInstance(root, instance_id, recovery, alice, bob)
