"""Web intake throughput and p99 as Hotline scales out, side by side in one run.

Run:  .venv/bin/python bench/scale.py [--rounds 3] [--duration 10] [--postgres URL | --pg-cluster]
Needs wrk. Appends the results to bench/RESULTS.md.

The harness is bench/intake_load.py's (its wrk script, tokens, reports and
parsing are imported, not copied): ``wrk -t2 -c32``, a warm-up before every
measured run, a report that pages and one that does not reported apart, the
rounds alternating their order, median and range. Side by side:

* **sqlite ×1**: one ``hotline serve`` on the embedded SQLite file;
* **sqlite ×2**: ``hotline serve --workers 2`` on the same kind of file: two
  processes, two writers, one SQLite write lock;
* **postgresql ×1** and **postgresql ×2**, when the tree has the PostgreSQL
  store and a server is given (``--postgres URL`` of an empty database the
  bench may fill, or ``--pg-cluster`` for a throwaway cluster from
  tests/helpers/pg_cluster.py).

With ``--ab REV`` every chosen server is also run from the code at ``REV``
(exported with ``git archive``), interleaved with the tree's, so a change to
the store is measured against the commit before it in the same minutes.

Server CPU per request is the whole process tree's (supervisor and workers,
every thread) user+system time over the measured run, over wrk's count. The
database server's own CPU (PostgreSQL) is reported in its own column.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake_load import (  # noqa: E402
    CALM_TEXT,
    PAGING_TEXT,
    TOKENS_PER_SECOND,
    Run,
    add_load_flags,
    form_from_get,
    free_port,
    hotline_instance,
    lua,
    run_wrk,
    summary,
    wait_healthy,
)
from results_md import publish  # noqa: E402

from hotline import csrf  # noqa: E402
from hotline.instance import InstancePaths  # noqa: E402
from hotline.server_secret import load_server_secret  # noqa: E402


def tree_cpu(pid: int) -> float:
    """User+system seconds of ``pid`` and its children (the workers), all threads."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def postmaster_pid(cluster: object) -> int | None:
    """The bench cluster's postmaster (its first line of ``postmaster.pid``); None for a
    server the bench did not start, whose CPU it cannot tell from other users'."""
    data = getattr(cluster, "data_dir", None)
    if data is None:
        return None
    try:
        return int((Path(data) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def durable(cluster: object) -> None:
    """The test cluster runs with fsync off; the bench compares durable commits on both
    stores (SQLite: WAL, synchronous=FULL), so turn PostgreSQL's back on."""
    psql = cluster.psql  # type: ignore[attr-defined]
    psql("ALTER SYSTEM SET fsync = on")
    psql("ALTER SYSTEM SET full_page_writes = on")
    psql("ALTER SYSTEM SET synchronous_commit = on")
    cluster.restart()  # type: ignore[attr-defined]
    for _ in range(150):
        try:
            shown = psql("SHOW fsync")
        except subprocess.CalledProcessError:
            time.sleep(0.2)
            continue
        if "on" not in shown.split():
            raise SystemExit(f"the bench cluster still runs with fsync {shown.strip()!r}")
        return
    raise SystemExit("the bench cluster did not come back after turning fsync on")


@dataclass
class Target:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    cookie: str
    secret: object
    postgres: bool
    root: Path
    database_url: str | None
    ops_url: str

    def commits(self) -> float:
        """Group commits of the main database's writers so far (every worker's), from
        ``hotline_writer_commit_seconds_count`` on the ops listener."""
        with urllib.request.urlopen(self.ops_url + "/metrics", timeout=10) as r:
            text = r.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("hotline_writer_commit_seconds_count"))

    def bytes_per_message(self) -> tuple[int, float]:
        """Messages stored and the database's size per message (SQLite: file + WAL;
        PostgreSQL: ``pg_database_size``), after the runs: what a report costs on disk."""
        if self.database_url is None:
            import sqlite3

            db = self.root / "hotline.db"
            conn = sqlite3.connect(db)
            try:
                n = int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
            finally:
                conn.close()
            wal = db.with_name(db.name + "-wal")
            size = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            return n, size / max(n, 1)
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            n = int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])  # type: ignore[index]
            size = int(conn.execute(  # type: ignore[index]
                "SELECT pg_database_size(current_database())").fetchone()[0])
        return n, size / max(n, 1)


