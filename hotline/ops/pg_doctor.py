"""``hotline doctor`` for an instance on PostgreSQL: the database half.

Read-only, like the rest of doctor: every check runs and says what to do.
Problems make doctor fail (and so the service's ExecStartPre); notes are
facts an operator should see (server version, replicas and their lag).

What is checked and why:

* the server answers, and is a primary (after a failover, a URL still
  pointing at the old machine reaches a read-only standby, or nothing);
* its version is one we support, and the schema is not newer than this code;
* ``fsync``, ``synchronous_commit`` and ``full_page_writes`` are on: an
  acknowledged tip must survive a power cut (intake answers only after commit);
* the main role is not a superuser (a superuser reads every database);
* the key store is another database with another role, which the main role
  cannot connect to or read (crypto-shredding rests on the main database's
  copies holding no key); sharing the main database's cluster is a note, since
  its WAL, base backups and replicas then carry the key store's rows too;
* each streaming replica is streaming and not too far behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from ..errors import HotlineError
from .pg_tools import Target

MIN_SERVER = 130000
DEFAULT_MAX_LAG = 16 * 1024 * 1024  # bytes of WAL not yet replayed on a standby


@dataclass
class PgDiagnosis:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def diagnose_postgresql(url: str, *, latest: int, keystore_url: str | None = None,
                        replica_url: str | None = None, max_lag: int = DEFAULT_MAX_LAG,
                        check_schema: bool = True) -> PgDiagnosis:
    """Every problem (and note) about the main database at ``url`` and its neighbours.

    ``check_schema=False`` when the caller (``doctor.py``'s instance checks) already
    reports a missing or newer schema; an older one is still noted.
    """
    out = PgDiagnosis()
    main = Target.parse(url)
    try:
        conn = main.connect()
    except HotlineError as e:
        out.problems.append(f"database: {e.public_message}")
        return out
    with conn:
        _server(conn, main, out)
        _schema(conn, main, latest, out, check_schema)
        _durability(conn, out)
        _main_role(conn, main, out)
        _replication(conn, out, max_lag)
        if replica_url:
            _replica(conn, Target.parse(replica_url), out, max_lag)
        system_id = _scalar(conn, "SELECT system_identifier FROM pg_control_system()")
    if keystore_url is None:
        out.notes.append("key store: no PostgreSQL key store URL given, so its separation "
                         "from the main database was not checked")
    else:
        _keystore(main, system_id, Target.parse(keystore_url), out)
    return out


def _scalar(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> str:
    row = conn.execute(query.encode(), params or None).fetchone()
    return "" if row is None or row[0] is None else str(row[0])


def _server(conn: psycopg.Connection, main: Target, out: PgDiagnosis) -> None:
    number = int(_scalar(conn, "SELECT current_setting('server_version_num')"))
    version = _scalar(conn, "SELECT current_setting('server_version')").split()[0]
    out.notes.append(f"database: PostgreSQL {version} at {main.host}:{main.port}, "
                     f"database {main.dbname!r}, role {main.user or '(default)'!r}")
    if number < MIN_SERVER:
        out.problems.append(f"database: PostgreSQL {version} is older than 13, which Hotline "
                            "needs; upgrade the server")
    if _scalar(conn, "SELECT pg_is_in_recovery()") == "True":
        out.problems.append(f"database: {main.host}:{main.port} is a read-only standby, not "
                            "the primary; after a failover, point the database URL at the "
                            "promoted primary (docs/deploy.md, 'Failover')")


def _schema(conn: psycopg.Connection, main: Target, latest: int, out: PgDiagnosis,
            report: bool) -> None:
    if _scalar(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL") != "True":
        if report:
            out.problems.append(f"database: the {main.describe()} has no Hotline schema; run "
                                "'hotline init' with it, or 'hotline restore'")
        return
    version = int(_scalar(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
    if version > latest:
        if not report:
            return
        out.problems.append(f"database: schema version {version} is newer than this Hotline "
                            f"({latest}): a downgrade; install the newer release")
    elif version < latest:
        out.notes.append(f"database: schema version {version}; this Hotline migrates it to "
                         f"{latest} when it starts (after a pg_dump into the backups folder)")


def _durability(conn: psycopg.Connection, out: PgDiagnosis) -> None:
    for name in ("fsync", "full_page_writes"):
        if _scalar(conn, f"SELECT current_setting('{name}')") != "on":
            out.problems.append(f"database: {name} is off, so a power cut can lose or corrupt "
                                f"acknowledged tips; set {name} = on (deploy/postgresql)")
    if _scalar(conn, "SELECT current_setting('synchronous_commit')") == "off":
        out.problems.append("database: synchronous_commit is off, so a crash can lose tips the "
                            "reporter was told were received; set synchronous_commit = on")


def _main_role(conn: psycopg.Connection, main: Target, out: PgDiagnosis) -> None:
    row = conn.execute(
        "SELECT rolsuper, CASE WHEN to_regrole('pg_read_all_data') IS NULL THEN false"
        " ELSE pg_has_role(oid, to_regrole('pg_read_all_data'), 'MEMBER') END"
        " FROM pg_roles WHERE rolname = current_user").fetchone()
    if row is not None and (row[0] or row[1]):
        what = "a superuser" if row[0] else "a member of pg_read_all_data"
        out.problems.append(f"database: the main role {main.user!r} is {what}, so it can read "
                            "every database on the server, the key store's too; use the "
                            "role from deploy/postgresql/roles-main.sql")


def _replication(conn: psycopg.Connection, out: PgDiagnosis, max_lag: int) -> None:
    rows = conn.execute(
        "SELECT application_name, state, sync_state,"
        " pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint"
        " FROM pg_stat_replication ORDER BY application_name").fetchall()
    for name, state, sync, lag in rows:
        if lag is None:
            out.notes.append(f"replica {name}: connected; its state and lag are hidden from "
                             "this role: GRANT pg_monitor TO it to see them")
            continue
        out.notes.append(f"replica {name}: {state} ({sync}), {int(lag)} bytes behind")
        if state != "streaming":
            out.problems.append(f"replica {name}: {state}, not streaming")
        elif int(lag) > max_lag:
            out.problems.append(f"replica {name}: {int(lag)} bytes of WAL behind the primary "
                                f"(more than {max_lag}); a failover now would wait for it or "
                                "lose those commits")


def _replica(conn: psycopg.Connection, replica: Target, out: PgDiagnosis,
             max_lag: int) -> None:
    try:
        standby = replica.connect()
    except HotlineError as e:
        out.problems.append(f"replica: {e.public_message}")
        return
    with standby:
        if _scalar(standby, "SELECT pg_is_in_recovery()") != "True":
            out.problems.append(f"replica: {replica.host}:{replica.port} is not a standby (was "
                                "it promoted?); two primaries must never both take writes")
            return
        replayed = _scalar(standby, "SELECT pg_last_wal_replay_lsn()")
    lag = int(_scalar(conn, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)::bigint",
                      (replayed,)))
    out.notes.append(f"replica at {replica.host}:{replica.port}: {lag} bytes behind")
    if lag > max_lag:
        out.problems.append(f"replica: {replica.host}:{replica.port} is {lag} bytes of WAL "
                            f"behind the primary (more than {max_lag})")


def _keystore(main: Target, main_system_id: str, keys: Target, out: PgDiagnosis) -> None:
    if (keys.host, keys.port, keys.dbname) == (main.host, main.port, main.dbname):
        out.problems.append("key store: it is the main database itself; it must be a database "
                            "of its own (deploy/postgresql/roles-keystore.sql)")
    if keys.user == main.user:
        out.problems.append(f"key store: it uses the main role {main.user!r}; give it a role "
                            "of its own, which the main role is not")
    try:
        conn = keys.connect()
    except HotlineError as e:
        out.problems.append(f"key store: {e.public_message}")
        return
    with conn:
        if _scalar(conn, "SELECT system_identifier FROM pg_control_system()") == main_system_id:
            out.notes.append("key store: on the main database's PostgreSQL cluster, so the "
                             "main cluster's WAL archive, base backups and replicas carry its "
                             "rows too; a cluster of its own keeps them apart "
                             "(deploy/postgresql/keystore.conf)")
        row = conn.execute(
            "SELECT r.rolsuper, has_database_privilege(r.oid, current_database(), 'CONNECT'),"
            " CASE WHEN to_regrole('pg_read_all_data') IS NULL THEN false"
            " ELSE pg_has_role(r.oid, to_regrole('pg_read_all_data'), 'MEMBER') END"
            " FROM pg_roles r WHERE r.rolname = %s", (main.user,)).fetchone()
        if row is None:
            return  # the main role does not exist where the key store lives: the best case
        superuser, can_connect, reads_all = row
        readable = [str(r[0]) for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm')"
            "   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            "   AND n.nspname NOT LIKE 'pg\\_%%'"
            "   AND has_table_privilege(%s, c.oid, 'SELECT') ORDER BY 1",
            (main.user,)).fetchall()]
    if superuser or reads_all or readable:
        what = ", ".join(readable[:3]) or "every table"
        out.problems.append(f"key store: the main role {main.user!r} can read it ({what}); "
                            "revoke that (deploy/postgresql/roles-keystore.sql)")
    elif can_connect:
        out.problems.append(f"key store: the main role {main.user!r} can connect to database "
                            f"{keys.dbname!r}; REVOKE CONNECT ON DATABASE {keys.dbname} FROM "
                            f"PUBLIC, {main.user} (deploy/postgresql/roles-keystore.sql)")
