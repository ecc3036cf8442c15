"""Administrator commands: init, serve, advocates, on-call, rules, demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crypto import (
    CryptoError,
    EnvelopeContext,
    Identity,
    PublicIdentity,
    encrypt_identity,
    open_envelope,
    seal,
)
from triage_rules import RulesLoadError, load_rules
from triage_rules.reader import Reader, load_reader
from triage_rules.triage import with_reading

from ..config import load_config
from ..domain import Role
from ..errors import UsageError
from ..instance_setup import (
    add_advocate,
    create_instance,
    list_advocates,
    remove_advocate,
)
from ..store.seam import DATABASE_URL_ENV, redact
from .common import passphrase, print_json, print_table


def read_pub(path: str) -> PublicIdentity:
    try:
        return PublicIdentity.from_pub_file(Path(path).read_bytes())
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    except CryptoError as e:
        raise UsageError(f"{path}: {e}") from None


def cmd_init(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if args.recovery_pubkey:
        recovery = read_pub(args.recovery_pubkey)
    else:
        if not args.recovery_key_out:
            raise UsageError("give --recovery-pubkey FILE (production) or --recovery-key-out "
                             "FILE to generate one here (demo only)")
        recovery = _generate_recovery(Path(args.recovery_key_out))
    database = args.database or os.environ.get(DATABASE_URL_ENV) or None
    keystore = args.keystore_database or os.environ.get("HOTLINE_KEYSTORE_URL") or None
    instance_id = create_instance(root, recovery, public_url=args.public_url, database=database,
                                  keystore_database=keystore)
    print(f"Created instance {instance_id} in {root}")
    if database and database != "sqlite":
        print(f"Database: {redact(database)} (PostgreSQL)")
    if keystore and keystore != "sqlite":
        print(f"Key store: {redact(keystore)} (PostgreSQL, its own database)")
    print(f"Recovery key fingerprint: {recovery.fingerprint}")
    return 0


def _generate_recovery(out: Path) -> PublicIdentity:
    if out.exists():
        raise UsageError(f"{out}: already exists; refusing to overwrite a key")
    print("WARNING: generating the recovery key on this machine is for demos only. In "
          "production make it offline ('hotline keygen' on an offline computer) and pass "
          "--recovery-pubkey.", file=sys.stderr)
    identity = Identity.generate("recovery")
    secret = encrypt_identity(identity, passphrase("Recovery key passphrase: ", confirm=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(secret)
    out.chmod(0o600)
    Path(str(out) + ".pub").write_bytes(identity.public.to_pub_file())
    print(f"Recovery secret key written to {out}: move it offline.", file=sys.stderr)
    return identity.public


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import serve

    return serve(Path(args.dir), host=args.host, port=args.port, workers=args.workers)


def cmd_advocate_add(args: argparse.Namespace) -> int:
    public = read_pub(args.pubkey)
    print(f"Key for {args.name}: fingerprint {public.fingerprint}")
    if args.fingerprint:
        if args.fingerprint.replace(" ", "").upper() != public.fingerprint.upper():
            raise UsageError(f"{args.pubkey}: fingerprint does not match --fingerprint; "
                             "do not register this key")
    elif sys.stdin.isatty():
        answer = input("Have you confirmed this fingerprint with the advocate over another "
                       "channel (phone, in person)? [yes/no] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise UsageError("not registered: confirm the fingerprint first")
    else:
        print("Confirm this fingerprint with the advocate over another channel.", file=sys.stderr)
    add_advocate(Path(args.dir), public, name=args.name, role=Role(args.role),
                 phone=args.phone, email=args.email)
    print(f"Registered {args.name} ({args.role}).")
    return 0


def cmd_advocate_list(args: argparse.Namespace) -> int:
    rows = [vars(r) for r in list_advocates(Path(args.dir), include_removed=args.all)]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["name", "role", "fingerprint", "on_call", "active"])
    return 0


def cmd_advocate_remove(args: argparse.Namespace) -> int:
    fp = remove_advocate(Path(args.dir), args.name)
    print(f"Removed {args.name} ({fp}); their tokens are revoked and no new message is sealed "
          "to them.")
    return 0


def _rule_paths(args: argparse.Namespace) -> list[Path]:
    if args.path:
        return [Path(p) for p in args.path]
    if args.dir:
        return load_config(Path(args.dir)).rule_paths()
    from triage_rules import default_pack_dir

    return [default_pack_dir()]


def _reader(args: argparse.Namespace) -> Reader | None:
    """The second reader for explain / diff: off with --no-reader (or an instance's
    ``rules.reader = false`` with --dir), else --reader's weights or the shipped ones."""
    if args.no_reader:
        return None
    if args.reader:
        return load_reader(Path(args.reader))
    if getattr(args, "dir", None) and not load_config(Path(args.dir))["rules.reader"]:
        return None
    return load_reader()


