"""The service keeps what start-up built out of the cyclic collector's full passes
while it runs (hotline/app.py, ``_start_up_heap_frozen``), and gives it back when it stops."""

from __future__ import annotations

import gc
from pathlib import Path

from aiohttp import web

from hotline.app import make_app
from hotline.services import SERVICES
from tests.helpers.instance import make_instance


async def test_start_up_objects_are_frozen_while_serving_and_given_back_at_shutdown(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    runner = web.AppRunner(make_app(inst.root, env={}))
    await runner.setup()
    try:
        rules = runner.app[SERVICES].rules
        # The rule packs and the second reader are among what a full pass no longer walks.
        assert gc.get_freeze_count() > 10_000
        assert rules.current is not None and rules.reader is not None
        assert not any(o is rules for o in gc.get_objects())  # frozen objects are not listed
    finally:
        await runner.cleanup()
    assert gc.get_freeze_count() == 0  # a process that starts and stops services keeps nothing
