"""What an advocate does, decrypting and sealing only here, on their device.

The server hands out envelopes and public keys; this module checks what it
is given (self-signed public keys whose fingerprints match, envelopes bound
to the tip and message they claim) before trusting it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from crypto import (
    CryptoError,
    EnvelopeContext,
    Identity,
    PublicIdentity,
    Recipient,
    decode_body,
    decrypt_part_bytes,
    seal,
    sign_login,
    sign_message,
    signed_body,
)

from ..domain import new_message_id
from ..errors import ClientError
from .http import Http
from .verify import authorship, open_message, verified_keys, who


def _b64(s: str) -> bytes:
    return base64.b64decode(s)


@dataclass(frozen=True)
class OpenedTip:
    tip: dict[str, Any]
    messages: list[dict[str, Any]]


class AdvocateClient:
    def __init__(self, server: str, identity: Identity) -> None:
        self.http = Http(server)
        self.server = server.rstrip("/")
        self.identity = identity

    def login(self) -> None:
        fp = self.identity.fingerprint
        c = self.http.post_json("/api/auth/challenge", {"fingerprint": fp})
        nonce = _b64(c["nonce"])
        # Sign the origin as *we* know it: a relaying server cannot reuse the signature.
        origin = _origin(self.server)
        signature = sign_login(self.identity, origin, c["instance_id"], fp, nonce, c["expires_at"])
        t = self.http.post_json("/api/auth/token", {
            "fingerprint": fp, "nonce": c["nonce"], "expires_at": c["expires_at"],
            "signature": base64.b64encode(signature).decode(), "origin": origin})
        self.http.token = t["token"]

    def inbox_page(self, *, limit: int | None = None, after: str | None = None,
                   **filters: Sequence[str] | str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the inbox (the server's order) and the cursor of the next, if any.

        ``filters``: ``status``, ``urgency``, ``channel`` (several values each) and ``ref``.
        """
        return self._inbox_page(limit, after, filters)

    def inbox(self, **filters: Sequence[str] | str | None) -> list[dict[str, Any]]:
        """Every tip shared with us that matches ``filters``, walking the pages."""
        tips, after = self._inbox_page(INBOX_WALK_PAGE, None, filters)
        seen = {t["id"] for t in tips}
        while after is not None:
            more, after = self._inbox_page(INBOX_WALK_PAGE, after, filters)
            tips += [t for t in more if t["id"] not in seen]  # a tip lowered mid-walk comes again
            seen |= {t["id"] for t in more}
        return tips

    def _inbox_page(self, limit: int | None, after: str | None,
                    filters: Mapping[str, Sequence[str] | str | None]
                    ) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, str] = {}
        if limit is not None:
            params["limit"] = str(limit)
        if after is not None:
            params["after"] = after
        for name, value in filters.items():
            if value:
                params[name] = value if isinstance(value, str) else ",".join(value)
        query = ("?" + urlencode(params)) if params else ""
        page = self.http.get_json("/api/tips" + query)
        return list(page["tips"]), page.get("next")

    def read(self, tip_id: str, save_attachments: Path | None = None) -> OpenedTip:
        tip = self.http.get_json(f"/api/tips/{tip_id}")
        keys = verified_keys(tip.pop("keys", None) or [])
        messages = [self._open(tip, m, save_attachments, keys) for m in tip.pop("messages")]
        return OpenedTip(tip, messages)

    def _open(self, tip: dict[str, Any], m: dict[str, Any], save: Path | None,
              keys: Mapping[str, PublicIdentity] | None = None) -> dict[str, Any]:
        # Each message's own channel: a tip that began as a text may hold a call's messages.
        ctx = EnvelopeContext(tip["instance_id"], tip["id"], m["id"], m["direction"],
                              m.get("channel") or tip["channel"])
        out: dict[str, Any] = {k: m[k] for k in ("id", "seq", "direction", "created_at",
                                                 "urgency", "ruleset_version", "author")}
        out["channel"] = ctx.channel
        if m.get("delivery") is not None:  # an SMS/WhatsApp reply: did Twilio take it?
            out["delivery"] = m["delivery"]
        keys = keys or {}
        try:
            found = open_message(_b64(m["envelope"]), self.identity,
                                 [_b64(g) for g in m.get("grants", [])], keys, ctx)
            opened = found.message
            doc = decode_body(opened.body)
        except (CryptoError, ValueError) as e:
            out.update(body=None, sender=None, attachments=[], error=str(e))
            return out
        out.update(signature=authorship(m["direction"], doc, ctx, keys),
                   granted_by=None if found.granted_by is None else who(found.granted_by, keys))
        atts = doc.get("attachments", [])
        out.update(body=doc.get("text"), sender=doc.get("sender"), lang=doc.get("lang"),
                   triage=doc.get("triage"), meta=doc.get("meta", {}),
                   sealed_to=list(opened.recipients), attachments=[
                       {"part": a["part"], "name": a["name"], "content_type": a["content_type"],
                        "size": a["size"]} for a in atts])
        if save is not None:
            for a, shown in zip(atts, out["attachments"], strict=True):
                blob = self.http.get_bytes(
                    f"/api/tips/{tip['id']}/messages/{m['id']}/attachments/{a['part']}")
                data = decrypt_part_bytes(ctx, opened.message_key, a["part"], blob)
                out_path = _safe_path(save, m["id"], a["part"], a["name"])
                out_path.write_bytes(data)
                shown["saved_to"] = str(out_path)
        return out

    def _recipients(self, tip_id: str, to_reporter: bool) -> tuple[str, str, list[Recipient]]:
        r = self.http.get_json(f"/api/tips/{tip_id}/recipients")
        recipients = [_verified(r["recovery"])]
        recipients += [_verified(a) for a in r["advocates"]]
        if to_reporter and r["channel"] == "web":  # texts reach the reporter by Twilio instead
            if r["reporter"] is None:
                raise ClientError("this tip has no reporter key to reply to")
            rep = r["reporter"]
            recipients.append(Recipient(rep["fingerprint"], _b64(rep["box_public"])))
        if self.identity.fingerprint not in {x.fingerprint for x in recipients}:
            recipients.append(self.identity.public.recipient())
        return r["instance_id"], r["channel"], recipients

    def send(self, tip_id: str, text: str, *, note: bool) -> dict[str, Any]:
        """Sign, seal and post a reply or note. An SMS/WhatsApp reply instead carries
        the reporter's number (decrypted here), the text and our signature over it:
        the server seals the record from the text it sends. A reply Twilio has not
        taken raises ``ClientError`` after it is stored."""
        instance_id, channel, recipients = self._recipients(tip_id, to_reporter=not note)
        direction = "note" if note else "out"
        texting = direction == "out" and channel in TEXT_CHANNELS
        to = self.reporter_number(tip_id) if texting else None
        message_id = new_message_id()
        ctx = EnvelopeContext(instance_id, tip_id, message_id, direction, channel)
        signature = sign_message(self.identity, ctx, text)
        request: dict[str, Any] = {"id": message_id, "direction": direction}
        if texting:  # the server seals the record from the very text it sends (SPEC §11)
            request.update(to=to, text=text, signature=base64.b64encode(signature).decode())
        else:
            body = signed_body(text, self.identity.fingerprint, signature)
            request["envelope"] = base64.b64encode(seal(ctx, body, recipients).envelope).decode()
        result = dict(self.http.post_json(f"/api/tips/{tip_id}/messages", request))
        delivery = result.get("delivery")
        if texting and (not delivery or delivery.get("status") != "sent"):
            raise ClientError(_undelivered(result["id"], delivery or {}))
        return result

    def reporter_number(self, tip_id: str) -> str:
        """The number of an SMS/WhatsApp tip, from its latest inbound message we can open."""
        opened = self.read(tip_id)
        for m in reversed(opened.messages):
            if m["direction"] == "in" and m.get("sender"):
                return str(m["sender"])
        raise ClientError("no message of this tip that your key opens carries the reporter's number")

    def triage(self, tip_id: str, urgency: str | None, status: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            k: v for k, v in (("urgency", urgency), ("status", status)) if v is not None}
        if urgency is not None:
            body["feedback"] = self._rule_feedback(tip_id)
        return dict(self.http.post_json(f"/api/tips/{tip_id}/triage", body))

    def _rule_feedback(self, tip_id: str) -> dict[str, Any] | None:
        """What the rules said about this tip, read from our own decrypted copy.

        The server never knew which rules fired (the ids travel sealed); only
        the ids and urgencies go back, for the administrators' precision report.
        """
        decisions = [m["triage"] for m in self.read(tip_id).messages
                     if m["direction"] == "in" and isinstance(m.get("triage"), dict)]
        if not decisions:
            return None
        order = ["low", "normal", "high", "critical"]
        return {
            "rules": sorted({r for d in decisions for r in d.get("rules", [])}),
            # the rules' own urgency: a raise by the second reader is not the rules' doing
            "rules_urgency": max((d.get("rules_urgency", d["urgency"]) for d in decisions),
                                 key=order.index),
            "ruleset_version": decisions[-1]["ruleset_version"],
        }

    def ack(self, tip_id: str) -> dict[str, Any]:
        return dict(self.http.post_json(f"/api/tips/{tip_id}/ack", {}))


