"""Throwaway clusters built from ``deploy/postgresql``'s own files, for the deploy tests.

``tests/helpers/pg_cluster.py`` gives the suite a plain cluster; this builds one
the way ``docs/deploy.md`` tells an operator to: the conf fragment included,
``pg_hba.conf`` replaced by our fragment, the roles script run. Only what
cannot be the same on one test machine is rewritten, and each rewrite is named:
the example private addresses become 127.0.0.1, ``hostssl`` becomes ``host``
(no certificates here), ports are free ones, paths are in a temp folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.pg_cluster import (
    Cluster,
    _as_cluster_user,
    _free_port,
    _has_c_utf8,
    find_pg_bin,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PG = ROOT / "deploy" / "postgresql"
PGBACKREST_CONF = ROOT / "deploy" / "pgbackrest" / "pgbackrest.conf"
EXAMPLE_HOSTS = ("192.0.2.10", "192.0.2.11", "192.0.2.21", "192.0.2.22", "192.0.2.23")
FINGERPRINT = "recovery-fp-1"
ENVELOPE = bytes(range(256)) * 4  # every byte value, as ciphertext has
HARNESS_HBA = "host all postgres 127.0.0.1/32 scram-sha-256\n"  # the test's own superuser


def pg_bin() -> Path:
    found = find_pg_bin()
    if found is None:
        raise RuntimeError("PostgreSQL is not installed: run tools/install-test-deps")
    return found


def localise(text: str) -> str:
    """The deploy file with the example addresses on this machine's loopback."""
    for host in EXAMPLE_HOSTS:
        text = text.replace(host, "127.0.0.1")
    return text


def hba_for_test(name: str) -> str:
    """A pg_hba fragment as the test cluster can load it: loopback, no TLS."""
    text = localise((DEPLOY_PG / name).read_text())
    lines = [ln.replace("hostssl", "host   ", 1) if ln.startswith("hostssl") else ln
             for ln in text.splitlines()]
    return HARNESS_HBA + "\n".join(lines) + "\n"


def give_to_cluster_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")


@dataclass
class DeployedCluster:
    """One running cluster made from a deploy fragment; ``cluster`` talks to it."""

    root: Path
    cluster: Cluster

    @property
    def data(self) -> Path:
        assert self.cluster.data_dir is not None
        return self.cluster.data_dir

    def as_user(self, cmd: list[str], *, env: dict[str, str] | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_cluster_user(cmd), capture_output=True, text=True,
                              timeout=120, check=check, env=env)

    def stop(self) -> None:
        try:
            self.cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="hotline-deploy-pg-"))
    (root / "sock").mkdir()
    if os.geteuid() == 0:
        root.chmod(0o755)
        give_to_cluster_user(root / "sock")
    return root


def initdb(root: Path, name: str, password: str) -> Path:
    data = root / name
    data.mkdir(mode=0o700)
    give_to_cluster_user(data)
    pwfile = root / f"{name}.pw"
    pwfile.write_text(password)
    give_to_cluster_user(pwfile)
    subprocess.run(
        _as_cluster_user([str(pg_bin() / "initdb"), "-D", str(data), "-U", "postgres",
                          "-A", "scram-sha-256", "--pwfile", str(pwfile), "-E", "UTF8",
                          "--locale", "C.UTF-8" if _has_c_utf8() else "C"]),
        check=True, capture_output=True, timeout=120)
    pwfile.unlink()
    return data


def install_fragment(data: Path, fragment: str, overrides: str) -> None:
    """Include the deploy fragment, then this machine's unavoidable overrides, last."""
    (data / "hotline.conf").write_text((DEPLOY_PG / fragment).read_text())
    (data / "test-overrides.conf").write_text(overrides)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\ninclude 'hotline.conf'\ninclude 'test-overrides.conf'\n")
    for name in ("hotline.conf", "test-overrides.conf"):
        give_to_cluster_user(data / name)


