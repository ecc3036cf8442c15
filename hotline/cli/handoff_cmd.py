"""``hotline handoff TIP --to NAME``: grant a tip's messages to a colleague, on this device.

The colleague's public key comes from the server; a server that swapped it
could read every granted report. So the command shows the key's fingerprint
and refuses to go on until the advocate confirms it, either by typing it
(read to them by the colleague over another channel) or with
``--fingerprint FPR`` in scripts (CRYPTO.md §3).
"""

from __future__ import annotations

import argparse
import sys

from ..client.handoff import find_colleague, handoff
from ..errors import UsageError
from .advocate_cmds import _client
from .common import _client_args, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's verbs."""
    p = sub.add_parser("handoff",
                       help="hand a tip off to a colleague (signed key grants, made on this device)")
    p.add_argument("tip")
    p.add_argument("--to", required=True, metavar="NAME", help="the colleague's advocate name")
    p.add_argument("--fingerprint", metavar="FPR",
                   help="the colleague's fingerprint, confirmed with them over another channel")
    _client_args(p)
    p.set_defaults(func=cmd_handoff)


def _confirmed(name: str, fingerprint: str, given: str | None) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise UsageError(f"confirm {name}'s fingerprint with them over another channel, then pass "
                         f"--fingerprint (the server says it is {fingerprint})")
    print(f"The server says {name}'s key has the fingerprint:\n  {fingerprint}")
    return input(f"Type the fingerprint {name} reads to you (another channel): ")


def cmd_handoff(args: argparse.Namespace) -> int:
    client = _client(args)
    colleague = find_colleague(client, args.to)
    confirmed = _confirmed(colleague.name, colleague.fingerprint, args.fingerprint)
    result = handoff(client, args.tip, colleague, confirmed)
    if args.json:
        print_json(result)
    else:
        print(f"Handed {args.tip} off to {colleague.name} ({colleague.fingerprint}): "
              f"{result['granted']} of {result['messages']} messages granted "
              "(the stored messages are unchanged).")
    return 0
