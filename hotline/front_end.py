"""Who this front end is, and the ``[cluster]`` settings several front ends share.

Any number of ``hotline serve`` processes may share one database. Work is
claimed with a lease (``hotline.store.leases``) under this process's random
id; a process that dies is recognised only by its lease running out, never
by its id, so the id need not survive a restart and carries nothing
(no host name, no pid: nothing an outsider could learn from a copy of the
database). The id is made per process id, so workers forked from one parent
each get their own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .settings_base import Setting
from .units import parse_duration

_ids: dict[int, str] = {}


def front_end_id() -> str:
    """This process's lease owner id: 16 random hex digits, new for every process."""
    pid = os.getpid()
    if pid not in _ids:
        _ids[pid] = secrets.token_hex(8)
    return _ids[pid]


SETTINGS: tuple[Setting, ...] = (
    Setting("cluster.lease", "HOTLINE_CLUSTER_LEASE", parse_duration, "60s",
            "How long a front end's claim on a page or a Twilio job holds. A front end that "
            "dies leaves its claims to the others after this long; a live one renews its "
            "claim while a notifier is at work. Keep it well above any pause you expect."),
    Setting("cluster.rules_poll", "HOTLINE_CLUSTER_RULES_POLL", parse_duration, "2s",
            "How often each front end looks in the database for a rule reload made on another "
            "one (then loads the same rule files)."),
)


def check(values: Mapping[str, Any]) -> None:
    if not 0.5 <= values["cluster.lease"] <= 3600:
        raise ConfigError("cluster.lease: must be from 500ms to 1h (a dead front end's pages "
                          "wait this long)")
    if not 0.1 <= values["cluster.rules_poll"] <= 60:
        raise ConfigError("cluster.rules_poll: must be from 100ms to 60s")