def cmd_rules_explain(args: argparse.Namespace) -> int:
    """What a text the administrator typed would get, rule by rule (never a stored report)."""
    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        rules = load_rules(_rule_paths(args))
    except RulesLoadError as e:
        print(str(e), file=sys.stderr)
        return 1
    reader = _reader(args)
    explained = rules.explain(text, lang=args.lang, channel=args.channel)
    d = explained.decision
    both = with_reading(d, reader, text, cues=5)
    fired = [t for t in explained.traces if t.fired]
    if args.json:
        print_json({
            "urgency": both.urgency.value, "rules_urgency": d.urgency.value, "score": d.score,
            "ruleset_version": d.ruleset_version, "reader_version": both.reader_version,
            "reader": ({**both.reading.to_json(), "raised": both.raised, "line": both.describe_reader(reader)}
                       if both.reading is not None else None),
            "fired": list(d.rule_ids), "basis": d.basis.to_json() if d.basis else None,
            "rules": [{"id": t.rule_id, "applies": t.applies, "fired": t.fired,
                       "spans": [[a, b, text[a:b]] for a, b in t.spans],
                       "negated": [[a, b, text[a:b]] for a, b in t.negated]}
                      for t in explained.traces if t.fired or t.negated],
        })
        return 0
    reader_name = f", reader {both.reader_version}" if both.reading is not None else ", reader off"
    print(f"urgency: {both.urgency.value} (score {d.score}), rule set {d.ruleset_version}{reader_name}")
    if d.basis is not None:
        print(f"  rests on {d.basis.describe()}" if not both.raised
              else f"  rules gave {d.basis.describe()}")
    print(f"  {both.describe_reader(reader)}")
    for t in fired:
        hit = next((h for h in d.fired if h.rule_id == t.rule_id), None)
        if hit is not None and hit.modifier is not None:
            m = hit.modifier
            gives = m.describe()
        else:
            gives = f"{hit.urgency.value if hit and hit.urgency else '-'}, +{hit.score if hit else 0}"
        if hit is not None and hit.cap is not None:
            gives += f", cap {hit.cap.value}: the rules give at most {hit.cap.value}"
        print(f"  fired   {t.rule_id} ({gives}): " + ", ".join(repr(text[a:b]) for a, b in t.spans))
    for t in explained.traces:
        if t.negated and not t.fired:
            print(f"  negated {t.rule_id}: " + ", ".join(repr(text[a:b]) for a, b in t.negated))
    if not fired:
        print("  no rule fired")
    return 0


def cmd_rules_reload(args: argparse.Namespace) -> int:
    """Check the instance's rules, then ask the running service to swap to them."""
    import os
    import signal

    from ..server import PID_FILE

    root = Path(args.dir)
    try:
        rules = load_rules(load_config(root).rule_paths())
    except RulesLoadError as e:
        print(str(e), file=sys.stderr)
        print("hotline: error: not reloaded; the running service keeps its rules", file=sys.stderr)
        return 1
    try:
        pid = int((root / PID_FILE).read_text().strip())
        # A pid file left by a killed service may name another process by now.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"serve" not in cmdline or not any(b"hotline" in part for part in cmdline):
            raise ValueError("not a hotline service")
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        raise UsageError(f"{root}: no running service to reload (is 'hotline serve' running?)") from None
    print(f"Reloading: {len(rules.rules)} rules, version {rules.version} (the service logs rules.live)")
    return 0


