"""Cost of reading through key grants and verifying authors, beside the plain open.

Run: .venv/bin/python bench/grants_bench.py [--rounds 5] [--n 300]

Per message, on one core, in alternating rounds (the range over rounds is
reported, not the best): the baseline ``open_envelope`` as a recipient; the
same message through one grant and through a two-grant chain (``open_granted``
verifies each signature and the commitment); verifying a message signature;
and, for hand-off, ``make_grant`` beside the old ``reseal`` that it replaces.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from crypto import (
    EnvelopeContext,
    Identity,
    make_grant,
    open_envelope,
    open_granted,
    reseal,
    seal,
    sign_message,
    verify_message,
)


def _per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    alice, bob, carol, rec = (Identity.generate(n) for n in ("alice", "bob", "carol", "rec"))
    keys = {i.fingerprint: i.public for i in (alice, bob, carol, rec)}
    ctx = EnvelopeContext("inst", "tip", "msg", "note", "web")
    text = "x" * 1500
    env = seal(ctx, text.encode(), [alice.recipient(), rec.recipient()]).envelope
    opened = open_envelope(env, alice)
    g1 = make_grant(opened, alice, bob.recipient())
    g2 = make_grant(open_granted(env, bob, [g1], keys).opened, bob, carol.recipient())
    sig = sign_message(alice, ctx, text)
    cases: dict[str, Callable[[], object]] = {
        "open_envelope (recipient, baseline)": lambda: open_envelope(env, alice, expected=ctx),
        "open_granted, one grant": lambda: open_granted(env, bob, [g1], keys, expected=ctx),
        "open_granted, chain of two": lambda: open_granted(env, carol, [g1, g2], keys, expected=ctx),
        "verify_message (1.5 KB text)": lambda: verify_message(alice.public, ctx, text, sig),
        "make_grant (hand-off, per message)": lambda: make_grant(opened, alice, bob.recipient()),
        "reseal to 3 (the old hand-off)": lambda: reseal(
            env, alice, [alice.recipient(), rec.recipient(), bob.recipient()]),
    }
    results: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            results[name].append(_per_call(fn, args.n))
    print(f"| operation (per message) | µs, min–max over {args.rounds} rounds of {args.n} |")
    print("|---|---|")
    for name, values in results.items():
        print(f"| {name} | {min(values):.0f}–{max(values):.0f} |")


if __name__ == "__main__":
    main()