def overrides(root: Path, port: int, *, archive_command: str | None = None) -> str:
    lines = [
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        f"unix_socket_directories = '{root / 'sock'}'",
        "ssl = off",  # no certificates on a test machine; pg_hba says host, not hostssl
    ]
    if archive_command is None:
        lines.append("archive_mode = off")
    else:
        lines.append(f"archive_command = '{archive_command}'")
    return "\n".join(lines) + "\n"


def start(root: Path, data: Path, port: int, password: str) -> DeployedCluster:
    cluster = Cluster(host="127.0.0.1", port=port, user="postgres", password=password,
                      data_dir=data, bin_dir=pg_bin())
    cmd = [str(pg_bin() / "pg_ctl"), "-D", str(data), "start", "-w",
           "-l", str(root / "sock" / f"{data.name}.log")]
    proc = subprocess.run(_as_cluster_user(cmd), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        log = root / "sock" / f"{data.name}.log"
        raise RuntimeError(f"{data.name} did not start: {log.read_text()[-2000:]}")
    return DeployedCluster(root, cluster)


def install_hba(deployed: DeployedCluster, fragment: str) -> None:
    (deployed.data / "pg_hba.conf").write_text(hba_for_test(fragment))
    give_to_cluster_user(deployed.data / "pg_hba.conf")
    deployed.cluster.psql("SELECT pg_reload_conf()")


def run_sql_file(deployed: DeployedCluster, name: str, variables: dict[str, str]) -> None:
    """Run a deploy SQL script as the operator would (psql -v NAME=VALUE -f FILE)."""
    psql = str(pg_bin() / "psql")
    cmd = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for key, value in variables.items():
        cmd += ["-v", f"{key}={value}"]
    cmd += ["-f", str(DEPLOY_PG / name), deployed.cluster.url()]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)


