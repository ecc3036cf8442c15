"""Advocate commands: keygen and the client (inbox, read, reply, triage, ack)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from mnemonic import Mnemonic

from crypto import LAPTOP, PHONE, TESTING, Identity, encrypt_identity

from ..client.advocate import AdvocateClient
from ..errors import UsageError
from .common import load_key, passphrase, print_json, print_table

KDF_PROFILES = {"laptop": LAPTOP, "phone": PHONE, "testing": TESTING}


def suggest_passphrase(words: int = 6) -> str:
    import secrets

    wordlist = Mnemonic("english").wordlist
    return " ".join(secrets.choice(wordlist) for _ in range(words))


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    pub = Path(str(out) + ".pub")
    if out.exists() or pub.exists():
        raise UsageError(f"{out}: already exists; refusing to overwrite a key")
    if "HOTLINE_PASSPHRASE" not in os.environ and sys.stdin.isatty():
        print(f"Suggested passphrase (6 random words): {suggest_passphrase()}")
    secret = passphrase("New passphrase: ", confirm=True)
    if len(secret) < 8 and args.kdf != "testing":
        raise UsageError("the passphrase is too short (use at least 8 characters; 6 words is best)")
    identity = Identity.generate(args.name or out.stem)
    data = encrypt_identity(identity, secret, KDF_PROFILES[args.kdf])
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    pub.write_bytes(identity.public.to_pub_file())
    print(f"Secret key: {out} (keep it on this device)")
    print(f"Public key: {pub} (give it to your administrator)")
    print(f"Fingerprint: {identity.fingerprint}")
    return 0


def _client(args: argparse.Namespace) -> AdvocateClient:
    client = AdvocateClient(args.server, load_key(args.key))
    client.login()
    return client


_REF = re.compile(r"[0-9A-Za-z]{3}-[0-9A-Za-z]{3}")


def resolve_tip(client: AdvocateClient, value: str) -> str:
    """A tip id, or the short reference a page carries (``K7M-3QX``) looked up in the inbox."""
    if not _REF.fullmatch(value):
        return value
    for tip in client.inbox(ref=value.upper()):
        if tip["ref"] == value.upper():
            return str(tip["id"])
    raise UsageError(f"no tip with reference {value.upper()} is shared with you")


INBOX_FILTERS = {
    "status": ("new", "acknowledged", "in_progress", "closed"),
    "urgency": ("critical", "high", "normal", "low"),
    "channel": ("web", "sms", "voice", "whatsapp"),
}
DEFAULT_PAGE, MAX_PAGE = 50, 200  # the server's default and largest page


def _one_of(name: str, allowed: tuple[str, ...]) -> Any:
    def parse(value: str) -> list[str]:
        values = [v.strip().lower() for v in value.split(",") if v.strip()]
        wrong = [v for v in values if v not in allowed]
        if not values or wrong:
            raise argparse.ArgumentTypeError(
                f"{name} must be one or more of {', '.join(allowed)}, comma-separated")
        return values
    return parse


def _page_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"give a whole number from 1 to {MAX_PAGE}")
    return int(value)


def inbox_args(p: argparse.ArgumentParser) -> None:
    for name, allowed in INBOX_FILTERS.items():
        p.add_argument(f"--{name}", type=_one_of(name, allowed), metavar=name.upper(),
                       help=f"only these ({', '.join(allowed)}; several comma-separated)")
    p.add_argument("--limit", type=_page_size, default=DEFAULT_PAGE,
                   help=f"tips per page (default {DEFAULT_PAGE}, at most {MAX_PAGE})")
    walk = p.add_mutually_exclusive_group()
    walk.add_argument("--after", metavar="CURSOR", help="the page after CURSOR (printed with a page)")
    walk.add_argument("--all", action="store_true", help="every page")


def cmd_inbox(args: argparse.Namespace) -> int:
    client = _client(args)
    filters = {name: getattr(args, name) for name in INBOX_FILTERS}
    after = None
    if args.all:
        tips = client.inbox(**filters)
    else:
        tips, after = client.inbox_page(limit=args.limit, after=args.after, **filters)
    if args.json:
        print_json(tips)
    else:
        print_table(tips, ["id", "ref", "channel", "urgency", "status", "created_at",
                           "message_count"])
    if after is not None:  # stderr: stdout stays the table or the JSON array
        print(f"More tips: hotline inbox --after {after} (same filters), or --all",
              file=sys.stderr)
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    if not args.all and not args.tip:
        raise UsageError("give a TIP id or --all")
    client = _client(args)
    ids = [t["id"] for t in client.inbox()] if args.all else [resolve_tip(client, args.tip)]
    save = Path(args.save_attachments) if args.save_attachments else None
    tips = []
    for tip_id in ids:
        opened = client.read(tip_id, save)
        tips.append({**opened.tip, "messages": opened.messages})
    if args.json:
        print_json(tips if args.all else tips[0])
    else:
        for t in tips:
            _print_tip(t)
    return 0


def _print_tip(t: dict[str, Any]) -> None:
    print(f"Tip {t['id']} ({t['ref']}) — {t['channel']}, {t['urgency']}, {t['status']}, "
          f"created {t['created_at']}")
    for m in t["messages"]:
        who = {"in": "reporter", "out": "reply", "note": "note"}[m["direction"]]
        print(f"\n[{m['created_at']}] {who}" + (f" from {m['sender']}" if m.get("sender") else ""))
        if m.get("error"):
            print(f"  (cannot open: {m['error']})")
            continue
        if m.get("signature"):  # who wrote it: the verified key, never a name from the body
            print(f"  author: {m['signature']['label']}")
        if m.get("granted_by"):
            g = m["granted_by"]
            print(f"  shared with you by: {g['name'] or 'an unknown key'} ({g['fingerprint']})")
        print("  " + (m["body"] or "").replace("\n", "\n  "))
        if m.get("meta"):  # e.g. a call's menu choices and outcome, which has no text body
            print("  meta: " + ", ".join(f"{k}={v}" for k, v in sorted(m["meta"].items())))
        for a in m["attachments"]:
            saved = f" -> {a['saved_to']}" if a.get("saved_to") else ""
            print(f"  attachment: {a['name']} ({a['content_type']}, {a['size']} bytes){saved}")
        print(f"  sealed to: {', '.join(m.get('sealed_to', []))}")
        if m.get("delivery"):
            d = m["delivery"]
            print(f"  delivery: {d.get('status')}" + (f" ({d['error']})" if d.get("error") else ""))
    print()


def _text(args: argparse.Namespace) -> str:
    text = args.message if args.message is not None else sys.stdin.read()
    if not text.strip():
        raise UsageError("the message is empty")
    return text


def cmd_reply(args: argparse.Namespace) -> int:
    client = _client(args)
    result = client.send(resolve_tip(client, args.tip), _text(args), note=args.note)
    if args.json:
        print_json(result)
    else:
        print(f"Sent {'note' if args.note else 'reply'} {result['id']}.")
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    if args.urgency is None and args.status is None:
        raise UsageError("give --urgency and/or --status")
    client = _client(args)
    tip = client.triage(resolve_tip(client, args.tip), args.urgency, args.status)
    print_json(tip) if args.json else print(f"{tip['id']}: {tip['urgency']}, {tip['status']}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    client = _client(args)
    tip = client.ack(resolve_tip(client, args.tip))
    print_json(tip) if args.json else print(f"Acknowledged {tip['id']} ({tip['ref']}).")
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    """How I am paged, in order; ``--via`` changes it (contacts stay the administrator's)."""
    from ..paging.admin import parse_via

    client = _client(args)
    if args.via is not None:
        body = {"via": [{"kind": k, "target": t} for k, t in parse_via(args.via)]}
        result = client.http.request_json("PUT", "/api/me/notifiers", body)
    else:
        result = client.http.get_json("/api/me/notifiers")
    if args.json:
        print_json(result)
    else:
        kinds = [v["kind"] + (f" ({v['target']})" if v.get("target") else "") for v in result["via"]]
        print("You are paged by: " + ", ".join(kinds) + ("" if result["custom"] else " (default)"))
    return 0
