"""``hotline deletion show|hold|release TIP``: a reporter's deletion request, from the client.

A reporter's own request to delete their thread waits out a grace period
(``ops.deletion_grace``) and pages the advocates on the tip, because the
phone it came from may be in someone else's hands. These verbs let an
advocate on the tip see it, hold it (nothing deletes the tip while held) and
release it. They talk to the running server like ``hotline ack``; the
administrator's own ``hotline retention hold DIR TIP`` works on the instance
folder and holds the tip against retention as well.
"""

from __future__ import annotations

import argparse
from typing import Any

from .advocate_cmds import _client, resolve_tip
from .common import _client_args, _group, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's verbs."""
    group = _group(sub, "deletion", "a reporter's deletion request: show, hold, release")
    for verb, text in (("show", "the request's state and when it falls due"),
                       ("hold", "keep the tip: the request waits until released"),
                       ("release", "let a held request run (at its due time, or now if past)")):
        p = group.add_parser(verb, help=text)
        p.add_argument("tip", help="tip id or the reference a page carries (ABC-DEF)")
        _client_args(p)
        p.set_defaults(func=cmd_deletion, verb=verb)


def cmd_deletion(args: argparse.Namespace) -> int:
    client = _client(args)
    tip_id = resolve_tip(client, args.tip)
    path = f"/api/tips/{tip_id}/deletion"
    result: dict[str, Any] = (client.http.get_json(path) if args.verb == "show"
                              else client.http.post_json(f"{path}/{args.verb}", {}))
    if args.json:
        print_json(result)
        return 0
    print(describe(tip_id, result))
    return 0


def describe(tip_id: str, r: dict[str, Any]) -> str:
    state = r["state"]
    if state == "held":
        line = f"Tip {tip_id}: deletion held by {r.get('held_by') or '?'} since {r['held_at']}."
    elif state == "pending":
        line = f"Tip {tip_id}: deletion requested ({r['via']}) at {r['requested_at']}, " \
               f"due {r['effective_at']}."
    elif state == "cancelled":
        line = f"Tip {tip_id}: the reporter wrote again; the deletion request was cancelled."
    else:
        line = f"Tip {tip_id}: being deleted now."
    if r.get("changed") is False:
        line += " (It already was.)"
    return line
