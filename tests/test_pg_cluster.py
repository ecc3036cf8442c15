"""The throwaway cluster the PostgreSQL tests stand on: it starts, serves, restarts."""

from __future__ import annotations

import psycopg


def test_cluster_serves_fresh_databases(pg_cluster, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    assert pg_cluster.new_database() != pg_url
