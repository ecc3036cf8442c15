"""``hotline doctor``'s PostgreSQL checks, against real servers.

Two settings: the suite's plain cluster (fsync off, a superuser, roles made
here to show each mistake), and a deployment built from deploy/postgresql
(primary + streaming standby + the key store's own cluster), which doctor
must find clean.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest

from hotline.ops.pg_doctor import diagnose_postgresql
from tests.helpers import pg_deploy as d
from tests.helpers.pg_cluster import ENV_URL, find_pg_bin


def _keystore_problems(problems: list[str]) -> list[str]:
    return [p for p in problems if p.startswith("key store:")]


def test_a_test_cluster_as_superuser_is_called_what_it_is(pg_url: str) -> None:
    """The suite's cluster runs with fsync and full_page_writes off and a superuser URL."""
    found = diagnose_postgresql(pg_url, latest=13)
    text = "\n".join(found.problems)
    assert "fsync is off" in text and "full_page_writes is off" in text
    assert "is a superuser, so it can read every database" in text
    assert "has no Hotline schema" in text
    assert any(n.startswith("database: PostgreSQL 1") for n in found.notes)


def test_a_newer_schema_is_a_downgrade_and_an_older_one_a_note(pg_url: str) -> None:
    d.shape_main_database(pg_url, version=15)
    newer = diagnose_postgresql(pg_url, latest=14)
    assert any("schema version 15 is newer than this Hotline (14)" in p for p in newer.problems)
    older = diagnose_postgresql(pg_url, latest=16)
    assert not any("schema" in p for p in older.problems)
    assert any("schema version 15; this Hotline migrates it to 16" in n for n in older.notes)


def test_unreachable_database_is_one_problem(pg_cluster) -> None:
    url = pg_cluster.url("hotline", password="pw-not-shown").replace(
        f":{pg_cluster.port}/", ":1/")
    found = diagnose_postgresql(url, latest=13)
    assert len(found.problems) == 1
    assert found.problems[0].startswith("database: cannot reach the database 'hotline' on "
                                        "127.0.0.1:1")
    assert "pw-not-shown" not in found.problems[0]


@pytest.fixture
def roles(pg_cluster) -> Iterator[dict[str, str]]:
    """A main role and a key store role on the suite's cluster, each with its database."""
    tag = secrets.token_hex(4)
    made = {"main": f"m_{tag}", "keys": f"k_{tag}", "pw": secrets.token_hex(8)}
    for role in (made["main"], made["keys"]):
        pg_cluster.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{made['pw']}'")
        pg_cluster.psql(f"CREATE DATABASE {role} OWNER {role}")
    made["main_url"] = pg_cluster.url(made["main"], user=made["main"], password=made["pw"])
    made["keys_url"] = pg_cluster.url(made["keys"], user=made["keys"], password=made["pw"])
    with psycopg.connect(made["keys_url"], autocommit=True) as conn:
        conn.execute("CREATE TABLE tip_keys (tip_id TEXT PRIMARY KEY, wrapped BYTEA)")
    yield made
    for role in (made["main"], made["keys"]):
        pg_cluster.psql(f"DROP DATABASE IF EXISTS {role} WITH (FORCE)")
        pg_cluster.psql(f"DROP ROLE IF EXISTS {role}")


def test_key_store_separation_mistakes_are_each_named(pg_cluster, roles: dict[str, str]) -> None:
    main, keys = roles["main"], roles["keys"]
    same = diagnose_postgresql(roles["main_url"], latest=13, keystore_url=roles["main_url"])
    assert any("it is the main database itself" in p for p in same.problems)
    assert any(f"it uses the main role '{main}'" in p for p in same.problems)

    # PostgreSQL's default: every role may CONNECT to a new database.
    found = diagnose_postgresql(roles["main_url"], latest=13, keystore_url=roles["keys_url"])
    assert _keystore_problems(found.problems) == [
        f"key store: the main role '{main}' can connect to database '{keys}'; REVOKE CONNECT "
        f"ON DATABASE {keys} FROM PUBLIC, {main} (deploy/postgresql/roles-keystore.sql)"]
    # And it does: the main role's own login reaches the key store's database.
    with psycopg.connect(pg_cluster.url(keys, user=main, password=roles["pw"])) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (main,)

    pg_cluster.psql(f"GRANT SELECT ON tip_keys TO {main}", database=keys)
    found = diagnose_postgresql(roles["main_url"], latest=13, keystore_url=roles["keys_url"])
    assert any(f"the main role '{main}' can read it (tip_keys)" in p for p in found.problems)

    pg_cluster.psql(f"REVOKE SELECT ON tip_keys FROM {main}", database=keys)  # noqa: S608
    pg_cluster.psql(f"REVOKE CONNECT ON DATABASE {keys} FROM PUBLIC")
    found = diagnose_postgresql(roles["main_url"], latest=13, keystore_url=roles["keys_url"])
    assert _keystore_problems(found.problems) == []
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(pg_cluster.url(keys, user=main, password=roles["pw"])).close()
    # Same cluster: allowed, but said, since its WAL and replicas carry the key store too.
    assert any("on the main database's PostgreSQL cluster" in n for n in found.notes)


