"""Hand-off on the advocate's device: grant a tip's messages to a confirmed colleague.

Nothing stored is replaced: for each message this key opens, the message key
is sealed to the colleague and signed as a key grant (crypto/SPEC.md §10).
The colleague's key comes from the server, so the server could swap it for
its own and have every granted report opened by itself. That is why the
advocate must confirm the colleague's fingerprint out of band (CRYPTO.md §3):
``handoff`` refuses unless the fingerprint they typed is the key's own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from crypto import CryptoError, Recipient, make_grant, parse_grant, read_header

from ..errors import ClientError
from .advocate import AdvocateClient, _b64, _verified
from .verify import open_message, verified_keys


@dataclass(frozen=True)
class Colleague:
    name: str
    fingerprint: str
    recipient: Recipient


def find_colleague(client: AdvocateClient, name: str) -> Colleague:
    """The active advocate called ``name``, their self-signed key checked here."""
    for entry in client.http.get_json("/api/advocates")["advocates"]:
        if entry["name"] == name:
            return Colleague(entry["name"], entry["fingerprint"], _verified(entry))
    raise ClientError(f"no active advocate is called {name!r}")


def handoff(client: AdvocateClient, tip_id: str, colleague: Colleague,
            confirmed_fingerprint: str) -> dict[str, Any]:
    """Grant the colleague every message of the tip that we can open; nothing is re-sealed.

    Each grant seals the message key to the colleague and is signed by us
    (``crypto.make_grant``); the stored envelopes stay byte for byte as they
    were. Messages we cannot open (not sealed or granted to us) are left out.
    """
    if confirmed_fingerprint.strip().upper() != colleague.fingerprint:
        raise ClientError(f"the fingerprint you confirmed is not {colleague.name}'s key "
                          f"({colleague.fingerprint}): hand-off refused")
    if colleague.fingerprint == client.identity.fingerprint:
        raise ClientError("you cannot hand a tip off to yourself")
    tip = client.http.get_json(f"/api/tips/{tip_id}")
    keys = verified_keys(tip.get("keys") or [])
    grants = []
    for m in tip["messages"]:
        try:
            header = read_header(_b64(m["envelope"]))
            if colleague.fingerprint in header.recipients:
                continue  # they can read this one already
            found = open_message(_b64(m["envelope"]), client.identity,
                                 [_b64(g) for g in m.get("grants", [])], keys, header.context)
        except CryptoError:
            continue  # not ours to share; the colleague will not read this one
        if colleague.fingerprint in _grantees(m):
            continue
        grant = make_grant(found.message, client.identity, colleague.recipient)
        grants.append({"id": m["id"], "grant": base64.b64encode(grant).decode()})
    if not grants:
        raise ClientError("none of this tip's messages opens with your key, or the colleague "
                          "can read them all already")
    return dict(client.http.post_json(f"/api/tips/{tip_id}/handoff",
                                      {"to": colleague.fingerprint, "grants": grants}))


def _grantees(m: dict[str, Any]) -> set[str]:
    out = set()
    for raw in m.get("grants", []):
        try:
            out.add(parse_grant(_b64(raw)).grantee)
        except CryptoError:
            continue
    return out
