-- Hotline schema v7 (issue 12): each message's own channel, and the inbox's indexes.

-- A tip keeps the channel it arrived on; each of its messages keeps its own
-- (a reporter who texts and then calls has SMS and voice messages in one tip).
-- It is the channel bound into the message's envelope header, so readers can
-- check each envelope against the message's own context. Rows written before
-- v7 are NULL here; the service fills them once at start from each envelope's
-- cleartext header (hotline/store/message_channels.py) and never rewrites an
-- envelope.
ALTER TABLE messages ADD COLUMN channel TEXT
    CHECK (channel IS NULL OR channel IN ('web', 'sms', 'voice', 'whatsapp'));

-- The inbox's order (urgency, then oldest first), walked by keyset: one index
-- gives the order, so a page is LIMIT rows read, not a sort of every tip.
CREATE INDEX tips_inbox_order ON tips (
    (CASE urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END),
    created_at, id);

-- "Tips shared with me" from the advocate's side (the primary key starts with the tip).
CREATE INDEX tip_advocates_by_advocate ON tip_advocates (advocate_id, tip_id);

-- Unread: when this advocate last fetched the tip, without reading the tip's whole audit.
CREATE INDEX audit_tip_fetch ON audit (tip_id, actor, at) WHERE action = 'tip.fetch';
