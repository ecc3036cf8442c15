"""``hotline``: the command tree. ``main(argv)`` parses, calls, prints.

A user mistake is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

from crypto import CryptoError
from triage_rules import RuleError

from ..errors import HotlineError
from ..paging.oncall import PagingConfigError
from . import (
    admin,
    advocate_cmds,
    deletion_cmds,
    demo,
    handoff_cmd,
    keystore_cmds,
    oncall_cmds,
    ops_cmds,
    simulate,
)
from .common import _client_args, _group


def _workers_arg(value: str) -> int | str:
    from ..config import MAX_WORKERS

    if value.strip().lower() == "auto":
        return "auto"
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_WORKERS}, or auto")
    return n


def _reader_options(p: argparse.ArgumentParser) -> None:
    """The second reader's switches (``rules explain`` and ``rules diff``)."""
    reader = p.add_mutually_exclusive_group()
    reader.add_argument("--no-reader", action="store_true",
                        help="the rules alone, without the second reader")
    reader.add_argument("--reader", metavar="WEIGHTS",
                        help="the reader's weights file (default: the shipped one)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="Secure, anonymous tip intake.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create an instance folder")
    p.add_argument("dir")
    p.add_argument("--recovery-pubkey", help="the organisation's recovery public key (.pub), made offline")
    p.add_argument("--recovery-key-out",
                   help="DEMO ONLY: generate the recovery key here; write its secret part to this file")
    p.add_argument("--public-url", help="the URL the public reaches the service at")
    p.add_argument("--database", metavar="URL",
                   help="keep the data on PostgreSQL: postgresql://user@host:port/name (a "
                        "password is kept in secrets/database-url, never in the config; prefer "
                        "HOTLINE_DATABASE_URL to keep it off the command line). Default: SQLite")
    p.add_argument("--keystore-database", metavar="URL",
                   help="with --database: the per-tip key store's own PostgreSQL database and "
                        "role (password kept in secrets/keystore-url; or HOTLINE_KEYSTORE_URL). "
                        "Default: secrets/keystore.db")
    p.set_defaults(func=admin.cmd_init)

    p = sub.add_parser("serve", help="run the service")
    p.add_argument("dir")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=_workers_arg, metavar="N",
                   help="processes sharing the port: a number, or auto for one per core "
                        "(default: service.workers, 1); more than 1 adds a supervisor that "
                        "restarts a worker that dies")
    p.set_defaults(func=admin.cmd_serve)

    p = sub.add_parser("demo", help="create (if needed) and run a local demo instance")
    p.add_argument("dir")
    p.add_argument("--port", type=int,
                   help="port to serve on (default: 8080 if free, else any free port)")
    p.add_argument("--no-serve", action="store_true", help="only set the instance up")
    p.set_defaults(func=demo.cmd_demo)

    p = sub.add_parser("recovery-drill", help="check the offline recovery key opens a test envelope")
    p.add_argument("dir")
    p.add_argument("--key", required=True, help="the recovery secret key file")
    p.set_defaults(func=admin.cmd_recovery_drill)

    p = sub.add_parser("keygen", help="make your key pair (on your own device)")
    p.add_argument("--out", required=True, help="secret key file; the public key goes to FILE.pub")
    p.add_argument("--name", help="your name as the administrator will see it")
    p.add_argument("--kdf", choices=["laptop", "phone", "testing"], default="laptop",
                   help="Argon2id cost: laptop (256 MiB), phone (64 MiB); 'testing' is for automated tests")
    p.set_defaults(func=advocate_cmds.cmd_keygen)

    adv = _group(sub, "advocate", "manage advocates")
    p = adv.add_parser("add", help="register an advocate's public key")
    p.add_argument("dir")
    p.add_argument("--name", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--role", choices=["advocate", "admin"], default="advocate")
    p.add_argument("--phone", help="paging phone number (E.164)")
    p.add_argument("--email", help="paging e-mail address")
    p.add_argument("--fingerprint", help="the fingerprint the advocate read to you")
    p.set_defaults(func=admin.cmd_advocate_add)
    p = adv.add_parser("list", help="list advocates")
    p.add_argument("dir")
    p.add_argument("--all", action="store_true", help="include removed advocates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=admin.cmd_advocate_list)
    p = adv.add_parser("remove", help="remove an advocate")
    p.add_argument("dir")
    p.add_argument("name")
    p.set_defaults(func=admin.cmd_advocate_remove)
    oncall_cmds.register_notify(adv)

    oncall_cmds.register(sub)

    rules = _group(sub, "rules", "triage rule tooling")
    p = rules.add_parser("check", help="validate rule files and run their examples")
    p.add_argument("path", nargs="*")
    p.add_argument("--dir", help="check the rules an instance uses")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=admin.cmd_rules_check)
    p = rules.add_parser("explain", help="what urgency a text would get, rule by rule")
    p.add_argument("text", help="your own test text, or - to read stdin")
    p.add_argument("path", nargs="*",
                   help="rule files or folders (default: --dir's rules, else the default pack)")
    p.add_argument("--dir", help="explain with the rules an instance uses")
    p.add_argument("--lang", help="the text's language, if known")
    p.add_argument("--channel", choices=["web", "sms", "voice"], default=None)
    _reader_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=admin.cmd_rules_explain)
    p = rules.add_parser("diff", help="compare two rule sets over a labelled corpus")
    p.add_argument("old", help="the current rule file or folder")
    p.add_argument("new", help="the proposed rule file or folder")
    p.add_argument("--corpus", required=True, help="JSON lines: {text, urgency, lang}")
    p.add_argument("--show-text", action="store_true", help="print the corpus text of each change")
    _reader_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=admin.cmd_rules_diff)
    p = rules.add_parser("report", help="per-rule precision from advocates' urgency changes")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=admin.cmd_rules_report)
    p = rules.add_parser("reload", help="check an instance's rules and swap the running service to them")
    p.add_argument("dir")
    p.set_defaults(func=admin.cmd_rules_reload)

    p = sub.add_parser("inbox", help="list the tips shared with you (urgency first, a page at a time)")
    advocate_cmds.inbox_args(p)
    _client_args(p)
    p.set_defaults(func=advocate_cmds.cmd_inbox)
    p = sub.add_parser("read", help="read a tip, decrypted on this device")
    p.add_argument("tip", nargs="?")
    p.add_argument("--all", action="store_true", help="every tip your key can open")
    p.add_argument("--save-attachments", metavar="DIR", help="decrypt attachments into DIR")
    _client_args(p)
    p.set_defaults(func=advocate_cmds.cmd_read)
    p = sub.add_parser("reply", help="reply to the reporter (or --note)")
    p.add_argument("tip")
    p.add_argument("--message", "-m", help="the text (default: read stdin)")
    p.add_argument("--note", action="store_true", help="a private note for advocates only")
    _client_args(p)
    p.set_defaults(func=advocate_cmds.cmd_reply)
    p = sub.add_parser("triage", help="set a tip's urgency and/or status")
    p.add_argument("tip")
    p.add_argument("--urgency", choices=["low", "normal", "high", "critical"])
    p.add_argument("--status", choices=["new", "acknowledged", "in_progress", "closed"])
    _client_args(p)
    p.set_defaults(func=advocate_cmds.cmd_triage)
    p = sub.add_parser("ack", help="acknowledge a tip")
    p.add_argument("tip")
    _client_args(p)
    p.set_defaults(func=advocate_cmds.cmd_ack)

    p = sub.add_parser("notify", help="how you are paged, in order (--via sms,call,email,webhook=URL)")
    p.add_argument("--via", help="comma-separated, tried in order; 'default' for the defaults")
    _client_args(p)
    p.set_defaults(func=advocate_cmds.cmd_notify)
    handoff_cmd.register(sub)
    deletion_cmds.register(sub)
    ops_cmds.register(sub)
    keystore_cmds.register(sub)
    simulate.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HotlineError as e:
        print(f"hotline: error: {e.public_message}", file=sys.stderr)
        return e.exit_code
    except PagingConfigError as e:
        print(f"hotline: error: {e.public_message}", file=sys.stderr)
        return e.exit_code
    except (CryptoError, RuleError) as e:
        print(f"hotline: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into `head`: not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("hotline: interrupted", file=sys.stderr)
        return 130
    except (OSError, sqlite3.Error) as e:  # a file or database the command could not use
        print(f"hotline: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        # A bug, not a user mistake: one line, no traceback (and no exception text, which
        # could carry anything), unless asked for.
        if os.environ.get("HOTLINE_DEBUG"):
            raise
        print(f"hotline: error: an unexpected {type(e).__name__} (a bug in Hotline; run again "
              "with HOTLINE_DEBUG=1 to see where, and report it without any report content)",
              file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
