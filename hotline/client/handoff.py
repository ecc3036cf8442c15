"""Hand-off on the advocate's device: re-seal a tip's messages to a confirmed colleague.

The colleague's key comes from the server, so the server could swap it for
its own and have every re-sealed report opened by itself. That is why the
advocate must confirm the colleague's fingerprint out of band (CRYPTO.md §3):
``handoff`` refuses unless the fingerprint they typed is the key's own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from crypto import CryptoError, Recipient, read_header, reseal

from ..errors import ClientError
from .advocate import AdvocateClient, _b64, _verified


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
    """Re-seal every message of the tip that our key opens to its recipients + the colleague."""
    if confirmed_fingerprint.strip().upper() != colleague.fingerprint:
        raise ClientError(f"the fingerprint you confirmed is not {colleague.name}'s key "
                          f"({colleague.fingerprint}): hand-off refused")
    if colleague.fingerprint == client.identity.fingerprint:
        raise ClientError("you cannot hand a tip off to yourself")
    tip = client.http.get_json(f"/api/tips/{tip_id}")
    _, _, known_list = client._recipients(tip_id, to_reporter=True)
    known = {r.fingerprint: r for r in known_list}
    envelopes = []
    for m in tip["messages"]:
        raw = _b64(m["envelope"])
        try:
            header = read_header(raw)
        except CryptoError:
            continue
        if client.identity.fingerprint not in header.recipients:
            continue  # not ours to re-seal; the colleague will not read this one
        to = [known[fp] for fp in header.recipients if fp in known] + [colleague.recipient]
        try:
            envelopes.append({"id": m["id"], "envelope": base64.b64encode(
                reseal(raw, client.identity, to)).decode()})
        except CryptoError as e:
            raise ClientError(f"message {m['id']} does not open with your key: {e}") from None
    if not envelopes:
        raise ClientError("none of this tip's messages opens with your key")
    return dict(client.http.post_json(f"/api/tips/{tip_id}/handoff",
                                      {"to": colleague.fingerprint, "envelopes": envelopes}))