def start(name: str, tmp: Path, workers: int, database_url: str | None,
          code: Path = ROOT) -> Target:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    root = tmp / name
    ops_port = free_port()
    env = {**os.environ, "HOTLINE_OPS_PORT": str(ops_port), "PYTHONPATH": str(code)}
    if database_url is not None:
        subprocess.run([sys.executable, "-m", "hotline.cli.main", "init", str(root),
                        "--database", database_url, "--recovery-key-out", str(tmp / f"{name}.rk"),
                        "--public-url", url], check=True, capture_output=True, cwd=ROOT,
                       env={**env, "HOTLINE_PASSPHRASE": "bench only"})  # the demo recovery key
        _finish_instance(root)
    else:
        hotline_instance(root, url)
    proc = subprocess.Popen([sys.executable, "-m", "hotline.cli.main", "serve", str(root),
                             "--port", str(port), "--workers", str(workers)],
                            cwd=code, env=env, stderr=subprocess.DEVNULL)
    wait_healthy(url, proc)
    wait_ready(f"http://127.0.0.1:{ops_port}/readyz", proc)  # every worker, not just the first
    secret = load_server_secret(InstancePaths(root).server_secret, {})
    cookie, _ = form_from_get(url)
    return Target(name, url, proc, cookie, secret, database_url is not None, root, database_url,
                  f"http://127.0.0.1:{ops_port}")


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until /readyz is 200: with --workers, /healthz answers as soon as one worker does, and
    wrk's keep-alive connections made before the others listen would all stay on that one."""
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server not ready: {url}")


def _finish_instance(root: Path) -> None:
    """An on-call advocate, as hotline_instance does for SQLite, through the same setup code."""
    from crypto import Identity
    from hotline.domain import Role
    from hotline.instance_setup import add_advocate, set_on_call

    add_advocate(root, Identity.generate("alice").public, name="alice", role=Role.ADVOCATE)
    set_on_call(root, ["alice"])
    config = root / "hotline.toml"
    config.write_text(config.read_text().replace('log_level = "info"', 'log_level = "warning"'))