class Pair:
    """A primary made from primary.conf + pg_hba.conf + roles-main.sql, archiving to
    pgBackRest; ``add_replica`` makes its standby, ``add_keystore`` the key store's cluster."""

    def __init__(self) -> None:
        self.root = make_root()
        self.passwords = {"postgres": secrets.token_hex(8), "hotline": secrets.token_hex(8),
                          "replicator": secrets.token_hex(8)}
        self.port = _free_port()
        self.pgbackrest_conf = self._pgbackrest_config()
        # Where /etc/pgbackrest/pgbackrest.conf and /etc/pgbackrest/conf.d/ would be.
        self.pgbackrest_options = (f"--config={self.pgbackrest_conf} "
                                   f"--config-include-path={self.root / 'conf.d'}")
        data = initdb(self.root, "primary", self.passwords["postgres"])
        archive = (f"pgbackrest {self.pgbackrest_options} --stanza=hotline archive-push %p")
        install_fragment(data, "primary.conf",
                           overrides(self.root, self.port, archive_command=archive))
        (data / "pg_hba.conf").write_text(hba_for_test("pg_hba.conf"))
        give_to_cluster_user(data / "pg_hba.conf")
        self.primary = start(self.root, data, self.port, self.passwords["postgres"])
        run_sql_file(self.primary, "roles-main.sql",
                       {"hotline_password": self.passwords["hotline"],
                        "replicator_password": self.passwords["replicator"]})
        self.replica: DeployedCluster | None = None
        self.replica_port = 0
        self.keystore: DeployedCluster | None = None
        self.keystore_port = 0

    def _pgbackrest_config(self) -> Path:
        """deploy/pgbackrest/pgbackrest.conf with its folders moved into the temp root."""
        text = PGBACKREST_CONF.read_text()
        moves = {"/var/lib/pgbackrest": self.root / "repo", "/var/spool/pgbackrest":
                 self.root / "spool", "/tmp/pgbackrest": self.root / "lock",  # noqa: S108 - the file says it
                 "/var/log/pgbackrest": self.root / "log",
                 "/var/lib/postgresql/15/main": self.root / "primary",
                 "/var/run/postgresql": self.root / "sock"}
        for old, new in moves.items():
            text = text.replace(f"={old}\n", f"={new}\n")
            if new.name != "primary" and new.name != "sock":
                new.mkdir()
                give_to_cluster_user(new)
        text = text.replace("pg1-port=5432", f"pg1-port={self.port}")
        include = self.root / "conf.d"
        include.mkdir()
        (include / "cipher.conf").write_text(f"[global]\nrepo1-cipher-pass={secrets.token_hex(24)}\n")
        (include / "cipher.conf").chmod(0o600)
        give_to_cluster_user(include / "cipher.conf")
        give_to_cluster_user(include)
        conf = self.root / "pgbackrest.conf"
        conf.write_text(text)
        give_to_cluster_user(conf)
        return conf

    def url(self, role: str, database: str = "hotline", port: int | None = None) -> str:
        return (f"postgresql://{role}:{self.passwords[role]}@127.0.0.1:"
                f"{port or self.port}/{database}")

    def keystore_url(self) -> str:
        return (f"postgresql://hotline_keys:{self.passwords['hotline_keys']}@127.0.0.1:"
                f"{self.keystore_port}/hotline_keys")

    def add_replica(self) -> DeployedCluster:
        """docs/deploy.md's standby recipe: pg_basebackup -R through the slot, replica.conf."""
        self.replica_port = _free_port()
        data = self.root / "replica"
        data.mkdir(mode=0o700)
        give_to_cluster_user(data)
        env = dict(os.environ, PGPASSWORD=self.passwords["replicator"])
        self.primary.as_user([str(pg_bin() / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                              str(self.port), "-U", "replicator", "-D", str(data), "-R",
                              "-X", "stream", "-S", "hotline_replica", "-c", "fast"], env=env)
        install_fragment(data, "replica.conf", overrides(self.root, self.replica_port))
        self.replica = start(self.root, data, self.replica_port, self.passwords["postgres"])
        return self.replica

    def add_keystore(self) -> DeployedCluster:
        """The key store's own cluster: keystore.conf, pg_hba-keystore.conf, roles-keystore.sql."""
        self.keystore_port = _free_port()
        self.passwords["hotline_keys"] = secrets.token_hex(8)
        data = initdb(self.root, "keys", self.passwords["postgres"])
        install_fragment(data, "keystore.conf", overrides(self.root, self.keystore_port))
        (data / "pg_hba.conf").write_text(hba_for_test("pg_hba-keystore.conf"))
        give_to_cluster_user(data / "pg_hba.conf")
        self.keystore = start(self.root, data, self.keystore_port, self.passwords["postgres"])
        run_sql_file(self.keystore, "roles-keystore.sql",
                     {"keys_password": self.passwords["hotline_keys"]})
        return self.keystore

    def close(self) -> None:
        for extra in (self.replica, self.keystore):
            if extra is not None:
                extra.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def shape_main_database(url: str, tips: int = 3, version: int = 13) -> None:
    """Hotline's main database as far as backup, restore and doctor look: meta,
    schema_migrations, tips, envelopes as BYTEA (the whole schema comes with pgcore's init)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        conn.execute("CREATE TABLE tips (id TEXT PRIMARY KEY, channel TEXT NOT NULL)")
        conn.execute("CREATE TABLE messages (id BIGINT GENERATED BY DEFAULT AS IDENTITY"
                     " PRIMARY KEY, tip_id TEXT REFERENCES tips(id), envelope BYTEA NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('instance_id', 'inst-a\tb'),"
                     " ('recovery_fingerprint', %s)", (FINGERPRINT,))
        conn.execute("INSERT INTO schema_migrations VALUES (13, '013_baseline.sql', 'x')")
        if version > 13:
            conn.execute("INSERT INTO schema_migrations VALUES (%s, 'later.sql', 'x')",
                         (version,))
        for i in range(tips):
            conn.execute("INSERT INTO tips VALUES (%s, 'web')", (f"T{i}",))
            conn.execute("INSERT INTO messages (tip_id, envelope) VALUES (%s, %s)",
                         (f"T{i}", ENVELOPE))
