"""PostgreSQL's own tools (pg_dump, pg_restore) and connections, for the operator's verbs.

Why a module of its own: backup, restore and doctor all need the same three
things done the same careful way. The password never goes on a command line
(``ps`` shows those to every user): the child gets it as ``PGPASSWORD``.
A missing tool, a server that does not answer, or a tool that fails is one
clear sentence naming host, port and database, never the password and never
a traceback.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..errors import HotlineError, InstanceError, UsageError

BINDIR_ENV = "HOTLINE_PG_BINDIR"
DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Target:
    """One database: where it is (for messages) and how to reach it (never printed)."""

    conninfo: str  # libpq key=value, without the password
    password: str | None
    host: str
    port: str
    dbname: str
    user: str

    @classmethod
    def parse(cls, url: str) -> Target:
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise UsageError("the database URL is not a valid PostgreSQL URL") from None
        password = params.pop("password", None)
        return cls(conninfo=make_conninfo(**{k: str(v) for k, v in params.items()}),
                   password=None if password is None else str(password),
                   host=str(params.get("host") or "localhost"),
                   port=str(params.get("port") or "5432"),
                   dbname=str(params.get("dbname") or params.get("user") or ""),
                   user=str(params.get("user") or ""))

    def describe(self) -> str:
        return f"database {self.dbname!r} on {self.host}:{self.port}"

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        env.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
        return env

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        """A connection, or one sentence saying why there is none."""
        try:
            return psycopg.connect(self.conninfo, password=self.password,
                                   connect_timeout=CONNECT_TIMEOUT, autocommit=autocommit)
        except psycopg.OperationalError as e:
            raise InstanceError(f"cannot reach the {self.describe()}: {reason(e)}") from None


def reason(error: BaseException) -> str:
    """libpq's own words, last line first-most useful, without any password."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    text = lines[-1] if lines else type(error).__name__
    if text.startswith("DETAIL:") and len(lines) > 1:
        text = lines[-2]
    return text.removeprefix("FATAL:").strip()


def find_tool(name: str, env: Mapping[str, str] | None = None) -> str:
    """``pg_dump``/``pg_restore``: ``HOTLINE_PG_BINDIR`` only if set; else PATH, then
    Debian's versioned folders (newest first: a newer pg_dump reads older servers)."""
    env = os.environ if env is None else env
    pinned = env.get(BINDIR_ENV)
    if pinned:
        candidate = Path(pinned) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise InstanceError(f"{name} not found in {pinned} ({BINDIR_ENV}); install the "
                            "PostgreSQL client tools there or unset it")
    found = shutil.which(name, path=env.get("PATH"))
    if found is not None:
        return found
    versioned = sorted(glob.glob(f"{DEBIAN_BINDIRS}/{name}"), key=_major, reverse=True)
    if versioned:
        return versioned[0]
    raise InstanceError(f"{name} not found: install the PostgreSQL client tools "
                        "(Debian: apt-get install postgresql-client), at least the "
                        f"server's major version, or point {BINDIR_ENV} at their folder")


def _major(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def run_tool(tool: str, args: Sequence[str], target: Target | None, *, what: str,
             timeout: float = 3600, error: type[HotlineError] = InstanceError
             ) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool; a failure is one line naming ``what`` and the tool's reason."""
    env = target.child_env() if target is not None else dict(os.environ)
    try:
        done = subprocess.run([tool, *args],  # noqa: S603 - our own argv, no shell
                              env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise InstanceError(f"{what}: {Path(tool).name} did not finish in {timeout:.0f}s") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "")
        text = first.split("error:", 1)[-1].strip() or f"exit status {done.returncode}"
        raise error(f"{what}: {Path(tool).name} failed: {text}")
    return done
