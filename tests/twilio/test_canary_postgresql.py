"""Privacy canaries on PostgreSQL: report text, replies, numbers and Twilio's SIDs are
found nowhere in the cluster's own files (tables, WAL, server log) nor in the instance
folder, for the web and SMS channels.

SQLite's canaries (tests/test_canary.py, tests/twilio/test_sms_canary.py) scan the
instance folder, where that engine keeps everything. A PostgreSQL instance keeps its rows
in the cluster's data directory, so these scan that too, after a CHECKPOINT has written
every page; the cluster is this module's own (never the session's, which holds every
other test's databases), so the scan covers exactly what these tests wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.client.advocate import AdvocateClient
from tests.conftest import Browser, Live
from tests.helpers import instance as instance_helpers
from tests.helpers.html import form_by_action, receipt_words
from tests.helpers.pg_cluster import Cluster, start_cluster
from tests.helpers.twilio_fake import FakeTwilio

from .test_sms_canary import _exercise, _files_containing, _needles

CANARY = "CANARY-pg-5r2t-heron-quarry"
REPLY_CANARY = "REPLYCANARY-pg-8d1w-meadow"


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def on_own_cluster(own_cluster: Cluster) -> Iterator[Cluster]:
    """Every instance this test makes gets a fresh database on the module's cluster."""
    instance_helpers.DATABASE[0] = own_cluster.new_database
    try:
        yield own_cluster
    finally:
        instance_helpers.DATABASE[0] = None


def test_the_scan_finds_clear_text_written_to_the_cluster(own_cluster: Cluster) -> None:
    """The scan can fail: a row stored in clear is found after the checkpoint."""
    url = own_cluster.new_database()
    own_cluster.psql("CREATE TABLE probe (t text); INSERT INTO probe VALUES ('PROBE-clear-9x7')",
                     url.rsplit("/", 1)[1])
    assert _cluster_files_containing(own_cluster, _needles(["PROBE-clear-9x7"])) != []


def _cluster_files_containing(cluster: Cluster, needles: list[bytes]) -> list[str]:
    cluster.psql("CHECKPOINT")  # every dirty page and the WAL on disk
    assert cluster.data_dir is not None
    return _files_containing(cluster.data_dir.parent, needles)  # data, WAL, server log


async def test_web_canary_absent_from_the_cluster_and_instance(
        on_own_cluster: Cluster, live: Live, browser: Browser) -> None:
    assert live.services.db.kind == "postgresql"
    _, html = await browser.report(f"help {CANARY} they lock the door at night")
    words = " ".join(receipt_words(html))
    client = AdvocateClient(live.url, live.instance.alice)
    await asyncio.to_thread(client.login)
    tip_id = (await asyncio.to_thread(client.inbox))[0]["id"]
    await asyncio.to_thread(client.send, tip_id, f"reply {REPLY_CANARY}", note=False)
    _, page = await browser.get("/followup")
    _, thread = await browser.submit(form_by_action(page, "/followup"), {"receipt": words})
    assert REPLY_CANARY in thread  # the reply really was stored and read back
    await browser.submit(form_by_action(thread, "/followup/add"), {"message": f"more {CANARY}"})
    needles = _needles([CANARY, REPLY_CANARY, words])
    assert _cluster_files_containing(on_own_cluster, needles) == []
    assert _files_containing(live.instance.root, needles) == []


async def test_sms_canary_absent_from_the_cluster(
        on_own_cluster: Cluster, tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    _, secrets = await _exercise(tmp_path, fake_twilio)  # asserts the instance folder itself
    assert _cluster_files_containing(on_own_cluster, _needles(secrets)) == []
