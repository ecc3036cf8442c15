"""A throwaway PostgreSQL cluster for the tests: initdb in a temp folder, a free port.

Never a shared server: each test session starts its own cluster from Debian's
``postgresql`` package (installed by ``tools/install-test-deps``) and stops it
at the end. ``HOTLINE_TEST_DATABASE_URL`` points the tests at an existing
server instead (its role must be allowed to create databases).

PostgreSQL refuses to run as root; on machines where the tests run as root
(CI), the cluster's processes run as the ``postgres`` system user the package
creates, and its folder is handed to that user.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "HOTLINE_TEST_DATABASE_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb``/``pg_ctl``: PATH first, then Debian's versioned folders."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _as_cluster_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class Cluster:
    """One running cluster; ``new_database()`` gives each test a fresh, empty database."""

    host: str
    port: int
    user: str
    password: str = ""
    admin_db: str = "postgres"
    data_dir: Path | None = None
    bin_dir: Path | None = None
    _owned: bool = False
    _made: list[str] = field(default_factory=list)

    def url(self, database: str | None = None, *, user: str | None = None,
            password: str | None = None) -> str:
        who = user or self.user
        pw = self.password if password is None else password
        auth = f"{who}:{pw}@" if pw else f"{who}@"
        return f"postgresql://{auth}{self.host}:{self.port}/{database or self.admin_db}"

    def psql(self, sql: str, database: str | None = None) -> str:
        """Run ``sql`` as the cluster's superuser and return psql's output."""
        psql = shutil.which("psql") or str((self.bin_dir or Path("/usr/bin")) / "psql")
        out = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, self.url(database)],
            check=True, capture_output=True, text=True, timeout=60,
        )
        return out.stdout

    def new_database(self, prefix: str = "hl") -> str:
        """Create an empty database and return its URL."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        self.psql(f'CREATE DATABASE "{name}"')
        self._made.append(name)
        return self.url(name)

    # -- lifecycle of a cluster we started ------------------------------------

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        assert self.bin_dir is not None and self.data_dir is not None
        cmd = _as_cluster_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args])
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (the data folder stays: ``start`` brings it back)."""
        self._pg_ctl("stop", "-m", mode, "-w")

    def start(self) -> None:
        assert self.data_dir is not None
        log = self.data_dir.parent / "sock" / "server.log"  # a folder the cluster's user owns
        self._pg_ctl("start", "-w", "-l", str(log), "-o",
                     f"-p {self.port} -c listen_addresses=127.0.0.1"
                     f" -k {self.data_dir.parent / 'sock'}")

    def restart(self) -> None:
        """Stop and start again on the same port (a PostgreSQL restart under load)."""
        self.stop("fast")
        self.start()

    def close(self) -> None:
        if self._owned:
            try:
                self.stop("immediate")
            except Exception:  # noqa: S110 - already gone; the folder is removed below
                pass
            assert self.data_dir is not None
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)
            return
        for name in self._made:
            try:
                self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: S110 - best effort on a server we do not own
                pass


def start_cluster() -> Cluster:
    """Start a throwaway cluster (or wrap ``HOTLINE_TEST_DATABASE_URL``)."""
    given = os.environ.get(ENV_URL)
    if given:
        parts = urlsplit(given)
        return Cluster(host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
                       user=parts.username or "postgres", password=parts.password or "",
                       admin_db=(parts.path.lstrip("/") or "postgres"))
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: run tools/install-test-deps")
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    data = root / "data"
    (root / "sock").mkdir()
    if os.geteuid() == 0:
        root.chmod(0o755)
        shutil.chown(root / "sock", "postgres")
        data.mkdir(mode=0o700)
        shutil.chown(data, "postgres")
    password = secrets.token_hex(12)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres")
    subprocess.run(
        _as_cluster_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                          "-A", "scram-sha-256", "--pwfile", str(pwfile), "-E", "UTF8",
                          "--locale", "C.UTF-8" if _has_c_utf8() else "C"]),
        check=True, capture_output=True, timeout=120,
    )
    pwfile.unlink()
    with open(data / "postgresql.conf", "a") as conf:
        # A test cluster: durability of PostgreSQL itself is not under test here.
        conf.write("fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
                   "shared_buffers = 64MB\n")
    cluster = Cluster(host="127.0.0.1", port=_free_port(), user="postgres", password=password,
                      data_dir=data, bin_dir=bin_dir, _owned=True)
    cluster.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.psql("SELECT 1")
            break
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return cluster


def _has_c_utf8() -> bool:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    return any(line.lower() in ("c.utf8", "c.utf-8") for line in out.splitlines())


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
