"""An SMS/WhatsApp reply's stored record is exactly the text sent to Twilio.

The text must leave the server in clear (Twilio sends it), so the server
itself seals the stored record from that same text, instead of storing an
envelope the client made beside a clear-text copy that nothing ties to it.
The author signs (context, text) on their device (``crypto.sign_message``);
the server verifies that signature with the author's registered key before
anything is stored or sent, and seals the signed body (text, signer,
signature) to the tip's recipients. Readers verify the signature again on
their own devices, so a server that altered the stored text would be caught
by every reader; a server that sent Twilio something else is the compromised
server of THREATS.md, which sees SMS text anyway. See crypto/SPEC.md §11 and
docs/sms.md.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from typing import Any

from crypto import (
    BadSignature,
    EnvelopeContext,
    PublicIdentity,
    Recipient,
    seal,
    signed_body,
    verify_message,
)

from ..errors import BadRequest
from ..services import Services
from ..store.queries import tip_advocate_keys
from .auth import Advocate


async def seal_outgoing_text(s: Services, tip: sqlite3.Row, message_id: str, author: Advocate,
                             text: str, data: dict[str, Any]) -> bytes:
    """Verify the author's signature over ``text`` and seal the record of it; the envelope."""
    if "envelope" in data:
        raise BadRequest("an SMS/WhatsApp reply is sealed by the server from the exact text it "
                         "sends: send 'to', 'text' and 'signature', not 'envelope'")
    raw = data.get("signature")
    try:
        signature = base64.b64decode(raw.encode("ascii") if isinstance(raw, str) else b"",
                                     validate=True)
    except (UnicodeEncodeError, binascii.Error):  # not ASCII, or not base64
        signature = b""
    if not signature:
        raise BadRequest("'signature' (your signature over the reply, base64) is missing")
    row = await s.db.fetchone("SELECT pub_file FROM advocates WHERE id = ?", (author.id,))
    if row is None:
        raise BadRequest("your key is not registered")
    public = PublicIdentity.from_pub_file(bytes(row["pub_file"]))
    ctx = EnvelopeContext(s.instance_id, tip["id"], message_id, "out", tip["channel"])
    try:
        verify_message(public, ctx, text, signature)
    except BadSignature:
        raise BadRequest("the signature does not verify: it must be yours, over this exact "
                         "text, for this message of this tip") from None
    recipients: dict[str, Recipient] = {s.recovery.fingerprint: s.recovery.recipient(),
                                        public.fingerprint: public.recipient()}
    for k in await tip_advocate_keys(s.db, tip["id"]):
        recipients.setdefault(k.fingerprint, k.recipient())
    body = signed_body(text, public.fingerprint, signature)
    return seal(ctx, body, list(recipients.values())).envelope
