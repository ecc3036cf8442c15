"""pg_dump backups and restores of the main database, on a real PostgreSQL (``pg_url``).

The database is shaped as Hotline's main database is where these functions
look (meta, schema_migrations, tips, envelopes as BYTEA); the end-to-end
journey through ``hotline init --database`` is in test_pg_ops_cli.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psycopg
import pytest

from hotline.errors import InstanceError, UsageError
from hotline.ops.pg_backup import backup_postgresql, inspect_dump, restore_postgresql
from tests.helpers.pg_cluster import redact
from tests.helpers.pg_deploy import ENVELOPE, FINGERPRINT
from tests.helpers.pg_deploy import shape_main_database as make_main


def test_backup_is_a_private_whole_dump_that_says_what_it_holds(pg_url: str,
                                                                 tmp_path: Path) -> None:
    make_main(pg_url)
    out = tmp_path / "backups" / "b.pgdump"
    info = backup_postgresql(pg_url, out)
    assert (info.tips, info.schema_version, info.instance_id) == (3, 13, "inst-a\tb")
    assert info.recovery_fingerprint == FINGERPRINT and info.size == out.stat().st_size
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(out.parent.glob("*.partial"))
    assert inspect_dump(out) == info  # read back from the file alone
    with pytest.raises(UsageError, match=r"already exists"):
        backup_postgresql(pg_url, out)


def test_a_damaged_or_foreign_file_is_refused_by_name(pg_url: str, tmp_path: Path) -> None:
    make_main(pg_url, tips=40)
    out = backup_postgresql(pg_url, tmp_path / "b.pgdump").path
    cut = tmp_path / "cut.pgdump"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size * 2 // 3])
    with pytest.raises(UsageError, match=r"cut.pgdump: not a whole Hotline database dump"):
        inspect_dump(cut)
    junk = tmp_path / "junk.pgdump"
    junk.write_bytes(b"PGDMP" + os.urandom(500))
    with pytest.raises(UsageError, match=r"junk.pgdump: not a whole"):
        inspect_dump(junk)


def test_backup_refuses_a_database_that_is_not_the_main_one(pg_url: str,
                                                            tmp_path: Path) -> None:
    """The key store's URL given by mistake: refused, nothing written."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE tip_keys (tip_id TEXT PRIMARY KEY, wrapped BYTEA)")
    with pytest.raises(UsageError, match=r"not a Hotline main database"):
        backup_postgresql(pg_url, tmp_path / "k.pgdump")
    assert not (tmp_path / "k.pgdump").exists()


def test_restore_into_an_empty_database_then_migrations(pg_cluster, pg_url: str,
                                                        tmp_path: Path) -> None:
    make_main(pg_url)
    dump = backup_postgresql(pg_url, tmp_path / "b.pgdump").path
    fresh = pg_cluster.new_database()
    migrated: list[str] = []
    info = restore_postgresql(fresh, dump, recovery_fingerprint=FINGERPRINT, latest=13,
                              keep_dir=tmp_path / "backups",
                              migrate=lambda url: migrated.append(url) or ["014_x.sql"])
    assert (info.tips, info.migrations, info.previous) == (3, ["014_x.sql"], None)
    assert migrated == [fresh]
    with psycopg.connect(fresh) as conn:
        rows = conn.execute("SELECT tip_id, envelope FROM messages ORDER BY id").fetchall()
        ident = conn.execute("INSERT INTO messages (tip_id, envelope) VALUES ('T0', '')"
                             " RETURNING id").fetchone()
    assert [r[0] for r in rows] == ["T0", "T1", "T2"] and all(r[1] == ENVELOPE for r in rows)
    assert ident == (4,)  # identity sequences came back too: no id is handed out twice


def test_restore_refuses_a_non_empty_database_unless_told(pg_cluster, pg_url: str,
                                                          tmp_path: Path) -> None:
    make_main(pg_url, tips=2)
    dump = backup_postgresql(pg_url, tmp_path / "b.pgdump").path
    other = pg_cluster.new_database()
    make_main(other, tips=5)
    kw = {"recovery_fingerprint": FINGERPRINT, "latest": 13,
          "keep_dir": tmp_path / "backups", "migrate": None}
    with pytest.raises(UsageError, match=r"is not empty .*--replace.*nothing was changed"):
        restore_postgresql(other, dump, **kw)  # type: ignore[arg-type]
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tips").fetchone() == (5,)
        # A front end still connected: replacing under it is refused.
        with pytest.raises(UsageError, match=r"1 other open sessions"):
            restore_postgresql(other, dump, replace=True, **kw)  # type: ignore[arg-type]
    info = restore_postgresql(other, dump, replace=True, **kw)  # type: ignore[arg-type]
    assert info.tips == 2 and info.previous is not None
    assert info.previous.parent == tmp_path / "backups"
    assert info.previous.name.startswith("before-restore-")
    assert inspect_dump(info.previous).tips == 5  # what it replaced is kept


def test_restore_refuses_another_recovery_key_and_a_newer_dump(pg_cluster, pg_url: str,
                                                               tmp_path: Path) -> None:
    make_main(pg_url, version=15)
    dump = backup_postgresql(pg_url, tmp_path / "b.pgdump").path
    fresh = pg_cluster.new_database()
    with pytest.raises(UsageError, match=r"made for recovery key recovery-fp-1"):
        restore_postgresql(fresh, dump, recovery_fingerprint="other", latest=15,
                           keep_dir=tmp_path, migrate=None)
    with pytest.raises(InstanceError, match=r"schema version 15, newer than this Hotline .14."):
        restore_postgresql(fresh, dump, recovery_fingerprint=FINGERPRINT, latest=14,
                           keep_dir=tmp_path, migrate=None)
    with psycopg.connect(fresh) as conn:  # nothing was restored
        assert conn.execute("SELECT to_regclass('tips')").fetchone() == (None,)


def test_unreachable_database_is_one_sentence_without_the_password(pg_cluster,
                                                                   tmp_path: Path) -> None:
    url = pg_cluster.url("hotline", password="s3cret-pw").replace(
        f":{pg_cluster.port}/", ":1/")
    with pytest.raises(InstanceError) as caught:
        backup_postgresql(url, tmp_path / "b.pgdump")
    text = caught.value.public_message
    assert text.startswith("cannot reach the database 'hotline' on 127.0.0.1:1:")
    assert "s3cret-pw" not in text and "\n" not in text
    wrong = pg_cluster.url("hotline", password="wrong-pw")
    with pytest.raises(InstanceError, match=r"password authentication failed") as caught:
        backup_postgresql(wrong, tmp_path / "b.pgdump")
    assert "wrong-pw" not in caught.value.public_message
    assert redact(wrong) != wrong


def test_missing_pg_dump_says_what_to_install(pg_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    make_main(pg_url)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("HOTLINE_PG_BINDIR", str(empty))
    with pytest.raises(InstanceError, match=r"pg_dump not found in .*HOTLINE_PG_BINDIR"):
        backup_postgresql(pg_url, tmp_path / "b.pgdump")
    assert not (tmp_path / "b.pgdump").exists()