def main() -> None:
    ap = argparse.ArgumentParser()
    add_load_flags(ap)
    ap.add_argument("--postgres", metavar="URL", help="a PostgreSQL server URL (postgresql://…)")
    ap.add_argument("--pg-cluster", action="store_true", help="start a throwaway cluster")
    ap.add_argument("--only", help="comma-separated subset of: sqlite1,sqlite2,pg1,pg2")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--ab", metavar="REV", help="also run each server from the code at REV")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="hotline-scale-"))
    cluster = None
    pg_base = args.postgres
    if args.pg_cluster:
        from tests.helpers.pg_cluster import start_cluster

        cluster = start_cluster()
        durable(cluster)
    wanted = set((args.only or "sqlite1,sqlite2,pg1,pg2").split(","))
    targets: list[Target] = []
    pg_pid = postmaster_pid(cluster) if cluster is not None else None
    try:
        plan = [("sqlite ×1", "sqlite1", 1), ("sqlite ×2", "sqlite2", 2)]
        if pg_base or cluster is not None:
            plan += [("postgresql ×1", "pg1", 1), ("postgresql ×2", "pg2", 2)]
        codes = [("", ROOT)]
        if args.ab:  # the code at REV, exported (nothing changes in the repository)
            old = tmp / "ab-code"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.ab], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            codes.append((f"ab-{args.ab} ", old))
        for label, key, workers in plan:
            if key not in wanted:
                continue
            for prefix, code in codes:
                url = None
                if key.startswith("pg"):
                    url = str(cluster.new_database()) if cluster is not None else pg_base
                targets.append(start(prefix + label, tmp, workers, url, code))
        kinds = [(f"{t.name} calm", t, CALM_TEXT) for t in targets]
        kinds += [(f"{t.name} paging", t, PAGING_TEXT) for t in targets]
        scripts: dict[tuple[str, int], tuple[Path, Path]] = {}
        for r in range(args.rounds):
            for label, t, text in kinds:
                pair = []
                for phase, seconds in (("warm", args.warmup), ("run", args.duration)):
                    value = t.cookie.split("=", 1)[1]
                    tokens = [csrf.issue(t.secret, value)  # type: ignore[arg-type]
                              for _ in range(TOKENS_PER_SECOND * seconds)]
                    path = tmp / f"{label.replace(' ', '-')}-{r}-{phase}.lua"
                    lua(path, tokens, text, t.cookie)
                    pair.append(path)
                scripts[(label, r)] = (pair[0], pair[1])
        time.sleep(3)  # every token older than web.form_min_age
        results: dict[str, list[tuple[Run, float]]] = {label: [] for label, _, _ in kinds}
        for r in range(args.rounds):
            order = kinds if r % 2 == 0 else list(reversed(kinds))
            for label, t, _text in order:
                warm, script = scripts[(label, r)]
                run_wrk(t.url, warm, args.warmup, args, t.proc.pid, None)
                pg0 = tree_cpu(pg_pid) if t.postgres and pg_pid else 0.0
                cpu0 = tree_cpu(t.proc.pid)
                result = run_wrk(t.url, script, args.duration, args, t.proc.pid, None)
                cpu = tree_cpu(t.proc.pid) - cpu0
                pg = tree_cpu(pg_pid) - pg0 if t.postgres and pg_pid else float("nan")
                result.cpu_ms = 1000 * cpu / max(result.requests, 1)
                db_ms = 1000 * pg / max(result.requests, 1) if t.postgres else float("nan")
                results[label].append((result, db_ms))
                print(f"round {r + 1} {label}: {result} db_cpu_ms={db_ms:.2f}", flush=True)
        sizes = []
        for t in targets:
            try:
                n, per = t.bytes_per_message()
                sizes.append(f"{t.name}: {n} messages, {per / 1024:.1f} KiB of database each, "
                             f"{t.commits() / max(n, 1):.2f} group commits per message")
            except Exception as e:  # a size not read does not spoil the run's numbers
                sizes.append(f"{t.name}: size not read ({type(e).__name__})")
    finally:
        for t in targets:
            t.proc.terminate()
            t.proc.wait()
        if cluster is not None:
            cluster.close()
    rows = []
    for label, t, _text in kinds:
        runs = [x[0] for x in results[label]]
        db = statistics.median(x[1] for x in results[label])
        rows.append(f"| {label} | {summary(runs, 'rps')} | {summary(runs, 'p50')} | "
                    f"{summary(runs, 'p99')} | {summary(runs, 'cpu_ms')} | "
                    + (f"{db:.2f}" if t.postgres and db == db else "—")
                    + f" | {sum(r.non2xx for r in runs)} of {sum(r.requests for r in runs)} |")
    cmd = " ".join(["bench/scale.py", *sys.argv[1:]])
    report = f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — scale-out: web intake, SQLite and PostgreSQL, 1 and 2 workers

Command: `.venv/bin/python {cmd}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{len(os.sched_getaffinity(0))} cores (shared with wrk and, for PostgreSQL, the database server; \
load average at the end {os.getloadavg()[0]:.1f}); `wrk -t{args.threads} -c{args.connections}`, \
{args.warmup} s warm-up then {args.duration} s measured, {args.rounds} rounds alternating the \
order (bench/intake_load.py's harness). Median (min–max). CPU = Hotline's whole process tree \
per request; db CPU = the bench cluster's postmaster tree per request (PostgreSQL 15, fsync, \
full_page_writes and synchronous_commit on, the same durability as SQLite's synchronous=FULL).

| server | req/s | p50 ms | p99 ms | Hotline CPU ms/req | db CPU ms/req | non-2xx |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

After the runs (calm and paging reports, 1.5 KB of text each, no attachments): database size
per message, and the main database's group commits (all writers, page worker included) per message:
{"; ".join(sizes)}.
"""
    publish(report, append=not args.no_write)


if __name__ == "__main__":
    main()
