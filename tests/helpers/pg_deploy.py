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
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.pg_cluster import (
    Cluster,
    _as_cluster_user,
    _has_c_utf8,
    find_pg_bin,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PG = ROOT / "deploy" / "postgresql"
EXAMPLE_HOSTS = ("192.0.2.10", "192.0.2.11", "192.0.2.21", "192.0.2.22", "192.0.2.23")
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