requires_own_clusters = pytest.mark.skipif(
    find_pg_bin() is None or bool(os.environ.get(ENV_URL)),
    reason="builds its own clusters from deploy/postgresql (PostgreSQL installed, "
           f"{ENV_URL} unset)")


@pytest.fixture(scope="module")
def deployment() -> Iterator[d.Pair]:
    pair = d.Pair()
    pair.add_keystore()
    pair.add_replica()
    d.shape_main_database(pair.url("hotline"))
    yield pair
    pair.close()


@requires_own_clusters
def test_the_documented_deployment_is_clean(deployment: d.Pair) -> None:
    replica = deployment.url("hotline", port=deployment.replica_port)
    found = diagnose_postgresql(deployment.url("hotline"), latest=13,
                                keystore_url=deployment.keystore_url(), replica_url=replica)
    assert found.problems == []
    # pg_monitor (roles-main.sql) lets the main role see the standby's lag.
    assert any(n.startswith("replica hotline_replica: streaming (async), ")
               and n.endswith(" bytes behind") for n in found.notes), found.notes
    assert any(n.startswith("replica at 127.0.0.1:") for n in found.notes)
    assert not any("cluster" in n for n in found.notes)  # the key store has its own
    # ...where the main role has no door at all, whatever password it brings.
    pw = deployment.passwords["hotline"]
    for database in ("hotline_keys", "hotline"):
        with pytest.raises(psycopg.OperationalError, match=r"no pg_hba.conf entry|rejects"):
            psycopg.connect(f"postgresql://hotline:{pw}@127.0.0.1:{deployment.keystore_port}/"
                            f"{database}", connect_timeout=10).close()


@requires_own_clusters
def test_a_url_left_on_the_standby_or_a_replica_that_is_not_one(deployment: d.Pair) -> None:
    on_standby = diagnose_postgresql(deployment.url("hotline", port=deployment.replica_port),
                                     latest=13, keystore_url=deployment.keystore_url())
    assert any("is a read-only standby, not the primary" in p for p in on_standby.problems)
    two_primaries = diagnose_postgresql(deployment.url("hotline"), latest=13,
                                        keystore_url=deployment.keystore_url(),
                                        replica_url=deployment.url("hotline"))
    assert any("is not a standby (was it promoted?)" in p for p in two_primaries.problems)
    gone = diagnose_postgresql(deployment.url("hotline"), latest=13,
                               keystore_url=deployment.keystore_url(),
                               replica_url=deployment.url("hotline", port=1))
    assert any(p.startswith("replica: cannot reach") for p in gone.problems)


def test_key_store_password_can_come_from_a_pgpass_file(pg_cluster, roles: dict[str, str],
                                                         tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Doctor's --keystore-url carries no password; libpq finds it where the docs say."""
    keys = roles["keys"]
    bare = f"postgresql://{keys}@127.0.0.1:{pg_cluster.port}/{keys}"
    without = diagnose_postgresql(roles["main_url"], latest=13, keystore_url=bare)
    assert any(p.startswith("key store: cannot reach") for p in without.problems)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:{keys}:{keys}:{roles['pw']}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    found = diagnose_postgresql(roles["main_url"], latest=13, keystore_url=bare)
    assert not any(p.startswith("key store: cannot reach") for p in found.problems)
    assert any("can connect to database" in p for p in found.problems)  # it did get in