TEXT_CHANNELS = ("sms", "whatsapp")
INBOX_WALK_PAGE = 200  # the server's largest page: fewest requests for a whole walk


def _undelivered(message_id: str, delivery: dict[str, Any]) -> str:
    error = delivery.get("error") or "no answer from the server about delivery"
    if delivery.get("status") == "retrying":
        return (f"reply {message_id} is stored but not sent yet ({error}); the server keeps "
                "trying: check it with 'hotline read'")
    return f"reply {message_id} is stored but could not be sent ({error})"


def _verified(entry: dict[str, Any]) -> Recipient:
    """A public key the server listed, checked: self-signed, and the fingerprint it claims."""
    try:
        pub = PublicIdentity.from_pub_file(_b64(entry["pub_file"]))
    except CryptoError as e:
        raise ClientError(f"the server sent an invalid public key: {e}") from None
    if pub.fingerprint != entry["fingerprint"]:
        raise ClientError("the server sent a public key whose fingerprint does not match")
    return pub.recipient()


def _origin(url: str) -> str:
    from ..api.auth import origin_of

    return origin_of(url)


def _safe_path(folder: Path, message_id: str, part: int, name: str) -> Path:
    """Never trust a sealed file name as a path: keep only a safe base name."""
    base = "".join(c for c in Path(name).name if c.isalnum() or c in "._- ")[:100].strip(". ")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message_id}-{part}-{base or 'attachment'}"
    if path.exists():
        path = folder / f"{message_id}-{part}-{secrets.token_hex(3)}-{base or 'attachment'}"
    return path