def cmd_rules_diff(args: argparse.Namespace) -> int:
    """Two rule sets over a labelled corpus: every changed decision, precision/recall for both."""
    from triage_rules.compare import (
        CorpusError,
        breakdown_table,
        diff_rulesets,
        load_corpus,
        metrics_table,
    )

    try:
        old = load_rules([Path(args.old)])
        new = load_rules([Path(args.new)])
        items = load_corpus(args.corpus)
        reader = _reader(args)
    except (RulesLoadError, CorpusError) as e:
        print(str(e), file=sys.stderr)
        return 1
    except OSError as e:
        raise UsageError(f"{e.filename}: cannot read ({e.strerror})") from None
    report = diff_rulesets(old, new, items, include_text=args.show_text, reader=reader)
    if args.json:
        print_json(report.to_json())
        return 0
    print(f"{report.total} messages; {len(report.changes)} decisions change "
          f"({report.old_version} -> {report.new_version})")
    for c in report.changes:
        text = f"  {c.text!r}" if c.text is not None else ""
        print(f"  line {c.line}: {c.old.value} -> {c.new.value} (label {c.label.value}, "
              f"{c.effect}){text}")
    print(f"\nold {report.old_version}\n{metrics_table(report.old_metrics)}")
    print(f"\nnew {report.new_version}\n{metrics_table(report.new_metrics)}")
    if report.new_groups:
        print(f"\nby language and class, old {report.old_version}\n{breakdown_table(report.old_groups)}")
        print(f"\nby language and class, new {report.new_version}\n{breakdown_table(report.new_groups)}")
    if report.reader is not None:
        r = report.reader
        print(f"\nwith the reader {r.version} (it may only raise)")
        print(f"\nold {report.old_version} + {r.version}\n{metrics_table(r.old_metrics)}")
        print(f"\nnew {report.new_version} + {r.version}\n{metrics_table(r.new_metrics)}")
        print(f"\nby language and class, old + reader\n{breakdown_table(r.old_groups)}")
        print(f"\nby language and class, new + reader\n{breakdown_table(r.new_groups)}")
    return 0


def cmd_rules_report(args: argparse.Namespace) -> int:
    """Per-rule precision from advocates' urgency changes: rule ids and urgencies only."""
    import sqlite3

    from triage_rules import Urgency
    from triage_rules.compare import FeedbackRecord, feedback_report, feedback_table

    from ..instance import InstancePaths
    from ..store.factory import sync_transaction
    from ..store.seam import store_target

    root = Path(args.dir)
    target = store_target(root)
    if not target.exists():
        raise UsageError(f"{root}: not an instance (no {InstancePaths(root).database.name})")
    query = "SELECT rule_ids, rules_urgency, advocate_urgency FROM rule_feedback ORDER BY id"
    if target.kind == "postgresql":
        with sync_transaction(target) as pg:
            rows = pg.execute(query).fetchall()
    else:
        conn = sqlite3.connect(f"file:{target.path}?mode=ro", uri=True)
        try:
            rows = conn.execute(query).fetchall()
        except sqlite3.OperationalError:
            rows = []  # a database from before feedback existed
        finally:
            conn.close()
    records = [FeedbackRecord(tuple(r for r in ids.split(",") if r), Urgency.parse(ru),
                              Urgency.parse(au)) for ids, ru, au in rows]
    try:
        ruleset = load_rules(load_config(root).rule_paths())
    except RulesLoadError:
        ruleset = None  # the report still works from the stored urgencies
    report = feedback_report(records, ruleset)
    if args.json:
        print_json(report.to_json())
    else:
        print(feedback_table(report))
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    if args.path:
        paths = [Path(p) for p in args.path]
    else:
        paths = load_config(Path(args.dir)).rule_paths() if args.dir else []
    if not paths:
        raise UsageError("give rule files or folders, or --dir INSTANCE")
    try:
        rules = load_rules(paths)
    except RulesLoadError as e:
        if args.json:
            print_json({"ok": False, "errors": [vars(i) for i in e.issues]})
        else:
            print(str(e), file=sys.stderr)
        return 1
    if args.json:
        print_json({"ok": True, "version": rules.version, "rules": len(rules.rules)})
    else:
        print(f"OK: {len(rules.rules)} rules, version {rules.version}")
    return 0


def cmd_recovery_drill(args: argparse.Namespace) -> int:
    """Prove the offline recovery key still opens what this instance seals."""
    from ..instance import InstancePaths
    from ..services import load_recovery
    from .common import load_key

    public = load_recovery(InstancePaths(Path(args.dir)).recovery_pub)
    secret = load_key(args.key)
    if secret.fingerprint != public.fingerprint:
        raise UsageError(f"{args.key}: this is not the instance's recovery key "
                         f"(expected {public.fingerprint}, got {secret.fingerprint})")
    ctx = EnvelopeContext("drill", "tdrill", "mdrill", "note", "web")
    probe = Identity.generate("drill").fingerprint.encode()
    envelope = seal(ctx, probe, [public.recipient()]).envelope
    opened = open_envelope(envelope, secret, expected=ctx)
    if opened.body != probe:
        raise UsageError("the recovery drill failed: the test envelope did not round-trip")
    print(f"Recovery drill passed: {public.fingerprint} opens a fresh test envelope.")
    return 0
