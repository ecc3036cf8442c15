"""Test access to an instance's database, whichever store it is on.

Tests that assert on stored rows read them here instead of opening
``hotline.db`` themselves, so the same test runs on SQLite and PostgreSQL
(``?`` placeholders on both, through the store's own connection code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.store.factory import connect_sync
from hotline.store.seam import StoreTarget, store_target


def target(root: Path) -> StoreTarget:
    return store_target(root, env={})


def query(root: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows as plain tuples (bytes for blobs on both stores)."""
    conn = connect_sync(target(root))
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def rows(root: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows as ``{column: value}``."""
    conn = connect_sync(target(root))
    try:
        if target(root).kind == "sqlite":
            cur = conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return [dict(zip(r.keys(), r, strict=True)) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def execute(root: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    """One statement, committed; returns its row count."""
    conn = connect_sync(target(root))
    try:
        if target(root).kind == "sqlite":
            with conn:
                return int(conn.execute(sql, params).rowcount)
        return int(conn.execute(sql, params).rowcount)  # autocommit
    finally:
        conn.close()
