"""``hotline oncall …`` and ``hotline advocate notify``: rotation, overrides, escalation, export.

Everything is written to the instance's database and read by the running
service for the next message; nothing needs a restart.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import load_config
from ..errors import BadRequest
from ..instance_setup import set_on_call
from ..paging import admin as pa
from ..paging.directory import Directory
from ..paging.oncall import shifts_between, to_icalendar, who_is_on_call
from ..units import parse_duration
from .common import print_json

Sub = argparse._SubParsersAction  # type: ignore[type-arg]


def register(sub: Sub) -> None:
    oc = sub.add_parser("oncall", help="who is on call, the rotation and the escalation policy")
    g = oc.add_subparsers(dest="sub", required=True, metavar="ACTION")

    p = g.add_parser("set", help="set the plain on-call list (used when no rotation is set)")
    p.add_argument("dir")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_set)

    p = g.add_parser("show", help="who is on call (now or --at TIME) and who would be paged")
    p.add_argument("dir")
    p.add_argument("--at", help="a time: 2026-12-24T03:00 (rotation's zone) or with an offset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = g.add_parser("rotation", help="set the rotation: advocates in order, hand-off, shift, zone")
    p.add_argument("dir")
    p.add_argument("--advocates", help="names in order, comma-separated: alice,bob,carol")
    p.add_argument("--handoff", default="09:00", help="local hand-off time (default 09:00)")
    p.add_argument("--shift", default="1d", help="shift length: 12h, 1d, 7d (default 1d)")
    p.add_argument("--timezone", help="IANA zone, e.g. America/New_York (default: paging.timezone)")
    p.add_argument("--start", help="the first advocate's first shift, YYYY-MM-DD (default today)")
    p.add_argument("--name", default="primary")
    p.add_argument("--clear", action="store_true", help="remove the rotation (back to 'oncall set')")
    p.set_defaults(func=cmd_rotation)

    p = g.add_parser("override", help="someone covers a period: --advocate bob --from … --to …")
    p.add_argument("dir")
    p.add_argument("--advocate")
    p.add_argument("--from", dest="start", help="start, e.g. 2026-11-28T09:00 (rotation's zone)")
    p.add_argument("--to", dest="end", help="end (exclusive)")
    p.add_argument("--clear", action="store_true", help="remove every override")
    p.set_defaults(func=cmd_override)

    p = g.add_parser("escalation", help="levels, delays and repeats (no --level: show it)")
    p.add_argument("dir")
    p.add_argument("--level", action="append", default=[],
                   help="who a level pages: 'oncall', 'admins' or names 'bob,carol'; repeat per level")
    p.add_argument("--delay", action="append", default=[],
                   help="wait before the next level (30s, 5m); one for all, or one per level")
    p.add_argument("--repeat", type=int, default=0, help="run the whole policy again N times")
    p.add_argument("--clear", action="store_true", help="back to the default policy")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_escalation)

    p = g.add_parser("export", help="the rotation as iCalendar (.ics) for calendars")
    p.add_argument("dir")
    p.add_argument("--out", help="file to write (default: stdout)")
    p.add_argument("--days", type=int, default=28, help="how far ahead (default 28)")
    p.add_argument("--advocate", help="only this advocate's shifts")
    p.set_defaults(func=cmd_export)


def register_notify(adv: Sub) -> None:
    p = adv.add_parser("notify", help="how an advocate is paged, in order: --via sms,call,email")
    p.add_argument("dir")
    p.add_argument("name")
    p.add_argument("--via", required=True,
                   help="comma-separated, tried in order: sms, call, email, webhook=URL, console;"
                        " 'default' for phone/e-mail based defaults")
    p.set_defaults(func=cmd_notify)


def cmd_set(args: argparse.Namespace) -> int:
    set_on_call(Path(args.dir), args.names)
    print("On call (plain list): " + (", ".join(args.names) or "(nobody)"))
    return 0


def _levels_json(d: Directory, delay: float) -> list[dict[str, object]]:
    policy = d.effective_policy(delay)
    return [{"targets": list(lvl.targets), "delay": f"{int(lvl.delay.total_seconds())}s"}
            for lvl in policy.levels]


def cmd_show(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    d = pa.read_directory(root)
    config = load_config(root)
    at = pa.parse_at(args.at, d)
    policy = d.effective_policy(config["paging.default_delay"])
    levels = d.levels(policy, at)
    result: dict[str, object] = {
        "at": at.isoformat(), "on_call": list(d.on_call(at)),
        "source": "rotation" if d.rotation is not None else "list",
        "escalation": [{"people": list(lvl.targets), "delay": f"{int(lvl.delay.total_seconds())}s"}
                       for lvl in levels],
        "repeat": policy.repeat,
    }
    if d.rotation is not None:
        now = who_is_on_call(d.rotation, at)
        result["shift"] = {"start": now.shift_start.isoformat(), "end": now.shift_end.isoformat(),
                           "override": now.via_override}
    if args.json:
        print_json(result)
        return 0
    when = "now" if args.at is None else at.strftime("%Y-%m-%d %H:%M UTC")
    print(f"On call {when}: " + (", ".join(d.on_call(at)) or "(nobody)"))
    if "shift" in result:
        shift = result["shift"]
        assert isinstance(shift, dict)
        print(f"  shift until {shift['end']}" + (" (override)" if shift["override"] else ""))
    _print_levels([(list(lvl.targets), f"{int(lvl.delay.total_seconds())}s") for lvl in levels])
    if not levels:
        print("  nobody would be paged: set a rotation or 'oncall set', and check the escalation")
    if policy.repeat:
        print(f"  repeated {policy.repeat} more time(s) while nobody acknowledges")
    return 0


def _print_levels(levels: list[tuple[list[str], str]]) -> None:
    for i, (people, delay) in enumerate(levels, start=1):
        print(f"  level {i}: {', '.join(people)} (then wait {delay})")


def cmd_rotation(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if args.clear:
        pa.set_rotation(root, None)
        print("Rotation removed; the plain on-call list applies.")
        return 0
    if not args.advocates:
        raise BadRequest("--advocates is required (or --clear)")
    zone = args.timezone or load_config(root)["paging.timezone"]
    table: dict[str, object] = {
        "name": args.name, "advocates": [a.strip() for a in args.advocates.split(",") if a.strip()],
        "handoff": args.handoff, "shift": args.shift, "timezone": zone,
        "start": args.start or datetime.now(UTC).date().isoformat()}
    pa.set_rotation(root, table)
    print(f"Rotation set: {', '.join(table['advocates'])} every {args.shift}"  # type: ignore[arg-type]
          f" at {args.handoff} {zone}.")
    return 0


def cmd_override(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if args.clear:
        pa.clear_overrides(root)
        print("Overrides removed.")
        return 0
    if not (args.advocate and args.start and args.end):
        raise BadRequest("--advocate, --from and --to are required (or --clear)")
    pa.add_override(root, args.advocate, args.start, args.end)
    print(f"Override added: {args.advocate} from {args.start} to {args.end}.")
    return 0


def cmd_escalation(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if args.clear:
        pa.set_escalation(root, None)
        print("Escalation policy removed; the default applies (on call, then admins).")
        return 0
    if not args.level:
        config = load_config(root)
        d = pa.read_directory(root)
        levels = _levels_json(d, config["paging.default_delay"])
        policy = d.effective_policy(config["paging.default_delay"])
        if args.json:
            print_json({"configured": d.policy is not None, "levels": levels, "repeat": policy.repeat})
        else:
            print("Escalation" + ("" if d.policy is not None else " (default)") + ":")
            _print_levels([(lvl["targets"], lvl["delay"]) for lvl in levels])  # type: ignore[misc]
            print(f"  repeat: {policy.repeat}")
        return 0
    if len(args.delay) not in (0, 1, len(args.level)):
        raise BadRequest(f"--delay: give one for every level or one for all ({len(args.level)} levels)")
    for d_ in args.delay:
        parse_duration(d_)
    delays = args.delay * len(args.level) if len(args.delay) == 1 else args.delay
    table: dict[str, object] = {"levels": [
        {"targets": level} | ({"delay": delays[i]} if delays else {})
        for i, level in enumerate(args.level)], "repeat": args.repeat}
    if not delays:
        table["delay"] = f"{int(load_config(root)['paging.default_delay'])}s"
    pa.set_escalation(root, table)
    print(f"Escalation set: {len(args.level)} level(s), repeat {args.repeat}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    d = pa.read_directory(Path(args.dir))
    if d.rotation is None:
        raise BadRequest("no rotation to export (set one with 'hotline oncall rotation')")
    if not 1 <= args.days <= 366:
        raise BadRequest("--days: from 1 to 366")
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=1)
    ics = to_icalendar(d.rotation, start, now + timedelta(days=args.days), advocate=args.advocate,
                       stamp=now)
    if args.out:
        Path(args.out).write_text(ics, encoding="utf-8", newline="")
        count = len(shifts_between(d.rotation, start, now + timedelta(days=args.days)))
        print(f"Wrote {args.out} ({count} shifts).", file=sys.stderr)
    else:
        sys.stdout.write(ics)
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    chain = pa.parse_via(args.via)
    pa.set_notifiers(Path(args.dir), args.name, chain)
    print(f"{args.name} is paged by: " + (", ".join(k for k, _ in chain) or "the default"))
    return 0
