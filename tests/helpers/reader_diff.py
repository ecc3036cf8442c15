"""Both readers of every format, side by side: Python's crypto/ and the console's JS.

A request is a JSON object ``{kind, input (base64), ...args}``. ``py_verdict``
runs the Python reader; ``JsReaders`` sends the same line to one long-lived
node process (tests/console/reader_harness.mjs) that runs hlcrypto.js,
hlgrants.js and verify.js. Both answer ``{"ok": true, "result": {...}}`` or
``{"ok": false, "error": "<error class>"}``; ``digest`` reduces a verdict to
one canonical line, and the differential test requires the lines to be equal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crypto import (
    CryptoError,
    EnvelopeContext,
    Identity,
    PublicIdentity,
    check_grants,
    decrypt_identity,
    decrypt_part_bytes,
    open_envelope,
    open_granted,
    read_header,
    unwrap,
)
from crypto.grant import parse_grant
from crypto.keyfile import _parse as parse_key_file
from crypto.signing import decode_body
from hotline.client.verify import authorship

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "console" / "reader_harness.mjs"

Request = dict[str, Any]
Verdict = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _ctx(c: dict[str, str] | None) -> EnvelopeContext | None:
    return None if c is None else EnvelopeContext(**c)


def _ctx_out(c: EnvelopeContext) -> dict[str, str]:
    return {"instance_id": c.instance_id, "tip_id": c.tip_id, "message_id": c.message_id,
            "direction": c.direction, "channel": c.channel}


def _holder(h: dict[str, str]) -> Identity:
    return Identity(h["name"], bytes.fromhex(h["box_secret"]), bytes.fromhex(h["sign_seed"]))


def _keys(pub_files: list[str]) -> dict[str, PublicIdentity]:
    keys = {}
    for p in pub_files:
        pub = PublicIdentity.from_pub_file(base64.b64decode(p))
        keys[pub.fingerprint] = pub
    return keys


def _envelope(q: Request, data: bytes) -> dict[str, Any]:
    o = open_envelope(data, _holder(q["holder"]), expected=_ctx(q.get("expected")))
    return {"context": _ctx_out(o.context), "body": o.body.hex(),
            "message_key": o.message_key.hex(), "recipients": list(o.recipients)}


def _header(q: Request, data: bytes) -> dict[str, Any]:
    h = read_header(data)
    return {"context": _ctx_out(h.context), "recipients": list(h.recipients),
            "commitment": h.commitment.hex()}


def _part(q: Request, data: bytes) -> dict[str, Any]:
    ctx = EnvelopeContext(**q["context"])
    return {"body": decrypt_part_bytes(ctx, bytes.fromhex(q["message_key"]), q["part"], data).hex()}


def _pubfile(q: Request, data: bytes) -> dict[str, Any]:
    p = PublicIdentity.from_pub_file(data)
    return {"name": p.name, "box_public": p.box_public.hex(), "sign_public": p.sign_public.hex(),
            "fingerprint": p.fingerprint}


def _keyfile(q: Request, data: bytes) -> dict[str, Any]:
    h = parse_key_file(data)
    return {"opslimit": h.params.opslimit, "memlimit": h.params.memlimit, "salt": h.salt.hex(),
            "nonce": h.nonce.hex(), "check": h.check.hex(), "ad": h.associated_data.hex(),
            "ciphertext": h.ciphertext.hex()}


def _keyfile_open(q: Request, data: bytes) -> dict[str, Any]:
    i = decrypt_identity(data, q["passphrase"])
    return {"name": i.name, "box_secret": i.box_secret.hex(), "sign_seed": i.sign_seed.hex()}


def _atrest(q: Request, data: bytes) -> dict[str, Any]:
    return {"blob": unwrap(bytes.fromhex(q["storage_key"]), data, label=q["label"]).hex()}


def _grant(q: Request, data: bytes) -> dict[str, Any]:
    g = parse_grant(data)
    return {"context": _ctx_out(g.context), "commitment": g.commitment.hex(), "grantor": g.grantor,
            "grantee": g.grantee, "sealed_key": g.sealed_key.hex(), "signature": g.signature.hex()}


def _grants(q: Request, data: bytes) -> dict[str, Any]:
    envelope = base64.b64decode(q["envelope"])
    grants = [*(base64.b64decode(g) for g in q["grants"]), data]
    keys = _keys(q["keys"])
    checked = check_grants(read_header(envelope), grants, keys)
    out: dict[str, Any] = {"accepted": [[g.grantor, g.grantee] for g in checked.accepted],
                           "rejected": len(checked.rejected)}
    try:
        got = open_granted(envelope, _holder(q["holder"]), grants, keys,
                           expected=_ctx(q.get("expected")))
        out["opened"] = {"body": got.opened.body.hex(), "grantor": got.grant.grantor}
    except CryptoError as e:
        out["opened"] = type(e).__name__
    return out


def _signed(q: Request, data: bytes) -> dict[str, Any] | None:
    doc = decode_body(data)
    a = authorship(q["direction"], doc, EnvelopeContext(**q["context"]), _keys(q["keys"]))
    return None if a is None else {k: a[k] for k in ("status", "fingerprint", "name")}


KINDS: dict[str, Callable[[Request, bytes], Any]] = {
    "envelope": _envelope, "header": _header, "part": _part, "pubfile": _pubfile,
    "keyfile": _keyfile, "keyfile_open": _keyfile_open, "grant": _grant, "grants": _grants,
    "signed": _signed, "atrest": _atrest,
}


def py_verdict(q: Request) -> Verdict:
    """Python's answer to one request, in the harness's shape."""
    try:
        return {"ok": True, "result": KINDS[q["kind"]](q, base64.b64decode(q["input"]))}
    except CryptoError as e:
        return {"ok": False, "error": type(e).__name__}
    except ValueError:  # refused arguments, and json's JSONDecodeError
        return {"ok": False, "error": "ValueError"}
    except Exception as e:  # a reader that crashes is a finding
        return {"ok": False, "error": f"internal {type(e).__name__}: {e}"}


def digest(v: Verdict) -> str:
    """One line per verdict: ``ok <sha256 of the canonical result>`` or ``error <class>``."""
    if not v["ok"]:
        return f"error {v['error']}"
    canon = json.dumps(v["result"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "ok " + hashlib.sha256(canon.encode("utf-8", "surrogatepass")).hexdigest()


class JsReaders:
    """One node process running the console's readers; ``verdict`` is one round trip."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "libsodium-wrappers-sumo").is_dir():
            raise RuntimeError("node and 'npm ci' are needed for the console tests (README)")
        self._proc = subprocess.Popen(
            [node, str(HARNESS)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1,
        )

    def verdict(self, q: Request) -> Verdict:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(q) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the JS reader harness exited")
        out: Verdict = json.loads(line)
        return out

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
